/* epoll: create/ctl/wait errors, level vs edge triggering on pipes and
 * eventfds, EPOLLONESHOT and its MOD re-arm, EPOLLHUP/EPOLLERR, interests
 * keyed by (fd, description) and dropped on release, nested epoll (and poll
 * on an epoll fd), ELOOP, maxevents round-robin order, timeouts,
 * epoll_pwait/epoll_pwait2, a wait woken by another process, EINTR. */
#include "conf.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

static void evname(char *out, uint32_t e) {
  static const struct { uint32_t bit; const char *name; } names[] = {
      {EPOLLIN, "EPOLLIN"}, {EPOLLPRI, "EPOLLPRI"}, {EPOLLOUT, "EPOLLOUT"}, {EPOLLERR, "EPOLLERR"},
      {EPOLLHUP, "EPOLLHUP"}, {EPOLLRDNORM, "EPOLLRDNORM"}, {EPOLLRDBAND, "EPOLLRDBAND"},
      {EPOLLWRNORM, "EPOLLWRNORM"}, {EPOLLWRBAND, "EPOLLWRBAND"}, {EPOLLRDHUP, "EPOLLRDHUP"}};
  out[0] = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (e & names[i].bit) {
      if (out[0]) strcat(out, "|");
      strcat(out, names[i].name);
      e &= ~names[i].bit;
    }
  }
  if (e) sprintf(out + strlen(out), "%s0x%x", out[0] ? "|" : "", e);
  if (!out[0]) strcpy(out, "0");
}

/* epoll_wait and print "label: N EV(data) ...". */
static void waitp(const char *label, int ep, int max, int timeout) {
  struct epoll_event evs[16];
  errno = 0;
  int n = epoll_wait(ep, evs, max, timeout);
  if (n < 0) {
    printf("%s: -1 %s\n", label, ename(errno));
    return;
  }
  printf("%s: %d", label, n);
  for (int i = 0; i < n; i++) {
    char b[160];
    evname(b, evs[i].events);
    printf(" %s(%llu)", b, (unsigned long long)evs[i].data.u64);
  }
  printf("\n");
}

static int add(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}
static int mod(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}
static void efd_add(int fd, uint64_t v) {
  if (write(fd, &v, 8) != 8) perror("eventfd write");
}
static void on_usr1(int s) { (void)s; }

