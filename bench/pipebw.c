/* Pipe throughput: a child writes ITERS chunks of 64 KiB into a pipe, the
 * parent reads them all (MB/s over the whole transfer).
 * usage: pipebw ITERS */
#include "bench.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK 65536

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  static char buf[CHUNK];
  int p[2], go[2];
  if (pipe(p) != 0 || pipe(go) != 0) { fprintf(stderr, "pipe: %s\n", strerror(errno)); return 1; }
  pid_t pid = fork();
  if (pid < 0) { fprintf(stderr, "fork: %s\n", strerror(errno)); return 1; }
  if (pid == 0) {
    close(p[0]); close(go[1]);
    memset(buf, 'w', sizeof buf);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);   /* start together with the clock */
    for (long i = 0; i < n; i++)
      for (size_t off = 0; off < CHUNK;) {
        ssize_t w = write(p[1], buf + off, CHUNK - off);
        if (w <= 0) _exit(3);
        off += (size_t)w;
      }
    _exit(0);
  }
  close(p[1]); close(go[0]);
  long long total = 0, want = (long long)n * CHUNK;
  long long t0 = bench_now_ns();
  if (write(go[1], "g", 1) != 1) { kill(pid, SIGKILL); return 1; }
  for (;;) {
    ssize_t r = read(p[0], buf, sizeof buf);
    if (r < 0) { fprintf(stderr, "read: %s\n", strerror(errno)); kill(pid, SIGKILL); return 1; }
    if (r == 0) break;
    for (ssize_t i = 0; i < r; i++)
      if (buf[i] != 'w') { fprintf(stderr, "corrupt byte at %lld\n", total + i); kill(pid, SIGKILL); return 1; }
    total += r;
  }
  long long t1 = bench_now_ns();
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || total != want) {
    fprintf(stderr, "writer failed (status %d) or short transfer (%lld of %lld bytes)\n", st, total, want); return 1;
  }
  bench_report("pipebw", n, t0, t1);
  return 0;
}
