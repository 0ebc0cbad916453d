/* clock_gettime(CLOCK_MONOTONIC) through the C library: a vDSO call where
 * there is one, else a syscall; ns per call.
 * usage: clock ITERS */
#include "bench.h"

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  struct timespec prev, ts;
  clock_gettime(CLOCK_MONOTONIC, &prev);
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) { perror("clock_gettime"); return 1; }
    if (ts.tv_sec < prev.tv_sec || (ts.tv_sec == prev.tv_sec && ts.tv_nsec < prev.tv_nsec)) {
      fprintf(stderr, "CLOCK_MONOTONIC went back\n");
      return 1;
    }
    prev = ts;
  }
  long long t1 = bench_now_ns();
  bench_report("clock", n, t0, t1);
  return 0;
}
