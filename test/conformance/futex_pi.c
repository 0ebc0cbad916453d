/* Priority-inheritance futexes and robust lists: FUTEX_LOCK_PI /
 * TRYLOCK_PI / UNLOCK_PI on the word (tid, FUTEX_WAITERS, FUTEX_OWNER_DIED),
 * hand-over to a waiter, EDEADLK/EPERM/EAGAIN/ESRCH; WAIT_REQUEUE_PI with
 * CMP_REQUEUE_PI; glibc's PTHREAD_PRIO_INHERIT and robust mutexes (a thread
 * or process dying with the lock gives EOWNERDEAD to the next locker). */
#include "conf.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

static long futex(_Atomic unsigned *uaddr, int op, unsigned val, void *timeout, _Atomic unsigned *uaddr2, unsigned val3) {
  return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static _Atomic unsigned lockword, condword;
static _Atomic int stage;
static pid_t main_tid;

static const char *bits(unsigned v) {
  static char buf[64];
  snprintf(buf, sizeof buf, "%s%s%s", (v & FUTEX_TID_MASK) == 0 ? "free" : (v & FUTEX_TID_MASK) == (unsigned)main_tid ? "main" : "other",
           v & FUTEX_WAITERS ? "|WAITERS" : "", v & FUTEX_OWNER_DIED ? "|OWNER_DIED" : "");
  return buf;
}

static void msleep(int ms) {
  struct timespec d = {0, ms * 1000000L};
  nanosleep(&d, NULL);
}

/* What the other threads saw, printed by main after joining them (their own prints would race main's). */
static char seen[4][96];

static void *contender(void *arg) {
  (void)arg;
  stage = 1;
  long r = futex(&lockword, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
  int n = snprintf(seen[0], sizeof seen[0], "contender: lock %ld, owns it %d, word %s", r,
                   (lockword & FUTEX_TID_MASK) == (unsigned)gettid(), bits(lockword));
  r = futex(&lockword, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
  snprintf(seen[0] + n, sizeof seen[0] - n, "; unlock %ld, word %s", r, bits(lockword));
  return NULL;
}

static void *timed_locker(void *arg) {
  (void)arg;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_nsec += 50000000;
  if (dl.tv_nsec >= 1000000000) dl.tv_sec++, dl.tv_nsec -= 1000000000;
  errno = 0;
  long r = futex(&lockword, FUTEX_LOCK_PI_PRIVATE, 0, &dl, NULL, 0);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int late = now.tv_sec > dl.tv_sec || (now.tv_sec == dl.tv_sec && now.tv_nsec >= dl.tv_nsec);
  snprintf(seen[0], sizeof seen[0], "timed lock: %ld %s, after the deadline %d", r, r ? ename(errno) : "", late);
  return NULL;
}

static void *requeue_waiter(void *arg) {
  long r = futex(&condword, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &lockword, 0);
  int owns = (lockword & FUTEX_TID_MASK) == (unsigned)gettid();
  snprintf(seen[1 + (long)arg], sizeof seen[0], "requeue waiter: %ld, owns the lock %d", r, owns);
  if (owns) futex(&lockword, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
  return NULL;
}

static pthread_mutex_t robust;
static void *die_holding(void *arg) {
  (void)arg;
  pthread_mutex_lock(&robust);
  return NULL; /* exits holding it */
}

int main(void) {
  main_tid = gettid();

  SECTION("uncontended: TRYLOCK_PI, LOCK_PI, UNLOCK_PI");
  T(futex(&lockword, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  printf("word %s\n", bits(lockword));
  T(futex(&lockword, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  T(futex(&lockword, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  T(futex(&lockword, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  printf("word %s\n", bits(lockword));
  T(futex(&lockword, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  T(futex((_Atomic unsigned *)((char *)&lockword + 1), FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  T(futex(NULL, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  lockword = 0x3ffffff0; /* a tid that does not exist */
  T(futex(&lockword, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  lockword = 0;

  SECTION("contended: the lock is handed to the waiter");
  lockword = main_tid;
  pthread_t th;
  pthread_create(&th, NULL, contender, NULL);
  while (stage == 0) sched_yield();
  msleep(50);
  printf("main: word %s\n", bits(lockword));
  T(futex(&lockword, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  T(futex(&lockword, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  pthread_join(th, NULL);
  printf("%s\n", seen[0]);
  printf("main: word %s\n", bits(lockword));
  T(futex(&lockword, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));

  SECTION("LOCK_PI timeout (absolute CLOCK_REALTIME)");
  lockword = 0x3ffffff0;
  T(futex(&lockword, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  lockword = main_tid;
  pthread_create(&th, NULL, timed_locker, NULL);
  pthread_join(th, NULL);
  printf("%s\n", seen[0]);
  printf("main: word %s\n", bits(lockword));
  T(futex(&lockword, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));

  SECTION("WAIT_REQUEUE_PI and CMP_REQUEUE_PI");
  lockword = main_tid;
  pthread_t w[3];
  for (long i = 0; i < 3; i++) pthread_create(&w[i], NULL, requeue_waiter, (void *)i);
  msleep(80);
  T(futex(&condword, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, (void *)1L, &lockword, 0));
  T(futex(&condword, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1L, &lockword, 5));
  /* Until all three are waiting (under load they may be slow to start). */
  long moved = 0;
  for (int tries = 0; moved < 3 && tries < 500; tries++) {
    long r = futex(&condword, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)10L, &lockword, 0);
    if (r > 0) moved += r;
    else msleep(10);
  }
  printf("requeued %ld\n", moved);
  printf("main: word %s\n", bits(lockword));
  T(futex(&lockword, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
  for (int i = 0; i < 3; i++) pthread_join(w[i], NULL);
  for (int i = 0; i < 3; i++) printf("%s\n", seen[1 + i]);
  printf("main: word %s\n", bits(lockword));
  T(futex(&condword, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, NULL, &lockword, 0));
  T(futex(&condword, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &condword, 0));

  SECTION("glibc PTHREAD_PRIO_INHERIT mutex");
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
  pthread_mutex_t pim;
  pthread_mutex_init(&pim, &ma);
  T(pthread_mutex_lock(&pim));
  T(pthread_mutex_trylock(&pim));
  T(pthread_mutex_unlock(&pim));

  SECTION("robust mutex: a thread dies holding it");
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&robust, &ma);
  pthread_create(&th, NULL, die_holding, NULL);
  pthread_join(th, NULL);
  int e = pthread_mutex_lock(&robust);
  printf("lock after the owner died: %s\n", e ? ename(e) : "0");
  T(pthread_mutex_consistent(&robust));
  T(pthread_mutex_unlock(&robust));

  SECTION("robust PI mutex in shared memory: a process dies holding it");
  pthread_mutex_t *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(shm, &ma);
  int p[2];
  pipe(p);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_mutex_lock(shm);
    write(p[1], "x", 1);
    pause();
    _exit(0);
  }
  char c;
  read(p[0], &c, 1);
  TL("trylock while the child holds it", pthread_mutex_trylock(shm) == EBUSY);
  kill(pid, SIGKILL);
  show_wait("child", pid);
  e = pthread_mutex_lock(shm);
  printf("lock after the owner process died: %s\n", e ? ename(e) : "0");
  T(pthread_mutex_consistent(shm));
  T(pthread_mutex_unlock(shm));

  SECTION("get_robust_list");
  void *head = NULL;
  size_t len = 0;
  T(syscall(SYS_get_robust_list, 0, &head, &len));
  printf("head set %d, len %zu\n", head != NULL, len);
  T(syscall(SYS_set_robust_list, head, 23));
  T(syscall(SYS_get_robust_list, 999999, &head, &len));
  return 0;
}
