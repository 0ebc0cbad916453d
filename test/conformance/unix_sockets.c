/* Named AF_UNIX sockets: bind to a path (the socket file appears in the
 * filesystem) and to abstract names, autobind, listen/connect/accept4 for
 * stream and seqpacket, backlog, getsockname/getpeername, SO_PEERCRED,
 * SO_ACCEPTCONN, datagram sendto/recvfrom with sender addresses, connected
 * datagram sockets (EPERM from a stranger, ECONNREFUSED after close),
 * shutdown, MSG_PEEK/MSG_DONTWAIT/MSG_WAITALL/MSG_TRUNC, poll readiness,
 * errors (EADDRINUSE, ECONNREFUSED, ENOENT, EPROTOTYPE, EINVAL, EISCONN). */
#include "conf.h"
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static char dir[64];

static socklen_t path_addr(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name);
  return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "conf-%d-%s", getpid(), name);
  return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static int pollev(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

/* Prints a name's length and kind: unnamed, abstract (with its length) or the path's last component. */
static void show_name(const char *label, struct sockaddr_un *a, socklen_t len) {
  if (len <= offsetof(struct sockaddr_un, sun_path))
    printf("%s: len %u unnamed\n", label, len);
  else if (a->sun_path[0] == 0)
    printf("%s: abstract\n", label);
  else
    printf("%s: len-path %d family %d base %s\n", label, (int)(len - strlen(dir)), a->sun_family, strrchr(a->sun_path, '/') + 1);
}

static void names(const char *label, int fd) {
  struct sockaddr_un a;
  socklen_t l = sizeof a;
  char b[64];
  snprintf(b, sizeof b, "%s sockname", label);
  errno = 0;
  if (getsockname(fd, (struct sockaddr *)&a, &l) < 0) printf("%s: -1 %s\n", b, ename(errno));
  else show_name(b, &a, l);
  l = sizeof a;
  snprintf(b, sizeof b, "%s peername", label);
  if (getpeername(fd, (struct sockaddr *)&a, &l) < 0) printf("%s: -1 %s\n", b, ename(errno));
  else show_name(b, &a, l);
}

static void stream_tests(int type, const char *tname) {
  SECTION(tname);
  struct sockaddr_un a, b;
  socklen_t al = path_addr(&a, tname);
  int l = socket(AF_UNIX, type, 0);
  T(bind(l, (struct sockaddr *)&a, al));
  struct stat st;
  T(stat(a.sun_path, &st));
  printf("socket file: S_ISSOCK %d mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 0777);
  int l2 = socket(AF_UNIX, type, 0);
  TL("bind same path", bind(l2, (struct sockaddr *)&a, al));
  TL("bind twice", bind(l, (struct sockaddr *)&b, abstract_addr(&b, "x")));
  int c = socket(AF_UNIX, type, 0);
  TL("connect before listen", connect(c, (struct sockaddr *)&a, al));
  TL("listen unbound", listen(l2, 5));
  T(listen(l, 1));
  int v; socklen_t vl = sizeof v;
  T(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
  printf("SO_ACCEPTCONN %d\n", v);
  printf("listener poll %x\n", pollev(l));
  printf("fresh poll %x\n", pollev(c));
  TL("recv unconnected", recv(c, &v, 1, MSG_DONTWAIT));
  TL("send unconnected", send(c, "x", 1, MSG_NOSIGNAL));
  int fl = fcntl(l, F_GETFL);
  fcntl(l, F_SETFL, fl | O_NONBLOCK);
  TL("accept empty O_NONBLOCK", accept(l, NULL, NULL));
  fcntl(l, F_SETFL, fl);
  T(connect(c, (struct sockaddr *)&a, al));
  TL("connect again", connect(c, (struct sockaddr *)&a, al));
  printf("listener poll after connect %x\n", pollev(l));
  /* backlog 1: two may wait; a third non-blocking connect is EAGAIN */
  int c2 = socket(AF_UNIX, type, 0), c3 = socket(AF_UNIX, type | SOCK_NONBLOCK, 0);
  T(connect(c2, (struct sockaddr *)&a, al));
  TL("connect past backlog", connect(c3, (struct sockaddr *)&a, al));
  T(send(c, "hello", 5, 0));
  struct sockaddr_un pa;
  socklen_t pl = sizeof pa;
  int s = accept4(l, (struct sockaddr *)&pa, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
  TP("accept4 ok", s >= 0);
  show_name("accept addr", &pa, pl);
  printf("accepted flags: cloexec %d nonblock %d\n", (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
  names("client", c);
  names("server", s);
  names("listener", l);
  struct ucred uc; socklen_t ul = sizeof uc;
  T(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
  printf("server peercred mine %d uid %d\n", uc.pid == getpid(), uc.uid == geteuid());
  ul = sizeof uc;
  T(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
  printf("client peercred mine %d uid %d\n", uc.pid == getpid(), uc.uid == geteuid());
  ul = sizeof uc;
  T(getsockopt(l2, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
  printf("unconnected peercred pid %d uid %d gid %d\n", uc.pid, (int)uc.uid, (int)uc.gid);
  char buf[64];
  T(recv(s, buf, sizeof buf, MSG_PEEK));
  T(recv(s, buf, sizeof buf, 0));
  TL("recv empty nonblock", recv(s, buf, sizeof buf, 0));
  if (type == SOCK_STREAM) {
    if (fork() == 0) {
      usleep(20000);
      send(c, "ab", 2, 0);
      usleep(20000);
      send(c, "cd", 2, 0);
      _exit(0);
    }
    fcntl(s, F_SETFL, 0);
    TL("recv MSG_WAITALL 4", recv(s, buf, 4, MSG_WAITALL));
    printf("got %.4s\n", buf);
    wait(NULL);
  } else {
    T(send(c, "0123456789", 10, 0));
    TL("seqpacket recv MSG_TRUNC", recv(s, buf, 4, MSG_TRUNC));
  }
  T(shutdown(c, SHUT_WR));
  TL("recv after peer SHUT_WR", recv(s, buf, sizeof buf, 0));
  printf("server poll after peer SHUT_WR %x\n", pollev(s));
  close(l);
  char b1;
  TL("queued client after listener close", recv(c2, &b1, 1, 0));
  T(unlink(a.sun_path));
  TL("connect after unlink", connect(c3, (struct sockaddr *)&a, al));
  close(c); close(c2); close(c3); close(s); close(l2);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/unixconf.%d", getpid());
  mkdir(dir, 0700);

  stream_tests(SOCK_STREAM, "stream");
  stream_tests(SOCK_SEQPACKET, "seqpacket");

  SECTION("abstract and autobind");
  struct sockaddr_un a, b;
  socklen_t al = abstract_addr(&a, "abs");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  T(bind(l, (struct sockaddr *)&a, al));
  int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
  TL("bind same abstract", bind(l2, (struct sockaddr *)&a, al));
  T(listen(l, 5));
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  T(connect(c, (struct sockaddr *)&a, al));
  int s = accept(l, NULL, NULL);
  names("abstract client", c);
  names("abstract server", s);
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  TL("connect wrong type", connect(d, (struct sockaddr *)&a, al));
  socklen_t bl = offsetof(struct sockaddr_un, sun_path);
  memset(&b, 0, sizeof b);
  b.sun_family = AF_UNIX;
  T(bind(l2, (struct sockaddr *)&b, bl));
  bl = sizeof b;
  T(getsockname(l2, (struct sockaddr *)&b, &bl));
  int hex = 1;
  for (int i = 1; i < 6; i++) hex &= strchr("0123456789abcdef", b.sun_path[i]) != NULL;
  printf("autobind len %u abstract %d hex %d\n", bl, b.sun_path[0] == 0, hex);
  int d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  TL("dgram binds a stream socket's abstract name", bind(d2, (struct sockaddr *)&a, al));
  close(d2);
  TL("connect no such abstract", connect(c, (struct sockaddr *)&b, abstract_addr(&b, "none")));
  close(l); close(l2); close(c); close(s);
  int c5 = socket(AF_UNIX, SOCK_STREAM, 0);
  TL("connect closed abstract", connect(c5, (struct sockaddr *)&a, al));
  TL("connect short addr", connect(c5, (struct sockaddr *)&a, 2));
  struct sockaddr_un n;
  TL("connect missing path", connect(c5, (struct sockaddr *)&n, path_addr(&n, "missing")));
  close(c5);
  int pf = open(path_addr(&n, "plain") ? n.sun_path : "", O_CREAT | O_WRONLY, 0600);
  close(pf);
  c5 = socket(AF_UNIX, SOCK_STREAM, 0);
  TL("connect to regular file", connect(c5, (struct sockaddr *)&n, path_addr(&n, "plain")));
  close(c5);
  unlink(n.sun_path);

  SECTION("datagram");
  struct sockaddr_un ra, sa, from;
  socklen_t ral = path_addr(&ra, "dgram-r"), sal = path_addr(&sa, "dgram-s");
  int r = socket(AF_UNIX, SOCK_DGRAM, 0), snd = socket(AF_UNIX, SOCK_DGRAM, 0), anon = socket(AF_UNIX, SOCK_DGRAM, 0);
  T(bind(r, (struct sockaddr *)&ra, ral));
  T(bind(snd, (struct sockaddr *)&sa, sal));
  T(sendto(snd, "one", 3, 0, (struct sockaddr *)&ra, ral));
  T(sendto(anon, "two", 3, 0, (struct sockaddr *)&ra, ral));
  TL("send without address", send(anon, "x", 1, 0));
  char buf[64];
  socklen_t fl = sizeof from;
  T(recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  show_name("from named", &from, fl);
  fl = sizeof from;
  T(recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  show_name("from unnamed", &from, fl);
  T(connect(r, (struct sockaddr *)&sa, sal));
  names("connected dgram", r);
  TL("stranger to connected receiver", sendto(anon, "x", 1, 0, (struct sockaddr *)&ra, ral));
  T(sendto(snd, "three", 5, 0, (struct sockaddr *)&ra, ral));
  TL("recv MSG_TRUNC", recv(r, buf, 2, MSG_TRUNC));
  T(connect(anon, (struct sockaddr *)&sa, sal));
  T(send(anon, "four", 4, 0));
  close(snd);
  TL("send to closed peer", send(anon, "x", 1, 0));
  TL("send again", send(anon, "x", 1, 0));
  TL("sendto missing", sendto(anon, "x", 1, 0, (struct sockaddr *)&sa, sal));
  unlink(sa.sun_path);
  TL("sendto unlinked", sendto(anon, "x", 1, 0, (struct sockaddr *)&sa, sal));
  TL("listen on dgram", listen(r, 1));
  close(r); close(anon);
  unlink(ra.sun_path);
  T(rmdir(dir));
  return 0;
}
