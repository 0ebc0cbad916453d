/*
 * Shared helpers for the differential conformance programs in this folder.
 *
 * Each program runs twice, natively and under `bin/runsc do`, and the two
 * stdouts must match byte for byte. So a program prints only deterministic
 * facts: return values, errno names, data read back, mode/type/size/nlink.
 * Never pids, addresses, times or inode numbers.
 *
 * T(expr)        prints "expr: R" or "expr: -1 ENAME".
 * TL(label, e)   same with an explicit label.
 * TP(label, b)   prints "label: 1" or "label: 0" for a boolean fact.
 * Raw syscalls go through syscall(SYS_x, ...) when glibc would check or
 * rewrite the arguments itself (NULL buffers, bad flags).
 */
#ifndef CONF_H
#define CONF_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static inline const char *ename(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "E?";
}

static inline void show(const char *label, long r, int e) {
  if (r == -1)
    printf("%s: -1 %s\n", label, ename(e));
  else
    printf("%s: %ld\n", label, r);
}

#define TL(label, expr)                \
  do {                                 \
    errno = 0;                         \
    long _r = (long)(expr);            \
    show((label), _r, errno);          \
  } while (0)
#define T(expr) TL(#expr, expr)
#define TP(label, cond) printf("%s: %d\n", (label), (cond) ? 1 : 0)
#define SECTION(name) printf("== %s\n", (name))

/* Unbuffered stdout: every printf is one write(2), and fork never duplicates
 * buffered output. */
__attribute__((constructor)) static void conf_init(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  umask(022);
}

/* Wait for one child and describe how it ended (no pid printed). */
static inline void show_wait(const char *label, pid_t pid) {
  int st = 0;
  pid_t r = wait4(pid, &st, 0, NULL);
  if (r < 0) {
    printf("%s: wait4 -1 %s\n", label, ename(errno));
  } else if (r != pid) {
    printf("%s: wait4 returned another pid\n", label);
  } else if (WIFEXITED(st)) {
    printf("%s: exited %d\n", label, WEXITSTATUS(st));
  } else if (WIFSIGNALED(st)) {
    printf("%s: killed by %s\n", label, sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
  } else {
    printf("%s: status 0x%x\n", label, st);
  }
}

/* A private scratch directory under /tmp; the program chdirs into it. */
static char conf_tmp[64];
static inline void tmp_enter(void) {
  strcpy(conf_tmp, "/tmp/conf.XXXXXX");
  if (!mkdtemp(conf_tmp) || chdir(conf_tmp) != 0) {
    perror("scratch dir");
    exit(2);
  }
}
static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb; (void)ftw;
  return flag == FTW_DP ? rmdir(p) : unlink(p);
}
static inline void tmp_leave(void) {
  if (chdir("/") != 0) perror("chdir /");
  if (nftw(conf_tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) perror("cleanup");
}

static inline void put_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) {
    perror(path);
    exit(2);
  }
  close(fd);
}
#endif
