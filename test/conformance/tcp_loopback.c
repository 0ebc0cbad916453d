/* TCP on the loopback interface, IPv4 and IPv6: bind (ephemeral ports,
 * EADDRINUSE, SO_REUSEADDR, SO_REUSEPORT, EADDRNOTAVAIL), listen, accept4,
 * blocking and non-blocking connect (EINPROGRESS, then POLLOUT and
 * SO_ERROR), ECONNREFUSED, dual-stack listeners with v4-mapped peers,
 * IPV6_V6ONLY, getsockname/getpeername, socket options, data both ways,
 * MSG_PEEK/MSG_WAITALL, shutdown and EOF, EPIPE, ECONNRESET, poll and
 * epoll (a listener and a connection, edge-triggered, woken by a child). Port
 * numbers are never printed: only whether they match. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static int pollev(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static struct sockaddr_in v4(const char *ip, int port) {
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

static struct sockaddr_in6 v6(const char *ip, int port) {
  struct sockaddr_in6 a = {0};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  inet_pton(AF_INET6, ip, &a.sin6_addr);
  return a;
}

/* Port of a socket's own address. */
static int port_of(int fd) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0) return -1;
  return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Prints an address without its port: family, length, the address, and whether the port is `port`. */
static void show_addr(const char *label, struct sockaddr_storage *ss, socklen_t l, int port) {
  char ip[64];
  int p;
  if (ss->ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, ip, sizeof ip);
    p = ntohs(((struct sockaddr_in *)ss)->sin_port);
  } else {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof ip);
    p = ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
  }
  printf("%s: family %d len %u addr %s port-match %d port-nonzero %d\n", label, ss->ss_family, l, ip, p == port, p != 0);
}

static void names(const char *label, int fd, int sport, int pport) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  char b[64];
  snprintf(b, sizeof b, "%s sockname", label);
  if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0) printf("%s: -1 %s\n", b, ename(errno));
  else show_addr(b, &ss, l, sport);
  l = sizeof ss;
  snprintf(b, sizeof b, "%s peername", label);
  errno = 0;
  if (getpeername(fd, (struct sockaddr *)&ss, &l) < 0) printf("%s: -1 %s\n", b, ename(errno));
  else show_addr(b, &ss, l, pport);
}

static int opt(int fd, int level, int name) {
  int v = -1;
  socklen_t l = sizeof v;
  if (getsockopt(fd, level, name, &v, &l) < 0) return -1000 - errno;
  return v;
}

