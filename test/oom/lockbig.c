/* mlock and MAP_POPULATE of more than the sandbox's memory: mlock fails
 * with EAGAIN (the pages cannot all be had), MAP_POPULATE is best effort
 * (the mapping is made), and nobody is OOM-killed for either.
 * usage: lockbig MIB */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: lockbig MIB\n"); return 2; }
  size_t len = (size_t)atoi(argv[1]) << 20;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  printf("mlock: %s\n", mlock(p, len) == 0 ? "0" : strerror(errno));
  munmap(p, len);
  p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  printf("MAP_POPULATE: %s\n", p == MAP_FAILED ? strerror(errno) : "mapped");
  return 0;
}
