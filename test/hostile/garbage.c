/*
 * Hostile-input survival test. RUN ONLY INSIDE THE SANDBOX: on a real host
 * these calls can change process state in unpleasant ways.
 *
 * Usage: garbage NR [NR...]
 * For each syscall number, calls it with several garbage argument sets (NULL,
 * unmapped and kernel addresses, huge lengths, negative fds, all-ones flags)
 * and checks each call returns: -1 with an errno in 1..4095, or a value.
 * Prints "ok NR" (or "skip NR reason") per number and "survived" at the end.
 *
 * The argument sets are chosen so that no set holds a valid pointer, and no
 * (address, length) pair covers our own memory: lengths are 0, 1, unaligned,
 * or larger than the user address space. Calls that would legitimately end,
 * stop or block the process are skipped or given a non-blocking form.
 * Output goes through a private copy of stdout at a high fd, because the
 * garbage may close fds 0-2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define OUT_FD 700

static void say(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    long w = syscall(SYS_write, OUT_FD, s, n);
    if (w <= 0) _exit(3);
    s += w;
    n -= (size_t)w;
  }
}

#define NEG1 0xffffffffffffffffUL
#define UNMAPPED 0xdead0000UL
#define KERNEL 0xffffffff81000000UL
#define HUGE 0x7fffffffffffffffUL
#define ALL32 0xffffffffUL
#define AT_FDCWD_ ((unsigned long)-100L)

static const unsigned long sets[][6] = {
    {0, 0, 0, 0, 0, 0},
    {1, 1, 1, 1, 1, 1},
    {NEG1, NEG1, NEG1, NEG1, NEG1, NEG1},
    {UNMAPPED, UNMAPPED, UNMAPPED, UNMAPPED, UNMAPPED, UNMAPPED},
    {KERNEL, KERNEL, KERNEL, KERNEL, KERNEL, KERNEL},
    {NEG1, 0, NEG1, ALL32, UNMAPPED, 1},
    {9999, 1, HUGE, ALL32, KERNEL, UNMAPPED},
    {AT_FDCWD_, UNMAPPED, UNMAPPED, 0, 0, 0},
    {AT_FDCWD_, KERNEL, 0, ALL32, NEG1, KERNEL},
    {ALL32, UNMAPPED, 1, NEG1, 0, HUGE},
};
#define NSETS (sizeof sets / sizeof sets[0])

struct skip {
  long nr;
  const char *why;
};
/* Calls that would legitimately end, stop or hang the process whatever the
 * arguments, or whose garbage form can still be valid and harmful. */
static const struct skip skips[] = {
    {SYS_rt_sigreturn, "restores a garbage frame"},
    {SYS_exit, "ends the thread"},
    {SYS_exit_group, "ends the process"},
    {SYS_pause, "blocks until a signal"},
    {SYS_rt_sigsuspend, "blocks until a signal"},
    {SYS_fork, "creates a process"},
    {SYS_vfork, "creates a process and suspends the parent"},
    {SYS_clone, "creates a process or thread"},
    {SYS_clone3, "creates a process or thread"},
    {SYS_kill, "could signal ourselves or pid 1"},
    {SYS_tkill, "could signal ourselves"},
    {SYS_tgkill, "could signal ourselves"},
    {SYS_rt_sigqueueinfo, "could signal ourselves"},
    {SYS_rt_tgsigqueueinfo, "could signal ourselves"},
    {SYS_pidfd_send_signal, "could signal ourselves"},
    {SYS_alarm, "alarm(1) arms SIGALRM, whose default action kills"},
    {SYS_seccomp, "seccomp(0,0,0) enters strict mode, which kills on the next call"},
    {SYS_vhangup, "hangs up the terminal, may send SIGHUP"},
    {SYS_msgrcv, "may block on an existing queue"},
    {SYS_msgsnd, "may block on a full queue"},
    {SYS_reboot, "never worth trying"},
};

static const char *skipped(long nr) {
  for (size_t i = 0; i < sizeof skips / sizeof skips[0]; i++)
    if (skips[i].nr == nr) return skips[i].why;
  return NULL;
}

