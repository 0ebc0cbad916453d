/*
 * Threads racing on one fd table and one address space: one thread keeps
 * replacing fds 10..25 (pipe, dup2, close), one keeps mapping, protecting and
 * unmapping a region, and the others keep passing those fds and buffers in
 * that region to read, write, pread, readv, fstat, poll and mmap. Every call
 * must return (a value or an errno); the program prints "survived" when the
 * time is up. Nothing here touches the racing region itself, so the only
 * faults possible are the Sentry's own. RUN ONLY INSIDE THE SANDBOX.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define REGION ((void *)0x600000000000UL)
#define REGION_SIZE (64 * 4096)
static atomic_int stop;
static atomic_long calls;

static unsigned rnd(unsigned *s) { return *s = *s * 1103515245u + 12345u; }

static void *fds(void *arg) {
  unsigned s = 1;
  (void)arg;
  while (!stop) {
    int p[2];
    if (pipe(p) == 0) {
      dup2(p[rnd(&s) & 1], 10 + rnd(&s) % 16);
      close(p[0]);
      close(p[1]);
    }
    close(10 + rnd(&s) % 16);
    calls += 3;
  }
  return NULL;
}

static void *maps(void *arg) {
  unsigned s = 2;
  (void)arg;
  while (!stop) {
    size_t off = (rnd(&s) % 64) * 4096, len = (1 + rnd(&s) % 8) * 4096;
    if (off + len > REGION_SIZE) len = REGION_SIZE - off;
    mmap((char *)REGION + off, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mprotect((char *)REGION + off, len, rnd(&s) & 1 ? PROT_READ : PROT_NONE);
    munmap((char *)REGION + (rnd(&s) % 64) * 4096, 4096);
    calls += 3;
  }
  return NULL;
}

static void *users(void *arg) {
  unsigned s = (unsigned)(long)arg;
  while (!stop) {
    int fd = 10 + rnd(&s) % 16;
    char *buf = (char *)REGION + (rnd(&s) % (REGION_SIZE - 512));
    struct iovec iov[2] = { { buf, 100 }, { buf + 300, 200 } };
    struct stat *st = (struct stat *)((char *)REGION + (rnd(&s) % 64) * 4096);
    struct pollfd pf = { fd, POLLIN | POLLOUT, 0 };
    switch (rnd(&s) % 7) {
    case 0: (void)write(fd, buf, 512); break;
    case 1: { int fl = fcntl(fd, F_GETFL); if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK); (void)read(fd, buf, 512); break; }
    case 2: (void)pread(fd, buf, 64, 0); break;
    case 3: (void)writev(fd, iov, 2); break;
    case 4: (void)fstat(fd, st); break;
    case 5: (void)poll(&pf, 1, 0); break;
    case 6: { void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0); if (m != MAP_FAILED) munmap(m, 4096); break; }
    }
    calls++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2;
  signal(SIGPIPE, SIG_IGN); /* writes to pipes whose reader is gone are EPIPE */
  pthread_t t[8];
  pthread_create(&t[0], NULL, fds, NULL);
  pthread_create(&t[1], NULL, maps, NULL);
  for (long i = 2; i < 8; i++) pthread_create(&t[i], NULL, users, (void *)i);
  struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
  nanosleep(&ts, NULL);
  stop = 1;
  for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
  printf("survived %ld calls\n", (long)calls);
  return 0;
}
