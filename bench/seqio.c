/* Sequential file I/O, 1 MiB per read(2)/write(2) (ms per pass).
 * usage: seqio ITERS read PATH        read all of PATH, ITERS times
 *        seqio ITERS write PATH MIB   write MIB MiB to PATH (created, truncated), ITERS times
 * No fsync: with one, Debian's gVisor took 0.4 s here where native took 1.9 s (its fsync did not wait
 * for the disk as native's did), so what is measured is write(2) into the host's page cache.
 * One op is one pass. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

#define CHUNK (1 << 20)

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 4, "ITERS read PATH | ITERS write PATH MIB");
  const char *mode = argv[2], *path = argv[3];
  int writing = strcmp(mode, "write") == 0;
  if (!writing && strcmp(mode, "read") != 0) { fprintf(stderr, "mode must be read or write\n"); return 2; }
  long mib = writing ? (argc > 4 ? atol(argv[4]) : 0) : 0;
  if (writing && mib <= 0) { fprintf(stderr, "write needs a size in MiB\n"); return 2; }
  char *buf = malloc(CHUNK);
  if (!buf) return 1;
  memset(buf, 'x', CHUNK);
  long long moved = 0;
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    int fd = writing ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "open %s: %s\n", path, strerror(errno)); return 1; }
    if (writing) {
      for (long m = 0; m < mib; m++) {
        ssize_t w = write(fd, buf, CHUNK);
        if (w != CHUNK) { fprintf(stderr, "write: %zd (%s)\n", w, strerror(errno)); return 1; }
        moved += w;
      }
    } else {
      ssize_t r;
      while ((r = read(fd, buf, CHUNK)) > 0) moved += r;
      if (r < 0) { fprintf(stderr, "read: %s\n", strerror(errno)); return 1; }
    }
    close(fd);
  }
  long long t1 = bench_now_ns();
  if (moved <= 0) { fprintf(stderr, "%s: nothing moved\n", path); return 1; }
  bench_report(writing ? "seqwrite" : "seqread", n, t0, t1);
  return 0;
}
