/* Job control: stop signals stop every thread of a process, SIGCONT
 * continues it; the parent sees both through wait4/waitid (WUNTRACED,
 * WCONTINUED, WNOWAIT) and SIGCHLD (CLD_STOPPED, CLD_CONTINUED); signals
 * sent while stopped wait for the continue, SIGKILL does not. Also wait's
 * selectors: P_PGID, P_PIDFD, __WCLONE/__WALL. */
#include "conf.h"
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

static volatile long *counters; /* [0]: main thread, [1]: second thread of the child */
static volatile sig_atomic_t chld_codes[16];
static volatile sig_atomic_t nchld;

static void on_chld(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)uc;
  if (nchld < 16) chld_codes[nchld++] = si->si_code * 100 + si->si_status;
}

static void *spin(void *arg) {
  (void)arg;
  for (;;) counters[1]++;
  return NULL;
}

static void msleep(int ms) {
  struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&d, &d) != 0) {}
}

static const char *describe(int st) {
  static char buf[64];
  if (WIFEXITED(st)) snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) snprintf(buf, sizeof buf, "killed by %s", sigabbrev_np(WTERMSIG(st)));
  else if (WIFSTOPPED(st)) snprintf(buf, sizeof buf, "stopped by %s", sigabbrev_np(WSTOPSIG(st)));
  else if (WIFCONTINUED(st)) snprintf(buf, sizeof buf, "continued");
  else snprintf(buf, sizeof buf, "status 0x%x", st);
  return buf;
}

static void show_wait4(const char *label, pid_t pid, int options) {
  int st = 0;
  pid_t r = waitpid(pid, &st, options);
  if (r < 0) printf("%s: -1 %s\n", label, ename(errno));
  else if (r == 0) printf("%s: nothing\n", label);
  else printf("%s: %s%s\n", label, r == pid ? "" : "another pid, ", describe(st));
}

/* statuses: also the signal of each record (not where Linux's own report races, see below). */
static void show_chld(int statuses) {
  printf("SIGCHLD codes:");
  for (int i = 0; i < nchld; i++) {
    int c = chld_codes[i] / 100, s = chld_codes[i] % 100;
    printf(" %s", c == CLD_STOPPED ? "STOPPED" : c == CLD_CONTINUED ? "CONTINUED" : c == CLD_EXITED ? "EXITED" : c == CLD_KILLED ? "KILLED" : "?");
    if (statuses) printf("/%s", c == CLD_EXITED ? "n" : sigabbrev_np(s));
  }
  printf("\n");
  nchld = 0;
}

static pid_t spinner(int threads) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    pthread_t th;
    if (threads) pthread_create(&th, NULL, spin, NULL);
    for (;;) counters[0]++;
  }
  setpgid(pid, pid);
  return pid;
}

