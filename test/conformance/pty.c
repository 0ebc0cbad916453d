/* Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname, the replica's
 * node, termios round trips, canonical line editing and echo, EOF, raw mode
 * with VMIN/VTIME, output processing, FIONREAD, TIOCGPTPEER, controlling
 * terminals (open by a session leader, /dev/tty, TIOCGPGRP/TIOCSPGRP/TIOCGSID,
 * TIOCNOTTY), ^C ^\ ^Z and TIOCSWINSZ as signals to the foreground group,
 * SIGHUP when the master closes, EIO and POLLHUP once the replica closes. */
#include "conf.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

/* Reads from fd until want bytes came or nothing comes for a second. */
static int rd(int fd, char *buf, int want) {
  int got = 0;
  while (got < want) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0 || !(p.revents & POLLIN)) break;
    int n = read(fd, buf + got, want - got);
    if (n <= 0) break;
    got += n;
  }
  return got;
}

static void show_bytes(const char *label, const char *b, long n) {
  printf("%s: %ld \"", label, n);
  for (long i = 0; i < n; i++) {
    unsigned char c = b[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') putchar(c);
    else printf("\\x%02x", c);
  }
  printf("\"\n");
}

/* Writes s to the master, then shows what the replica reads (one read) and what the master sees echoed. */
static void line(int m, int s, const char *in, int echo_len) {
  char buf[256];
  write(m, in, strlen(in));
  long n = read(s, buf, sizeof buf);
  show_bytes("  read", buf, n);
  n = rd(m, buf, echo_len);
  show_bytes("  echo", buf, n);
}

static int open_pty(int *s) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) || unlockpt(m)) return -1;
  *s = open(ptsname(m), O_RDWR | O_NOCTTY);
  return m;
}

static volatile sig_atomic_t got;
static void on_sig(int sig) {
  got |= sig == SIGINT ? 1 : sig == SIGQUIT ? 2 : sig == SIGTSTP ? 4 : sig == SIGWINCH ? 8 : sig == SIGHUP ? 16 : 32;
}

static void handle(int sig) {
  struct sigaction sa = {0};
  sa.sa_handler = on_sig;
  sigaction(sig, &sa, NULL); /* no SA_RESTART: a blocked read returns EINTR */
}

