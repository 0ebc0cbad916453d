/* Taking signals synchronously: rt_sigtimedwait (timeout/EAGAIN, a signal
 * from a child, EINTR by a handled signal outside the set), sigqueue and
 * rt_sigqueueinfo/rt_tgsigqueueinfo values and the EPERM rule, signalfd
 * (nonblocking and blocking reads, poll, mask updates, several records at
 * once), pidfd_open (poll on exit) and pidfd_send_signal. */
#include "conf.h"
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/time.h>

static int sig_min(void) { return SIGRTMIN; }

static const char *signame(int sig) {
  if (sig == sig_min()) return "RTMIN";
  const char *n = sig > 0 ? sigabbrev_np(sig) : NULL;
  return n ? n : "?";
}

static int timedwait(const sigset_t *set, siginfo_t *si, long sec, long nsec) {
  struct timespec ts = {sec, nsec};
  memset(si, 0, sizeof *si);
  return sigtimedwait(set, si, &ts);
}

/* sigtimedwait with a label; prints the signal, code and value. */
static void show_wait_sig(const char *label, const sigset_t *set, long sec, long nsec) {
  siginfo_t si;
  errno = 0;
  int r = timedwait(set, &si, sec, nsec);
  if (r < 0) {
    printf("%s: -1 %s\n", label, ename(errno));
    return;
  }
  printf("%s: %s code=%d", label, signame(r), si.si_code);
  if (si.si_code == SI_QUEUE) printf(" value=%d", si.si_value.sival_int);
  printf("\n");
}

static void show_poll(const char *label, int fd, int timeout) {
  struct pollfd p = {fd, POLLIN, 0};
  errno = 0;
  int r = poll(&p, 1, timeout);
  if (r < 0)
    printf("%s: -1 %s\n", label, ename(errno));
  else
    printf("%s: %d pollin=%d\n", label, r, (p.revents & POLLIN) ? 1 : 0);
}

