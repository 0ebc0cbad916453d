/* CPU-bound loop: 10 million rounds of integer arithmetic, no syscalls
 * (ms per iteration).
 * usage: cpu ITERS */
#include "bench.h"

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  volatile unsigned long sink = 0;
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    unsigned long x = (unsigned long)i + 1;
    for (long k = 0; k < 10 * 1000 * 1000; k++) x = x * 6364136223846793005UL + 1442695040888963407UL;
    sink += x;
  }
  long long t1 = bench_now_ns();
  bench_report("cpu", n, t0, t1);
  return 0;
}
