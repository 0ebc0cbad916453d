/* select and pselect6: readiness of pipes and eventfds, the fd sets written
 * back, timeouts (and the remaining time select writes back), pselect's
 * signal mask, and bad arguments. */
#include "conf.h"
#include <sys/eventfd.h>
#include <sys/select.h>

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got = 1; }

static void show_set(const char *label, fd_set *s, int n) {
  printf("%s:", label);
  for (int i = 0; i < n; i++)
    if (FD_ISSET(i, s)) printf(" %d", i);
  printf("\n");
}

int main(void) {
  int p[2];
  if (pipe(p) != 0) return 2;
  /* Fixed fd numbers so the printed sets match natively. */
  dup2(p[0], 10);
  dup2(p[1], 11);
  close(p[0]);
  close(p[1]);
  int efd = eventfd(0, 0);
  dup2(efd, 12);
  close(efd);
  fd_set r, w, e;
  struct timeval tv;

  SECTION("readiness");
  FD_ZERO(&r); FD_ZERO(&w); FD_ZERO(&e);
  FD_SET(10, &r); FD_SET(11, &w); FD_SET(12, &r); FD_SET(10, &e);
  tv = (struct timeval){0, 0};
  T(select(13, &r, &w, &e, &tv));
  show_set("read", &r, 13); show_set("write", &w, 13); show_set("except", &e, 13);
  T(write(11, "x", 1));
  uint64_t one = 1;
  T(write(12, &one, 8));
  FD_ZERO(&r); FD_ZERO(&w);
  FD_SET(10, &r); FD_SET(12, &r); FD_SET(11, &w);
  T(select(13, &r, &w, NULL, NULL));
  show_set("read", &r, 13); show_set("write", &w, 13);

  SECTION("timeouts");
  char c;
  read(10, &c, 1);
  read(12, &one, 8);
  FD_ZERO(&r); FD_SET(10, &r);
  tv = (struct timeval){0, 50000};
  T(select(11, &r, NULL, NULL, &tv));
  printf("remaining after timeout: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
  show_set("read", &r, 11);
  T(select(0, NULL, NULL, NULL, &(struct timeval){0, 10000}));
  pid_t k = fork();
  if (k == 0) {
    usleep(50000);
    write(11, "y", 1);
    _exit(0);
  }
  FD_ZERO(&r); FD_SET(10, &r);
  tv = (struct timeval){5, 0};
  T(select(11, &r, NULL, NULL, &tv));
  printf("time left: %d\n", tv.tv_sec < 5 && tv.tv_sec >= 3);
  show_wait("writer", k);
  read(10, &c, 1);

  SECTION("pselect6 signal mask");
  struct sigaction sa = {.sa_handler = on_usr1};
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t block, none;
  sigemptyset(&block); sigaddset(&block, SIGUSR1);
  sigemptyset(&none);
  sigprocmask(SIG_BLOCK, &block, NULL);
  kill(getpid(), SIGUSR1);
  printf("handled while blocked: %d\n", got);
  FD_ZERO(&r); FD_SET(10, &r);
  struct timespec ts = {5, 0};
  T(pselect(11, &r, NULL, NULL, &ts, &none));
  printf("handled during pselect: %d\n", got);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("mask restored: %d\n", sigismember(&now, SIGUSR1));
  got = 0;
  FD_ZERO(&r); FD_SET(10, &r);
  ts = (struct timespec){0, 1000};
  T(pselect(11, &r, NULL, NULL, &ts, &block));

  SECTION("bad arguments");
  FD_ZERO(&r); FD_SET(9, &r);
  tv = (struct timeval){0, 0};
  T(select(10, &r, NULL, NULL, &tv));
  T(select(-1, NULL, NULL, NULL, &tv));
  tv = (struct timeval){0, -1};
  T(select(1, NULL, NULL, NULL, &tv));
  T(syscall(SYS_select, 11, (fd_set *)8, NULL, NULL, NULL));
  FD_ZERO(&r); FD_SET(10, &r);
  return 0;
}
