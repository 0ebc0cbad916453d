/*
 * A syscall fuzzer. RUN ONLY INSIDE THE SANDBOX.
 *
 * Usage: fuzz SEED SECONDS NR [NR...]
 * Worker processes call syscalls drawn from the numbers given (the table's
 * implemented ones, from `runsc syscalls --json`) with arguments drawn from
 * boundary values (0, 1, -1, INT_MAX, page size, huge lengths, kernel and
 * unmapped addresses), valid-looking ones (fds it holds, pointers to a scratch
 * buffer and to path strings, small flags) and random 64-bit words. A worker
 * that dies (it may exit, unmap its own stack, block every signal and wait)
 * is replaced; one that makes no progress for a second is killed and
 * replaced. Prints "calls N workers N" at the end; the harness checks the
 * Sentry logged no bug and stayed up.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Calls a worker must not make: they would take the fuzzer itself down or
 * multiply it (the parent shares its process group), or replace the worker
 * with a random program. Everything else may kill only the worker. */
static const long skips[] = {
    SYS_fork, SYS_vfork, SYS_clone, SYS_clone3, SYS_execve, SYS_execveat,
    SYS_kill, SYS_tkill, SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo, SYS_pidfd_send_signal,
};

static uint64_t state;
static uint64_t next(void) { /* xorshift64* */
  state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
  return state * 2685821657736338717ULL;
}

static char scratch[3 * 4096] __attribute__((aligned(4096)));
static const char *paths[] = { "/", "/tmp", "/tmp/fuzz", "/tmp/fuzz/a", "/proc/self/maps", "/dev/null", "/dev/zero", ".", "..", "" };

static unsigned long arg(void) {
  static const unsigned long boundary[] = {
    0, 1, 2, 3, 0xffffffffffffffffUL, 0x7fffffffUL, 0x80000000UL, 0xffffffffUL, 4096, 4095, 0x7fffffffffffffffUL,
    0xffffffff81000000UL, 0xdead0000UL, 0x7ffffffff000UL, 0x7fff00000000UL /* the stub page */, (unsigned long)-100L /* AT_FDCWD */,
  };
  switch (next() % 6) {
  case 0: return boundary[next() % (sizeof boundary / sizeof *boundary)];
  case 1: return next() % 16; /* small numbers: fds, flags, signals */
  case 2: return (unsigned long)scratch + next() % sizeof scratch;
  case 3: return (unsigned long)paths[next() % (sizeof paths / sizeof *paths)];
  case 4: return 1UL << (next() % 64);
  default: return next();
  }
}

static void worker(const long *nrs, int n, volatile long *calls) {
  /* Some fds to work on. */
  int p[2];
  if (pipe(p) == 0) { (void)dup(p[0]); }
  (void)open("/dev/null", O_RDWR);
  mkdir("/tmp/fuzz", 0755);
  (void)open("/tmp/fuzz/a", O_RDWR | O_CREAT, 0644);
  for (;;) {
    long nr = nrs[next() % n];
    unsigned long a[6];
    for (int i = 0; i < 6; i++) a[i] = arg();
    syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    __atomic_add_fetch(calls, 1, __ATOMIC_RELAXED);
  }
}

static int skipped(long nr) {
  for (size_t i = 0; i < sizeof skips / sizeof *skips; i++) if (skips[i] == nr) return 1;
  return 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: fuzz SEED SECONDS NR...\n"); return 2; }
  uint64_t seed = strtoull(argv[1], NULL, 0);
  double seconds = atof(argv[2]);
  long *nrs = calloc(argc, sizeof *nrs);
  int n = 0;
  for (int i = 3; i < argc; i++) { long nr = atol(argv[i]); if (!skipped(nr)) nrs[n++] = nr; }
  volatile long *calls = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (calls == MAP_FAILED || n == 0) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  double end = now() + seconds;
  long workers = 0;
  while (now() < end) {
    state = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)++workers;
    pid_t w = fork();
    if (w < 0) return 3;
    if (w == 0) worker(nrs, n, calls);
    /* Wait for it to die; kill it when it stops making progress or time is up. */
    long seen = *calls;
    double progress = now();
    for (;;) {
      int st;
      if (waitpid(w, &st, WNOHANG) == w) break;
      struct timespec ts = { 0, 20 * 1000 * 1000 };
      nanosleep(&ts, NULL);
      if (*calls != seen) { seen = *calls; progress = now(); }
      if (now() - progress > 1 || now() > end) { kill(w, SIGKILL); waitpid(w, &st, 0); break; }
    }
  }
  printf("calls %ld workers %ld\n", *calls, workers);
  return 0;
}
