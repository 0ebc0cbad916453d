/* Loopback TCP connection rate: connect to a listener on 127.0.0.1, accept,
 * exchange one byte, close both ends (µs per connection).
 * usage: tcpconn ITERS */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 128) != 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) != 0) {
    fprintf(stderr, "listener: %s\n", strerror(errno)); return 1;
  }
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) { fprintf(stderr, "connect %ld: %s\n", i, strerror(errno)); return 1; }
    int s = accept(l, NULL, NULL);
    char b = 'x';
    if (s < 0 || write(c, &b, 1) != 1 || read(s, &b, 1) != 1) { fprintf(stderr, "accept/exchange %ld: %s\n", i, strerror(errno)); return 1; }
    /* the server closes first, so TIME_WAIT lands on its side, as with real servers */
    close(s);
    close(c);
  }
  long long t1 = bench_now_ns();
  bench_report("tcpconn", n, t0, t1);
  return 0;
}
