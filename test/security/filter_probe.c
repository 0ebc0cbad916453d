// Installs the seccomp filter in file argv[1] (struct sock_filter bytes, as
// runsc/confine.ts or sentry/platform/ptrace/stubfilter.ts build it) and then
// makes the calls argv[2] names: the test expects a clean exit for calls the
// filter allows and death by SIGSYS for the others.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread_main(void *arg) { return arg; }

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  static unsigned char prog[65536];
  int fd = open(argv[1], O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, prog, sizeof prog);
  if (n <= 0 || n % 8) { perror("read filter"); return 2; }
  close(fd);
  struct sock_fprog fp = { .len = (unsigned short)(n / 8), .filter = (struct sock_filter *)prog };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp)) { perror("seccomp"); return 2; }
  const char *what = argv[2];
  if (!strcmp(what, "allowed")) {
    // Calls the Sentry makes all the time, and a new thread.
    pthread_t t;
    if (getpid() <= 0 || pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL)) return 3;
    return 0;
  }
  if (!strcmp(what, "fork")) fork();
  else if (!strcmp(what, "execve")) execl("/bin/true", "true", (char *)NULL);
  else if (!strcmp(what, "mount")) mount("none", "/mnt", "tmpfs", 0, NULL);
  else if (!strcmp(what, "socket")) socket(AF_INET, SOCK_STREAM, 0);
  else if (!strcmp(what, "socket-unix")) socket(AF_UNIX, SOCK_STREAM, 0);
  else if (!strcmp(what, "socket-netlink")) socket(AF_NETLINK, SOCK_RAW, 0);
  else if (!strcmp(what, "ptrace-attach")) ptrace(PTRACE_ATTACH, getppid(), 0, 0);
  else if (!strcmp(what, "unshare")) unshare(CLONE_NEWUSER);
  else if (!strcmp(what, "getpid")) syscall(SYS_getpid);
  else return 2;
  return 4; // still alive: the filter let it through
}