int main(void) {
  int p[2], q[2];
  char buf[64];
  struct epoll_event ev = {.events = EPOLLIN};

  SECTION("create");
  T(epoll_create(0));
  T(epoll_create(-1));
  T(epoll_create1(1));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  TP("epoll_create1 ok", ep >= 0);
  T(fcntl(ep, F_GETFD));
  T(fcntl(ep, F_GETFL));
  T(read(ep, buf, 8));
  int ep2 = epoll_create(1);
  T(fcntl(ep2, F_GETFD));

  SECTION("ctl errors");
  T(pipe(p));
  put_file("/tmp/conf.epoll.reg", "x");
  int reg = open("/tmp/conf.epoll.reg", O_RDONLY);
  unlink("/tmp/conf.epoll.reg");
  T(epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev));
  T(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev));
  T(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev));
  T(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
  T(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev));
  T(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], NULL));
  T(epoll_ctl(ep, 99, p[0], &ev));
  T(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  T(add(ep, p[0], EPOLLIN, 1));
  T(add(ep, p[0], EPOLLIN, 1));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  T(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 1));
  T(mod(ep, p[0], EPOLLIN, 1));
  T(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 1));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  T(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 1));
  T(add(ep, ep2, EPOLLIN | EPOLLEXCLUSIVE, 1));
  T(add(ep, p[0], EPOLLIN | EPOLLET | EPOLLRDHUP | EPOLLONESHOT | EPOLLPRI, 1));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  close(reg);

  SECTION("wait errors");
  struct epoll_event evs[4];
  T(epoll_wait(ep, evs, 0, 0));
  T(syscall(SYS_epoll_wait, ep, evs, -1, 0));
  T(epoll_wait(999, evs, 1, 0));
  T(epoll_wait(p[0], evs, 1, 0));
  T(epoll_wait(ep, evs, 1, 0));
  T(epoll_wait(ep, evs, 1, 30));

  SECTION("level-triggered pipe");
  T(add(ep, p[0], EPOLLIN, 10));
  waitp("empty", ep, 4, 0);
  T(write(p[1], "ab", 2));
  waitp("after write", ep, 4, 0);
  waitp("again (level)", ep, 4, 0);
  T(read(p[0], buf, 1));
  waitp("after partial read", ep, 4, 0);
  T(read(p[0], buf, 1));
  waitp("after draining", ep, 4, 0);
  T(add(ep, p[1], EPOLLOUT, 11));
  waitp("write end", ep, 4, 0);
  T(mod(ep, p[1], EPOLLOUT | EPOLLWRNORM, 12));
  waitp("write end with WRNORM", ep, 4, 0);
  T(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
  T(mod(ep, p[0], EPOLLIN | EPOLLRDNORM | EPOLLRDHUP, 13));
  T(write(p[1], "c", 1));
  waitp("RDNORM", ep, 4, 0);
  T(read(p[0], buf, 1));

  SECTION("edge-triggered pipe");
  T(mod(ep, p[0], EPOLLIN | EPOLLET, 20));
  waitp("empty", ep, 4, 0);
  T(write(p[1], "abc", 3));
  waitp("after write", ep, 4, 0);
  waitp("again (edge: nothing)", ep, 4, 0);
  T(read(p[0], buf, 1));
  waitp("after partial read (nothing)", ep, 4, 0);
  T(write(p[1], "d", 1));
  waitp("after another write", ep, 4, 0);
  waitp("again", ep, 4, 0);
  T(mod(ep, p[0], EPOLLIN | EPOLLET, 21));
  waitp("after MOD while ready", ep, 4, 0);
  T(read(p[0], buf, sizeof buf));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));

  SECTION("edge-triggered eventfd");
  int efd = eventfd(0, EFD_NONBLOCK);
  T(add(ep, efd, EPOLLIN | EPOLLOUT | EPOLLET, 30));
  waitp("writable at add", ep, 4, 0);
  waitp("again", ep, 4, 0);
  efd_add(efd, 1);
  waitp("after write", ep, 4, 0);
  efd_add(efd, 1);
  waitp("after second write", ep, 4, 0);
  waitp("again", ep, 4, 0);
  uint64_t v;
  T(read(efd, &v, 8));
  waitp("after read", ep, 4, 0);
  T(mod(ep, efd, EPOLLIN | EPOLLET, 31));
  T(read(efd, &v, 8));
  waitp("IN only, after read (nothing)", ep, 4, 0);
  T(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL));

  SECTION("oneshot");
  T(add(ep, efd, EPOLLIN | EPOLLONESHOT, 40));
  waitp("empty", ep, 4, 0);
  efd_add(efd, 1);
  waitp("fires", ep, 4, 0);
  waitp("disabled", ep, 4, 0);
  efd_add(efd, 1);
  waitp("still disabled", ep, 4, 0);
  T(add(ep, efd, EPOLLIN, 41));
  T(mod(ep, efd, EPOLLIN | EPOLLONESHOT, 42));
  waitp("re-armed", ep, 4, 0);
  waitp("disabled again", ep, 4, 0);
  T(read(efd, &v, 8));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL));

  SECTION("hup and err");
  T(pipe(q));
  T(add(ep, q[0], EPOLLIN, 50));
  T(add(ep, q[1], EPOLLOUT, 51));
  T(write(q[1], "z", 1));
  T(close(q[1]));
  waitp("read end, writer gone, data left", ep, 4, 0);
  T(read(q[0], buf, sizeof buf));
  waitp("read end, writer gone, empty", ep, 4, 0);
  T(close(q[0]));
  waitp("after closing the read end too", ep, 4, 0);
  T(pipe(q));
  T(add(ep, q[1], 0, 52));
  waitp("write end, events 0", ep, 4, 0);
  T(close(q[0]));
  waitp("write end, reader gone", ep, 4, 0);
  T(close(q[1]));

  SECTION("interest keyed by fd and description");
  T(pipe(q));
  T(add(ep, q[0], EPOLLIN, 60));
  int d = dup(q[0]);
  T(add(ep, d, EPOLLIN, 61));
  T(write(q[1], "y", 1));
  waitp("two fds, one pipe", ep, 4, 0);
  T(close(q[0]));
  waitp("first fd closed, description alive", ep, 4, 0);
  T(epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL));
  T(dup2(d, q[0]));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL));
  waitp("after DEL through the reused number", ep, 4, 0);
  T(close(q[0]));
  T(close(d));
  waitp("description released", ep, 4, 0);
  T(close(q[1]));

  SECTION("round robin");
  int e[3];
  for (int i = 0; i < 3; i++) {
    e[i] = eventfd(1, 0);
    add(ep, e[i], EPOLLIN, 70 + i);
  }
  waitp("max 2", ep, 2, 0);
  waitp("max 2", ep, 2, 0);
  waitp("max 2", ep, 2, 0);
  waitp("max 16", ep, 16, 0);
  for (int i = 0; i < 3; i++) close(e[i]);
  waitp("all closed", ep, 16, 0);

  SECTION("nested");
  int inner = epoll_create1(0);
  T(pipe(q));
  T(add(inner, q[0], EPOLLIN, 80));
  T(add(ep, inner, EPOLLIN, 81));
  T(add(inner, ep, EPOLLIN, 82));
  T(add(ep2, ep, EPOLLIN, 83));
  T(add(inner, ep2, EPOLLIN, 84));
  waitp("outer, idle", ep, 4, 0);
  struct pollfd pf = {inner, POLLIN, 0};
  T(poll(&pf, 1, 0));
  T(write(q[1], "n", 1));
  waitp("outer", ep, 4, 0);
  waitp("outer again (level)", ep, 4, 0);
  T(poll(&pf, 1, 0));
  printf("poll revents: 0x%x\n", pf.revents);
  waitp("ep2 (two levels up)", ep2, 4, 0);
  waitp("inner", inner, 4, 0);
  T(read(q[0], buf, sizeof buf));
  waitp("outer after drain", ep, 4, 0);
  T(mod(ep, inner, EPOLLIN | EPOLLET, 85));
  T(write(q[1], "n", 1));
  waitp("outer ET", ep, 4, 0);
  waitp("outer ET again", ep, 4, 0);
  T(read(q[0], buf, sizeof buf));
  T(epoll_ctl(ep, EPOLL_CTL_DEL, inner, NULL));

  SECTION("woken by another process");
  T(add(ep, q[0], EPOLLIN, 90));
  pid_t pid = fork();
  if (pid == 0) {
    usleep(50000);
    if (write(q[1], "w", 1) != 1) _exit(1);
    _exit(0);
  }
  waitp("blocking wait", ep, 4, -1);
  show_wait("writer child", pid);
  T(read(q[0], buf, sizeof buf));
  waitp("timeout 20ms", ep, 4, 20);

  SECTION("pwait");
  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, SIGUSR1);
  T(epoll_pwait(ep, evs, 4, 0, &ss));
  T(syscall(SYS_epoll_pwait, ep, evs, 4, 0, &ss, 4));
  struct timespec ts = {0, 10 * 1000 * 1000};
  T(syscall(SYS_epoll_pwait2, ep, evs, 4, &ts, NULL, 8));
  struct timespec bad = {0, 2000000000};
  T(syscall(SYS_epoll_pwait2, ep, evs, 4, &bad, NULL, 8));
  T(write(q[1], "p", 1));
  T(syscall(SYS_epoll_pwait2, ep, evs, 4, NULL, &ss, 8));
  T(read(q[0], buf, sizeof buf));

  SECTION("EINTR");
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  pid_t parent = getpid();
  pid = fork();
  if (pid == 0) {
    usleep(50000);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  waitp("interrupted", ep, 4, 5000);
  show_wait("signalling child", pid);
  /* The same signal blocked by epoll_pwait's mask: the wait times out instead. */
  sigprocmask(SIG_BLOCK, &ss, NULL);
  pid = fork();
  if (pid == 0) {
    kill(parent, SIGUSR1);
    _exit(0);
  }
  show_wait("second signalling child", pid);
  T(epoll_pwait(ep, evs, 4, 20, &ss));
  sigset_t empty;
  sigemptyset(&empty);
  T(epoll_pwait(ep, evs, 4, 1000, &empty));
  sigprocmask(SIG_UNBLOCK, &ss, NULL);

  close(q[0]);
  close(q[1]);
  close(p[0]);
  close(p[1]);
  close(inner);
  close(ep2);
  close(ep);
  close(efd);
  return 0;
}
