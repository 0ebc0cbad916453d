/* A memory bomb: allocates and touches 1 MiB at a time until something
 * stops it. In a sandbox whose memory is bounded the Sentry's OOM killer
 * must (SIGKILL); malloc failing instead is reported and exits 1. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  size_t total = 0;
  for (;;) {
    volatile char *p = malloc(1 << 20);
    if (!p) {
      printf("malloc failed after %zu MiB\n", total >> 20);
      return 1;
    }
    for (size_t o = 0; o < 1 << 20; o += 4096) p[o] = 1;
    total += 1 << 20;
  }
}
