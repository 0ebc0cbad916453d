/* Advisory locks: POSIX record locks between processes (conflicts, F_GETLK,
 * splitting, release on any close, blocking waits, EINTR, EDEADLK), OFD
 * locks, and flock. */
#include "conf.h"
#include <sys/file.h>

static int lk(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

static void getlk(const char *label, int fd, int cmd, short type, off_t start, off_t len, pid_t owner) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  if (fcntl(fd, cmd, &fl) < 0) {
    printf("%s: -1 %s\n", label, ename(errno));
    return;
  }
  const char *t = fl.l_type == F_RDLCK ? "RD" : fl.l_type == F_WRLCK ? "WR" : "UN";
  if (fl.l_type == F_UNLCK) printf("%s: UN\n", label);
  else printf("%s: %s start %ld len %ld pid %s\n", label, t, (long)fl.l_start, (long)fl.l_len,
              fl.l_pid == owner ? "owner" : fl.l_pid == -1 ? "-1" : "other");
}

static void on_alarm(int s) { (void)s; }

int main(void) {
  tmp_enter();
  put_file("f", "0123456789abcdefghij");
  int fd = open("f", O_RDWR);
  pid_t me = getpid();
  int p[2];

  SECTION("posix conflicts");
  T(lk(fd, F_SETLK, F_WRLCK, 0, 10));
  pid_t c = fork();
  if (c == 0) {
    int cfd = open("f", O_RDWR);
    getlk("child getlk WR 5..15", cfd, F_GETLK, F_WRLCK, 5, 10, me);
    getlk("child getlk RD 10..20", cfd, F_GETLK, F_RDLCK, 10, 10, me);
    TL("child setlk WR 5..15", lk(cfd, F_SETLK, F_WRLCK, 5, 10));
    TL("child setlk RD 10..20", lk(cfd, F_SETLK, F_RDLCK, 10, 10));
    _exit(0);
  }
  show_wait("child", c);
  getlk("own lock is not a conflict", fd, F_GETLK, F_WRLCK, 0, 10, me);

  SECTION("split and merge");
  T(lk(fd, F_SETLK, F_WRLCK, 0, 100));
  T(lk(fd, F_SETLK, F_UNLCK, 40, 20));
  T(lk(fd, F_SETLK, F_RDLCK, 100, 0));
  c = fork();
  if (c == 0) {
    getlk("child getlk 0..100", fd, F_GETLK, F_WRLCK, 0, 100, me);
    getlk("child getlk 40..60", fd, F_GETLK, F_WRLCK, 40, 20, me);
    getlk("child getlk 50..70", fd, F_GETLK, F_WRLCK, 50, 20, me);
    getlk("child getlk RD 200", fd, F_GETLK, F_RDLCK, 200, 1, me);
    getlk("child getlk WR 200", fd, F_GETLK, F_WRLCK, 200, 1, me);
    _exit(0);
  }
  show_wait("child", c);

  SECTION("closing any fd of the file drops the process's locks");
  int other = open("f", O_RDONLY);
  T(close(other));
  c = fork();
  if (c == 0) {
    getlk("child getlk after close", fd, F_GETLK, F_WRLCK, 0, 0, me);
    _exit(0);
  }
  show_wait("child", c);

  SECTION("F_SETLKW waits for the holder");
  T(lk(fd, F_SETLK, F_WRLCK, 0, 1));
  pipe(p);
  c = fork();
  if (c == 0) {
    int cfd = open("f", O_RDWR);
    write(p[1], "w", 1);
    TL("child setlkw", lk(cfd, F_SETLKW, F_WRLCK, 0, 1));
    _exit(0);
  }
  char ch;
  read(p[0], &ch, 1);
  usleep(100000);
  int unlocked = lk(fd, F_SETLK, F_UNLCK, 0, 1);
  show_wait("child", c);
  printf("parent unlocked: %d\n", unlocked);

  SECTION("a signal interrupts F_SETLKW");
  T(lk(fd, F_SETLK, F_WRLCK, 0, 1));
  c = fork();
  if (c == 0) {
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    int cfd = open("f", O_RDWR);
    alarm(1);
    TL("child setlkw", lk(cfd, F_SETLKW, F_WRLCK, 0, 1));
    _exit(0);
  }
  show_wait("child", c);
  T(lk(fd, F_SETLK, F_UNLCK, 0, 0));

  SECTION("deadlock");
  /* Each process holds one byte and waits for the other's: whichever closes
   * the cycle gets EDEADLK, and the other then gets its lock. */
  int a2b[2], b2a[2];
  pipe(a2b);
  pipe(b2a);
  T(lk(fd, F_SETLK, F_WRLCK, 0, 1));
  c = fork();
  if (c == 0) {
    int cfd = open("f", O_RDWR);
    lk(cfd, F_SETLK, F_WRLCK, 1, 1);
    write(b2a[1], "x", 1);
    read(a2b[0], &ch, 1);
    int r = lk(cfd, F_SETLKW, F_WRLCK, 0, 1);
    int e = errno;
    if (r < 0) close(cfd); /* lets the parent through */
    _exit(r == 0 ? 0 : e == EDEADLK ? 1 : 2);
  }
  read(b2a[0], &ch, 1);
  write(a2b[1], "x", 1);
  int pr = lk(fd, F_SETLKW, F_WRLCK, 1, 1);
  int pe = errno;
  if (pr < 0) lk(fd, F_SETLK, F_UNLCK, 0, 0);
  int st;
  waitpid(c, &st, 0);
  int cres = WEXITSTATUS(st);
  TP("one EDEADLK and one granted", (pr == 0 && cres == 1) || (pr < 0 && pe == EDEADLK && cres == 0));
  T(lk(fd, F_SETLK, F_UNLCK, 0, 0));

  SECTION("OFD locks");
  int o1 = open("f", O_RDWR), o2 = open("f", O_RDWR);
  T(lk(o1, F_OFD_SETLK, F_WRLCK, 0, 10));
  T(lk(o2, F_OFD_SETLK, F_WRLCK, 5, 10));
  getlk("ofd getlk from another description", o2, F_OFD_GETLK, F_WRLCK, 0, 1, me);
  getlk("posix getlk sees the ofd lock", fd, F_GETLK, F_WRLCK, 0, 1, me);
  T(lk(fd, F_SETLK, F_RDLCK, 0, 1));
  struct flock bad = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1};
  T(fcntl(o2, F_OFD_SETLK, &bad));
  T(close(o1));
  T(lk(o2, F_OFD_SETLK, F_WRLCK, 5, 10));
  T(close(o2));

  SECTION("flock");
  int f1 = open("f", O_RDONLY), f2 = open("f", O_RDONLY), f3 = open("f", O_RDONLY);
  T(flock(f1, LOCK_EX));
  T(flock(f2, LOCK_EX | LOCK_NB));
  T(flock(f2, LOCK_SH | LOCK_NB));
  T(flock(f1, LOCK_SH));
  T(flock(f2, LOCK_SH | LOCK_NB));
  T(flock(f3, LOCK_EX | LOCK_NB));
  int d = dup(f1);
  T(flock(d, LOCK_UN));
  T(flock(f2, LOCK_UN));
  T(flock(f3, LOCK_EX | LOCK_NB));
  c = fork();
  if (c == 0) {
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    int cf = open("f", O_RDONLY);
    alarm(1);
    TL("child flock waits until a signal", flock(cf, LOCK_SH));
    _exit(0);
  }
  show_wait("child", c);
  T(close(f3));
  T(flock(f2, LOCK_EX | LOCK_NB));
  T(flock(f2, 0));
  T(flock(f2, LOCK_SH | LOCK_EX));

  SECTION("bad arguments");
  T(lk(fd, F_SETLK, 7, 0, 1));
  struct flock w = {.l_type = F_RDLCK, .l_whence = 9};
  T(fcntl(fd, F_SETLK, &w));
  T(lk(fd, F_SETLK, F_RDLCK, -5, 1));
  int ro = open("f", O_RDONLY);
  T(lk(ro, F_SETLK, F_WRLCK, 0, 1));
  T(fcntl(fd, F_SETLK, (struct flock *)8));
  T(lk(fd, F_GETLK, F_UNLCK, 0, 1));
  tmp_leave();
  return 0;
}
