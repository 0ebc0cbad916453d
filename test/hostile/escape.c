/*
 * Tries to get out of the sandbox, several ways for each way out, and checks
 * each attempt fails with the errno Linux gives in a container (docker's
 * defaults: no CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_BOOT,
 * CAP_NET_RAW; only the container's processes and files in sight).
 * RUN ONLY INSIDE THE SANDBOX.
 *
 * Usage: escape SECRET SENTINEL_PID RUNNER_PID
 *   SECRET        absolute host path of a file outside the sandbox's root
 *   SENTINEL_PID  a host process that must survive
 *   RUNNER_PID    the host process that started runsc
 * Prints "ok NAME" or "FAIL NAME: ..." per attempt, then "escapes: N".
 * Where the Sentry answers ENOSYS (not implemented) instead of Linux's
 * errno, the expectation lists both and says so; docs/security.md has them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <termios.h>
#include <unistd.h>

static int escapes;

/* r must be -1 with errno one of the wanted (a 0-terminated list). */
static void expect(const char *name, long r, int e, const int *want) {
  for (; r == -1 && *want; want++) {
    if (e == *want) {
      printf("ok %s\n", name);
      return;
    }
  }
  escapes++;
  if (r == -1) printf("FAIL %s: errno %d (%s)\n", name, e, strerror(e));
  else printf("FAIL %s: succeeded (%ld)\n", name, r);
}
#define EXPECT(name, call, ...) do { errno = 0; long r_ = (long)(call); expect(name, r_, errno, (const int[]){__VA_ARGS__, 0}); } while (0)
#define CHECK(name, cond) do { if (cond) printf("ok %s\n", name); else { escapes++; printf("FAIL %s\n", name); } } while (0)

static char path[4096];

static void files(const char *secret) {
  EXPECT("open the host file by its path", open(secret, O_RDONLY), ENOENT);
  snprintf(path, sizeof path, "/../../../../..%s", secret);
  EXPECT("open it through /..", open(path, O_RDONLY), ENOENT);
  EXPECT("create it for writing", open(secret, O_WRONLY | O_CREAT, 0644), ENOENT);
  if (chdir("/") == 0) for (int i = 0; i < 32; i++) (void)chdir("..");
  EXPECT("open it relative after 32 chdir(..)", open(secret + 1, O_RDONLY), ENOENT);
  (void)symlink(secret, "/escape-abs");
  EXPECT("open it through an absolute symlink", open("/escape-abs", O_RDONLY), ENOENT);
  (void)symlink("../../../../../../..", "/escape-up");
  snprintf(path, sizeof path, "/escape-up%s", secret);
  EXPECT("open it through a symlink to ../../..", open(path, O_RDONLY), ENOENT);
  snprintf(path, sizeof path, "/proc/self/root/../..%s", secret);
  EXPECT("open it through /proc/self/root", open(path, O_RDONLY), ENOENT);
  snprintf(path, sizeof path, "/proc/1/root%s", secret);
  EXPECT("open it through /proc/1/root", open(path, O_RDONLY), ENOENT);
  snprintf(path, sizeof path, "/proc/self/cwd/../../..%s", secret);
  EXPECT("open it through /proc/self/cwd", open(path, O_RDONLY), ENOENT);
  char link[256] = {0};
  CHECK("/proc/self/root is /", readlink("/proc/self/root", link, sizeof link - 1) == 1 && link[0] == '/');

  /* The classic chroot escape: chroot into a subdirectory, walk up, chroot again. */
  pid_t c = fork();
  if (c == 0) {
    mkdir("/jail", 0755);
    if (chroot("/jail") != 0) _exit(2);
    for (int i = 0; i < 32; i++) (void)chdir("..");
    if (chroot(".") != 0) _exit(3);
    int fd = open(secret, O_RDONLY);
    _exit(fd >= 0 ? 1 : errno == ENOENT ? 0 : 4);
  }
  int st = 0;
  waitpid(c, &st, 0);
  CHECK("chroot escape reaches no further than the sandbox's root", WIFEXITED(st) && WEXITSTATUS(st) == 0);

  /* fds the Sentry or Gofer might have leaked, by number. */
  int open_fds = 0;
  for (int fd = 3; fd < 4096; fd++) if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) open_fds++;
  CHECK("no fd above 2 is open (3..4095 are EBADF)", open_fds == 0);
  EXPECT("openat(.., fd 3)", openat(3, "..", O_RDONLY), EBADF);
  EXPECT("fchdir to a guessed fd", fchdir(10), EBADF);
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  CHECK("/proc/self/fd lists stdio and the listing's own fd only", n == 4);

  /* File handles name any inode of a filesystem, bypassing the mount's root. */
  struct { unsigned int bytes; int type; unsigned char h[64]; } fh = { 8, 1, {2} };
  EXPECT("open_by_handle_at with a forged handle", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY), EPERM);
}

