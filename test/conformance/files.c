/* File I/O: open/openat/read/write/close/lseek/pread64/pwrite64/readv/writev,
 * O_APPEND, O_CLOEXEC (also across execve), O_CREAT|O_EXCL, O_TRUNC,
 * dup/dup2/dup3 and fcntl. Runs in a private directory under /tmp. */
#include "conf.h"
#include <sys/uio.h>

static void print_buf(const char *label, const char *buf, long n) {
  printf("%s: [", label);
  for (long i = 0; i < n; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c >= 32 && c < 127) putchar(c); else printf("\\x%02x", c);
  }
  printf("]\n");
}

static void basic_io(void) {
  SECTION("basic");
  char buf[64];
  int fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0644);
  TL("open(f, O_RDWR|O_CREAT|O_EXCL)", fd);
  T(open("f", O_RDWR | O_CREAT | O_EXCL, 0644));
  T(write(fd, "hello world\n", 12));
  T(lseek(fd, 0, SEEK_CUR));
  T(lseek(fd, 0, SEEK_SET));
  long n = read(fd, buf, 5);
  TL("read(fd, 5)", n);
  print_buf("data", buf, n);
  T(lseek(fd, -3, SEEK_END));
  n = read(fd, buf, sizeof buf);
  TL("read rest", n);
  print_buf("data", buf, n);
  T(read(fd, buf, sizeof buf));
  T(lseek(fd, 0, 99));
  T(lseek(fd, -100, SEEK_SET));
  T(lseek(fd, 100, SEEK_SET));
  T(lseek(fd, 0, SEEK_CUR));

  SECTION("pread/pwrite");
  n = pread(fd, buf, 5, 6);
  TL("pread(fd, 5, 6)", n);
  print_buf("data", buf, n);
  T(lseek(fd, 0, SEEK_CUR));
  T(pwrite(fd, "HELLO", 5, 0));
  T(lseek(fd, 0, SEEK_CUR));
  n = pread(fd, buf, sizeof buf, 0);
  TL("pread all", n);
  print_buf("data", buf, n);
  T(pread(fd, buf, 4, 1000));
  T(pread(fd, buf, 4, -1));
  T(pwrite(fd, "!", 1, 20));
  struct stat st;
  fstat(fd, &st);
  printf("size after sparse pwrite: %ld\n", (long)st.st_size);
  n = pread(fd, buf, sizeof buf, 0);
  TL("pread sparse", n);
  print_buf("data", buf, n);

  SECTION("readv/writev");
  T(ftruncate(fd, 0));
  T(lseek(fd, 0, SEEK_SET));
  struct iovec wv[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
  T(writev(fd, wv, 3));
  T(lseek(fd, 0, SEEK_SET));
  char a[2], b[4], c[8];
  memset(c, 0, sizeof c);
  struct iovec rv[3] = {{a, 2}, {b, 4}, {c, 8}};
  T(readv(fd, rv, 3));
  print_buf("iov0", a, 2);
  print_buf("iov1", b, 4);
  print_buf("iov2", c, 2);
  T(readv(fd, rv, 3));
  TL("readv(fd, rv, -1)", syscall(SYS_readv, fd, rv, -1));
  T(close(fd));
  T(close(fd));

  SECTION("access modes");
  fd = open("f", O_RDONLY);
  TL("open(f, O_RDONLY)", fd);
  T(write(fd, "x", 1));
  T(close(fd));
  fd = open("f", O_WRONLY);
  TL("open(f, O_WRONLY)", fd);
  T(read(fd, buf, 1));
  T(close(fd));

  SECTION("O_TRUNC");
  fd = open("f", O_RDWR | O_TRUNC);
  TL("open(f, O_RDWR|O_TRUNC)", fd);
  fstat(fd, &st);
  printf("size: %ld\n", (long)st.st_size);
  close(fd);

  SECTION("O_APPEND");
  put_file("app", "0123456789");
  fd = open("app", O_RDWR | O_APPEND);
  TL("open(app, O_RDWR|O_APPEND)", fd);
  T(lseek(fd, 0, SEEK_SET));
  T(write(fd, "XY", 2));
  T(lseek(fd, 0, SEEK_CUR));
  T(pwrite(fd, "Z", 1, 0));
  n = pread(fd, buf, sizeof buf, 0);
  TL("pread all", n);
  print_buf("data", buf, n);
  close(fd);

  SECTION("openat");
  int dfd = open(".", O_RDONLY | O_DIRECTORY);
  TL("open(., O_DIRECTORY)", dfd);
  mkdir("sub", 0755);
  put_file("sub/inner", "inner!");
  int sfd = openat(AT_FDCWD, "sub", O_RDONLY | O_DIRECTORY);
  TL("openat(AT_FDCWD, sub)", sfd);
  fd = openat(sfd, "inner", O_RDONLY);
  TL("openat(sub, inner)", fd);
  n = read(fd, buf, sizeof buf);
  print_buf("data", buf, n);
  int ffd = fd;
  T(openat(ffd, "x", O_RDONLY));
  T(openat(dfd, "sub/inner", O_RDONLY | O_DIRECTORY));
  T(openat(dfd, "sub", O_WRONLY));
  T(openat(dfd, "missing", O_RDONLY));
  T(openat(9999, "rel", O_RDONLY));
  fd = openat(9999, "/tmp", O_RDONLY);
  TL("openat(9999, /tmp) absolute ignores dirfd", fd >= 0 ? 0 : -1);
  if (fd >= 0) close(fd);
  close(ffd);
  close(sfd);
  close(dfd);

  SECTION("host files read-only view");
  fd = open("/bin/true", O_RDONLY);
  TP("open(/bin/true) ok", fd >= 0);
  n = read(fd, buf, 4);
  print_buf("elf magic", buf, n);
  close(fd);
  fd = open("/dev/null", O_RDWR);
  T(write(fd, "abc", 3));
  T(read(fd, buf, 3));
  close(fd);
  fd = open("/dev/zero", O_RDONLY);
  n = read(fd, buf, 8);
  TL("read(/dev/zero, 8)", n);
  print_buf("data", buf, n);
  close(fd);
}

