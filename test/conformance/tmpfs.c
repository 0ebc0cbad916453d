/* tmpfs (/dev/shm): link counts, sparse files, truncation, times, user.*
 * extended attributes, MAP_SHARED between processes, POSIX shm_open. */
#include "conf.h"
#include <sys/mman.h>
#include <sys/xattr.h>
#include <sys/vfs.h>

#define PG 4096L

int main(void) {
  char dir[] = "/dev/shm/conf.XXXXXX";
  if (!mkdtemp(dir) || chdir(dir) != 0) return 2;
  struct stat st;

  SECTION("links");
  put_file("a", "hello");
  T(stat("a", &st));
  printf("nlink %ld size %ld blocks %ld\n", (long)st.st_nlink, (long)st.st_size, (long)st.st_blocks);
  ino_t ino = st.st_ino;
  T(link("a", "b"));
  T(stat("b", &st));
  printf("nlink %ld same ino %d\n", (long)st.st_nlink, st.st_ino == ino);
  T(unlink("a"));
  T(stat("b", &st));
  printf("nlink %ld\n", (long)st.st_nlink);
  T(mkdir("d", 0755));
  T(mkdir("d/e", 0755));
  T(stat("d", &st));
  printf("dir nlink %ld\n", (long)st.st_nlink);

  SECTION("sparse");
  int fd = open("sparse", O_RDWR | O_CREAT, 0644);
  T(pwrite(fd, "end", 3, 1 << 20));
  T(fstat(fd, &st));
  printf("size %ld blocks %ld\n", (long)st.st_size, (long)st.st_blocks);
  char buf[64];
  memset(buf, 'x', sizeof buf);
  T(pread(fd, buf, 8, 12345));
  printf("hole reads zero: %d\n", buf[0] == 0 && buf[7] == 0);
  T(ftruncate(fd, 2));
  T(ftruncate(fd, 1 << 20));
  T(fstat(fd, &st));
  printf("size %ld blocks %ld\n", (long)st.st_size, (long)st.st_blocks);
  T(pread(fd, buf, 3, (1 << 20) - 3));
  printf("truncated bytes read zero: %d\n", buf[0] == 0 && buf[2] == 0);

  SECTION("times");
  struct timespec ts[2] = {{1000000000, 5}, {1100000000, 7}};
  T(futimens(fd, ts));
  T(fstat(fd, &st));
  printf("atime %ld.%ld mtime %ld.%ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  T(pwrite(fd, "w", 1, 0));
  T(fstat(fd, &st));
  printf("write moves mtime: %d\n", st.st_mtim.tv_sec > 1100000000);
  struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  T(utimensat(AT_FDCWD, "sparse", omit, 0));
  T(stat("sparse", &st));
  printf("UTIME_OMIT keeps atime: %ld\n", (long)st.st_atim.tv_sec);

  SECTION("xattrs");
  T(setxattr("b", "user.color", "blue", 4, 0));
  T(setxattr("b", "user.color", "red", 3, XATTR_CREATE));
  T(setxattr("b", "user.size", "x", 1, XATTR_REPLACE));
  T(setxattr("b", "user.size", "", 0, 0));
  T(getxattr("b", "user.color", NULL, 0));
  memset(buf, 0, sizeof buf);
  T(getxattr("b", "user.color", buf, sizeof buf));
  printf("value: %s\n", buf);
  T(getxattr("b", "user.color", buf, 2));
  T(getxattr("b", "user.none", buf, sizeof buf));
  T(getxattr("b", "other.x", buf, sizeof buf));
  /* The order of the list is the filesystem's: print membership only. */
  ssize_t n = listxattr("b", buf, sizeof buf);
  int color = 0, size = 0;
  for (ssize_t i = 0; i < n; i += strlen(buf + i) + 1) {
    color |= strcmp(buf + i, "user.color") == 0;
    size |= strcmp(buf + i, "user.size") == 0;
  }
  printf("list %ld: color %d size %d\n", (long)n, color, size);
  T(removexattr("b", "user.color"));
  T(removexattr("b", "user.color"));
  T(listxattr("b", NULL, 0));
  T(fsetxattr(fd, "user.f", "1", 1, 0));
  T(fgetxattr(fd, "user.f", buf, sizeof buf));
  T(setxattr("b", "user.bad", "v", 1, 4));

  SECTION("shared mapping between processes");
  T(ftruncate(fd, PG));
  char *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  TP("mmap", m != MAP_FAILED);
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open("sparse", O_RDWR);
    char *c = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
    strcpy(c + 100, "child wrote this");
    _exit(0);
  }
  show_wait("child", pid);
  printf("parent mapping: %s\n", m + 100);
  memset(buf, 0, sizeof buf);
  T(pread(fd, buf, 16, 100));
  printf("read: %s\n", buf);
  munmap(m, PG);
  close(fd);

  SECTION("shm_open");
  int s = shm_open("/conf-shm-test", O_RDWR | O_CREAT | O_EXCL, 0600);
  TP("shm_open", s >= 0);
  T(ftruncate(s, PG));
  T(access("/dev/shm/conf-shm-test", F_OK));
  char *sm = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
  strcpy(sm, "shm");
  int s2 = shm_open("/conf-shm-test", O_RDONLY, 0);
  memset(buf, 0, sizeof buf);
  T(read(s2, buf, 3));
  printf("second open reads: %s\n", buf);
  T(shm_unlink("/conf-shm-test"));
  T(shm_open("/conf-shm-test", O_RDONLY, 0));

  SECTION("statfs");
  struct statfs sf;
  T(statfs(".", &sf));
  printf("tmpfs magic: %d\n", sf.f_type == 0x01021994);

  if (chdir("/") != 0) return 2;
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : 3;
}
