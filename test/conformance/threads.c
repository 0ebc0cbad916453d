/* Threads: pthread create/join, a mutex and condition variable contended by
 * 64 threads, thread-local storage, distinct tids, pthread_exit of one thread
 * while others run, and a signal sent to one thread with pthread_kill. */
#include "conf.h"
#include <pthread.h>
#include <sys/syscall.h>

#define NTHREADS 64
#define ROUNDS 200

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static __thread int tls_value;
static pid_t tids[NTHREADS];

static void *worker(void *arg) {
  int id = (int)(long)arg;
  tls_value = id;
  tids[id] = (pid_t)syscall(SYS_gettid);
  for (int r = 0; r < ROUNDS; r++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
  }
  /* Take turns in id order through the condition variable. */
  pthread_mutex_lock(&mu);
  while (turn != id) pthread_cond_wait(&cv, &mu);
  turn++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return (void *)(long)(tls_value * 2);
}

static void *exiter(void *arg) {
  (void)arg;
  pthread_exit((void *)42L);
}

static volatile sig_atomic_t got_usr1;
static pid_t usr1_tid;
static void on_usr1(int s) {
  (void)s;
  got_usr1 = 1;
  usr1_tid = (pid_t)syscall(SYS_gettid);
}

static pthread_barrier_t barrier;
static pid_t sleeper_tid;
static void *sleeper(void *arg) {
  (void)arg;
  sleeper_tid = (pid_t)syscall(SYS_gettid);
  pthread_barrier_wait(&barrier);
  while (!got_usr1) usleep(1000);
  return NULL;
}

int main(void) {
  SECTION("create/join");
  pthread_t th[NTHREADS];
  for (long i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, worker, (void *)i);
  long sum = 0;
  for (int i = 0; i < NTHREADS; i++) {
    void *ret;
    pthread_join(th[i], &ret);
    sum += (long)ret;
  }
  printf("counter: %ld (expected %d)\n", counter, NTHREADS * ROUNDS);
  printf("turns taken: %d\n", turn);
  printf("sum of tls*2: %ld\n", sum);
  int distinct = 1;
  pid_t self = (pid_t)syscall(SYS_gettid);
  for (int i = 0; i < NTHREADS; i++) {
    if (tids[i] == self || tids[i] == getpid()) distinct = 0;
    for (int j = 0; j < i; j++) if (tids[i] == tids[j]) distinct = 0;
  }
  printf("tids distinct and not the pid: %d\n", distinct);
  printf("main thread tid == pid: %d\n", self == getpid());

  SECTION("pthread_exit");
  pthread_t e;
  void *ret;
  pthread_create(&e, NULL, exiter, NULL);
  pthread_join(e, &ret);
  printf("exit value: %ld\n", (long)ret);

  SECTION("pthread_kill");
  signal(SIGUSR1, on_usr1);
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_t s;
  pthread_create(&s, NULL, sleeper, NULL);
  pthread_barrier_wait(&barrier);
  pthread_kill(s, SIGUSR1);
  pthread_join(s, NULL);
  printf("handler ran on the target thread: %d\n", got_usr1 && usr1_tid == sleeper_tid);

  SECTION("fork from a threaded process");
  pthread_create(&s, NULL, exiter, NULL);
  pid_t pid = fork();
  if (pid == 0) _exit(7);
  show_wait("child", pid);
  pthread_join(s, NULL);
  return 0;
}