static const struct timespec zero_ts = {0, 0};

/* Forces a non-blocking form of calls that could wait forever with some of
 * the garbage (e.g. select(0, NULL, NULL, NULL, NULL)). */
static void defuse(long nr, unsigned long a[6]) {
  switch (nr) {
  case SYS_poll:
    a[2] = 0; /* timeout 0 ms */
    break;
  case SYS_ppoll:
    a[2] = (unsigned long)&zero_ts;
    break;
  case SYS_select:
  case SYS_pselect6:
  case SYS_epoll_wait:
  case SYS_epoll_pwait:
  case SYS_epoll_pwait2:
    a[0] = NEG1; /* nfds -1 / epfd -1 */
    break;
  case SYS_read:
  case SYS_readv:
  case SYS_pread64:
  case SYS_preadv:
  case SYS_preadv2:
  case SYS_recvfrom:
  case SYS_recvmsg:
  case SYS_recvmmsg:
  case SYS_accept:
  case SYS_accept4:
  case SYS_wait4:
  case SYS_waitid:
  case SYS_flock:
  case SYS_fcntl:
  case SYS_ioctl:
  case SYS_sendfile:
  case SYS_splice:
  case SYS_tee:
  case SYS_futex:
    /* fds 0-2 could be a terminal or a pipe someone holds open. */
    if (a[0] <= 2) a[0] = NEG1;
    break;
  }
}

/* Garbage can make a garbage address valid: brk(0xffffffff) grows the heap
 * over 0xdead0000, a lenient mmap can map it. Undo such effects so that the
 * next call's "pointers" are unmapped again (else nanosleep(0xdead0000)
 * could read a huge timeout and really sleep). */
static unsigned long orig_brk;
static const unsigned long sentinels[] = {0, 0x2000 /* page of 9999 */, UNMAPPED, 0xfffff000UL};

static void undo(long nr, long r, const unsigned long a[6]) {
  if (nr == SYS_brk) syscall(SYS_brk, orig_brk);
  if (r != -1 && nr == SYS_mmap) syscall(SYS_munmap, r, a[1]);
  if (r != -1 && nr == SYS_mremap) syscall(SYS_munmap, r, a[2]);
  if (r != -1 && nr == SYS_shmat) syscall(SYS_shmdt, r);
  for (size_t i = 0; i < sizeof sentinels / sizeof sentinels[0]; i++) {
    /* msync succeeds only on mapped memory. */
    if (syscall(SYS_msync, sentinels[i], 4096, 4 /* MS_SYNC */) == 0) {
      char line[120];
      snprintf(line, sizeof line, "note: %ld left 0x%lx mapped; unmapping\n", nr, sentinels[i]);
      say(line);
      syscall(SYS_munmap, sentinels[i], 4096);
    }
  }
}

int main(int argc, char **argv) {
  if (syscall(SYS_dup2, 1, OUT_FD) != OUT_FD) return 2;
  orig_brk = (unsigned long)syscall(SYS_brk, 0);
  char line[160];
  int calls = 0;
  for (int i = 1; i < argc; i++) {
    char *end;
    long nr = strtol(argv[i], &end, 10);
    if (*end != 0 || nr < 0) {
      snprintf(line, sizeof line, "bad argument %s\n", argv[i]);
      say(line);
      return 2;
    }
    const char *why = skipped(nr);
    if (why) {
      snprintf(line, sizeof line, "skip %ld %s\n", nr, why);
      say(line);
      continue;
    }
    for (size_t s = 0; s < NSETS; s++) {
      unsigned long a[6];
      memcpy(a, sets[s], sizeof a);
      defuse(nr, a);
      errno = 0;
      long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
      int e = errno;
      undo(nr, r, a);
      calls++;
      if (r == -1 && (e <= 0 || e >= 4096)) {
        snprintf(line, sizeof line, "bad errno %d from %ld with set %zu\n", e, nr, s);
        say(line);
        return 1;
      }
    }
    snprintf(line, sizeof line, "ok %ld\n", nr);
    say(line);
  }
  snprintf(line, sizeof line, "survived %d calls\n", calls);
  say(line);
  return 0;
}
