/* Pipe ping-pong between two processes, 1-byte messages (µs per round trip).
 * usage: pipe ITERS */
#include "bench.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  int ping[2], pong[2];
  if (pipe(ping) != 0 || pipe(pong) != 0) { fprintf(stderr, "pipe: %s\n", strerror(errno)); return 1; }
  pid_t pid = fork();
  if (pid < 0) { fprintf(stderr, "fork: %s\n", strerror(errno)); return 1; }
  if (pid == 0) {
    close(ping[1]); close(pong[0]);
    char c;
    for (;;) {
      ssize_t r = read(ping[0], &c, 1);
      if (r == 0) _exit(0);                 /* parent closed: done */
      if (r != 1) _exit(3);
      if (write(pong[1], &c, 1) != 1) _exit(4);
    }
  }
  close(ping[0]); close(pong[1]);
  char c = 'x', d;
  /* one untimed round trip so the child is running before the clock starts */
  if (write(ping[1], &c, 1) != 1 || read(pong[0], &d, 1) != 1 || d != c) {
    fprintf(stderr, "warm-up round trip failed: %s\n", strerror(errno)); kill(pid, SIGKILL); return 1;
  }
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    c = (char)('a' + i % 26);
    if (write(ping[1], &c, 1) != 1) { fprintf(stderr, "write: %s\n", strerror(errno)); kill(pid, SIGKILL); return 1; }
    ssize_t r = read(pong[0], &d, 1);
    if (r != 1 || d != c) { fprintf(stderr, "read: got %zd bytes '%c', want '%c' (%s)\n", r, d, c, strerror(errno)); kill(pid, SIGKILL); return 1; }
  }
  long long t1 = bench_now_ns();
  close(ping[1]);
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "echo child failed (status %d)\n", st); return 1;
  }
  bench_report("pipe", n, t0, t1);
  return 0;
}
