/* Thread create + join: one pthread_create and pthread_join of a thread
 * that returns at once; µs per thread.
 * usage: thread ITERS */
#include "bench.h"
#include <pthread.h>

static void *nothing(void *arg) { return arg; }

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    pthread_t th;
    void *ret = NULL;
    if (pthread_create(&th, NULL, nothing, (void *)i) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
    if (pthread_join(th, &ret) != 0 || ret != (void *)i) { fprintf(stderr, "pthread_join failed\n"); return 1; }
  }
  long long t1 = bench_now_ns();
  bench_report("thread", n, t0, t1);
  return 0;
}
