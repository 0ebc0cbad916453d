/* preadv/pwritev and their v2 forms: explicit offsets, -1 (the file's own
 * offset, v2 only), negative offsets, and pipes (no positions). */
#define _GNU_SOURCE
#include "conf.h"
#include <sys/uio.h>

int main(void) {
  tmp_enter();
  put_file("f", "0123456789");
  int fd = open("f", O_RDWR);
  char b[4];
  struct iovec v = {b, 4};
  TL("preadv(f, off 2)", preadv(fd, &v, 1, 2));
  printf("read: %.4s\n", b);
  TL("preadv(f, off -1)", preadv(fd, &v, 1, -1));
  TL("preadv2(f, off -1)", preadv2(fd, &v, 1, -1, 0));
  printf("read: %.4s, offset now %ld\n", b, (long)lseek(fd, 0, SEEK_CUR));
  TL("preadv2(f, off -5)", preadv2(fd, &v, 1, -5, 0));
  TL("preadv2(f, bad flags)", preadv2(fd, &v, 1, 0, 0x1000));
  memcpy(b, "WXYZ", 4);
  TL("pwritev(f, off 6)", pwritev(fd, &v, 1, 6));
  TL("pwritev2(f, off -1)", pwritev2(fd, &v, 1, -1, 0));
  char all[16] = {0};
  pread(fd, all, sizeof all - 1, 0);
  printf("file: %s\n", all);
  int p[2];
  T(pipe(p));
  write(p[1], "abcd", 4);
  TL("preadv(pipe, off 0)", preadv(p[0], &v, 1, 0));
  TL("preadv2(pipe, off -1)", preadv2(p[0], &v, 1, -1, 0));
  TL("pwritev(pipe, off 0)", pwritev(p[1], &v, 1, 0));
  close(fd);
  tmp_leave();
  return 0;
}