int main(void) {
  counters = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);

  SECTION("SIGSTOP stops every thread; SIGCONT continues");
  pid_t pid = spinner(1);
  while (counters[0] == 0 || counters[1] == 0) sched_yield();
  T(kill(pid, SIGSTOP));
  show_wait4("waitpid WUNTRACED", pid, WUNTRACED);
  long a0 = counters[0], a1 = counters[1];
  msleep(30);
  TP("main thread frozen", counters[0] == a0);
  TP("second thread frozen", counters[1] == a1);
  show_wait4("waitpid WUNTRACED again (reported once)", pid, WUNTRACED | WNOHANG);
  T(kill(pid, SIGCONT));
  show_wait4("waitpid WCONTINUED", pid, WCONTINUED);
  /* Under load the threads may take a while to be scheduled again. */
  for (int i = 0; i < 200 && (counters[0] == a0 || counters[1] == a1); i++) msleep(10);
  TP("main thread runs again", counters[0] != a0);
  TP("second thread runs again", counters[1] != a1);
  show_chld(1);

  SECTION("SIGTSTP with the default action stops; a handler catches it");
  T(kill(pid, SIGTSTP));
  show_wait4("waitpid WUNTRACED", pid, WUNTRACED);
  SECTION("signals sent while stopped wait for SIGCONT");
  T(kill(pid, SIGTERM));
  msleep(20);
  show_wait4("waitpid WNOHANG while stopped", pid, WNOHANG);
  T(kill(pid, SIGCONT));
  show_wait4("waitpid after SIGCONT", pid, 0);
  /* Not shown: on Linux, CLD_CONTINUED is sent when the child next runs,
   * so it may merge with the SIGCHLD of its death. */
  nchld = 0;

  SECTION("SIGKILL ends a stopped process");
  pid = spinner(0);
  T(kill(pid, SIGSTOP));
  show_wait4("waitpid WUNTRACED", pid, WUNTRACED);
  T(kill(pid, SIGKILL));
  show_wait4("waitpid", pid, 0);
  /* Linux may report the stop with si_status 0 when the kill follows at once; under load the
   * handler may run late: wait for both records, show their codes only. */
  for (int i = 0; i < 100 && nchld < 2; i++) msleep(10);
  show_chld(0);

  SECTION("SIGCONT to a running process; SIGSTOP then SIGCONT before the parent waits");
  pid = spinner(0);
  T(kill(pid, SIGCONT));
  show_wait4("waitpid WCONTINUED|WNOHANG (never stopped)", pid, WCONTINUED | WNOHANG);
  T(kill(pid, SIGSTOP));
  show_wait4("waitpid WUNTRACED", pid, WUNTRACED);
  T(kill(pid, SIGCONT));
  show_wait4("waitpid WUNTRACED|WCONTINUED", pid, WUNTRACED | WCONTINUED);
  msleep(20); /* Linux sends CLD_CONTINUED once the child runs */

  SECTION("waitid: WSTOPPED, WCONTINUED, WNOWAIT, P_PGID, P_PIDFD");
  siginfo_t si;
  T(kill(pid, SIGSTOP));
  memset(&si, 0, sizeof si);
  T(waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT));
  printf("si_code %s, si_status %s, pid matches %d\n", si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "?", sigabbrev_np(si.si_status), si.si_pid == pid);
  memset(&si, 0, sizeof si);
  T(waitid(P_PGID, pid, &si, WSTOPPED));
  printf("again after WNOWAIT: si_code %s\n", si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "?");
  memset(&si, 0, sizeof si);
  T(waitid(P_PGID, pid, &si, WSTOPPED | WNOHANG));
  printf("consumed: si_pid %d\n", si.si_pid);
  T(kill(pid, SIGCONT));
  msleep(20); /* Linux sends CLD_CONTINUED once the child runs */
  int pidfd = syscall(SYS_pidfd_open, pid, 0);
  TP("pidfd_open", pidfd >= 0);
  memset(&si, 0, sizeof si);
  T(waitid(P_PIDFD, pidfd, &si, WCONTINUED));
  printf("si_code %s, si_status %s\n", si.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "?", sigabbrev_np(si.si_status));
  T(kill(pid, SIGKILL));
  memset(&si, 0, sizeof si);
  T(waitid(P_PIDFD, pidfd, &si, WEXITED));
  printf("si_code %s, si_status %s\n", si.si_code == CLD_KILLED ? "CLD_KILLED" : "?", sigabbrev_np(si.si_status));
  T(waitid(P_PIDFD, 12345, &si, WEXITED));
  T(waitid(P_PIDFD, 0, &si, WEXITED));
  close(pidfd);
  show_chld(1);

  SECTION("SA_NOCLDSTOP: no SIGCHLD for stops and continues");
  sa.sa_flags |= SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  pid = spinner(0);
  T(kill(pid, SIGSTOP));
  show_wait4("waitpid WUNTRACED", pid, WUNTRACED);
  T(kill(pid, SIGCONT));
  show_wait4("waitpid WCONTINUED", pid, WCONTINUED);
  T(kill(pid, SIGKILL));
  show_wait4("waitpid", pid, 0);
  show_chld(1);

  SECTION("a stopped child can stop itself, with raise");
  pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    raise(SIGSTOP);
    _exit(7);
  }
  show_wait4("waitpid WUNTRACED", pid, WUNTRACED);
  T(kill(pid, SIGCONT));
  show_wait4("waitpid", pid, 0);

  SECTION("a stop interrupts a blocking read, which resumes after SIGCONT");
  int p[2];
  T(pipe(p));
  pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    char c;
    ssize_t n = read(p[0], &c, 1);
    _exit(n == 1 && c == 'x' ? 0 : 1);
  }
  msleep(20);
  T(kill(pid, SIGSTOP));
  show_wait4("waitpid WUNTRACED", pid, WUNTRACED);
  T(write(p[1], "x", 1));
  T(kill(pid, SIGCONT));
  show_wait4("waitpid", pid, 0);

  SECTION("__WCLONE and __WALL");
  pid = fork();
  if (pid == 0) _exit(3);
  msleep(20);
  show_wait4("waitpid __WCLONE|WNOHANG (a SIGCHLD child)", pid, __WCLONE | WNOHANG);
  show_wait4("waitpid __WALL", pid, __WALL);
  return 0;
}
