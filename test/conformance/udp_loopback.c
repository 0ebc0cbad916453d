/* UDP on the loopback interface: bind (ephemeral ports, EADDRINUSE,
 * SO_REUSEADDR), sendto/recvfrom with source addresses, connected sockets
 * (default destination, filtering other senders, ECONNREFUSED after a send
 * to a closed port), EDESTADDRREQ, MSG_PEEK/MSG_TRUNC/MSG_DONTWAIT,
 * datagram boundaries, sendmsg/recvmsg with msg_name, IPv6 and v4-mapped
 * sources, shutdown, poll, sendmmsg/recvmmsg (MSG_WAITFORONE), SO_RCVTIMEO.
 * Port numbers are never printed. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <sys/uio.h>

static int pollev(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static int port_of(int fd) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0) return -1;
  return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
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

/* recvfrom, printing the data, the source's family/address and whether its port is `port`. */
static void rf(const char *label, int fd, size_t len, int flags, int port) {
  char buf[128], ip[64] = "";
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  memset(&ss, 0, sizeof ss);
  errno = 0;
  long n = recvfrom(fd, buf, len, flags, (struct sockaddr *)&ss, &l);
  if (n < 0) { printf("%s: -1 %s\n", label, ename(errno)); return; }
  int p = 0;
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
    p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
    p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  printf("%s: %ld \"%.*s\" from family %d len %u %s port-match %d\n", label, n, (int)(n < (long)len ? n : (long)len), buf,
         ss.ss_family, l, ip, p == port);
}

