/* Unix stream socket ping-pong between two processes, 1-byte messages
 * (µs per round trip). usage: unixpp ITERS */
#include "bench.h"
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) { fprintf(stderr, "socketpair: %s\n", strerror(errno)); return 1; }
  pid_t pid = fork();
  if (pid < 0) { fprintf(stderr, "fork: %s\n", strerror(errno)); return 1; }
  if (pid == 0) {
    close(sv[0]);
    char c;
    for (;;) {
      ssize_t r = read(sv[1], &c, 1);
      if (r == 0) _exit(0);                 /* parent closed: done */
      if (r != 1) _exit(3);
      if (write(sv[1], &c, 1) != 1) _exit(4);
    }
  }
  close(sv[1]);
  char c = 'x', d;
  if (write(sv[0], &c, 1) != 1 || read(sv[0], &d, 1) != 1 || d != c) {
    fprintf(stderr, "warm-up round trip failed: %s\n", strerror(errno)); kill(pid, SIGKILL); return 1;
  }
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    c = (char)('a' + i % 26);
    if (write(sv[0], &c, 1) != 1) { fprintf(stderr, "write: %s\n", strerror(errno)); kill(pid, SIGKILL); return 1; }
    ssize_t r = read(sv[0], &d, 1);
    if (r != 1 || d != c) { fprintf(stderr, "read: got %zd (%s)\n", r, strerror(errno)); kill(pid, SIGKILL); return 1; }
  }
  long long t1 = bench_now_ns();
  close(sv[0]);
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "echo child failed (status %d)\n", st); return 1;
  }
  bench_report("unixpp", n, t0, t1);
  return 0;
}
