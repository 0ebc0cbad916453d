// Resource limits inside the sandbox. RUN ONLY INSIDE THE SANDBOX.
//   limits forkbomb: with RLIMIT_NPROC at 32, forks until fork fails; the
//     failure must be EAGAIN, and afterwards the sandbox still answers
//     (the children are killed and reaped, a pipe round trip works).
//   limits cpuhog: a thread spins while the main thread sleeps 10 ms fifty
//     times; the sleeps must end on time (the Sentry's loop is not starved).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile int spinning = 1;
static void *spin(void *arg) { while (spinning) { } return arg; }

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "forkbomb")) {
    struct rlimit rl = { 32, 32 };
    if (setrlimit(RLIMIT_NPROC, &rl)) { perror("setrlimit"); return 2; }
    if (getuid() == 0 && setresuid(1000, 1000, 1000)) { perror("setresuid"); return 2; } // root ignores RLIMIT_NPROC
    pid_t kids[256];
    int n = 0, err = 0;
    while (n < 256) {
      pid_t p = fork();
      if (p == 0) { for (;;) pause(); }
      if (p < 0) { err = errno; break; }
      kids[n++] = p;
    }
    printf("forked %d, then %s\n", n, err ? strerror(err) : "no failure");
    for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
    int fds[2];
    char c = 0;
    int ok = pipe(fds) == 0 && write(fds[1], "x", 1) == 1 && read(fds[0], &c, 1) == 1 && c == 'x';
    printf("responsive: %d\n", ok);
    return err == EAGAIN && n < 256 && ok ? 0 : 1;
  }
  if (argc == 2 && !strcmp(argv[1], "cpuhog")) {
    pthread_t t;
    pthread_create(&t, NULL, spin, NULL);
    double start = now(), worst = 0;
    for (int i = 0; i < 50; i++) {
      double t0 = now();
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep(&ts, NULL);
      double d = now() - t0;
      if (d > worst) worst = d;
    }
    spinning = 0;
    pthread_join(t, NULL);
    double total = now() - start;
    printf("50 sleeps of 10 ms took %.2f s (longest %.0f ms)\n", total, worst * 1000);
    return total < 5 ? 0 : 1;
  }
  fprintf(stderr, "usage: limits forkbomb|cpuhog\n");
  return 2;
}
