/* epoll with 1,000 idle eventfds and one active: each iteration makes the
 * active one readable, waits with epoll_wait (which must report exactly it)
 * and drains it (µs per iteration).
 * usage: epoll ITERS */
#include "bench.h"
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define IDLE 1000

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  int ep = epoll_create1(0);
  if (ep < 0) { fprintf(stderr, "epoll_create1: %s\n", strerror(errno)); return 1; }
  for (int i = 0; i < IDLE; i++) {
    int fd = eventfd(0, 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) { fprintf(stderr, "idle fd %d: %s\n", i, strerror(errno)); return 1; }
  }
  int active = eventfd(0, 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
  if (active < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, active, &ev) != 0) { fprintf(stderr, "active fd: %s\n", strerror(errno)); return 1; }
  uint64_t one = 1, got;
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    struct epoll_event out[8];
    if (write(active, &one, 8) != 8) { fprintf(stderr, "write: %s\n", strerror(errno)); return 1; }
    int k = epoll_wait(ep, out, 8, -1);
    if (k != 1 || out[0].data.u32 != 1) { fprintf(stderr, "epoll_wait: %d events (%s)\n", k, strerror(errno)); return 1; }
    if (read(active, &got, 8) != 8 || got != 1) { fprintf(stderr, "read: %s\n", strerror(errno)); return 1; }
  }
  long long t1 = bench_now_ns();
  bench_report("epoll", n, t0, t1);
  return 0;
}
