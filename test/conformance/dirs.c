/* Directories and names: mkdir/rmdir/rename/unlink, getdents64 and the old getdents (sorted names),
 * getcwd/chdir/fchdir, access/faccessat, readlink/readlinkat, symlink, umask. */
#include "conf.h"
#include <dirent.h>

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *dtype(unsigned char t) {
  switch (t) {
  case DT_REG: return "reg";
  case DT_DIR: return "dir";
  case DT_LNK: return "lnk";
  case DT_FIFO: return "fifo";
  case DT_UNKNOWN: return "unknown";
  default: return "other";
  }
}

/* The old getdents' record: d_type is the record's last byte, after the name's NUL. */
struct linux_dirent {
  unsigned long d_ino;
  unsigned long d_off;
  unsigned short d_reclen;
  char d_name[];
};

/* Reads the whole directory with a given buffer size (with getdents64, or the
 * old getdents when old is set) and prints sorted names. */
static void list_with(const char *label, int fd, size_t bufsz, int old) {
  char *buf = malloc(bufsz);
  char *names[256];
  int n = 0, calls = 0;
  for (;;) {
    long r = syscall(old ? SYS_getdents : SYS_getdents64, fd, buf, bufsz);
    calls++;
    if (r < 0) {
      printf("%s: getdents%s -1 %s\n", label, old ? "" : "64", ename(errno));
      break;
    }
    if (r == 0) break;
    for (long off = 0; off < r;) {
      const char *dname;
      unsigned char type;
      unsigned short reclen;
      if (old) {
        struct linux_dirent *d = (struct linux_dirent *)(buf + off);
        dname = d->d_name, reclen = d->d_reclen, type = buf[off + reclen - 1];
      } else {
        struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
        dname = d->d_name, reclen = d->d_reclen, type = d->d_type;
      }
      char *s = malloc(strlen(dname) + 16);
      sprintf(s, "%s:%s", dname, dtype(type));
      if (n < 256) names[n++] = s;
      off += reclen;
    }
  }
  qsort(names, n, sizeof names[0], cmp);
  printf("%s: %d entries (multiple calls: %d):", label, n, calls > 2);
  for (int i = 0; i < n; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
  free(buf);
}

static void list(const char *label, int fd, size_t bufsz) { list_with(label, fd, bufsz, 0); }

static void dirs(void) {
  SECTION("mkdir");
  T(mkdir("d", 0755));
  T(mkdir("d", 0755));
  T(mkdir("nope/x", 0755));
  put_file("f", "data");
  T(mkdir("f/x", 0755));
  T(mkdir("d/s", 0700));
  T(mkdir("", 0755));

  SECTION("getdents64");
  put_file("d/c", "");
  put_file("d/a", "");
  put_file("d/b", "");
  symlink("a", "d/l");
  char name[32];
  for (int i = 0; i < 40; i++) {
    snprintf(name, sizeof name, "d/many-%02d", i);
    put_file(name, "");
  }
  int fd = open("d", O_RDONLY | O_DIRECTORY);
  TL("open(d, O_DIRECTORY)", fd);
  list("d (32K buffer)", fd, 32768);
  T(syscall(SYS_getdents64, fd, name, sizeof name));
  T(lseek(fd, 0, SEEK_SET));
  list("d (rewound, 256-byte buffer)", fd, 256);
  T(lseek(fd, 0, SEEK_SET));
  T(syscall(SYS_getdents64, fd, name, 1));
  int ffd = open("f", O_RDONLY);
  T(syscall(SYS_getdents64, ffd, name, sizeof name));
  T(syscall(SYS_getdents64, -1, name, sizeof name));

  SECTION("getdents (the old one)");
  T(lseek(fd, 0, SEEK_SET));
  list_with("d (old getdents, 32K buffer)", fd, 32768, 1);
  T(lseek(fd, 0, SEEK_SET));
  list_with("d (old getdents, 256-byte buffer)", fd, 256, 1);
  /* A buffer it cannot write consumes nothing: the next call starts at the same entry. */
  T(lseek(fd, 0, SEEK_SET));
  T(syscall(SYS_getdents, fd, NULL, 4096));
  list_with("d (old getdents after EFAULT)", fd, 32768, 1);
  T(lseek(fd, 0, SEEK_SET));
  T(syscall(SYS_getdents, fd, name, 1));
  T(syscall(SYS_getdents, ffd, name, sizeof name));
  T(syscall(SYS_getdents, -1, name, sizeof name));
  close(ffd);
  close(fd);
  for (int i = 0; i < 40; i++) {
    snprintf(name, sizeof name, "d/many-%02d", i);
    unlink(name);
  }
  fd = open("d/s", O_RDONLY | O_DIRECTORY);
  list("empty d/s", fd, 4096);
  close(fd);

  SECTION("rmdir/unlink");
  T(rmdir("d"));
  T(rmdir("f"));
  T(unlink("d"));
  T(unlink("missing"));
  T(rmdir("missing"));
  T(rmdir("d/s/."));
  T(rmdir("d/s"));
  T(unlink("d/l"));
  T(unlink("d/a"));
  T(open("d/a", O_RDONLY));

  SECTION("rename");
  put_file("r1", "one");
  put_file("r2", "two");
  T(rename("r1", "r2"));
  T(access("r1", F_OK));
  char buf[16] = {0};
  fd = open("r2", O_RDONLY);
  read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("r2 now holds: %s\n", buf);
  T(rename("missing", "x"));
  mkdir("rd", 0755);
  mkdir("rd/inner", 0755);
  T(rename("rd", "rd/inner/deeper"));
  T(rename("r2", "rd"));
  T(rename("rd", "r2"));
  mkdir("rd2", 0755);
  T(rename("rd2", "rd"));
  T(rename("rd", "rd3"));
  T(access("rd3/inner", F_OK));
  T(rename("rd3", "rd2"));
  T(rename("r2", "r2"));
  T(renameat(AT_FDCWD, "r2", AT_FDCWD, "rd2/r2"));
  T(access("rd2/r2", F_OK));

  SECTION("getcwd/chdir");
  char cwd[4096], base[4096];
  T(getcwd(base, sizeof base) != NULL ? 0 : -1);
  T(chdir("rd2"));
  getcwd(cwd, sizeof cwd);
  printf("cwd is base + %s\n", strncmp(cwd, base, strlen(base)) == 0 ? cwd + strlen(base) : "(elsewhere)");
  T(access("r2", F_OK));
  T(chdir(".."));
  getcwd(cwd, sizeof cwd);
  TP("back at base", strcmp(cwd, base) == 0);
  T(chdir("f"));
  T(chdir("missing"));
  T(chdir(""));
  errno = 0;
  TL("getcwd(buf, 1)", syscall(SYS_getcwd, cwd, 1));
  int here = open(".", O_RDONLY | O_DIRECTORY);
  T(chdir("/"));
  getcwd(cwd, sizeof cwd);
  printf("cwd after chdir(/): %s\n", cwd);
  T(fchdir(here));
  getcwd(cwd, sizeof cwd);
  TP("fchdir back at base", strcmp(cwd, base) == 0);
  int ff = open("f", O_RDONLY);
  T(fchdir(ff));
  T(fchdir(-1));
  close(ff);
  close(here);

  SECTION("access/faccessat");
  chmod("f", 0644);
  T(access("f", F_OK));
  T(access("f", R_OK | W_OK));
  T(access("missing", F_OK));
  T(access("f/x", F_OK));
  T(access("f", 0x100));
  mkdir("ad", 0755);
  put_file("ad/exe", "#!/bin/sh\n");
  chmod("ad/exe", 0755);
  T(access("ad/exe", X_OK));
  T(access("ad", X_OK));
  int adfd = open("ad", O_RDONLY | O_DIRECTORY);
  T(faccessat(adfd, "exe", R_OK, 0));
  T(faccessat(AT_FDCWD, "f", F_OK, AT_SYMLINK_NOFOLLOW));
  T(syscall(SYS_faccessat, AT_FDCWD, "f", F_OK, 0));
  T(syscall(SYS_faccessat2, AT_FDCWD, "f", F_OK, 0x1));
  T(faccessat(9999, "exe", F_OK, 0));
  T(access("/", F_OK));
  T(access("/bin/sh", X_OK));
  close(adfd);

  SECTION("symlink/readlink");
  T(symlink("target/path", "sl"));
  T(symlink("other", "sl"));
  T(symlink("x", "missing-dir/sl"));
  char lb[64];
  memset(lb, 0, sizeof lb);
  long n = readlink("sl", lb, sizeof lb);
  TL("readlink(sl)", n);
  printf("target: %.*s\n", (int)(n > 0 ? n : 0), lb);
  memset(lb, 0, sizeof lb);
  n = readlink("sl", lb, 4);
  TL("readlink(sl, 4)", n);
  printf("truncated: %.*s\n", (int)(n > 0 ? n : 0), lb);
  T(readlink("f", lb, sizeof lb));
  T(readlink("missing", lb, sizeof lb));
  T(syscall(SYS_readlink, "sl", lb, 0));
  int cfd = open(".", O_RDONLY | O_DIRECTORY);
  n = readlinkat(cfd, "sl", lb, sizeof lb);
  TL("readlinkat(dirfd, sl)", n);
  printf("target: %.*s\n", (int)(n > 0 ? n : 0), lb);
  T(readlinkat(AT_FDCWD, "sl", lb, sizeof lb));
  T(readlinkat(9999, "sl", lb, sizeof lb));
  close(cfd);
  T(unlink("sl"));

  SECTION("umask");
  T(umask(077));
  put_file("masked", "");
  struct stat st;
  stat("masked", &st);
  printf("mode with umask 077: %04o\n", st.st_mode & 07777);
  T(mkdir("maskeddir", 0777));
  stat("maskeddir", &st);
  printf("dir mode with umask 077: %04o\n", st.st_mode & 07777);
  T(umask(022));
  T(umask(022));
  T(umask(01777) & 0777);
  umask(022);
}

int main(void) {
  tmp_enter();
  dirs();
  tmp_leave();
  return 0;
}
