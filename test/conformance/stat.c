/* The stat family: stat/fstat/lstat/newfstatat/statx on files, directories,
 * symlinks, devices and pipes. Prints type, permission bits, size and nlink
 * only (never inode numbers, times or devices). */
#include "conf.h"

static const char *type_of(mode_t m) {
  switch (m & S_IFMT) {
  case S_IFREG: return "reg";
  case S_IFDIR: return "dir";
  case S_IFLNK: return "lnk";
  case S_IFCHR: return "chr";
  case S_IFBLK: return "blk";
  case S_IFIFO: return "fifo";
  case S_IFSOCK: return "sock";
  default: return "?";
  }
}

static void show_st(const char *label, int r, const struct stat *st) {
  if (r != 0) {
    printf("%s: -1 %s\n", label, ename(errno));
    return;
  }
  printf("%s: 0 type=%s perm=%04o", label, type_of(st->st_mode), st->st_mode & 07777);
  if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode)) printf(" size=%ld", (long)st->st_size);
  printf(" nlink=%lu\n", (unsigned long)st->st_nlink);
}

#define ST(label, call)           \
  do {                            \
    struct stat _st;              \
    memset(&_st, 0, sizeof _st);  \
    errno = 0;                    \
    int _r = (call);              \
    show_st(label, _r, &_st);     \
  } while (0)

