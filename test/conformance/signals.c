/* Signals without handlers: rt_sigaction query/set (SIG_DFL/SIG_IGN, flags),
 * rt_sigprocmask query/set, rt_sigpending, SIG_IGN of SIGPIPE, default
 * actions killing children (SIGTERM/SIGKILL via kill()), inheritance across
 * fork and execve. Handler delivery is deliberately not covered here. */
#include "conf.h"

static void print_mask(const char *label, const sigset_t *s) {
  printf("%s:", label);
  int any = 0;
  for (int sig = 1; sig < 65; sig++) {
    if (sigismember(s, sig) == 1) {
      const char *n = sigabbrev_np(sig);
      if (n) printf(" %s", n); else printf(" %d", sig);
      any = 1;
    }
  }
  printf("%s\n", any ? "" : " (empty)");
}

static void show_action(const char *label, int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  errno = 0;
  if (sigaction(sig, NULL, &sa) != 0) {
    printf("%s: -1 %s\n", label, ename(errno));
    return;
  }
  const char *h = sa.sa_handler == SIG_DFL ? "SIG_DFL" : sa.sa_handler == SIG_IGN ? "SIG_IGN" : "handler";
  printf("%s: %s flags=0x%x", label, h, (unsigned)(sa.sa_flags & ~0x04000000 /* SA_RESTORER */));
  print_mask(" mask", &sa.sa_mask);
}

/* A child that reports readiness on a pipe then blocks reading another. */
static pid_t blocked_child(int ignore_term) {
  int ready[2], hold[2];
  pipe(ready);
  pipe(hold);
  pid_t pid = fork();
  if (pid == 0) {
    if (ignore_term) signal(SIGTERM, SIG_IGN);
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
  /* hold[1] stays open in the parent so the child keeps blocking; it leaks
   * one fd per child, which is fine for a short test. */
  return pid;
}

int main(void) {
  sigset_t s, old;

  SECTION("sigprocmask");
  sigemptyset(&s);
  T(sigprocmask(SIG_SETMASK, &s, NULL));
  T(sigprocmask(SIG_BLOCK, NULL, &old));
  print_mask("mask", &old);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGCHLD);
  T(sigprocmask(SIG_BLOCK, &s, &old));
  print_mask("old", &old);
  sigprocmask(SIG_BLOCK, NULL, &old);
  print_mask("now", &old);
  sigemptyset(&s);
  sigaddset(&s, SIGKILL);
  sigaddset(&s, SIGSTOP);
  sigaddset(&s, SIGUSR2);
  T(sigprocmask(SIG_BLOCK, &s, NULL));
  sigprocmask(SIG_BLOCK, NULL, &old);
  print_mask("after blocking KILL STOP USR2", &old);
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  T(sigprocmask(SIG_UNBLOCK, &s, NULL));
  sigprocmask(SIG_BLOCK, NULL, &old);
  print_mask("after unblocking USR1", &old);
  T(sigprocmask(99, &s, NULL));
  T(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &old, 4));
  T(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &old, 8));

  SECTION("pending");
  raise(SIGUSR2);
  sigpending(&s);
  print_mask("pending after raise(USR2) while blocked", &s);
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t cs;
    sigpending(&cs);
    print_mask("child: pending (not inherited)", &cs);
    sigprocmask(SIG_BLOCK, NULL, &cs);
    print_mask("child: mask (inherited)", &cs);
    _exit(0);
  }
  show_wait("child", pid);
  signal(SIGUSR2, SIG_IGN);
  sigpending(&s);
  print_mask("pending after SIG_IGN", &s);
  signal(SIGUSR2, SIG_DFL);
  sigemptyset(&s);
  T(sigprocmask(SIG_SETMASK, &s, NULL));
  printf("still alive after unblocking\n");

  SECTION("sigaction");
  show_action("SIGUSR1 initially", SIGUSR1);
  show_action("SIGCHLD initially", SIGCHLD);
  struct sigaction sa, prev;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  T(sigaction(SIGUSR1, &sa, &prev));
  printf("previous was SIG_DFL: %d\n", prev.sa_handler == SIG_DFL);
  show_action("SIGUSR1 after set", SIGUSR1);
  T(sigaction(SIGKILL, &sa, NULL));
  T(sigaction(SIGSTOP, &sa, NULL));
  show_action("SIGKILL query", SIGKILL);
  T(sigaction(0, &sa, NULL));
  T(sigaction(65, &sa, NULL));
  T(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &prev, 4));
  T(syscall(SYS_rt_sigaction, 65, NULL, &prev, 8));
  raise(SIGUSR1);
  printf("alive after raise(SIGUSR1) while ignored\n");
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  T(sigaction(SIGUSR1, &sa, NULL));
  show_action("SIGUSR1 reset", SIGUSR1);

  SECTION("SIGPIPE ignored");
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  pipe(p);
  close(p[0]);
  T(write(p[1], "x", 1));
  close(p[1]);
  show_action("SIGPIPE", SIGPIPE);
  pid = fork();
  if (pid == 0) {
    char *argv[] = {"sh", "-c", "trap - PIPE 2>/dev/null; kill -PIPE $$; echo ignored SIGPIPE survived execve", NULL};
    execv("/bin/sh", argv);
    _exit(100);
  }
  show_wait("exec'd shell sending itself SIGPIPE (SIG_IGN inherited)", pid);
  signal(SIGPIPE, SIG_DFL);

  SECTION("default actions via kill()");
  pid = blocked_child(0);
  T(kill(pid, SIGTERM));
  show_wait("SIGTERM", pid);
  pid = blocked_child(0);
  T(kill(pid, SIGKILL));
  show_wait("SIGKILL", pid);
  pid = blocked_child(0);
  T(kill(pid, SIGUSR2));
  show_wait("SIGUSR2", pid);
  pid = blocked_child(1);
  T(kill(pid, SIGTERM));
  T(kill(pid, 0));
  T(kill(pid, SIGKILL));
  show_wait("SIGTERM ignored, then SIGKILL", pid);
  T(kill(pid, SIGTERM));
  pid = blocked_child(0);
  T(kill(pid, 65));
  T(kill(pid, -1 & 0x7fffffff));
  T(kill(pid, SIGKILL));
  show_wait("cleanup", pid);
  pid = fork();
  if (pid == 0) {
    kill(getpid(), SIGTERM);
    _exit(0);
  }
  show_wait("kill(getpid(), SIGTERM)", pid);
  pid = fork();
  if (pid == 0) {
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGTERM);
    sigprocmask(SIG_BLOCK, &b, NULL);
    kill(getpid(), SIGTERM);
    write(1, "blocked SIGTERM is pending\n", 27);
    sigprocmask(SIG_UNBLOCK, &b, NULL);
    _exit(0);
  }
  show_wait("SIGTERM delivered on unblock", pid);
  return 0;
}