/* A listener on addr (port 0); returns its fd and stores its port. */
static int listener(int family, struct sockaddr *a, socklen_t al, int backlog, int *port) {
  int l = socket(family, SOCK_STREAM, 0);
  if (bind(l, a, al) < 0 || listen(l, backlog) < 0) { printf("listener: %s\n", ename(errno)); exit(1); }
  *port = port_of(l);
  return l;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char buf[256];
  int port;

  SECTION("ipv4 basics");
  int s0 = socket(AF_INET, SOCK_STREAM, 0);
  printf("SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d SO_ERROR %d SO_ACCEPTCONN %d TCP_NODELAY %d SO_KEEPALIVE %d\n",
         opt(s0, SOL_SOCKET, SO_TYPE), opt(s0, SOL_SOCKET, SO_DOMAIN), opt(s0, SOL_SOCKET, SO_PROTOCOL),
         opt(s0, SOL_SOCKET, SO_ERROR), opt(s0, SOL_SOCKET, SO_ACCEPTCONN), opt(s0, IPPROTO_TCP, TCP_NODELAY),
         opt(s0, SOL_SOCKET, SO_KEEPALIVE));
  T(setsockopt(s0, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int)));
  T(setsockopt(s0, SOL_SOCKET, SO_KEEPALIVE, &(int){1}, sizeof(int)));
  T(setsockopt(s0, SOL_SOCKET, SO_SNDBUF, &(int){65536}, sizeof(int)));
  printf("TCP_NODELAY %d SO_KEEPALIVE %d SO_SNDBUF %d IP_TTL %d\n", opt(s0, IPPROTO_TCP, TCP_NODELAY),
         opt(s0, SOL_SOCKET, SO_KEEPALIVE), opt(s0, SOL_SOCKET, SO_SNDBUF), opt(s0, IPPROTO_IP, IP_TTL));
  printf("IPV6_V6ONLY on v4: %d\n", opt(s0, IPPROTO_IPV6, IPV6_V6ONLY));
  printf("fresh poll %x\n", pollev(s0));
  names("fresh", s0, 0, 0);
  TL("recv unconnected", recv(s0, buf, 1, MSG_DONTWAIT));
  TL("send unconnected", send(s0, "x", 1, 0));
  TL("shutdown unconnected", shutdown(s0, SHUT_RDWR));
  struct sockaddr_in a = v4("127.0.0.1", 0);
  T(bind(s0, (struct sockaddr *)&a, sizeof a));
  TL("bind twice", bind(s0, (struct sockaddr *)&a, sizeof a));
  TL("short bind", bind(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&a, 8));
  struct sockaddr_in far = v4("192.0.2.1", 0);
  TL("bind non-local", bind(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&far, sizeof far));
  int p0 = port_of(s0);
  printf("ephemeral in range %d\n", p0 >= 1024);
  struct sockaddr_in same = v4("127.0.0.1", p0);
  int s1 = socket(AF_INET, SOCK_STREAM, 0);
  TL("bind taken port", bind(s1, (struct sockaddr *)&same, sizeof same));
  struct sockaddr_in any = v4("0.0.0.0", p0);
  TL("bind wildcard on taken port", bind(s1, (struct sockaddr *)&any, sizeof any));
  T(listen(s0, 4));
  TL("connect refused (nothing listening)", ({
       int c = socket(AF_INET, SOCK_STREAM, 0);
       struct sockaddr_in z = v4("127.0.0.1", p0);
       close(s0);
       long r = connect(c, (struct sockaddr *)&z, sizeof z);
       close(c);
       r;
     }));

  SECTION("reuse");
  int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
  T(setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)));
  T(setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)));
  printf("SO_REUSEADDR %d\n", opt(r1, SOL_SOCKET, SO_REUSEADDR));
  T(bind(r1, (struct sockaddr *)&a, sizeof a));
  struct sockaddr_in rp = v4("127.0.0.1", port_of(r1));
  T(bind(r2, (struct sockaddr *)&rp, sizeof rp));
  T(listen(r1, 1));
  TL("listen second reuseaddr", listen(r2, 1));
  int r3 = socket(AF_INET, SOCK_STREAM, 0);
  T(setsockopt(r3, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)));
  TL("bind reuseaddr onto listener", bind(r3, (struct sockaddr *)&rp, sizeof rp));
  close(r1); close(r2); close(r3);
  int q1 = socket(AF_INET, SOCK_STREAM, 0), q2 = socket(AF_INET, SOCK_STREAM, 0);
  T(setsockopt(q1, SOL_SOCKET, SO_REUSEPORT, &(int){1}, sizeof(int)));
  T(setsockopt(q2, SOL_SOCKET, SO_REUSEPORT, &(int){1}, sizeof(int)));
  T(bind(q1, (struct sockaddr *)&a, sizeof a));
  struct sockaddr_in qp = v4("127.0.0.1", port_of(q1));
  T(bind(q2, (struct sockaddr *)&qp, sizeof qp));
  T(listen(q1, 1));
  T(listen(q2, 1));
  close(q1); close(q2);

  SECTION("connect and transfer");
  int l = listener(AF_INET, (struct sockaddr *)&a, sizeof a, 1, &port);
  printf("listener poll %x SO_ACCEPTCONN %d\n", pollev(l), opt(l, SOL_SOCKET, SO_ACCEPTCONN));
  names("listener", l, port, 0);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in to = v4("127.0.0.1", port);
  T(connect(c, (struct sockaddr *)&to, sizeof to));
  TL("connect again", connect(c, (struct sockaddr *)&to, sizeof to));
  printf("listener poll after connect %x\n", pollev(l));
  T(send(c, "hello world", 11, 0));
  struct sockaddr_storage pa;
  socklen_t pl = sizeof pa;
  int s = accept4(l, (struct sockaddr *)&pa, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
  TP("accepted", s >= 0);
  show_addr("accept addr", &pa, pl, port_of(c));
  printf("accepted flags: cloexec %d nonblock %d\n", (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
  names("client", c, port_of(c), port);
  names("server", s, port, port_of(c));
  T(recv(s, buf, 5, MSG_PEEK));
  T(recv(s, buf, 5, 0));
  printf("got %.5s\n", buf);
  T(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&pa, &pl));
  printf("recvfrom fills no address: len %u\n", pl);
  TL("recv empty", recv(s, buf, sizeof buf, 0));
  printf("server poll %x\n", pollev(s));
  static char big[1 << 20];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
  if (fork() == 0) {
    size_t off = 0;
    while (off < sizeof big) {
      ssize_t n = send(c, big + off, sizeof big - off, 0);
      if (n <= 0) _exit(1);
      off += n;
    }
    _exit(0);
  }
  fcntl(s, F_SETFL, 0);
  static char got[1 << 20];
  TL("recv MSG_WAITALL 1 MiB", recv(s, got, sizeof got, MSG_WAITALL));
  TP("1 MiB intact", memcmp(big, got, sizeof big) == 0);
  int st;
  wait(&st);
  printf("writer exit %d\n", WEXITSTATUS(st));
  T(shutdown(c, SHUT_WR));
  TL("recv after peer SHUT_WR", recv(s, buf, sizeof buf, 0));
  printf("server poll after peer SHUT_WR %x\n", pollev(s));
  TL("send after SHUT_WR", send(c, "x", 1, 0));
  T(send(s, "back", 4, 0));
  T(recv(c, buf, sizeof buf, 0));
  close(s);
  TL("recv after peer close", recv(c, buf, sizeof buf, 0));
  printf("client poll after peer close %x\n", pollev(c) & (POLLIN | POLLRDHUP));
  close(c);

  SECTION("reset");
  c = socket(AF_INET, SOCK_STREAM, 0);
  T(connect(c, (struct sockaddr *)&to, sizeof to));
  s = accept(l, NULL, NULL);
  T(send(c, "unread", 6, 0));
  usleep(10000);
  close(s);
  TL("recv after close with unread data", recv(c, buf, sizeof buf, 0));
  close(c);
  int c1 = socket(AF_INET, SOCK_STREAM, 0);
  T(connect(c1, (struct sockaddr *)&to, sizeof to));
  close(l);
  TL("queued connection after listener close", recv(c1, buf, sizeof buf, 0));
  close(c1);

  SECTION("non-blocking connect");
  l = listener(AF_INET, (struct sockaddr *)&a, sizeof a, 4, &port);
  to = v4("127.0.0.1", port);
  c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  TL("nonblocking connect", connect(c, (struct sockaddr *)&to, sizeof to));
  struct pollfd pf = {c, POLLOUT, 0};
  T(poll(&pf, 1, 5000));
  printf("revents %x SO_ERROR %d\n", pf.revents, opt(c, SOL_SOCKET, SO_ERROR));
  TL("connect after completion", connect(c, (struct sockaddr *)&to, sizeof to));
  TL("connect once more", connect(c, (struct sockaddr *)&to, sizeof to));
  s = accept(l, NULL, NULL);
  TP("accepted", s >= 0);
  close(s); close(c); close(l);
  c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  TL("nonblocking connect to closed port", connect(c, (struct sockaddr *)&to, sizeof to));
  pf.fd = c;
  pf.events = POLLIN | POLLOUT;
  T(poll(&pf, 1, 5000));
  printf("revents %x SO_ERROR %s then %d\n", pf.revents, ename(opt(c, SOL_SOCKET, SO_ERROR)), opt(c, SOL_SOCKET, SO_ERROR));
  close(c);
  c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in zero = v4("0.0.0.0", 0);
  l = listener(AF_INET, (struct sockaddr *)&zero, sizeof zero, 4, &port);
  names("wildcard listener", l, port, 0);
  struct sockaddr_in to0 = v4("0.0.0.0", port);
  TL("connect to 0.0.0.0", connect(c, (struct sockaddr *)&to0, sizeof to0));
  names("client of 0.0.0.0", c, port_of(c), port);
  close(c); close(l);

  SECTION("epoll");
  l = listener(AF_INET, (struct sockaddr *)&a, sizeof a, 4, &port);
  to = v4("127.0.0.1", port);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
  T(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev));
  struct epoll_event got_ev[4];
  TL("nothing ready", epoll_wait(ep, got_ev, 4, 0));
  int go[2];
  if (pipe(go) != 0) return 1;
  pid_t kid = fork();
  if (kid == 0) {
    int k = socket(AF_INET, SOCK_STREAM, 0);
    usleep(20000);
    if (connect(k, (struct sockaddr *)&to, sizeof to) != 0) _exit(1);
    char g;
    if (read(go[0], &g, 1) != 1) _exit(5); /* the parent has seen the connection's first edge */
    if (write(k, "ping", 4) != 4) _exit(2);
    char rb[8];
    if (read(k, rb, sizeof rb) != 4) _exit(3);
    _exit(0);
  }
  int nev = epoll_wait(ep, got_ev, 4, 5000);
  printf("listener ready: %d events %x data %u\n", nev, got_ev[0].events, got_ev[0].data.u32);
  s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
  struct epoll_event ev2 = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.u32 = 2};
  T(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev2));
  nev = epoll_wait(ep, got_ev, 4, 5000);
  printf("connection first edge: %d events %x data %u\n", nev, got_ev[0].events, got_ev[0].data.u32);
  T(write(go[1], "g", 1));
  nev = epoll_wait(ep, got_ev, 4, 5000);
  printf("connection data edge: %d events %x\n", nev, got_ev[0].events & (EPOLLIN | EPOLLRDHUP));
  T(read(s, buf, sizeof buf));
  T(write(s, "pong", 4));
  nev = epoll_wait(ep, got_ev, 4, 5000);
  printf("peer closed edge: %d events %x\n", nev, got_ev[0].events & (EPOLLIN | EPOLLRDHUP));
  waitpid(kid, &st, 0);
  printf("child exit %d\n", WEXITSTATUS(st));
  close(s); close(l); close(ep);

  SECTION("no POLLOUT edge when the peer reads");
  /* TCP wakes writers on freed space only after a send found none (SOCK_NOSPACE). */
  l = listener(AF_INET, (struct sockaddr *)&a, sizeof a, 4, &port);
  to = v4("127.0.0.1", port);
  c = socket(AF_INET, SOCK_STREAM, 0);
  T(connect(c, (struct sockaddr *)&to, sizeof to));
  s = accept(l, NULL, NULL);
  ep = epoll_create1(0);
  struct epoll_event ev3 = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.u32 = 3};
  T(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev3));
  nev = epoll_wait(ep, got_ev, 4, 0);
  printf("first edge: %d events %x\n", nev, got_ev[0].events);
  T(write(s, "pong", 4));
  T(read(c, buf, sizeof buf));
  TL("after the peer read", epoll_wait(ep, got_ev, 4, 100));
  close(c);
  nev = epoll_wait(ep, got_ev, 4, 5000);
  printf("after the peer closed: %d events %x\n", nev, got_ev[0].events);
  close(s); close(l); close(ep);

  SECTION("ipv6");
  int l6 = socket(AF_INET6, SOCK_STREAM, 0);
  printf("IPV6_V6ONLY %d SO_DOMAIN %d\n", opt(l6, IPPROTO_IPV6, IPV6_V6ONLY), opt(l6, SOL_SOCKET, SO_DOMAIN));
  struct sockaddr_in6 any6 = v6("::", 0);
  T(bind(l6, (struct sockaddr *)&any6, sizeof any6));
  TL("V6ONLY after bind", setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &(int){1}, sizeof(int)));
  T(listen(l6, 4));
  port = port_of(l6);
  int c6 = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 lo6 = v6("::1", port);
  T(connect(c6, (struct sockaddr *)&lo6, sizeof lo6));
  s = accept(l6, NULL, NULL);
  names("v6 client", c6, port_of(c6), port);
  names("v6 server", s, port, port_of(c6));
  close(s); close(c6);
  int c4 = socket(AF_INET, SOCK_STREAM, 0);
  to = v4("127.0.0.1", port);
  TL("v4 client to dual-stack listener", connect(c4, (struct sockaddr *)&to, sizeof to));
  s = accept(l6, NULL, NULL);
  names("v4-mapped server side", s, port, port_of(c4));
  close(s); close(c4);
  int m6 = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 mapped = v6("::ffff:127.0.0.1", port);
  TL("v6 socket to v4-mapped", connect(m6, (struct sockaddr *)&mapped, sizeof mapped));
  names("v4-mapped client", m6, port_of(m6), port);
  s = accept(l6, NULL, NULL);
  close(s); close(m6);
  int b4 = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in anyp = v4("0.0.0.0", port);
  TL("v4 wildcard bind over dual-stack", bind(b4, (struct sockaddr *)&anyp, sizeof anyp));
  close(b4);
  close(l6);
  /* The v4 wildcard first (its ephemeral port is then ours on the host too), a v6-only wildcard beside it. */
  b4 = socket(AF_INET, SOCK_STREAM, 0);
  anyp = v4("0.0.0.0", 0);
  T(bind(b4, (struct sockaddr *)&anyp, sizeof anyp));
  port = port_of(b4);
  int o6 = socket(AF_INET6, SOCK_STREAM, 0);
  T(setsockopt(o6, IPPROTO_IPV6, IPV6_V6ONLY, &(int){1}, sizeof(int)));
  struct sockaddr_in6 any6p = v6("::", port);
  TL("v6only wildcard bind beside v4 wildcard", bind(o6, (struct sockaddr *)&any6p, sizeof any6p));
  T(listen(o6, 4));
  c4 = socket(AF_INET, SOCK_STREAM, 0);
  to = v4("127.0.0.1", port);
  TL("v4 client to v6only listener", connect(c4, (struct sockaddr *)&to, sizeof to));
  close(c4); close(b4); close(o6);
  TL("v4 address on v4 socket given as v6", connect(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&lo6, sizeof lo6));
  return 0;
}
