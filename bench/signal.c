/* Signal delivery: raise(SIGUSR1) to a handler that counts it, and back
 * (tgkill, the frame, rt_sigreturn); µs per signal.
 * usage: signal ITERS */
#include "bench.h"
#include <signal.h>

static volatile long handled;
static void on_usr1(int sig) { (void)sig; handled++; }

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 2, "ITERS");
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  if (sigaction(SIGUSR1, &sa, NULL) != 0) { perror("sigaction"); return 1; }
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    if (raise(SIGUSR1) != 0) { perror("raise"); return 1; }
  }
  long long t1 = bench_now_ns();
  if (handled != n) { fprintf(stderr, "handled %ld of %ld signals\n", handled, n); return 1; }
  bench_report("signal", n, t0, t1);
  return 0;
}
