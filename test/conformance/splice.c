/* Pipes and the calls that move data through them: capacity (F_GETPIPE_SZ,
 * F_SETPIPE_SZ), PIPE_BUF atomicity, FIFOs, splice, tee, vmsplice,
 * sendfile and copy_file_range. */
#include "conf.h"
#include <sys/sendfile.h>
#include <sys/uio.h>

static void show_read(int fd, size_t n) {
  char b[256] = {0};
  ssize_t r = read(fd, b, n);
  printf("  read %ld: %.*s\n", (long)r, (int)(r > 0 ? r : 0), b);
}

int main(void) {
  tmp_enter();
  int p[2], q[2];
  char big[8192];
  memset(big, 'x', sizeof big);

  SECTION("capacity");
  T(pipe2(p, O_NONBLOCK));
  T(fcntl(p[0], F_GETPIPE_SZ));
  T(fcntl(p[1], F_SETPIPE_SZ, 1000));
  T(fcntl(p[0], F_GETPIPE_SZ));
  T(fcntl(p[1], F_SETPIPE_SZ, 100000));
  T(write(p[1], big, 8192));
  T(fcntl(p[1], F_SETPIPE_SZ, 4096));
  T(read(p[0], big, 8192));
  T(fcntl(p[1], F_SETPIPE_SZ, 4096));
  T(fcntl(p[1], F_SETPIPE_SZ, -1));
  int rf = open("f", O_RDWR | O_CREAT, 0644);
  T(fcntl(rf, F_GETPIPE_SZ));

  SECTION("PIPE_BUF atomicity on a 4096-byte pipe");
  T(write(p[1], big, 4000));
  T(write(p[1], big, 200));
  T(write(p[1], big, 5000));
  T(write(p[1], big, 1));
  close(p[0]);
  close(p[1]);

  SECTION("FIFO");
  T(mkfifo("fifo", 0600));
  int fr = open("fifo", O_RDONLY | O_NONBLOCK);
  int fw = open("fifo", O_WRONLY | O_NONBLOCK);
  TP("opened both ends", fr >= 0 && fw >= 0);
  T(fcntl(fw, F_GETPIPE_SZ));
  T(write(fw, "through the fifo", 16));
  show_read(fr, 64);
  close(fw);
  T(read(fr, big, 10));
  close(fr);

  SECTION("splice");
  T(write(rf, "0123456789abcdefghijklmnopqrstuvwxyz", 36));
  T(pipe(p));
  loff_t off = 5;
  T(splice(rf, &off, p[1], NULL, 10, 0));
  printf("  off now %ld, file offset %ld\n", (long)off, (long)lseek(rf, 0, SEEK_CUR));
  T(lseek(rf, 30, SEEK_SET));
  T(splice(rf, NULL, p[1], NULL, 100, 0));
  printf("  file offset %ld\n", (long)lseek(rf, 0, SEEK_CUR));
  int out = open("out", O_RDWR | O_CREAT | O_TRUNC, 0644);
  loff_t ooff = 2;
  T(splice(p[0], NULL, out, &ooff, 4, 0));
  printf("  ooff now %ld\n", (long)ooff);
  T(pipe(q));
  T(splice(p[0], NULL, q[1], NULL, 3, SPLICE_F_MOVE));
  show_read(q[0], 3);
  T(splice(p[0], NULL, out, NULL, 100, 0));
  T(pread(out, big, 64, 0));
  printf("  out: %.2s|%.4s|%.9s\n", big, big + 2, big + 6);
  T(splice(p[0], &off, out, NULL, 1, 0));
  T(splice(rf, NULL, out, NULL, 1, 0));
  T(splice(p[0], NULL, q[1], NULL, 1, SPLICE_F_NONBLOCK));
  T(splice(p[0], NULL, q[1], NULL, 1, 0x100));
  T(splice(p[0], NULL, p[1], NULL, 1, 0));
  close(p[1]);
  T(splice(p[0], NULL, q[1], NULL, 1, 0));
  close(p[0]);

  SECTION("tee");
  T(pipe(p));
  T(write(p[1], "duplicate me", 12));
  T(tee(p[0], q[1], 9, 0));
  show_read(q[0], 64);
  show_read(p[0], 64);
  T(tee(p[0], q[1], 9, SPLICE_F_NONBLOCK));
  T(tee(p[0], rf, 1, 0));

  SECTION("vmsplice");
  char a1[] = "vm", a2[] = "splice";
  struct iovec iov[2] = {{a1, 2}, {a2, 6}};
  T(vmsplice(p[1], iov, 2, 0));
  char r1[3] = {0}, r2[6] = {0};
  struct iovec riov[2] = {{r1, 3}, {r2, 5}};
  T(vmsplice(p[0], riov, 2, 0));
  printf("  got %.3s %.5s\n", r1, r2);
  T(vmsplice(rf, iov, 2, 0));

  SECTION("sendfile");
  off_t so = 26;
  T(sendfile(p[1], rf, &so, 4));
  printf("  so now %ld\n", (long)so);
  show_read(p[0], 4);
  T(lseek(rf, 0, SEEK_SET));
  int copy = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0644);
  T(sendfile(copy, rf, NULL, 1000));
  printf("  rf offset %ld\n", (long)lseek(rf, 0, SEEK_CUR));

  SECTION("copy_file_range");
  loff_t ci = 10, co = 0;
  int dst = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
  T(copy_file_range(rf, &ci, dst, &co, 6, 0));
  printf("  ci %ld co %ld\n", (long)ci, (long)co);
  T(lseek(rf, 0, SEEK_SET));
  T(copy_file_range(rf, NULL, dst, NULL, 3, 0));
  show_read(dst, 64);
  T(pread(dst, big, 64, 0));
  T(copy_file_range(rf, NULL, dst, NULL, 3, 1));
  T(copy_file_range(p[0], NULL, dst, NULL, 3, 0));
  tmp_leave();
  return 0;
}
