/* open/read/close loop on a small file (µs per iteration).
 * usage: openread ITERS PATH   (PATH: a small existing file) */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 3, "ITERS PATH");
  const char *path = argv[2];
  char buf[4096];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { fprintf(stderr, "open %s: %s\n", path, strerror(errno)); return 1; }
  ssize_t want = read(fd, buf, sizeof buf);
  if (want <= 0) { fprintf(stderr, "read %s: %s\n", path, want < 0 ? strerror(errno) : "empty file"); return 1; }
  close(fd);
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "open %s: %s\n", path, strerror(errno)); return 1; }
    ssize_t got = read(fd, buf, sizeof buf);
    if (got != want) { fprintf(stderr, "read %s: got %zd, want %zd (%s)\n", path, got, want, strerror(errno)); return 1; }
    if (close(fd) != 0) { fprintf(stderr, "close: %s\n", strerror(errno)); return 1; }
  }
  long long t1 = bench_now_ns();
  bench_report("openread", n, t0, t1);
  return 0;
}
