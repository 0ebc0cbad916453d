/* getppid loop: the cost of one trivial syscall round trip (µs per call).
 * usage: getppid ITERS */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  long first = syscall(SYS_getppid);
  if (first < 0) { perror("getppid"); return 1; }
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    /* raw syscall: no libc caching can short-circuit it */
    long r = syscall(SYS_getppid);
    if (r != first) { fprintf(stderr, "getppid returned %ld, expected %ld\n", r, first); return 1; }
  }
  long long t1 = bench_now_ns();
  bench_report("getppid", n, t0, t1);
  return 0;
}
