/* prctl and resource usage: names, no_new_privs, parent-death signals,
 * child subreapers, and CPU time reported by getrusage, times and wait4. */
#include "conf.h"
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

/* 60 ms of CPU time (not wall time: a loaded machine may hardly run us), or 5 s of waiting for it. */
static void burn(void) {
  struct timespec a, b, cpu;
  clock_gettime(CLOCK_MONOTONIC, &a);
  volatile unsigned long x = 0;
  do {
    for (int i = 0; i < 100000; i++) x += i;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    clock_gettime(CLOCK_MONOTONIC, &b);
  } while (cpu.tv_sec * 1000000000L + cpu.tv_nsec < 60000000L &&
           (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 5000000000L);
}

int main(void) {
  SECTION("names");
  T(prctl(PR_SET_NAME, "conf-name", 0, 0, 0));
  char name[16] = {0};
  T(prctl(PR_GET_NAME, name, 0, 0, 0));
  printf("name: %s\n", name);

  SECTION("no_new_privs");
  printf("before: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  T(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  printf("after: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  TL("PR_SET_NO_NEW_PRIVS 2", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0));
  pid_t c = fork();
  if (c == 0) _exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
  show_wait("child inherits no_new_privs", c);

  SECTION("subreaper and parent death");
  T(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
  int sub = 0;
  T(prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0));
  printf("subreaper: %d\n", sub);
  int p[2];
  T(pipe(p));
  c = fork();
  if (c == 0) {
    pid_t g = fork();
    if (g == 0) {
      prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
      int got = 0;
      prctl(PR_GET_PDEATHSIG, &got, 0, 0, 0);
      sigset_t s, none;
      sigemptyset(&s);
      sigemptyset(&none);
      sigaddset(&s, SIGUSR1);
      sigprocmask(SIG_BLOCK, &s, NULL);
      signal(SIGUSR1, on_usr1);
      write(p[1], "r", 1);
      while (!got_usr1) sigsuspend(&none);
      char msg[2] = {(char)(got == SIGUSR1 ? 'y' : 'n'), 'p'};
      write(p[1], msg, 2);
      _exit(0);
    }
    char r;
    read(p[0], &r, 1);
    _exit(0);
  }
  show_wait("middle child", c);
  char msg[3] = {0};
  read(p[0], msg, 2);
  printf("grandchild got its parent-death signal: %c\n", msg[0]);
  int status;
  pid_t w = wait(&status);
  printf("orphan reaped by the subreaper: %d\n", w > 0);

  SECTION("cpu time");
  burn();
  struct rusage ru;
  T(getrusage(RUSAGE_SELF, &ru));
  printf("self user time > 0: %d\n", ru.ru_utime.tv_sec > 0 || ru.ru_utime.tv_usec > 0);
  c = fork();
  if (c == 0) { burn(); _exit(0); }
  struct rusage cru;
  waitpid(c, &status, 0);
  T(getrusage(RUSAGE_CHILDREN, &cru));
  printf("children user time > 0: %d\n", cru.ru_utime.tv_sec > 0 || cru.ru_utime.tv_usec > 0);
  struct tms tm;
  clock_t up = times(&tm);
  printf("times: ticks > 0: %d, utime > 0: %d\n", up > 0, tm.tms_utime > 0);
  TL("getrusage(99)", getrusage(99, &ru));
  return 0;
}
