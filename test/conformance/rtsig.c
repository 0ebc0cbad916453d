/* Real-time signals queue: each send is a separate instance with its own
 * siginfo (si_value, si_code), taken lowest signal first and in the order
 * sent; standard signals coalesce. RLIMIT_SIGPENDING bounds the queue:
 * sigqueue fails with EAGAIN, kill(2) still sends the signal. */
#include "conf.h"
#include <time.h>

static void take_all(const char *label, sigset_t *set) {
  struct timespec zero = {0, 0};
  siginfo_t si;
  printf("%s:", label);
  int sig;
  while ((sig = sigtimedwait(set, &si, &zero)) > 0) {
    const char *code = si.si_code == SI_QUEUE ? "SI_QUEUE" : si.si_code == SI_USER ? "SI_USER" : si.si_code == SI_TKILL ? "SI_TKILL" : "?";
    if (sig >= SIGRTMIN) printf(" RTMIN+%d/%s/%d", sig - SIGRTMIN, code, si.si_code == SI_QUEUE ? si.si_value.sival_int : -1);
    else printf(" %s/%s", sigabbrev_np(sig), code);
  }
  printf(" (then %s)\n", ename(errno));
}

static volatile int order[32];
static volatile int norder;
static void handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (norder < 32) order[norder++] = (sig - SIGRTMIN) * 100 + (si->si_code == SI_QUEUE ? si->si_value.sival_int : 99);
}

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  sigaddset(&set, SIGRTMIN + 1);
  sigaddset(&set, SIGRTMAX);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);

  SECTION("queued in order, lowest signal first");
  T(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 1}));
  T(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 2}));
  T(sigqueue(getpid(), SIGRTMAX, (union sigval){.sival_int = 3}));
  T(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 4}));
  T(kill(getpid(), SIGRTMIN + 1));
  T(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 5}));
  T(kill(getpid(), SIGUSR1));
  T(kill(getpid(), SIGUSR1));
  T(sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 6}));
  sigset_t pend;
  sigpending(&pend);
  printf("pending RTMIN %d RTMIN+1 %d RTMAX %d USR1 %d\n", sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGRTMIN + 1),
         sigismember(&pend, SIGRTMAX), sigismember(&pend, SIGUSR1));
  take_all("taken", &set);

  SECTION("thread-directed instances come before process-directed ones");
  T(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 7}));
  siginfo_t info = {0};
  info.si_signo = SIGRTMIN;
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  info.si_value.sival_int = 8;
  T(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGRTMIN, &info));
  take_all("taken", &set);

  SECTION("handlers run once per instance, in order");
  struct sigaction sa = {0};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigfillset(&sa.sa_mask);
  sigaction(SIGRTMIN, &sa, NULL);
  sigaction(SIGRTMIN + 1, &sa, NULL);
  for (int i = 0; i < 3; i++) sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 10 + i});
  for (int i = 0; i < 3; i++) sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 20 + i});
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  printf("handled:");
  for (int i = 0; i < norder; i++) printf(" RTMIN+%d/%d", order[i] / 100, order[i] % 100);
  printf("\n");
  sigprocmask(SIG_BLOCK, &set, NULL);

  SECTION("RLIMIT_SIGPENDING");
  pid_t pid = fork();
  if (pid == 0) {
    /* The limit counts every signal queued for the user across the system
     * (on the host too), so only a limit of 0 gives the same result
     * everywhere. */
    struct rlimit rl = {0, 1024};
    T(setrlimit(RLIMIT_SIGPENDING, &rl));
    TL("sigqueue at limit 0", sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 30}));
    TL("kill at limit 0", kill(getpid(), SIGRTMIN));
    TL("kill again", kill(getpid(), SIGRTMIN));
    TL("kill of a standard signal", kill(getpid(), SIGUSR1));
    take_all("taken", &set);
    rl.rlim_cur = 1024;
    T(setrlimit(RLIMIT_SIGPENDING, &rl));
    for (int i = 0; i < 3; i++) TL("sigqueue at limit 1024", sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 40 + i}));
    take_all("taken", &set);
    _exit(0);
  }
  show_wait("child", pid);
  return 0;
}
