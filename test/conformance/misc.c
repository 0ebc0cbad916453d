/* Miscellany: getrandom (lengths only), clock_gettime/clock_getres,
 * gettimeofday, nanosleep, uname (sysname/machine), ioctl TCGETS/TIOCGWINSZ
 * on non-ttys, prlimit64/getrlimit/setrlimit, sched_yield. */
#include "conf.h"
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>

static double ts(const struct timespec *t) { return t->tv_sec + t->tv_nsec / 1e9; }

int main(void) {
  SECTION("getrandom");
  unsigned char r1[64], r2[64];
  T(getrandom(r1, 16, 0));
  T(getrandom(r1, sizeof r1, GRND_NONBLOCK));
  T(getrandom(r2, sizeof r2, 0));
  TP("two draws differ", memcmp(r1, r2, sizeof r1) != 0);
  T(getrandom(r1, 0, 0));
  T(getrandom(r1, 16, 0x80));
  T(syscall(SYS_getrandom, NULL, 16, 0));
  T(getrandom(r1, 16, GRND_RANDOM | GRND_NONBLOCK) > 0);

  SECTION("clocks");
  struct timespec a, b;
  T(clock_gettime(CLOCK_MONOTONIC, &a));
  for (int i = 0; i < 1000; i++) {
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (ts(&b) < ts(&a)) {
      printf("monotonic went backwards\n");
      break;
    }
    a = b;
  }
  printf("monotonic non-decreasing over 1000 reads\n");
  T(clock_gettime(CLOCK_REALTIME, &a));
  TP("realtime after 2020 and before 2100", a.tv_sec > 1577836800L && a.tv_sec < 4102444800L);
  TP("tv_nsec in range", a.tv_nsec >= 0 && a.tv_nsec < 1000000000L);
  struct timeval tv;
  T(gettimeofday(&tv, NULL));
  TP("gettimeofday within 5s of realtime", labs(tv.tv_sec - a.tv_sec) <= 5);
  time_t t = time(NULL);
  TP("time() within 5s of realtime", labs(t - a.tv_sec) <= 5);
  T(clock_gettime(CLOCK_BOOTTIME, &a));
  T(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a));
  T(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a));
  T(clock_gettime(CLOCK_MONOTONIC_COARSE, &a));
  T(clock_gettime(CLOCK_REALTIME_COARSE, &a));
  T(syscall(SYS_clock_gettime, 12345, &a));
  T(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a));
  T(clock_getres(CLOCK_MONOTONIC, &a));
  printf("monotonic resolution: %ld.%09ld\n", (long)a.tv_sec, a.tv_nsec);
  T(clock_getres(CLOCK_REALTIME, NULL));

  SECTION("nanosleep");
  struct timespec req = {0, 20 * 1000 * 1000}, rem;
  clock_gettime(CLOCK_MONOTONIC, &a);
  T(nanosleep(&req, &rem));
  clock_gettime(CLOCK_MONOTONIC, &b);
  double dt = ts(&b) - ts(&a);
  TP("slept at least 20ms", dt >= 0.020);
  TP("slept less than 2s", dt < 2.0);
  req.tv_nsec = 1000000000L;
  T(nanosleep(&req, NULL));
  req.tv_sec = -1;
  req.tv_nsec = 0;
  T(nanosleep(&req, NULL));
  req.tv_sec = 0;
  T(nanosleep(&req, NULL));
  req.tv_nsec = 1000000;
  T(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL));
  clock_gettime(CLOCK_MONOTONIC, &a);
  a.tv_nsec += 1000000;
  if (a.tv_nsec >= 1000000000L) { a.tv_sec++; a.tv_nsec -= 1000000000L; }
  T(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &a, NULL));

  SECTION("uname");
  struct utsname u;
  T(uname(&u));
  printf("sysname: %s\n", u.sysname);
  printf("machine: %s\n", u.machine);
  TP("release non-empty", u.release[0] != 0);
  TP("nodename non-empty", u.nodename[0] != 0);

  SECTION("ioctl on non-ttys");
  tmp_enter();
  put_file("f", "x");
  int fd = open("f", O_RDWR);
  struct termios tio;
  struct winsize ws;
  T(ioctl(fd, TCGETS, &tio));
  T(ioctl(fd, TIOCGWINSZ, &ws));
  int p[2];
  pipe(p);
  T(ioctl(p[0], TCGETS, &tio));
  T(ioctl(p[1], TIOCGWINSZ, &ws));
  int n = 0;
  write(p[1], "abc", 3);
  T(ioctl(p[0], FIONREAD, &n));
  printf("FIONREAD: %d\n", n);
  int dn = open("/dev/null", O_RDWR);
  T(ioctl(dn, TCGETS, &tio));
  T(isatty(dn));
  T(ioctl(-1, TCGETS, &tio));
  T(ioctl(9999, TIOCGWINSZ, &ws));
  close(fd);
  close(p[0]);
  close(p[1]);
  close(dn);
  tmp_leave();

  SECTION("rlimits");
  struct rlimit rl, rl2;
  T(getrlimit(RLIMIT_NOFILE, &rl));
  TP("RLIMIT_NOFILE soft <= hard", rl.rlim_cur <= rl.rlim_max);
  TP("RLIMIT_NOFILE soft >= 64", rl.rlim_cur >= 64);
  T(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl2));
  TP("prlimit64 agrees with getrlimit", rl.rlim_cur == rl2.rlim_cur && rl.rlim_max == rl2.rlim_max);
  struct rlimit lower = {64, rl.rlim_max};
  T(setrlimit(RLIMIT_NOFILE, &lower));
  T(getrlimit(RLIMIT_NOFILE, &rl2));
  printf("soft now: %lu, hard unchanged: %d\n", (unsigned long)rl2.rlim_cur, rl2.rlim_max == rl.rlim_max);
  struct rlimit bad = {rl.rlim_max, 64};
  T(setrlimit(RLIMIT_NOFILE, &bad));
  T(setrlimit(RLIMIT_NOFILE, &rl));
  T(getrlimit(12345, &rl2));
  T(syscall(SYS_prlimit64, 0, 12345, NULL, &rl2));
  T(getrlimit(RLIMIT_STACK, &rl2));
  TP("RLIMIT_STACK soft <= hard", rl2.rlim_cur <= rl2.rlim_max);
  T(getrlimit(RLIMIT_AS, &rl2));
  T(getrlimit(RLIMIT_CORE, &rl2));

  SECTION("misc");
  T(sched_yield());
  TP("getpid() > 0", getpid() > 0);
  return 0;
}
