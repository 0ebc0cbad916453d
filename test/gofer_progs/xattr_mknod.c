/* xattrs and special files in the directory given as argv[1]: the same
 * output natively and in the sandbox writing through the Gofer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static void show(const char *what, long r) {
  if (r < 0) printf("%s = -1 %s\n", what, strerrorname_np(errno));
  else printf("%s = %ld\n", what, r);
}

int main(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 1; }
  char buf[256];
  int fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0644);
  show("open f", fd < 0 ? -1 : 0);
  mkdir("d", 0755);
  show("set user.color", setxattr("f", "user.color", "blue", 4, 0));
  show("set user.size", setxattr("f", "user.size", "large", 5, XATTR_CREATE));
  show("set again CREATE", setxattr("f", "user.color", "red", 3, XATTR_CREATE));
  show("set missing REPLACE", setxattr("f", "user.none", "x", 1, XATTR_REPLACE));
  show("set bad flags", setxattr("f", "user.x", "x", 1, 4));
  show("set empty name", setxattr("f", "", "x", 1, 0));
  show("set unknown namespace", setxattr("f", "bogus.x", "x", 1, 0));
  show("get size query", getxattr("f", "user.color", NULL, 0));
  long n = getxattr("f", "user.color", buf, sizeof buf);
  show("get", n);
  if (n > 0) printf("  value %.*s\n", (int)n, buf);
  show("get small buffer", getxattr("f", "user.color", buf, 2));
  show("get missing", getxattr("f", "user.nothing", buf, sizeof buf));
  show("fget", fgetxattr(fd, "user.size", buf, sizeof buf));
  show("fset", fsetxattr(fd, "user.color", "green", 5, XATTR_REPLACE));
  n = getxattr("f", "user.color", buf, sizeof buf);
  if (n > 0) printf("  value %.*s\n", (int)n, buf);
  n = listxattr("f", buf, sizeof buf);
  show("list", n);
  /* Names in a stable order: user.color then user.size, whichever order the host keeps. */
  int color = 0, size = 0;
  for (long i = 0; i < n; i += strlen(buf + i) + 1) {
    if (strcmp(buf + i, "user.color") == 0) color = 1;
    if (strcmp(buf + i, "user.size") == 0) size = 1;
  }
  printf("  color %d size %d\n", color, size);
  show("list small", listxattr("f", buf, 3));
  show("remove", removexattr("f", "user.size"));
  show("remove again", removexattr("f", "user.size"));
  show("flist size", flistxattr(fd, NULL, 0));
  show("dir set", setxattr("d", "user.tag", "t", 1, 0));
  show("dir get", getxattr("d", "user.tag", buf, sizeof buf));
  show("mkfifo", mkfifo("fifo", 0600));
  struct stat st;
  show("stat fifo", stat("fifo", &st));
  printf("  fifo %d\n", S_ISFIFO(st.st_mode));
  show("mknod sock", mknod("sock", S_IFSOCK | 0600, 0));
  show("lstat sock", lstat("sock", &st));
  printf("  sock %d\n", S_ISSOCK(st.st_mode));
  show("fifo set user xattr", setxattr("fifo", "user.x", "x", 1, 0));
  close(fd);
  return 0;
}
