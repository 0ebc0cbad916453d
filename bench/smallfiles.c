/* Create, stat and unlink COUNT small files in DIR (ms per round of COUNT files).
 * usage: smallfiles ITERS DIR COUNT   (ITERS rounds; each file gets 100 bytes) */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 4, "ITERS DIR COUNT");
  const char *dir = argv[2];
  long count = atol(argv[3]);
  if (count <= 0) { fprintf(stderr, "bad COUNT\n"); return 2; }
  char path[4096], data[100];
  memset(data, 'y', sizeof data);
  long long t0 = bench_now_ns();
  for (long it = 0; it < n; it++) {
    for (long i = 0; i < count; i++) {
      snprintf(path, sizeof path, "%s/f%ld", dir, i);
      int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) { fprintf(stderr, "create %s: %s\n", path, strerror(errno)); return 1; }
      if (write(fd, data, sizeof data) != sizeof data) { fprintf(stderr, "write %s: %s\n", path, strerror(errno)); return 1; }
      close(fd);
    }
    for (long i = 0; i < count; i++) {
      struct stat st;
      snprintf(path, sizeof path, "%s/f%ld", dir, i);
      if (stat(path, &st) != 0 || st.st_size != sizeof data) { fprintf(stderr, "stat %s: %s\n", path, strerror(errno)); return 1; }
    }
    for (long i = 0; i < count; i++) {
      snprintf(path, sizeof path, "%s/f%ld", dir, i);
      if (unlink(path) != 0) { fprintf(stderr, "unlink %s: %s\n", path, strerror(errno)); return 1; }
    }
  }
  long long t1 = bench_now_ns();
  bench_report("smallfiles", n, t0, t1);
  return 0;
}
