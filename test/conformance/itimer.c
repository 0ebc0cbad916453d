/* Timers on the CPU clock: ITIMER_VIRTUAL (SIGVTALRM) and ITIMER_PROF
 * (SIGPROF) fire after CPU time, not wall time, and count down only while
 * the process computes. With the argument rlimit-cpu (2 s of computing, so
 * test/tasks.test.ts runs it once rather than the conformance suite four
 * times): RLIMIT_CPU sends SIGXCPU at the soft limit (which then moves up a
 * second) and SIGKILL at the hard limit. */
#include "conf.h"
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t fired[64];
static void on_sig(int sig) { fired[sig]++; }

static long long cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Burns CPU until sig has fired n times or limit_ms of CPU time passed; returns CPU ms used. */
static long burn_until(int sig, int n, long limit_ms) {
  long long start = cpu_ns();
  volatile unsigned long x = 0;
  while (fired[sig] < n && cpu_ns() - start < limit_ms * 1000000LL)
    for (int i = 0; i < 100000; i++) x += i;
  return (long)((cpu_ns() - start) / 1000000);
}

static long usec(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

static int rlimit_cpu(void) {
  SECTION("RLIMIT_CPU");
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl = {1, 2};
    T(setrlimit(RLIMIT_CPU, &rl));
    burn_until(SIGXCPU, 1, 10000);
    TP("SIGXCPU at the soft limit", fired[SIGXCPU] == 1);
    getrlimit(RLIMIT_CPU, &rl);
    printf("soft limit now %ld, hard %ld\n", (long)rl.rlim_cur, (long)rl.rlim_max);
    burn_until(SIGXCPU, 100, 10000);
    _exit(0);
  }
  show_wait("child past the hard limit", pid);
  return 0;
}

int main(int argc, char **argv) {
  struct sigaction sa = {0};
  sa.sa_handler = on_sig;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGVTALRM, &sa, NULL);
  sigaction(SIGPROF, &sa, NULL);
  sigaction(SIGXCPU, &sa, NULL);
  if (argc == 2 && strcmp(argv[1], "rlimit-cpu") == 0) return rlimit_cpu();

  SECTION("ITIMER_VIRTUAL");
  struct itimerval v = {{0, 0}, {0, 100000}}, old;
  T(setitimer(ITIMER_VIRTUAL, &v, NULL));
  T(getitimer(ITIMER_VIRTUAL, &old));
  TP("armed, about 100 ms left", usec(old.it_value) > 50000 && usec(old.it_value) <= 110000);
  struct timespec nap = {0, 150000000};
  nanosleep(&nap, NULL);
  TP("not fired by 150 ms of sleep", fired[SIGVTALRM] == 0);
  T(getitimer(ITIMER_VIRTUAL, &old));
  TP("sleeping used (almost) none of it", usec(old.it_value) > 60000);
  long used = burn_until(SIGVTALRM, 1, 3000);
  TP("fired after computing", fired[SIGVTALRM] == 1);
  TP("after 50..1000 ms of CPU", used >= 50 && used < 1000);
  T(getitimer(ITIMER_VIRTUAL, &old));
  TP("one-shot: disarmed", usec(old.it_value) == 0);

  SECTION("ITIMER_PROF, periodic");
  struct itimerval p = {{0, 30000}, {0, 30000}};
  T(setitimer(ITIMER_PROF, &p, NULL));
  used = burn_until(SIGPROF, 3, 5000);
  TP("fired three times", fired[SIGPROF] >= 3);
  TP("after 60..2000 ms of CPU", used >= 60 && used < 2000);
  struct itimerval zero = {{0, 0}, {0, 0}};
  T(setitimer(ITIMER_PROF, &zero, &old));
  TP("old interval is 30 ms", usec(old.it_interval) == 30000);
  T(getitimer(ITIMER_PROF, &old));
  TP("disarmed", usec(old.it_value) == 0 && usec(old.it_interval) == 0);
  T(setitimer(3, &zero, NULL));
  T(getitimer(-1, &old));

  return 0;
}