int main(void) {
  SECTION("basics");
  int r = socket(AF_INET, SOCK_DGRAM, 0);
  int v; socklen_t vl = sizeof v;
  getsockopt(r, SOL_SOCKET, SO_TYPE, &v, &vl);
  printf("SO_TYPE %d\n", v);
  vl = sizeof v;
  getsockopt(r, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
  printf("SO_PROTOCOL %d\n", v);
  printf("fresh poll %x\n", pollev(r));
  struct sockaddr_in a = v4("127.0.0.1", 0);
  T(bind(r, (struct sockaddr *)&a, sizeof a));
  int rport = port_of(r);
  struct sockaddr_in to = v4("127.0.0.1", rport);
  int s2 = socket(AF_INET, SOCK_DGRAM, 0);
  TL("bind taken", bind(s2, (struct sockaddr *)&to, sizeof to));
  TL("send without destination", send(s2, "x", 1, 0));
  TL("shutdown unconnected", shutdown(s2, SHUT_RDWR));
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  T(sendto(s, "first", 5, 0, (struct sockaddr *)&to, sizeof to));
  T(sendto(s, "second", 6, 0, (struct sockaddr *)&to, sizeof to));
  T(sendto(s, "", 0, 0, (struct sockaddr *)&to, sizeof to));
  printf("receiver poll %x\n", pollev(r));
  int sport = port_of(s);
  printf("sender autobound %d\n", sport > 0);
  rf("peek", r, sizeof(char[128]), MSG_PEEK, sport);
  rf("recv", r, 128, 0, sport);
  rf("truncated", r, 3, 0, sport);
  rf("empty datagram", r, 128, 0, sport);
  rf("empty queue", r, 128, MSG_DONTWAIT, 0);
  T(sendto(s, "0123456789", 10, 0, (struct sockaddr *)&to, sizeof to));
  char buf[64];
  TL("MSG_TRUNC length", recv(r, buf, 4, MSG_TRUNC));
  static char huge[70000];
  TL("too big", sendto(s, huge, sizeof huge, 0, (struct sockaddr *)&to, sizeof to));

  SECTION("sendmsg/recvmsg");
  struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
  struct msghdr m = {0};
  m.msg_name = &to;
  m.msg_namelen = sizeof to;
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  T(sendmsg(s, &m, 0));
  struct sockaddr_in from;
  char rb[8];
  struct iovec riov = {rb, 3};
  struct msghdr rm = {0};
  rm.msg_name = &from;
  rm.msg_namelen = sizeof from;
  rm.msg_iov = &riov;
  rm.msg_iovlen = 1;
  T(recvmsg(r, &rm, 0));
  printf("recvmsg namelen %u flags-trunc %d data %.3s port-match %d\n", rm.msg_namelen, (rm.msg_flags & MSG_TRUNC) != 0, rb,
         ntohs(from.sin_port) == sport);

  SECTION("connected");
  int c = socket(AF_INET, SOCK_DGRAM, 0);
  T(connect(c, (struct sockaddr *)&to, sizeof to));
  T(send(c, "via connect", 11, 0));
  rf("from connected", r, 128, 0, port_of(c));
  struct sockaddr_in cto = v4("127.0.0.1", port_of(c));
  T(connect(r, (struct sockaddr *)&cto, sizeof cto));
  T(sendto(s, "stranger", 8, 0, (struct sockaddr *)&to, sizeof to));
  T(send(c, "friend", 6, 0));
  rf("only the peer", r, 128, 0, port_of(c));
  rf("nothing else", r, 128, MSG_DONTWAIT, 0);
  struct sockaddr_in un = {0};
  un.sin_family = AF_UNSPEC;
  T(connect(r, (struct sockaddr *)&un, sizeof un));
  TL("getpeername after AF_UNSPEC", getpeername(r, (struct sockaddr *)&from, &(socklen_t){sizeof from}));
  /* bind(2) chose the address but not the port: the disconnect gives the port up */
  printf("port after AF_UNSPEC: %d\n", port_of(r));
  T(bind(r, (struct sockaddr *)&a, sizeof a));
  to = v4("127.0.0.1", port_of(r));
  int dead = socket(AF_INET, SOCK_DGRAM, 0);
  T(bind(dead, (struct sockaddr *)&a, sizeof a));
  struct sockaddr_in deadto = v4("127.0.0.1", port_of(dead));
  close(dead);
  int k = socket(AF_INET, SOCK_DGRAM, 0);
  T(connect(k, (struct sockaddr *)&deadto, sizeof deadto));
  T(send(k, "x", 1, 0));
  usleep(10000);
  printf("poll after unreachable %x\n", pollev(k));
  TL("recv after unreachable", recv(k, buf, sizeof buf, MSG_DONTWAIT));
  TL("recv again", recv(k, buf, sizeof buf, MSG_DONTWAIT));
  T(shutdown(k, SHUT_RD));
  TL("recv after SHUT_RD", recv(k, buf, sizeof buf, 0));
  T(shutdown(k, SHUT_WR));
  TL("send after SHUT_WR", send(k, "x", 1, MSG_NOSIGNAL));
  printf("poll after shutdown %x\n", pollev(k));

  SECTION("sendmmsg/recvmmsg");
  {
    struct mmsghdr mv[3];
    struct iovec iv[3];
    const char *words[3] = {"alpha", "beta", "gamma"};
    memset(mv, 0, sizeof mv);
    for (int i = 0; i < 3; i++) {
      iv[i].iov_base = (void *)words[i];
      iv[i].iov_len = strlen(words[i]);
      mv[i].msg_hdr.msg_iov = &iv[i];
      mv[i].msg_hdr.msg_iovlen = 1;
      mv[i].msg_hdr.msg_name = &to;
      mv[i].msg_hdr.msg_namelen = sizeof to;
    }
    T(sendmmsg(s, mv, 3, 0));
    printf("msg_len %u %u %u\n", mv[0].msg_len, mv[1].msg_len, mv[2].msg_len);
    char rbuf[4][16];
    struct mmsghdr rv[4];
    struct iovec riv[4];
    struct sockaddr_in rfrom[4];
    memset(rv, 0, sizeof rv);
    for (int i = 0; i < 4; i++) {
      riv[i].iov_base = rbuf[i];
      riv[i].iov_len = sizeof rbuf[i];
      rv[i].msg_hdr.msg_iov = &riv[i];
      rv[i].msg_hdr.msg_iovlen = 1;
      rv[i].msg_hdr.msg_name = &rfrom[i];
      rv[i].msg_hdr.msg_namelen = sizeof rfrom[i];
    }
    TL("recvmmsg MSG_WAITFORONE", recvmmsg(r, rv, 4, MSG_WAITFORONE, NULL));
    for (int i = 0; i < 3; i++) printf("  %u %.*s namelen %u\n", rv[i].msg_len, (int)rv[i].msg_len, rbuf[i], rv[i].msg_hdr.msg_namelen);
    TL("recvmmsg empty nonblocking", recvmmsg(r, rv, 4, MSG_DONTWAIT, NULL));
  }

  SECTION("SO_RCVTIMEO");
  {
    struct timeval tv = {0, 200000}, got;
    socklen_t gl = sizeof got;
    T(setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    T(getsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &got, &gl));
    printf("SO_RCVTIMEO %ld.%06ld len %u\n", (long)got.tv_sec, (long)got.tv_usec, gl);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    TL("recv times out", recv(r, buf, sizeof buf, 0));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("waited at least 190 ms: %d\n", ms >= 190);
    struct timeval bad = {0, 1000000};
    TL("tv_usec out of range", setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));
    TL("short timeval", setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, 8));
    struct timeval zero = {0, 0};
    T(setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero));
    gl = sizeof got;
    T(getsockopt(r, SOL_SOCKET, SO_SNDTIMEO, &got, &gl));
    printf("SO_SNDTIMEO %ld.%06ld\n", (long)got.tv_sec, (long)got.tv_usec);
  }

  SECTION("ipv6");
  int r6 = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 any6 = v6("::", 0);
  T(bind(r6, (struct sockaddr *)&any6, sizeof any6));
  int p6 = port_of(r6);
  int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 to6 = v6("::1", p6);
  T(sendto(s6, "six", 3, 0, (struct sockaddr *)&to6, sizeof to6));
  rf("v6", r6, 128, 0, port_of(s6));
  struct sockaddr_in to4 = v4("127.0.0.1", p6);
  T(sendto(s, "four", 4, 0, (struct sockaddr *)&to4, sizeof to4));
  rf("v4 to dual-stack", r6, 128, 0, sport);
  int reuse1 = socket(AF_INET, SOCK_DGRAM, 0), reuse2 = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(reuse1, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
  setsockopt(reuse2, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
  T(bind(reuse1, (struct sockaddr *)&a, sizeof a));
  struct sockaddr_in rp = v4("127.0.0.1", port_of(reuse1));
  T(bind(reuse2, (struct sockaddr *)&rp, sizeof rp));
  return 0;
}
