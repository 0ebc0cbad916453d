/* Pipes: pipe/pipe2, data through, EOF, EPIPE with SIGPIPE ignored, SIGPIPE
 * by default (child), O_NONBLOCK and EAGAIN, capacity, O_CLOEXEC, fork. */
#include "conf.h"

int main(void) {
  int p[2];
  char buf[128];

  SECTION("basic");
  T(pipe(p));
  printf("fds: %d %d\n", p[0], p[1]);
  T(write(p[1], "hello", 5));
  long n = read(p[0], buf, sizeof buf);
  TL("read", n);
  printf("data: %.*s\n", (int)n, buf);
  T(write(p[0], "x", 1));
  T(read(p[1], buf, 1));
  T(lseek(p[0], 0, SEEK_SET));
  T(pread(p[0], buf, 1, 0));
  T(fcntl(p[0], F_GETFL) & O_ACCMODE);
  T(fcntl(p[1], F_GETFL) & O_ACCMODE);
  T(write(p[1], "tail", 4));
  T(close(p[1]));
  n = read(p[0], buf, sizeof buf);
  TL("read after writer closed", n);
  T(read(p[0], buf, sizeof buf));
  T(close(p[0]));

  SECTION("EPIPE");
  signal(SIGPIPE, SIG_IGN);
  T(pipe(p));
  T(close(p[0]));
  T(write(p[1], "x", 1));
  T(close(p[1]));
  signal(SIGPIPE, SIG_DFL);
  T(pipe(p));
  T(close(p[0])); /* before fork, so no reader exists anywhere */
  pid_t pid = fork();
  if (pid == 0) {
    write(p[1], "x", 1);
    _exit(0);
  }
  close(p[1]);
  show_wait("child writing to a pipe with no reader, SIGPIPE default", pid);

  SECTION("pipe2");
  T(pipe2(p, O_NONBLOCK));
  T(fcntl(p[0], F_GETFL) & O_NONBLOCK);
  T(fcntl(p[1], F_GETFL) & O_NONBLOCK);
  T(fcntl(p[0], F_GETFD));
  T(read(p[0], buf, sizeof buf));
  long total = 0;
  char chunk[4096];
  memset(chunk, 'z', sizeof chunk);
  for (;;) {
    long w = write(p[1], chunk, sizeof chunk);
    if (w < 0) {
      printf("fill stopped: %s\n", ename(errno));
      break;
    }
    total += w;
    if (total > (1 << 22)) break;
  }
  printf("capacity: %ld\n", total);
  T(write(p[1], "x", 1));
  total = 0;
  for (;;) {
    long r = read(p[0], chunk, sizeof chunk);
    if (r <= 0) {
      printf("drain stopped: %ld %s\n", r, r < 0 ? ename(errno) : "");
      break;
    }
    total += r;
  }
  printf("drained: %ld\n", total);
  close(p[0]);
  close(p[1]);
  T(pipe2(p, O_CLOEXEC));
  T(fcntl(p[0], F_GETFD));
  T(fcntl(p[1], F_GETFD));
  T(fcntl(p[0], F_GETFL) & O_NONBLOCK);
  close(p[0]);
  close(p[1]);
  T(pipe2(p, 0x1));
  T(pipe2(p, -1));
  T(pipe2(p, 0));
  T(fcntl(p[0], F_SETFL, O_NONBLOCK));
  T(read(p[0], buf, 1));
  close(p[0]);
  close(p[1]);

  SECTION("across fork");
  T(pipe(p));
  pid = fork();
  if (pid == 0) {
    close(p[0]);
    for (int i = 0; i < 3; i++) {
      char line[32];
      int len = snprintf(line, sizeof line, "line %d\n", i);
      write(p[1], line, len);
    }
    _exit(0);
  }
  close(p[1]);
  total = 0;
  for (;;) {
    long r = read(p[0], buf + total, sizeof buf - 1 - total);
    if (r <= 0) break;
    total += r;
  }
  buf[total] = 0;
  printf("child wrote %ld bytes:\n%s", total, buf);
  close(p[0]);
  show_wait("writer child", pid);

  SECTION("large transfer");
  T(pipe(p));
  pid = fork();
  if (pid == 0) {
    close(p[0]);
    char big[10000];
    for (int i = 0; i < 100; i++) {
      memset(big, 'a' + i % 26, sizeof big);
      long off = 0;
      while (off < (long)sizeof big) {
        long w = write(p[1], big + off, sizeof big - off);
        if (w <= 0) _exit(1);
        off += w;
      }
    }
    _exit(0);
  }
  close(p[1]);
  unsigned long sum = 0, got = 0;
  for (;;) {
    long r = read(p[0], chunk, sizeof chunk);
    if (r <= 0) break;
    for (long i = 0; i < r; i++) sum = sum * 31 + (unsigned char)chunk[i];
    got += r;
  }
  printf("received %lu bytes, checksum %lx\n", got, sum);
  close(p[0]);
  show_wait("big writer", pid);
  return 0;
}