static void show_stx(const char *label, int r, const struct statx *sx) {
  if (r != 0) {
    printf("%s: -1 %s\n", label, ename(errno));
    return;
  }
  printf("%s: 0 basic=%d type=%s perm=%04o", label,
         (sx->stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS,
         type_of(sx->stx_mode), sx->stx_mode & 07777);
  if (S_ISREG(sx->stx_mode) || S_ISLNK(sx->stx_mode)) printf(" size=%llu", (unsigned long long)sx->stx_size);
  printf(" nlink=%u\n", sx->stx_nlink);
}

#define STX(label, dfd, path, flags)                                  \
  do {                                                                \
    struct statx _sx;                                                 \
    memset(&_sx, 0, sizeof _sx);                                      \
    errno = 0;                                                        \
    int _r = statx((dfd), (path), (flags), STATX_BASIC_STATS, &_sx);  \
    show_stx(label, _r, &_sx);                                        \
  } while (0)

int main(void) {
  tmp_enter();
  put_file("file", "12345");
  mkdir("dir", 0750);
  mkdir("dir/sub1", 0755);
  mkdir("dir/sub2", 0755);
  put_file("dir/x", "");
  symlink("file", "link");
  symlink("dir", "dlink");
  symlink("nowhere", "dangling");
  symlink("loop2", "loop1");
  symlink("loop1", "loop2");
  chmod("file", 0640);

  SECTION("stat");
  ST("stat(file)", stat("file", &_st));
  ST("stat(dir)", stat("dir", &_st));
  ST("stat(dir/sub1)", stat("dir/sub1", &_st));
  ST("stat(link)", stat("link", &_st));
  ST("stat(dlink)", stat("dlink", &_st));
  ST("stat(dlink/x)", stat("dlink/x", &_st));
  ST("stat(dangling)", stat("dangling", &_st));
  ST("stat(loop1)", stat("loop1", &_st));
  ST("stat(missing)", stat("missing", &_st));
  ST("stat(file/x)", stat("file/x", &_st));
  ST("stat(empty)", stat("", &_st));
  ST("stat(/dev/null)", stat("/dev/null", &_st));
  {
    struct stat rs;
    TP("stat(/) is a directory", stat("/", &rs) == 0 && S_ISDIR(rs.st_mode));
  }
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  ST("stat(300-char name)", stat(longname, &_st));

  SECTION("lstat");
  ST("lstat(file)", lstat("file", &_st));
  ST("lstat(link)", lstat("link", &_st));
  ST("lstat(dlink)", lstat("dlink", &_st));
  ST("lstat(dangling)", lstat("dangling", &_st));
  ST("lstat(loop1)", lstat("loop1", &_st));
  ST("lstat(missing)", lstat("missing", &_st));

  SECTION("fstat");
  int fd = open("file", O_RDONLY);
  ST("fstat(file fd)", fstat(fd, &_st));
  int dfd = open("dir", O_RDONLY | O_DIRECTORY);
  ST("fstat(dir fd)", fstat(dfd, &_st));
  int lfd = open("link", O_PATH | O_NOFOLLOW);
  ST("fstat(O_PATH|O_NOFOLLOW link fd)", fstat(lfd, &_st));
  int p[2];
  pipe(p);
  {
    struct stat ps;
    TP("fstat(pipe) is a fifo", fstat(p[0], &ps) == 0 && S_ISFIFO(ps.st_mode));
  }
  ST("fstat(-1)", fstat(-1, &_st));
  ST("fstat(9999)", fstat(9999, &_st));
  close(p[0]);
  close(p[1]);
  write(fd, "", 0);
  int wfd = open("file", O_WRONLY | O_APPEND);
  write(wfd, "678", 3);
  ST("fstat after append", fstat(fd, &_st));
  ftruncate(wfd, 2);
  ST("fstat after ftruncate(2)", fstat(fd, &_st));
  close(wfd);
  fchmod(fd, 0600);
  ST("fstat after fchmod(0600)", fstat(fd, &_st));

  SECTION("newfstatat");
  ST("fstatat(AT_FDCWD, link, 0)", fstatat(AT_FDCWD, "link", &_st, 0));
  ST("fstatat(AT_FDCWD, link, NOFOLLOW)", fstatat(AT_FDCWD, "link", &_st, AT_SYMLINK_NOFOLLOW));
  ST("fstatat(dirfd, x)", fstatat(dfd, "x", &_st, 0));
  ST("fstatat(dirfd, sub2)", fstatat(dfd, "sub2", &_st, 0));
  ST("fstatat(fd, \"\", AT_EMPTY_PATH)", fstatat(fd, "", &_st, AT_EMPTY_PATH));
  ST("fstatat(fd, \"\", 0)", fstatat(fd, "", &_st, 0));
  ST("fstatat(filefd, rel)", fstatat(fd, "rel", &_st, 0));
  ST("fstatat(bad flags)", fstatat(AT_FDCWD, "file", &_st, 0x40000000));
  ST("fstatat(9999, rel)", fstatat(9999, "rel", &_st, 0));

  SECTION("statx");
  STX("statx(file)", AT_FDCWD, "file", 0);
  STX("statx(dir)", AT_FDCWD, "dir", 0);
  STX("statx(link)", AT_FDCWD, "link", 0);
  STX("statx(link, NOFOLLOW)", AT_FDCWD, "link", AT_SYMLINK_NOFOLLOW);
  STX("statx(dirfd, x)", dfd, "x", 0);
  STX("statx(fd, \"\", EMPTY_PATH)", fd, "", AT_EMPTY_PATH);
  STX("statx(missing)", AT_FDCWD, "missing", 0);
  STX("statx(bad flags)", AT_FDCWD, "file", 0x7fff0000);
  {
    struct statx sx;
    errno = 0;
    long r = syscall(SYS_statx, AT_FDCWD, "file", 0, 0x80000000u, &sx);
    show("statx(mask with reserved bit)", r, errno);
  }

  SECTION("link count");
  T(link("file", "hard"));
  ST("stat(file) after link", stat("file", &_st));
  T(unlink("hard"));
  ST("fstat(fd) after unlink of hard link", fstat(fd, &_st));
  T(unlink("file"));
  ST("fstat(fd) after unlink of last name", fstat(fd, &_st));
  T(rmdir("dir/sub2"));
  ST("stat(dir) after rmdir(sub2)", stat("dir", &_st));
  close(fd);
  close(dfd);
  close(lfd);
  tmp_leave();
  return 0;
}
