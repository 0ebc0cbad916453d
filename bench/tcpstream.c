/* Loopback TCP throughput: a child process writes ITERS chunks of 64 KiB to
 * 127.0.0.1, the parent reads and checks them (µs per 64 KiB chunk).
 * usage: tcpstream ITERS */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK 65536

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) != 0) {
    fprintf(stderr, "listener: %s\n", strerror(errno)); return 1;
  }
  pid_t pid = fork();
  if (pid < 0) { fprintf(stderr, "fork: %s\n", strerror(errno)); return 1; }
  if (pid == 0) {
    static char buf[CHUNK];
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) _exit(3);
    for (long i = 0; i < n; i++) {
      memset(buf, (int)(i & 0xff), 8);
      for (size_t off = 0; off < CHUNK;) {
        ssize_t w = write(c, buf + off, CHUNK - off);
        if (w <= 0) _exit(4);
        off += w;
      }
    }
    _exit(0);
  }
  int s = accept(l, NULL, NULL);
  if (s < 0) { fprintf(stderr, "accept: %s\n", strerror(errno)); kill(pid, SIGKILL); return 1; }
  static char buf[CHUNK];
  long long total = (long long)n * CHUNK, got = 0;
  long long t0 = bench_now_ns();
  while (got < total) {
    ssize_t r = read(s, buf, CHUNK);
    if (r <= 0) { fprintf(stderr, "read after %lld bytes: %s\n", got, r ? strerror(errno) : "EOF"); kill(pid, SIGKILL); return 1; }
    if (got % CHUNK == 0 && r >= 8 && buf[7] != (char)((got / CHUNK) & 0xff)) { fprintf(stderr, "corrupt chunk\n"); return 1; }
    got += r;
  }
  long long t1 = bench_now_ns();
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "writer failed (status %d)\n", st); return 1;
  }
  bench_report("tcpstream", n, t0, t1);
  return 0;
}
