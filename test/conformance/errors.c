/* errno cases across many calls: EBADF (fd -1 and 9999), ENOENT, ENOTDIR,
 * EISDIR, EEXIST, EFAULT (NULL and unmapped buffers, through raw syscalls so
 * glibc cannot intercept), EINVAL (bad flags/whence), ESPIPE, ENAMETOOLONG,
 * EMFILE, ERANGE. Each line is "call: -1 ENAME" or the success value. */
#include "conf.h"
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>

#define S(...) syscall(__VA_ARGS__)
#define BAD ((void *)0xdead0000UL)
#define KADDR ((void *)0xffffffff81000000UL)

int main(void) {
  char buf[64];
  struct stat st;
  tmp_enter();
  put_file("f", "0123456789");
  mkdir("d", 0755);
  symlink("f", "sl");
  int fd = open("f", O_RDWR);
  int dfd = open("d", O_RDONLY | O_DIRECTORY);
  int p[2];
  pipe(p);

  SECTION("EBADF");
  int bad[] = {-1, 9999};
  for (int i = 0; i < 2; i++) {
    int b = bad[i];
    char l[64];
#define B(name, call) snprintf(l, sizeof l, name "(%d)", b); TL(l, call)
    B("read", S(SYS_read, b, buf, 1));
    B("write", S(SYS_write, b, "x", 1));
    B("close", S(SYS_close, b));
    B("fstat", S(SYS_fstat, b, &st));
    B("lseek", S(SYS_lseek, b, 0, SEEK_SET));
    B("pread64", S(SYS_pread64, b, buf, 1, 0));
    B("pwrite64", S(SYS_pwrite64, b, "x", 1, 0));
    B("dup", S(SYS_dup, b));
    B("dup2", S(SYS_dup2, b, 50));
    B("dup3", S(SYS_dup3, b, 50, 0));
    B("fcntl F_GETFD", S(SYS_fcntl, b, F_GETFD));
    B("fcntl F_GETFL", S(SYS_fcntl, b, F_GETFL));
    B("getdents64", S(SYS_getdents64, b, buf, sizeof buf));
    B("fchdir", S(SYS_fchdir, b));
    B("ioctl", S(SYS_ioctl, b, 0x5401, buf));
    B("ftruncate", S(SYS_ftruncate, b, 0));
    B("fsync", S(SYS_fsync, b));
    B("fchmod", S(SYS_fchmod, b, 0644));
    B("openat rel", S(SYS_openat, b, "f", O_RDONLY));
    B("newfstatat rel", S(SYS_newfstatat, b, "f", &st, 0));
    B("mmap", (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, b, 0));
#undef B
  }
  TL("read on O_WRONLY", (close(fd), fd = open("f", O_WRONLY), S(SYS_read, fd, buf, 1)));
  TL("write on O_RDONLY", (close(fd), fd = open("f", O_RDONLY), S(SYS_write, fd, "x", 1)));
  TL("write on O_PATH", ({ int o = open("f", O_PATH); long r = S(SYS_write, o, "x", 1); close(o); r; }));
  close(fd);
  fd = open("f", O_RDWR);

  SECTION("ENOENT");
  T(S(SYS_open, "/nonexistent", O_RDONLY));
  T(S(SYS_open, "/nonexistent/x", O_RDONLY | O_CREAT, 0644));
  T(S(SYS_stat, "/nonexistent", &st));
  T(S(SYS_lstat, "missing", &st));
  T(S(SYS_access, "missing", F_OK));
  T(S(SYS_readlink, "missing", buf, sizeof buf));
  T(S(SYS_unlink, "missing"));
  T(S(SYS_rmdir, "missing"));
  T(S(SYS_chdir, "missing"));
  T(S(SYS_rename, "missing", "x"));
  T(S(SYS_mkdir, "missing/x", 0755));
  T(S(SYS_open, "", O_RDONLY));
  T(S(SYS_truncate, "missing", 0));

  SECTION("ENOTDIR");
  T(S(SYS_open, "f/x", O_RDONLY));
  T(S(SYS_open, "f", O_RDONLY | O_DIRECTORY));
  T(S(SYS_stat, "f/", &st));
  T(S(SYS_openat, fd, "x", O_RDONLY));
  T(S(SYS_mkdir, "f/x", 0755));
  T(S(SYS_rmdir, "f"));
  T(S(SYS_chdir, "f"));

  SECTION("EISDIR");
  T(S(SYS_open, "d", O_WRONLY));
  T(S(SYS_open, "d", O_RDWR));
  T(S(SYS_open, "d", O_WRONLY | O_CREAT, 0644));
  T(S(SYS_read, dfd, buf, sizeof buf));
  T(S(SYS_unlink, "d"));

  SECTION("EEXIST");
  T(S(SYS_mkdir, "d", 0755));
  T(S(SYS_mkdir, "f", 0755));
  T(S(SYS_open, "f", O_CREAT | O_EXCL | O_RDWR, 0644));
  T(S(SYS_open, "d", O_CREAT | O_EXCL | O_RDONLY, 0644));
  T(S(SYS_symlink, "x", "f"));
  T(S(SYS_link, "f", "d"));

  SECTION("EFAULT");
  T(S(SYS_read, fd, NULL, 10));
  T(S(SYS_read, fd, NULL, 0));
  lseek(fd, 0, SEEK_SET);
  T(S(SYS_read, fd, BAD, 10));
  lseek(fd, 0, SEEK_SET);
  T(S(SYS_read, fd, KADDR, 10));
  T(S(SYS_write, fd, NULL, 10));
  T(S(SYS_write, fd, BAD, 10));
  T(S(SYS_write, p[1], NULL, 10));
  T(S(SYS_pread64, fd, NULL, 10, 0));
  T(S(SYS_pwrite64, fd, BAD, 10, 0));
  T(S(SYS_stat, "f", NULL));
  T(S(SYS_stat, NULL, &st));
  T(S(SYS_stat, BAD, &st));
  T(S(SYS_fstat, fd, NULL));
  T(S(SYS_fstat, fd, KADDR));
  T(S(SYS_lstat, "f", BAD));
  T(S(SYS_newfstatat, AT_FDCWD, "f", NULL, 0));
  T(S(SYS_statx, AT_FDCWD, "f", 0, STATX_BASIC_STATS, NULL));
  T(S(SYS_open, NULL, O_RDONLY));
  T(S(SYS_open, BAD, O_RDONLY));
  T(S(SYS_open, KADDR, O_RDONLY));
  T(S(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
  T(S(SYS_access, NULL, F_OK));
  T(S(SYS_mkdir, NULL, 0755));
  T(S(SYS_unlink, NULL));
  T(S(SYS_chdir, NULL));
  T(S(SYS_readlink, "sl", NULL, 10));
  T(S(SYS_getcwd, NULL, 100));
  T(S(SYS_getcwd, BAD, 100));
  T(S(SYS_uname, NULL));
  T(S(SYS_pipe, NULL));
  T(S(SYS_pipe2, BAD, 0));
  T(S(SYS_clock_gettime, CLOCK_MONOTONIC, NULL));
  T(S(SYS_clock_gettime, CLOCK_MONOTONIC, KADDR));
  T(S(SYS_nanosleep, NULL, NULL));
  T(S(SYS_readv, fd, NULL, 1));
  T(S(SYS_writev, fd, BAD, 1));
  {
    struct iovec iv = {NULL, 10};
    lseek(fd, 0, SEEK_SET);
    T(S(SYS_readv, fd, &iv, 1));
  }
  T(S(SYS_getdents64, dfd, NULL, 4096));
  T(S(SYS_rt_sigaction, SIGUSR1, BAD, NULL, 8));
  T(S(SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, 8));
  T(S(SYS_wait4, -1, BAD, WNOHANG, NULL));
  T(S(SYS_getrlimit, RLIMIT_NOFILE, NULL));
  T(S(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, BAD));
  T(S(SYS_getrandom, BAD, 8, 0));
  T(S(SYS_execve, NULL, NULL, NULL));
  T(S(SYS_execve, BAD, NULL, NULL));

  SECTION("EINVAL");
  T(S(SYS_lseek, fd, 0, 3 + 2 + 10));
  T(S(SYS_lseek, fd, (long)-1, SEEK_SET));
  T(S(SYS_lseek, fd, 0, -1));
  T(S(SYS_fcntl, fd, 9999));
  T(S(SYS_dup3, fd, fd, 0));
  T(S(SYS_dup3, fd, 60, -1));
  T(S(SYS_pipe2, p, -1));
  T(S(SYS_access, "f", -1));
  T(S(SYS_faccessat2, AT_FDCWD, "f", F_OK, -1));
  T(S(SYS_newfstatat, AT_FDCWD, "f", &st, -1));
  T(S(SYS_statx, AT_FDCWD, "f", -1, STATX_BASIC_STATS, buf));
  T(S(SYS_getdents64, dfd, buf, 1));
  T(S(SYS_readlink, "f", buf, sizeof buf));
  T(S(SYS_readlink, "f", buf, -1));
  T(S(SYS_mmap, NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  T(S(SYS_mmap, NULL, 4096, PROT_READ, -1, -1, 0) == -1 ? -1 : 0);
  T(S(SYS_munmap, 1, 4096));
  T(S(SYS_mprotect, 1, 4096, PROT_READ));
  T(S(SYS_madvise, 1, 4096, MADV_NORMAL));
  T(S(SYS_wait4, -1, NULL, -1, NULL));
  T(S(SYS_kill, 0, -1));
  T(S(SYS_clock_gettime, -1000, buf));
  T(S(SYS_getrandom, buf, 8, -1));
  T(S(SYS_rt_sigprocmask, 1234, NULL, NULL, 8));
  T(S(SYS_rt_sigprocmask, SIG_BLOCK, NULL, NULL, 7));
  T(S(SYS_getrlimit, -1, buf));
  T(S(SYS_rmdir, "d/."));
  T(S(SYS_rename, "d", "d/sub"));

  SECTION("ESPIPE");
  T(S(SYS_lseek, p[0], 0, SEEK_CUR));
  T(S(SYS_pread64, p[0], buf, 1, 0));
  T(S(SYS_pwrite64, p[1], "x", 1, 0));

  SECTION("ENAMETOOLONG");
  char longname[5000];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  T(S(SYS_open, longname, O_RDONLY));
  T(S(SYS_stat, longname, &st));
  T(S(SYS_mkdir, longname, 0755));
  longname[300] = 0;
  T(S(SYS_open, longname, O_RDONLY | O_CREAT, 0644));

  SECTION("ERANGE");
  T(S(SYS_getcwd, buf, 1));

  SECTION("EMFILE");
  struct rlimit rl, small = {16, 0};
  getrlimit(RLIMIT_NOFILE, &rl);
  small.rlim_max = rl.rlim_max;
  T(setrlimit(RLIMIT_NOFILE, &small));
  int last = -1;
  for (int i = 0; i < 40; i++) {
    int o = open("f", O_RDONLY);
    if (o < 0) {
      printf("open eventually failed: %s\n", ename(errno));
      break;
    }
    last = o;
  }
  printf("highest fd: %d\n", last);
  T(S(SYS_dup, fd));
  T(S(SYS_dup2, fd, 16));
  T(S(SYS_dup2, fd, 15) == 15);
  T(S(SYS_fcntl, fd, F_DUPFD, 16));
  T(S(SYS_pipe, p));
  for (int i = 3; i < 16; i++) close(i);
  T(setrlimit(RLIMIT_NOFILE, &rl));

  tmp_leave();
  return 0;
}