static void show_sfd_read(const char *label, int fd, size_t n) {
  struct signalfd_siginfo recs[4];
  memset(recs, 0, sizeof recs);
  errno = 0;
  ssize_t r = read(fd, recs, n * sizeof recs[0]);
  if (r < 0) {
    printf("%s: -1 %s\n", label, ename(errno));
    return;
  }
  printf("%s: %zd", label, r);
  for (ssize_t i = 0; i < r / (ssize_t)sizeof recs[0]; i++) {
    printf(" [%s code=%d", signame((int)recs[i].ssi_signo), recs[i].ssi_code);
    if (recs[i].ssi_code == SI_QUEUE) printf(" int=%d", recs[i].ssi_int);
    printf(" self=%d]", recs[i].ssi_pid == (uint32_t)getpid() ? 1 : 0);
  }
  printf("\n");
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static pid_t child_blocked(int *hold_w) {
  int ready[2], hold[2];
  pipe(ready);
  pipe(hold);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    close(hold[1]);
    write(ready[1], "r", 1);
    char c;
    read(hold[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  char c;
  read(ready[0], &c, 1);
  close(ready[0]);
  *hold_w = hold[1];
  return pid;
}

int main(void) {
  sigset_t all, s;
  sigemptyset(&all);
  sigaddset(&all, SIGUSR1);
  sigaddset(&all, SIGUSR2);
  sigaddset(&all, SIGCHLD);
  sigaddset(&all, sig_min());
  sigprocmask(SIG_BLOCK, &all, NULL);
  siginfo_t si;

  SECTION("sigtimedwait");
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  show_wait_sig("nothing pending, 0 timeout", &s, 0, 0);
  show_wait_sig("nothing pending, 20ms timeout", &s, 0, 20000000);
  T(kill(getpid(), SIGUSR1));
  memset(&si, 0, sizeof si);
  struct timespec zero = {0, 0};
  TL("sigtimedwait(USR1)", sigtimedwait(&s, &si, &zero));
  TP("si_code is SI_USER", si.si_code == SI_USER);
  TP("si_pid is self", si.si_pid == getpid());
  T(raise(SIGUSR1));
  show_wait_sig("after raise", &s, 0, 0);
  show_wait_sig("taken", &s, 0, 0);
  {
    struct timespec bad = {0, 1000000000};
    TL("bad timespec", syscall(SYS_rt_sigtimedwait, &s, NULL, &bad, 8));
    TL("bad sigsetsize", syscall(SYS_rt_sigtimedwait, &s, NULL, &zero, 4));
  }
  /* Only signals in the set are taken; a blocked one outside stays pending. */
  T(kill(getpid(), SIGUSR2));
  show_wait_sig("USR2 not in set", &s, 0, 0);
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  show_wait_sig("USR2 in set", &s, 0, 0);

  SECTION("from a child");
  pid_t c = fork();
  if (c == 0) {
    usleep(20000);
    kill(getppid(), SIGUSR2);
    _exit(3);
  }
  memset(&si, 0, sizeof si);
  struct timespec five = {5, 0};
  TL("sigtimedwait(USR2) waits", sigtimedwait(&s, &si, &five));
  TP("si_pid is the child", si.si_pid == c);
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  memset(&si, 0, sizeof si);
  TL("sigtimedwait(CHLD)", sigtimedwait(&s, &si, &five));
  TP("CLD_EXITED", si.si_code == CLD_EXITED);
  TP("status 3", si.si_status == 3);
  TP("pid is the child", si.si_pid == c);
  show_wait("child", c);

  SECTION("interrupted");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 30000}};
  setitimer(ITIMER_REAL, &it, NULL);
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  show_wait_sig("SIGALRM interrupts", &s, 5, 0);
  TP("handler ran", alarms == 1);

  SECTION("sigqueue");
  sigemptyset(&s);
  sigaddset(&s, sig_min());
  union sigval v = {.sival_int = 42};
  T(sigqueue(getpid(), sig_min(), v));
  show_wait_sig("self", &s, 0, 0);
  c = fork();
  if (c == 0) {
    union sigval cv = {.sival_int = 7};
    sigqueue(getppid(), sig_min(), cv);
    _exit(0);
  }
  show_wait_sig("from child", &s, 5, 0);
  show_wait("child", c);
  {
    siginfo_t q;
    memset(&q, 0, sizeof q);
    q.si_code = SI_QUEUE;
    q.si_value.sival_int = 9;
    TL("rt_tgsigqueueinfo self", syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig_min(), &q));
    show_wait_sig("tgsigqueueinfo", &s, 0, 0);
    q.si_code = SI_USER;
    TL("rt_sigqueueinfo SI_USER to self", syscall(SYS_rt_sigqueueinfo, getpid(), sig_min(), &q));
    show_wait_sig("SI_USER to self", &s, 0, 0);
    int hold;
    pid_t b = child_blocked(&hold);
    TL("rt_sigqueueinfo SI_USER to other", syscall(SYS_rt_sigqueueinfo, b, SIGUSR1, &q));
    q.si_code = SI_TKILL;
    TL("rt_sigqueueinfo SI_TKILL to other", syscall(SYS_rt_sigqueueinfo, b, SIGUSR1, &q));
    TL("rt_tgsigqueueinfo SI_USER to other", syscall(SYS_rt_tgsigqueueinfo, b, b, SIGUSR1, &q));
    q.si_code = SI_QUEUE;
    TL("rt_sigqueueinfo bad signal", syscall(SYS_rt_sigqueueinfo, b, 99, &q));
    TL("rt_sigqueueinfo sig 0", syscall(SYS_rt_sigqueueinfo, b, 0, &q));
    TL("rt_tgsigqueueinfo tid 0", syscall(SYS_rt_tgsigqueueinfo, b, 0, SIGUSR1, &q));
    TL("rt_sigqueueinfo SI_QUEUE TERM to other", syscall(SYS_rt_sigqueueinfo, b, SIGTERM, &q));
    show_wait("blocked child", b);
    close(hold);
  }

  SECTION("signalfd");
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, sig_min());
  int sfd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
  TP("signalfd", sfd >= 0);
  TP("cloexec", (fcntl(sfd, F_GETFD) & FD_CLOEXEC) != 0);
  TP("nonblock", (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0);
  show_sfd_read("empty read", sfd, 1);
  show_poll("poll empty", sfd, 0);
  T(kill(getpid(), SIGUSR1));
  show_poll("poll USR1", sfd, 0);
  {
    char small[64];
    T(read(sfd, small, sizeof small));
  }
  show_sfd_read("read USR1", sfd, 1);
  show_poll("poll after read", sfd, 0);
  T(sigqueue(getpid(), sig_min(), v));
  T(kill(getpid(), SIGUSR1));
  show_sfd_read("read two", sfd, 4);
  /* A pending signal outside the mask is not readable. */
  T(kill(getpid(), SIGUSR2));
  show_sfd_read("USR2 outside mask", sfd, 1);
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  TP("mask update returns the fd", signalfd(sfd, &s, 0) == sfd);
  show_sfd_read("USR2 after update", sfd, 1);
  {
    int p[2];
    pipe(p);
    TL("signalfd on a pipe", signalfd(p[0], &s, 0));
    TL("signalfd bad flags", signalfd(-1, &s, 0x1));
    TL("signalfd bad fd", signalfd(1000, &s, 0));
    TL("signalfd bad size", syscall(SYS_signalfd4, -1, &s, 4, 0));
    close(p[0]);
    close(p[1]);
  }
  close(sfd);
  /* Blocking read and poll, woken by a child's signal. */
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sfd = signalfd(-1, &s, 0);
  TP("fcntl nonblock off", (fcntl(sfd, F_GETFL) & O_NONBLOCK) == 0);
  c = fork();
  if (c == 0) {
    usleep(20000);
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  show_poll("poll waits", sfd, 5000);
  show_wait("child", c);
  c = fork();
  if (c == 0) {
    usleep(20000);
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  show_sfd_read("poll-free read", sfd, 1);
  show_sfd_read("blocking read waits", sfd, 1);
  show_wait("child", c);
  close(sfd);

  SECTION("pidfd");
  {
    int hold;
    pid_t b = child_blocked(&hold);
    int pfd = syscall(SYS_pidfd_open, b, 0);
    TP("pidfd_open", pfd >= 0);
    TP("cloexec", (fcntl(pfd, F_GETFD) & FD_CLOEXEC) != 0);
    show_poll("poll running", pfd, 0);
    TL("pidfd_send_signal bad flags", syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0x100));
    TL("pidfd_send_signal bad signal", syscall(SYS_pidfd_send_signal, pfd, 99, NULL, 0));
    TL("pidfd_send_signal sig 0", syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0));
    TL("pidfd_send_signal on stdout", syscall(SYS_pidfd_send_signal, 1, SIGTERM, NULL, 0));
    siginfo_t q;
    memset(&q, 0, sizeof q);
    q.si_signo = SIGTERM;
    q.si_code = SI_USER;
    TL("pidfd_send_signal forged SI_USER", syscall(SYS_pidfd_send_signal, pfd, SIGTERM, &q, 0));
    q.si_code = SI_QUEUE;
    q.si_signo = SIGINT;
    TL("pidfd_send_signal signo mismatch", syscall(SYS_pidfd_send_signal, pfd, SIGTERM, &q, 0));
    TL("pidfd_send_signal TERM", syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0));
    show_poll("poll after TERM", pfd, 5000);
    show_wait("pidfd child", b);
    TL("pidfd_send_signal reaped", syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0));
    {
      char buf[8];
      TL("read pidfd", read(pfd, buf, sizeof buf));
    }
    close(pfd);
    close(hold);

    c = fork();
    if (c == 0) {
      usleep(20000);
      _exit(5);
    }
    pfd = syscall(SYS_pidfd_open, c, 0);
    show_poll("poll waits for exit", pfd, 5000);
    show_wait("exiting child", c);
    close(pfd);
    TL("pidfd_open bad flags", syscall(SYS_pidfd_open, getpid(), 1));
    TL("pidfd_open pid 0", syscall(SYS_pidfd_open, 0, 0));
    TL("pidfd_open no such pid", syscall(SYS_pidfd_open, 4000000, 0));
    pfd = syscall(SYS_pidfd_open, getpid(), O_NONBLOCK);
    TP("pidfd_open self nonblock", pfd >= 0);
    TP("O_NONBLOCK", (fcntl(pfd, F_GETFL) & O_NONBLOCK) != 0);
    show_poll("poll self", pfd, 0);
    close(pfd);
  }
  return 0;
}
