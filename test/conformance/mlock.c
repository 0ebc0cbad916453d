/* mlock, munlock, mlock2, mlockall, munlockall, and mmap's MAP_LOCKED and
 * MAP_POPULATE: results and errnos for mapped and unmapped ranges, bad
 * flags, and RLIMIT_MEMLOCK once CAP_IPC_LOCK is dropped. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

static void show(const char *what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerror(errno));
  else printf("%s: %ld\n", what, r);
}

static void show_map(const char *what, void *p) {
  if (p == MAP_FAILED) printf("%s: MAP_FAILED %s\n", what, strerror(errno));
  else printf("%s: mapped\n", what);
}

static long mlock2_(void *a, size_t len, int flags) { return syscall(SYS_mlock2, a, len, flags); }

static int set_memlock(rlim_t n) {
  struct rlimit rl = {n, n};
  return setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* Drops CAP_IPC_LOCK from the effective set, so RLIMIT_MEMLOCK applies. */
static void drop_ipc_lock(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) != 0) { perror("capget"); return; }
  d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
  if (syscall(SYS_capset, &h, d) != 0) perror("capset");
}

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char *p = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }

  printf("== mapped ranges\n");
  show("mlock 16 pages", mlock(p, 16 * pg));
  show("mlock unaligned", mlock(p + 100, 10));
  show("munlock 16 pages", munlock(p, 16 * pg));
  show("mlock length 0", mlock(p, 0));
  show("munlock never locked", munlock(p, pg));

  printf("== a hole\n");
  char *q = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(q + pg, pg);
  show("mlock over a hole", mlock(q, 3 * pg));
  show("munlock over a hole", munlock(q, 3 * pg));
  show("mlock before the hole", mlock(q, pg));

  printf("== mlock2 and mlockall flags\n");
  show("mlock2 bad flags", mlock2_(p, pg, 2));
  show("mlock2 ONFAULT", mlock2_(p, pg, MLOCK_ONFAULT));
  show("mlockall 0", mlockall(0));
  show("mlockall ONFAULT alone", mlockall(MCL_ONFAULT));
  show("mlockall 8", mlockall(8));
  show("munlockall", munlockall());

  printf("== MAP_LOCKED and MAP_POPULATE\n");
  char *r = mmap(NULL, 256 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
  show_map("MAP_POPULATE|MAP_LOCKED", r);
  if (r != MAP_FAILED) {
    long sum = 0;
    for (long o = 0; o < 256 * pg; o += pg) sum += r[o];
    r[255 * pg] = 7;
    printf("zeros: %d, written: %d\n", sum == 0, r[255 * pg]);
    show("munlock it", munlock(r, 256 * pg));
    munmap(r, 256 * pg);
  }

  printf("== RLIMIT_MEMLOCK without CAP_IPC_LOCK\n");
  drop_ipc_lock();
  show("setrlimit 16 pages", set_memlock(16 * pg));
  show("mlock 16 pages", mlock(p, 16 * pg));
  show("mlock them again", mlock(p, 16 * pg));
  show("mlock one more", mlock(q, pg));
  char *s = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
  show_map("MAP_LOCKED past the limit", s);
  show("munlock 8 pages", munlock(p, 8 * pg));
  show("mlock one more now", mlock(q, pg));
  show("mlockall CURRENT past the limit", mlockall(MCL_CURRENT));
  show("munlockall", munlockall());
  show("setrlimit 0", set_memlock(0));
  show("mlock with a zero limit", mlock(p, pg));
  show("mlockall with a zero limit", mlockall(MCL_CURRENT));
  s = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
  show_map("MAP_LOCKED with a zero limit", s);
  show("munlock with a zero limit", munlock(p, pg));
  return 0;
}