int main(void) {
  char buf[256];
  int m, s;

  SECTION("open");
  m = posix_openpt(O_RDWR | O_NOCTTY);
  TP("master", m >= 0);
  T(grantpt(m));
  const char *name = ptsname(m);
  TP("ptsname under /dev/pts", name && strncmp(name, "/dev/pts/", 9) == 0);
  unsigned ptn = 99999;
  T(ioctl(m, TIOCGPTN, &ptn));
  char expect[32];
  snprintf(expect, sizeof expect, "/dev/pts/%u", ptn);
  TP("TIOCGPTN matches ptsname", strcmp(expect, name) == 0);
  T(open(name, O_RDWR | O_NOCTTY)); /* locked */
  T(unlockpt(m));
  s = open(name, O_RDWR | O_NOCTTY);
  TP("replica opens", s >= 0);
  TP("isatty(master)", isatty(m));
  TP("isatty(replica)", isatty(s));
  TP("ttyname is ptsname", ttyname(s) && strcmp(ttyname(s), name) == 0);
  struct stat st;
  T(fstat(s, &st));
  TP("replica is a char device", S_ISCHR(st.st_mode));
  printf("replica major %u, owner rw %d\n", major(st.st_rdev), (st.st_mode & 0600) == 0600);
  T(stat("/dev/ptmx", &st));
  printf("ptmx char %d rdev %u:%u\n", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
  T(access("/dev/pts", F_OK));
  TP("fstat(master) is a char device", fstat(m, &st) == 0 && S_ISCHR(st.st_mode));
  int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  TP("TIOCGPTPEER", peer >= 0);
  TP("TIOCGPTPEER is a tty", isatty(peer));
  T(fcntl(s, F_GETFL) & (O_ACCMODE | O_NOCTTY));
  T(close(peer));

  SECTION("termios");
  struct termios t, t2;
  T(tcgetattr(s, &t));
  printf("iflag %o oflag %o lflag %o cflag-csize %o\n", t.c_iflag, t.c_oflag, t.c_lflag, t.c_cflag & CSIZE);
  printf("cc intr %d quit %d erase %d kill %d eof %d time %d min %d susp %d werase %d\n", t.c_cc[VINTR],
         t.c_cc[VQUIT], t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF], t.c_cc[VTIME], t.c_cc[VMIN], t.c_cc[VSUSP],
         t.c_cc[VWERASE]);
  T(tcgetattr(m, &t2));
  TP("master sees the replica's termios", t.c_lflag == t2.c_lflag && t.c_iflag == t2.c_iflag);
  t2 = t;
  t2.c_lflag &= ~ECHOCTL;
  t2.c_cc[VERASE] = 8;
  T(tcsetattr(s, TCSANOW, &t2));
  struct termios t3;
  T(tcgetattr(m, &t3));
  TP("round trip lflag", t3.c_lflag == t2.c_lflag);
  TP("round trip VERASE", t3.c_cc[VERASE] == 8);
  T(tcsetattr(s, TCSANOW, &t));
  T(tcsetattr(m, 99, &t));

  SECTION("canonical");
  line(m, s, "hello\n", 7);
  line(m, s, "cr\r", 4);
  line(m, s, "abX\x7f" "c\n", 11);
  line(m, s, "junk\x15ok\n", 20);
  line(m, s, "one two\x17three\n", 31);
  line(m, s, "ctl\x01\n", 7);
  line(m, s, "par\x04", 3);
  line(m, s, "\x04", 0);
  write(m, "abcdef\n", 7);
  rd(m, buf, 9);
  T(read(s, buf, 3));
  long n = read(s, buf, sizeof buf);
  show_bytes("rest", buf, n);
  write(m, "two\nlines\n", 10);
  rd(m, buf, 12);
  struct pollfd pf = {s, POLLIN, 0};
  T(poll(&pf, 1, 1000));
  int avail = -1;
  T(ioctl(s, FIONREAD, &avail));
  printf("FIONREAD %d\n", avail);
  n = read(s, buf, sizeof buf);
  show_bytes("first line", buf, n);
  n = read(s, buf, sizeof buf);
  show_bytes("second line", buf, n);
  T(fcntl(s, F_SETFL, O_NONBLOCK));
  T(read(s, buf, sizeof buf));
  T(fcntl(s, F_SETFL, 0));

  SECTION("output");
  T(write(s, "x\ny\n", 4));
  n = rd(m, buf, 6);
  show_bytes("master reads", buf, n);
  avail = -1;
  T(write(s, "q", 1));
  pf.fd = m;
  T(poll(&pf, 1, 1000));
  T(ioctl(m, FIONREAD, &avail));
  printf("master FIONREAD %d\n", avail);
  rd(m, buf, 1);

  SECTION("raw");
  struct termios raw = t;
  cfmakeraw(&raw);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  T(tcsetattr(s, TCSANOW, &raw));
  T(read(s, buf, sizeof buf));
  write(m, "a\rb\x03", 4);
  n = rd(s, buf, 4);
  show_bytes("raw read", buf, n);
  T(rd(m, buf, 1)); /* no echo */
  T(write(s, "x\ny", 3));
  n = rd(m, buf, 3);
  show_bytes("raw output", buf, n);
  raw.c_cc[VTIME] = 1;
  T(tcsetattr(s, TCSANOW, &raw));
  T(read(s, buf, sizeof buf)); /* times out after 0.1 s */
  raw.c_cc[VMIN] = 3;
  raw.c_cc[VTIME] = 0;
  T(tcsetattr(s, TCSANOW, &raw));
  write(m, "123", 3);
  n = read(s, buf, sizeof buf);
  show_bytes("VMIN 3", buf, n);
  T(tcsetattr(s, TCSANOW, &t));

  SECTION("windows");
  struct winsize ws = {0}, ws2 = {0};
  T(ioctl(s, TIOCGWINSZ, &ws));
  printf("initial %d x %d\n", ws.ws_row, ws.ws_col);
  ws.ws_row = 40;
  ws.ws_col = 132;
  T(ioctl(m, TIOCSWINSZ, &ws));
  T(ioctl(s, TIOCGWINSZ, &ws2));
  printf("now %d x %d\n", ws2.ws_row, ws2.ws_col);

  SECTION("not a controlling terminal");
  pid_t pg = -5;
  T(ioctl(s, TIOCGPGRP, &pg));
  T(ioctl(s, TIOCSPGRP, &pg));
  T(ioctl(s, TIOCGSID, &pg));
  T(ioctl(m, TIOCNOTTY));

  SECTION("job control");
  int ready[2];
  pipe(ready);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    setsid();
    if (open("/dev/tty", O_RDWR) != -1 || errno != ENXIO) _exit(100);
    int c = open(name, O_RDWR); /* a session leader's open makes it the controlling terminal */
    if (c < 0) _exit(101);
    int sid = -1, fg = -1;
    if (ioctl(c, TIOCGSID, &sid) || sid != getpid()) _exit(102);
    if (tcgetpgrp(c) != getpid() || (fg = tcgetpgrp(s)) != getpid()) _exit(103);
    int tty = open("/dev/tty", O_RDWR);
    if (tty < 0 || !isatty(tty)) _exit(104);
    pid_t bad = 0x3fffffff;
    if (tcsetpgrp(c, bad) != -1 || errno != ESRCH) _exit(105);
    if (tcsetpgrp(c, getppid()) != -1 || (errno != EPERM && errno != ESRCH)) _exit(106);
    if (ioctl(c, TIOCSCTTY, 0) != 0) _exit(107); /* already ours */
    handle(SIGINT);
    handle(SIGQUIT);
    handle(SIGTSTP);
    handle(SIGWINCH);
    write(ready[1], "r", 1);
    for (;;) {
      int r = read(c, buf, sizeof buf);
      if (r > 0 && buf[0] == 'q') break;
      if (r == 0) break;
    }
    _exit(got);
  }
  close(ready[1]);
  read(ready[0], buf, 1);
  write(m, "\x03", 1);
  n = rd(m, buf, 2);
  show_bytes("echo of ^C", buf, n);
  write(m, "\x1c", 1);
  n = rd(m, buf, 2);
  show_bytes("echo of ^\\", buf, n);
  write(m, "\x1a", 1);
  n = rd(m, buf, 2);
  show_bytes("echo of ^Z", buf, n);
  ws.ws_row = 41;
  T(ioctl(m, TIOCSWINSZ, &ws));
  T(ioctl(m, TIOCSWINSZ, &ws)); /* unchanged: no signal */
  usleep(100000);
  write(m, "q\n", 2);
  rd(m, buf, 3);
  show_wait("child got INT|QUIT|TSTP|WINCH", pid);

  SECTION("TIOCNOTTY");
  pid = fork();
  if (pid == 0) {
    setsid();
    int c = open(name, O_RDWR);
    if (c < 0) _exit(101);
    signal(SIGHUP, SIG_IGN); /* a session leader's TIOCNOTTY hangs up its foreground group: itself */
    if (ioctl(c, TIOCNOTTY) != 0) _exit(102);
    if (tcgetpgrp(c) != -1 || errno != ENOTTY) _exit(103);
    if (open("/dev/tty", O_RDWR) != -1) _exit(104);
    if (ioctl(c, TIOCSCTTY, 0) != 0) _exit(105);
    if (tcgetpgrp(c) != getpid()) _exit(106);
    _exit(0);
  }
  show_wait("TIOCNOTTY then TIOCSCTTY", pid);
  close(s);

  SECTION("background groups");
  pid = fork();
  if (pid == 0) {
    setsid();
    int c = open(name, O_RDWR);
    if (c < 0) _exit(101);
    int bits = 0, st;
    pid_t bg = fork();
    if (bg == 0) {
      setpgid(0, 0);
      read(c, buf, 1); /* stopped by SIGTTIN */
      _exit(0);
    }
    if (waitpid(bg, &st, WUNTRACED) == bg && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTTIN) bits |= 1;
    kill(bg, SIGKILL);
    waitpid(bg, &st, 0);
    bg = fork();
    if (bg == 0) {
      setpgid(0, 0);
      signal(SIGTTIN, SIG_IGN);
      _exit(read(c, buf, 1) == -1 && errno == EIO ? 0 : 1);
    }
    if (waitpid(bg, &st, 0) == bg && WIFEXITED(st) && WEXITSTATUS(st) == 0) bits |= 2;
    bg = fork();
    if (bg == 0) {
      struct termios tt;
      setpgid(0, 0);
      tcgetattr(c, &tt);
      tcsetattr(c, TCSANOW, &tt); /* stopped by SIGTTOU */
      _exit(0);
    }
    if (waitpid(bg, &st, WUNTRACED) == bg && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTTOU) bits |= 4;
    kill(bg, SIGKILL);
    waitpid(bg, &st, 0);
    bg = fork();
    if (bg == 0) {
      setpgid(0, 0);
      _exit(write(c, "", 0) == 0 ? 0 : 1); /* no TOSTOP: background writes are allowed */
    }
    if (waitpid(bg, &st, 0) == bg && WIFEXITED(st) && WEXITSTATUS(st) == 0) bits |= 8;
    _exit(bits);
  }
  show_wait("background read stops (1), ignored is EIO (2), tcsetattr stops (4), write ok (8)", pid);

  SECTION("hangup");
  int m2, s2;
  m2 = open_pty(&s2);
  char name2[64];
  snprintf(name2, sizeof name2, "%s", ptsname(m2));
  pipe(ready);
  pid = fork();
  if (pid == 0) {
    close(ready[0]);
    close(m2);
    setsid();
    int c = open(name2, O_RDWR);
    if (c < 0) _exit(101);
    handle(SIGHUP);
    write(ready[1], "r", 1);
    int r;
    while ((r = read(c, buf, sizeof buf)) == -1 && errno == EINTR) continue;
    /* Reported in the exit status: the parent prints concurrently. */
    int bits = got;
    if (r == -1 && errno == EIO) bits |= 32; /* the read blocked at the hangup */
    if (read(c, buf, sizeof buf) == 0) bits |= 64; /* later reads see end of file */
    if (write(c, "x", 1) == -1 && errno == EIO) bits |= 128;
    struct pollfd hp = {c, POLLIN | POLLOUT, 0};
    if (poll(&hp, 1, 0) == 1 && hp.revents == (POLLIN | POLLOUT | POLLERR | POLLHUP)) bits |= 1;
    _exit(bits);
  }
  close(ready[1]);
  read(ready[0], buf, 1);
  close(s2);
  usleep(100000);
  T(close(m2));
  show_wait("replica's session leader after the master closed", pid);

  SECTION("replica closed");
  m2 = open_pty(&s2);
  T(close(s2));
  pf.fd = m2;
  pf.events = POLLIN;
  T(poll(&pf, 1, 1000));
  TP("POLLHUP", pf.revents & POLLHUP);
  T(read(m2, buf, sizeof buf));
  T(close(m2));
  T(close(m));
  return 0;
}
