/* mount(2)/umount2(2) as root: tmpfs with mode= and MS_RDONLY, stacking,
 * EBUSY and MNT_DETACH, proc, propagation flags, errors, and EPERM without
 * root. Every mount is under the scratch directory and is undone. */
#include "conf.h"
#include <sys/mount.h>
#include <sys/vfs.h>

static int in_mountinfo(const char *dir) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[1024], want[300];
  snprintf(want, sizeof want, " %s ", dir);
  int found = 0;
  while (f && fgets(line, sizeof line, f)) found |= strstr(line, want) != NULL;
  if (f) fclose(f);
  return found;
}

int main(void) {
  tmp_enter();
  char m[256];
  snprintf(m, sizeof m, "%s/m", conf_tmp);
  struct stat st;
  struct statfs sf;
  T(mkdir("m", 0755));

  SECTION("tmpfs");
  T(mount("none", "m", "tmpfs", 0, "mode=0700"));
  T(stat("m", &st));
  printf("mode %o\n", st.st_mode & 07777);
  T(statfs("m", &sf));
  printf("tmpfs: %d\n", sf.f_type == 0x01021994);
  printf("in mountinfo: %d\n", in_mountinfo(m));
  put_file("m/file", "on tmpfs");
  T(mount(NULL, "m", NULL, MS_PRIVATE, NULL));

  SECTION("stacking");
  T(mount("none", "m", "tmpfs", 0, NULL));
  T(access("m/file", F_OK));
  T(umount("m"));
  T(access("m/file", F_OK));

  SECTION("busy and detach");
  T(mkdir("m/sub", 0755));
  T(mount("none", "m/sub", "tmpfs", 0, NULL));
  T(umount("m"));
  T(umount2("m", MNT_DETACH));
  T(access("m/file", F_OK));
  printf("in mountinfo: %d\n", in_mountinfo(m));

  SECTION("read-only");
  T(mount("none", "m", "tmpfs", MS_RDONLY, NULL));
  T(open("m/x", O_WRONLY | O_CREAT, 0644));
  T(mkdir("m/d", 0755));
  T(umount("m"));

  SECTION("proc");
  T(mount("proc", "m", "proc", 0, NULL));
  T(access("m/self/status", R_OK));
  T(umount("m"));

  SECTION("errors");
  T(mount("none", "m", "nosuchfs", 0, NULL));
  T(mount("none", "nope", "tmpfs", 0, NULL));
  T(mount("none", "m", "tmpfs", 0, "mode=9z"));
  T(umount("m"));
  T(umount2("m", 0x100));
  T(umount("nope"));

  SECTION("without root");
  T(chmod(".", 0755));
  pid_t c = fork();
  if (c == 0) {
    if (setuid(65534) != 0) _exit(9);
    TL("mount as nobody", mount("none", "m", "tmpfs", 0, NULL));
    TL("umount as nobody", umount("m"));
    _exit(0);
  }
  show_wait("child", c);
  tmp_leave();
  return 0;
}
