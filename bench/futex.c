/* Futex ping-pong: two threads hand a token back and forth through one futex
 * word (FUTEX_WAIT/FUTEX_WAKE, private); µs per round trip.
 * usage: futex ITERS */
#include "bench.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int word; /* 0: main's turn, 1: the partner's */
static long rounds;

static void wait_for(int want) {
  int v;
  while ((v = atomic_load(&word)) != want) {
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
    if (r < 0 && errno != EAGAIN && errno != EINTR) { perror("FUTEX_WAIT"); exit(1); }
  }
}

static void pass_to(int who) {
  atomic_store(&word, who);
  if (syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0) { perror("FUTEX_WAKE"); exit(1); }
}

static void *partner(void *arg) {
  (void)arg;
  for (long i = 0; i < rounds; i++) {
    wait_for(1);
    pass_to(0);
  }
  return NULL;
}

int main(int argc, char **argv) {
  rounds = bench_iters(argc, argv, 2, "ITERS");
  pthread_t th;
  if (pthread_create(&th, NULL, partner, NULL) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
  long long t0 = bench_now_ns();
  for (long i = 0; i < rounds; i++) {
    pass_to(1);
    wait_for(0);
  }
  long long t1 = bench_now_ns();
  pthread_join(th, NULL);
  bench_report("futex", rounds, t0, t1);
  return 0;
}