static void dups(void) {
  SECTION("dup");
  put_file("d", "abcdef");
  int fd = open("d", O_RDWR);
  TL("open(d)", fd);
  int fd2 = dup(fd);
  TL("dup(fd)", fd2);
  char buf[8];
  read(fd, buf, 2);
  T(lseek(fd2, 0, SEEK_CUR));
  T(dup2(fd, 10));
  T(dup2(fd, fd));
  T(dup2(fd, -1));
  T(dup2(-1, 12));
  T(dup2(fd2, 10));
  T(fcntl(10, F_GETFD));
  T(dup3(fd, 11, O_CLOEXEC));
  T(fcntl(11, F_GETFD));
  T(dup3(fd, fd, 0));
  T(dup3(fd, 12, 0xff));
  T(close(10));
  T(close(11));
  T(close(fd2));

  SECTION("fcntl");
  T(fcntl(fd, F_GETFD));
  T(fcntl(fd, F_SETFD, FD_CLOEXEC));
  T(fcntl(fd, F_GETFD));
  T(fcntl(fd, F_SETFD, 0));
  T(fcntl(fd, F_GETFD));
  T(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  T(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_WRONLY));
  T(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  T(fcntl(fd, F_SETFL, 0));
  T(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  T(fcntl(fd, F_DUPFD, 20));
  T(fcntl(20, F_GETFD));
  T(fcntl(fd, F_DUPFD_CLOEXEC, 20));
  T(fcntl(21, F_GETFD));
  T(fcntl(fd, F_DUPFD, 0));
  T(fcntl(fd, F_DUPFD, -1));
  T(fcntl(fd, F_DUPFD, 1 << 30));
  T(fcntl(fd, 9999));
  T(close(20));
  T(close(21));
  close(fd);
  T(close(fd + 1));
}

/* execve keeps plain fds and closes O_CLOEXEC ones: re-exec ourselves (argv[0]
 * is an absolute path) in --check-fds mode. */
static void cloexec_exec(const char *self) {
  SECTION("O_CLOEXEC across execve");
  int keep = open("d", O_RDONLY);
  int gone = open("d", O_RDONLY | O_CLOEXEC);
  TL("open(d) plain", keep);
  TL("open(d, O_CLOEXEC)", gone);
  T(fcntl(gone, F_GETFD));
  pid_t pid = fork();
  if (pid == 0) {
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", keep);
    snprintf(b, sizeof b, "%d", gone);
    char *argv[] = {(char *)self, "--check-fds", a, b, NULL};
    execv(self, argv);
    printf("execv: %s\n", ename(errno));
    _exit(99);
  }
  show_wait("child", pid);
  close(keep);
  close(gone);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--check-fds") == 0) {
    for (int i = 2; i < argc; i++) {
      char label[64];
      snprintf(label, sizeof label, "after exec fcntl(%s, F_GETFD)", argv[i]);
      TL(label, fcntl(atoi(argv[i]), F_GETFD));
    }
    return 0;
  }
  tmp_enter();
  basic_io();
  dups();
  cloexec_exec(argv[0]);
  tmp_leave();
  return 0;
}
