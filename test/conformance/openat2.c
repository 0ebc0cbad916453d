/* openat2: struct open_how checks and every RESOLVE_* flag (no symlinks,
 * no magic links, no mount crossing, beneath a directory, in a root). */
#include "conf.h"
#include <linux/openat2.h>

static long o2(int dirfd, const char *path, unsigned long long flags, unsigned long long mode, unsigned long long resolve) {
  struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
  long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  if (fd >= 0) close((int)fd);
  return fd < 0 ? fd : 0;
}

int main(void) {
  tmp_enter();
  T(mkdir("a", 0755));
  T(mkdir("a/b", 0755));
  put_file("a/f", "data");
  T(symlink("f", "a/ls"));
  T(symlink("/etc/hostname", "a/abs"));
  T(symlink("../a/f", "a/up"));
  int a = open("a", O_RDONLY | O_DIRECTORY);

  SECTION("open_how");
  T(o2(AT_FDCWD, "a/f", O_RDONLY, 0, 0));
  struct open_how how = {.flags = O_RDONLY};
  T(syscall(SYS_openat2, AT_FDCWD, "a/f", &how, 23));
  struct { struct open_how h; unsigned long long extra; } big = {{.flags = O_RDONLY}, 0};
  long fd = syscall(SYS_openat2, AT_FDCWD, "a/f", &big, sizeof big);
  TP("larger zero-filled struct", fd >= 0);
  big.extra = 1;
  T(syscall(SYS_openat2, AT_FDCWD, "a/f", &big, sizeof big));
  T(syscall(SYS_openat2, AT_FDCWD, "a/f", (void *)8, sizeof how));
  T(o2(AT_FDCWD, "a/f", 1ULL << 40, 0, 0));
  T(o2(AT_FDCWD, "a/f", O_RDONLY, 0644, 0));
  T(o2(AT_FDCWD, "a/new", O_CREAT | O_WRONLY, 010000, 0));
  T(o2(AT_FDCWD, "a/f", O_PATH | O_RDWR, 0, 0));
  T(o2(AT_FDCWD, "a/f", O_RDONLY, 0, 0x40));
  T(o2(AT_FDCWD, "a/f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));

  SECTION("RESOLVE_NO_SYMLINKS");
  T(o2(AT_FDCWD, "a/ls", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
  T(o2(AT_FDCWD, "a/ls", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
  T(o2(AT_FDCWD, "a/ls", O_RDONLY, 0, 0));
  T(o2(AT_FDCWD, "a/ls", O_CREAT | O_WRONLY, 0644, RESOLVE_NO_SYMLINKS));

  SECTION("RESOLVE_NO_MAGICLINKS");
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", a);
  T(o2(AT_FDCWD, self, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
  T(o2(AT_FDCWD, self, O_RDONLY, 0, 0));
  T(o2(AT_FDCWD, "a/ls", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));

  SECTION("RESOLVE_NO_XDEV");
  int root = open("/", O_RDONLY | O_DIRECTORY);
  T(o2(root, "proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV));
  T(o2(AT_FDCWD, "a/f", O_RDONLY, 0, RESOLVE_NO_XDEV));
  int proc = open("/proc", O_RDONLY | O_DIRECTORY);
  T(o2(proc, "..", O_RDONLY, 0, RESOLVE_NO_XDEV));

  SECTION("RESOLVE_BENEATH");
  T(o2(a, "f", O_RDONLY, 0, RESOLVE_BENEATH));
  T(o2(a, "b/../f", O_RDONLY, 0, RESOLVE_BENEATH));
  T(o2(a, "../a/f", O_RDONLY, 0, RESOLVE_BENEATH));
  T(o2(a, "/etc/hostname", O_RDONLY, 0, RESOLVE_BENEATH));
  T(o2(a, "abs", O_RDONLY, 0, RESOLVE_BENEATH));
  T(o2(a, "up", O_RDONLY, 0, RESOLVE_BENEATH));
  T(o2(a, "ls", O_RDONLY, 0, RESOLVE_BENEATH));
  T(o2(a, "b/new", O_CREAT | O_WRONLY, 0644, RESOLVE_BENEATH));
  T(o2(a, "../new", O_CREAT | O_WRONLY, 0644, RESOLVE_BENEATH));

  SECTION("RESOLVE_IN_ROOT");
  T(o2(a, "/f", O_RDONLY, 0, RESOLVE_IN_ROOT));
  T(o2(a, "../../f", O_RDONLY, 0, RESOLVE_IN_ROOT));
  T(o2(a, "up", O_RDONLY, 0, RESOLVE_IN_ROOT));
  T(o2(a, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT));
  T(o2(a, "/b/made", O_CREAT | O_WRONLY, 0644, RESOLVE_IN_ROOT));
  T(access("a/b/made", F_OK));

  SECTION("RESOLVE_CACHED");
  T(o2(AT_FDCWD, "a/f", O_RDONLY | O_TRUNC, 0, RESOLVE_CACHED));
  T(o2(AT_FDCWD, "a/x", O_CREAT | O_WRONLY, 0644, RESOLVE_CACHED));
  tmp_leave();
  return 0;
}
