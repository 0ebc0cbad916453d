/* CPU-bound work on 4 threads with no syscalls in the loop: each thread runs
 * its share of a fixed integer workload (an LCG and some mixing); ms per
 * unit of work. The Sentry must not slow pure computation.
 * usage: compute UNITS */
#include "bench.h"
#include <pthread.h>
#include <stdint.h>

#define THREADS 4
#define STEPS_PER_UNIT 2000000UL

static long units;
static uint64_t results[THREADS];

static void *work(void *arg) {
  long id = (long)arg;
  uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);
  for (long u = id; u < units; u += THREADS)
    for (unsigned long i = 0; i < STEPS_PER_UNIT; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      x ^= x >> 29;
    }
  results[id] = x;
  return NULL;
}

int main(int argc, char **argv) {
  units = bench_iters(argc, argv, 2, "UNITS");
  pthread_t th[THREADS];
  long long t0 = bench_now_ns();
  for (long i = 0; i < THREADS; i++)
    if (pthread_create(&th[i], NULL, work, (void *)i) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
  for (long i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  long long t1 = bench_now_ns();
  uint64_t sum = 0;
  for (int i = 0; i < THREADS; i++) sum ^= results[i];
  if (sum == 42) fprintf(stderr, "unlikely\n"); /* keeps the work observable */
  bench_report("compute", units, t0, t1);
  return 0;
}
