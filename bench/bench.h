/* Shared helpers for the micro-benchmarks in bench/ (getppid.c, ...).
 * Each program times only its loop with clock_gettime(CLOCK_MONOTONIC) and
 * prints exactly one machine-readable JSON line on stdout:
 *   {"bench":"NAME","iters":N,"elapsed_ns":T,"per_op_ns":X}
 * Any failure inside the loop is reported on stderr with a non-zero exit, so
 * a broken sandbox can never produce a number. */
#ifndef BENCH_H
#define BENCH_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline long long bench_now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    fprintf(stderr, "clock_gettime: %s\n", strerror(errno));
    exit(1);
  }
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long bench_iters(int argc, char **argv, int min_args, const char *usage) {
  if (argc < min_args) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    exit(2);
  }
  char *end = NULL;
  long n = strtol(argv[1], &end, 10);
  if (!end || *end != '\0' || n <= 0) {
    fprintf(stderr, "%s: bad iteration count '%s'\n", argv[0], argv[1]);
    exit(2);
  }
  return n;
}

static inline void bench_report(const char *name, long iters, long long t0, long long t1) {
  long long el = t1 - t0;
  printf("{\"bench\":\"%s\",\"iters\":%ld,\"elapsed_ns\":%lld,\"per_op_ns\":%.3f}\n",
         name, iters, el, (double)el / (double)iters);
  fflush(stdout);
}
#endif
