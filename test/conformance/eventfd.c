/* eventfd: counter semantics, EFD_SEMAPHORE, EFD_NONBLOCK and EAGAIN,
 * EFD_CLOEXEC, short buffers, overflow rules, poll readiness, and a blocking
 * read woken by another process's write. */
#include "conf.h"
#include <poll.h>
#include <sys/eventfd.h>

static void rd(const char *label, int fd) {
  uint64_t v = 0;
  errno = 0;
  long r = read(fd, &v, sizeof v);
  if (r < 0)
    printf("%s: -1 %s\n", label, ename(errno));
  else
    printf("%s: %ld value %llu\n", label, r, (unsigned long long)v);
}

static long wr(int fd, uint64_t v) { return write(fd, &v, sizeof v); }

static int pollev(int fd, short ev) {
  struct pollfd p = {fd, ev, 0};
  int r = poll(&p, 1, 0);
  return r < 0 ? -1 : p.revents;
}

int main(void) {
  SECTION("flags");
  T(syscall(SYS_eventfd2, 0, 0x10));
  T(syscall(SYS_eventfd2, 0, EFD_NONBLOCK | 0x2));
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  TP("eventfd ok", fd >= 0);
  T(fcntl(fd, F_GETFD));
  T(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE));
  int fd0 = syscall(SYS_eventfd, 3);
  TP("eventfd (old) ok", fd0 >= 0);
  T(fcntl(fd0, F_GETFD));
  T(fcntl(fd0, F_GETFL) & (O_NONBLOCK | O_ACCMODE));
  rd("old eventfd initial", fd0);
  close(fd0);
  struct stat st;
  T(fstat(fd, &st));
  T(lseek(fd, 0, SEEK_SET));

  SECTION("counter");
  rd("read empty nonblock", fd);
  printf("poll empty: 0x%x\n", pollev(fd, POLLIN | POLLOUT));
  T(wr(fd, 5));
  T(wr(fd, 7));
  printf("poll nonzero: 0x%x\n", pollev(fd, POLLIN | POLLOUT));
  rd("read", fd);
  rd("read again", fd);
  char small[4] = {0};
  T(write(fd, small, 4));
  T(read(fd, small, 4));
  T(wr(fd, 1));
  char big[16] = {0};
  T(read(fd, big, sizeof big));
  printf("big read value: %llu\n", (unsigned long long)*(uint64_t *)big);
  T(wr(fd, 0));
  rd("after writing 0", fd);

  SECTION("overflow");
  T(wr(fd, UINT64_MAX));
  T(wr(fd, UINT64_MAX - 1));
  printf("poll full: 0x%x\n", pollev(fd, POLLIN | POLLOUT));
  T(wr(fd, 1));
  T(wr(fd, 0));
  rd("read full", fd);
  T(wr(fd, UINT64_MAX - 2));
  T(wr(fd, 1));
  T(wr(fd, 1));
  rd("read", fd);
  close(fd);

  SECTION("semaphore");
  fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  rd("sem read 1", fd);
  rd("sem read 2", fd);
  rd("sem read 3", fd);
  rd("sem read 4", fd);
  T(wr(fd, 2));
  rd("sem read 5", fd);
  rd("sem read 6", fd);
  rd("sem read 7", fd);
  close(fd);

  SECTION("blocking");
  fd = eventfd(0, 0);
  pid_t pid = fork();
  if (pid == 0) {
    usleep(50000);
    wr(fd, 42);
    _exit(0);
  }
  rd("blocking read woken by child", fd);
  show_wait("writer child", pid);
  /* A blocked write woken by a read in another process. */
  T(wr(fd, UINT64_MAX - 1));
  pid = fork();
  if (pid == 0) {
    usleep(50000);
    uint64_t v;
    if (read(fd, &v, 8) != 8 || v != UINT64_MAX - 1) _exit(1);
    _exit(0);
  }
  T(wr(fd, 9));
  show_wait("reader child", pid);
  rd("after blocked write", fd);
  /* Semaphore mode: two blocked readers in children, each gets 1. */
  close(fd);
  fd = eventfd(0, EFD_SEMAPHORE);
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      uint64_t v = 0;
      if (read(fd, &v, 8) != 8) _exit(2);
      _exit((int)v);
    }
  }
  usleep(50000);
  T(wr(fd, 2));
  show_wait("sem reader 1", kids[0]);
  show_wait("sem reader 2", kids[1]);
  close(fd);
  return 0;
}
