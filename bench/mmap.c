/* mmap + touch + munmap loop: 64 KiB of anonymous memory, one byte written
 * in each page (µs per iteration).
 * usage: mmap ITERS */
#include "bench.h"
#include <sys/mman.h>

#define LEN (64 * 1024)

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { fprintf(stderr, "mmap: %s\n", strerror(errno)); return 1; }
    for (long o = 0; o < LEN; o += 4096) p[o] = (char)o;
    if (munmap(p, LEN) != 0) { fprintf(stderr, "munmap: %s\n", strerror(errno)); return 1; }
  }
  long long t1 = bench_now_ns();
  bench_report("mmap", n, t0, t1);
  return 0;
}
