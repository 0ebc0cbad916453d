/* inotify: the common events for changes made by this process and its
 * children, names and cookies, IN_ISDIR, one-shot watches, rm_watch, self
 * events with IN_IGNORED, blocking and non-blocking reads, bad arguments. */
#include "conf.h"
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

static const char *names[] = {"ACCESS", "MODIFY", "ATTRIB", "CLOSE_WRITE", "CLOSE_NOWRITE", "OPEN", "MOVED_FROM",
                              "MOVED_TO", "CREATE", "DELETE", "DELETE_SELF", "MOVE_SELF"};

static int wds[8];
static int nwds;

static int wd_index(int wd) {
  for (int i = 0; i < nwds; i++)
    if (wds[i] == wd) return i;
  return -1;
}

/* Prints every queued event: watch index, flags, name, and whether moves pair up. */
static void drain(int in) {
  char buf[4096] __attribute__((aligned(8)));
  uint32_t last_cookie = 0;
  for (;;) {
    struct pollfd p = {.fd = in, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) break;
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0) break;
    for (char *q = buf; q < buf + n;) {
      struct inotify_event *e = (struct inotify_event *)q;
      printf("  w%d", wd_index(e->wd));
      for (int b = 0; b < 12; b++)
        if (e->mask & (1u << b)) printf(" %s", names[b]);
      if (e->mask & IN_IGNORED) printf(" IGNORED");
      if (e->mask & IN_ISDIR) printf(" ISDIR");
      if (e->len) printf(" \"%s\"", e->name);
      if (e->mask & IN_MOVED_FROM) last_cookie = e->cookie;
      if (e->mask & IN_MOVED_TO) printf(" cookie %s", e->cookie == last_cookie && e->cookie ? "pairs" : "differs");
      printf("\n");
      q += sizeof *e + e->len;
    }
  }
}

int main(void) {
  tmp_enter();
  int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  TP("inotify_init1", in >= 0);
  T(fcntl(in, F_GETFD));
  T(mkdir("d", 0755));
  wds[nwds++] = inotify_add_watch(in, "d", IN_ALL_EVENTS);
  TP("watch d", wds[0] > 0);
  char buf[64];
  T(read(in, buf, sizeof buf));

  SECTION("create, write, close");
  put_file("d/a", "hello");
  drain(in);
  SECTION("watch the file too");
  wds[nwds++] = inotify_add_watch(in, "d/a", IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF);
  TP("same wd for the same inode", inotify_add_watch(in, "d/a", IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF) == wds[1]);
  int fd = open("d/a", O_WRONLY | O_APPEND);
  T(write(fd, "!", 1));
  T(fchmod(fd, 0600));
  T(close(fd));
  drain(in);
  SECTION("read and readdir");
  fd = open("d/a", O_RDONLY);
  T(read(fd, buf, sizeof buf));
  close(fd);
  drain(in);
  SECTION("mkdir, rename, rmdir");
  T(mkdir("d/sub", 0755));
  T(rename("d/a", "d/b"));
  T(rename("d/b", "c"));
  T(rmdir("d/sub"));
  drain(in);
  SECTION("truncate, utimes, symlink, link");
  T(truncate("c", 1));
  T(symlink("c", "d/ln"));
  T(link("c", "d/hard"));
  T(utimensat(AT_FDCWD, "d/hard", NULL, 0));
  drain(in);
  SECTION("unlink: the watched inode loses its last link");
  T(unlink("d/hard"));
  T(unlink("c"));
  drain(in);
  SECTION("a child's changes");
  pid_t c = fork();
  if (c == 0) {
    put_file("d/from-child", "x");
    _exit(0);
  }
  show_wait("child", c);
  drain(in);
  SECTION("oneshot and rm_watch");
  wds[nwds++] = inotify_add_watch(in, "d/from-child", IN_ATTRIB | IN_ONESHOT);
  T(chmod("d/from-child", 0600));
  T(chmod("d/from-child", 0644));
  T(inotify_rm_watch(in, wds[0]));
  T(inotify_rm_watch(in, wds[0]));
  T(unlink("d/from-child"));
  drain(in);
  SECTION("blocking read");
  int b = inotify_init();
  nwds = 0;
  wds[nwds++] = inotify_add_watch(b, "d", IN_CREATE);
  c = fork();
  if (c == 0) {
    usleep(100000);
    put_file("d/late", "x");
    _exit(0);
  }
  char ev[256];
  ssize_t n = read(b, ev, sizeof ev);
  printf("blocking read got %s\n", n > 0 ? ((struct inotify_event *)ev)->name : ename(errno));
  show_wait("child", c);
  int avail = -1;
  T(ioctl(b, FIONREAD, &avail));
  printf("FIONREAD %d\n", avail);
  put_file("d/more", "x");
  T(ioctl(b, FIONREAD, &avail));
  printf("FIONREAD %d\n", avail);
  T(read(b, ev, 8));
  SECTION("bad arguments");
  T(inotify_init1(0x1234));
  T(inotify_add_watch(in, "d", 0));
  T(inotify_add_watch(in, "d/late", IN_MODIFY | IN_ONLYDIR));
  T(inotify_add_watch(in, "nope", IN_MODIFY));
  T(inotify_add_watch(0, "d", IN_MODIFY));
  T(inotify_add_watch(in, "d", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
  int w = inotify_add_watch(in, "d", IN_MODIFY);
  T(inotify_add_watch(in, "d", IN_MODIFY | IN_MASK_CREATE) == w ? 0 : -1);
  T(inotify_rm_watch(in, 12345));
  T(inotify_rm_watch(99, 1));
  tmp_leave();
  return 0;
}