static void processes(pid_t sentinel, pid_t runner) {
  EXPECT("kill(host sentinel, 0)", kill(sentinel, 0), ESRCH);
  EXPECT("kill(host sentinel, SIGKILL)", kill(sentinel, SIGKILL), ESRCH);
  EXPECT("kill(host runner, SIGKILL)", kill(runner, SIGKILL), ESRCH);
  snprintf(path, sizeof path, "/proc/%d/status", sentinel);
  EXPECT("open /proc/<host pid>/status", open(path, O_RDONLY), ENOENT);
  EXPECT("pidfd_open(host sentinel)", syscall(SYS_pidfd_open, sentinel, 0), ESRCH);
  /* Linux: ESRCH; the Sentry has no ptrace yet (ENOSYS). */
  EXPECT("ptrace attach to the host sentinel", ptrace(PTRACE_ATTACH, sentinel, 0, 0), ESRCH, ENOSYS);
  char buf[8];
  struct iovec l = { buf, sizeof buf }, r = { (void *)0x400000, sizeof buf };
  EXPECT("process_vm_readv of the host sentinel", process_vm_readv(sentinel, &l, 1, &r, 1, 0), ESRCH, ENOSYS);

  /* Only the sandbox's processes are in /proc. */
  DIR *d = opendir("/proc");
  int pids = 0, foreign = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    int p = atoi(e->d_name);
    if (p <= 0) continue;
    pids++;
    if (p == sentinel || p == runner) foreign++;
  }
  if (d) closedir(d);
  CHECK("/proc lists only the sandbox's processes", pids >= 1 && pids < 8 && foreign == 0);

  /* kill(-1) reaches every process the sandbox has, and nothing else. */
  pid_t c = fork();
  if (c == 0) { for (;;) pause(); }
  int killed = kill(-1, SIGKILL);
  int st = 0;
  waitpid(c, &st, 0);
  CHECK("kill(-1, SIGKILL) kills the sandbox's other processes only", killed == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void escalation(void) {
  EXPECT("mount a tmpfs", mount("none", "/mnt", "tmpfs", 0, NULL), EPERM);
  EXPECT("bind-mount /", mount("/", "/mnt", NULL, MS_BIND, NULL), EPERM);
  EXPECT("umount2(/)", umount2("/", MNT_DETACH), EPERM);
  EXPECT("pivot_root", syscall(SYS_pivot_root, ".", "."), EPERM);
  EXPECT("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER), EPERM);
  EXPECT("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS), EPERM);
  EXPECT("setns", setns(0, 0), EPERM);
  EXPECT("init_module", syscall(SYS_init_module, NULL, 0, ""), EPERM);
  EXPECT("finit_module", syscall(SYS_finit_module, 0, "", 0), EPERM);
  EXPECT("delete_module", syscall(SYS_delete_module, "ext4", 0), EPERM);
  EXPECT("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
  EXPECT("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_RESTART, NULL), EPERM);
  EXPECT("iopl(3)", syscall(SYS_iopl, 3), EPERM);
  EXPECT("ioperm(0x80)", syscall(SYS_ioperm, 0x80, 1, 1), EPERM);
  EXPECT("swapon", syscall(SYS_swapon, "/escape-abs", 0), EPERM);
  /* Linux: EPERM (seccomp in docker); the Sentry has none of these (ENOSYS). */
  EXPECT("bpf", syscall(SYS_bpf, 5, NULL, 0), EPERM, ENOSYS);
  EXPECT("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM, EFAULT, ENOSYS);
  EXPECT("userfaultfd", syscall(SYS_userfaultfd, 0), EPERM, ENOSYS);
  EXPECT("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM, ENOSYS);

  /* A process that gave up root cannot take it back, or read root's files. */
  int fd = open("/root-only", O_WRONLY | O_CREAT, 0600);
  if (fd >= 0) close(fd);
  pid_t c = fork();
  if (c == 0) {
    if (getuid() == 0 && setresuid(1000, 1000, 1000) != 0) _exit(2);
    if (setuid(0) != -1 || errno != EPERM) _exit(3);
    if (setresuid(0, 0, 0) != -1 || errno != EPERM) _exit(4);
    if (open("/root-only", O_RDONLY) != -1 || errno != EACCES) _exit(5);
    _exit(0);
  }
  int st = 0;
  waitpid(c, &st, 0);
  CHECK("an unprivileged process cannot regain root or read root's 0600 file", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void devices(void) {
  char ch = 'x';
  EXPECT("TIOCSTI on stdin", ioctl(0, TIOCSTI, &ch), ENOTTY);
  EXPECT("TIOCSTI on stdout", ioctl(1, TIOCSTI, &ch), ENOTTY);
  EXPECT("open the host's /dev/tty", open("/dev/tty", O_RDWR), ENXIO);
  const char *devs[] = { "/dev/mem", "/dev/kmem", "/dev/port", "/dev/kvm", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/tty1", "/dev/kmsg" };
  for (unsigned i = 0; i < sizeof devs / sizeof *devs; i++) {
    snprintf(path, sizeof path, "open %s", devs[i]);
    EXPECT(path, open(devs[i], O_RDWR), ENOENT);
  }
  /* The sandbox's console is a terminal runsc gave it, or none (ENXIO); never the host's. */
  EXPECT("open /dev/console", open("/dev/console", O_RDWR), ENOENT, ENXIO);
  /* A device node made inside: Linux (device cgroup) EPERM; the Sentry ENXIO. */
  (void)mknod("/mem", S_IFCHR | 0600, makedev(1, 1));
  EXPECT("open a home-made /dev/mem node", open("/mem", O_RDWR), EPERM, ENXIO);
  (void)mknod("/sda", S_IFBLK | 0600, makedev(8, 0));
  EXPECT("open a home-made disk node", open("/sda", O_RDWR), EPERM, ENXIO);
  /* No CAP_NET_RAW: EPERM in Linux; the Sentry has no packet family (EAFNOSUPPORT) and, for
     root, no raw inet sockets (ESOCKTNOSUPPORT): nothing reaches a host network device. */
  EXPECT("packet socket", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), EPERM, EAFNOSUPPORT);
  EXPECT("raw IP socket", socket(AF_INET, SOCK_RAW, IPPROTO_RAW), EPERM, ESOCKTNOSUPPORT);
  EXPECT("raw ICMP socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM, ESOCKTNOSUPPORT);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: escape SECRET SENTINEL_PID RUNNER_PID\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  files(argv[1]);
  processes(atoi(argv[2]), atoi(argv[3]));
  escalation();
  devices();
  printf("escapes: %d\n", escapes);
  return escapes ? 1 : 0;
}
