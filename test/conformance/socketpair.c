/* socketpair(AF_UNIX): stream, datagram and seqpacket pairs; read/write and
 * send/recv flags (MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_NOSIGNAL,
 * MSG_TRUNC); datagram boundaries and truncation; shutdown and EOF; EPIPE
 * and SIGPIPE; SCM_RIGHTS between processes (MSG_CMSG_CLOEXEC, MSG_CTRUNC);
 * SCM_CREDENTIALS; socket options; names; poll readiness; blocking reads
 * woken by another process. */
#include "conf.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static int pollev(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static void rcv(const char *label, int fd, size_t len, int flags) {
  char buf[256];
  errno = 0;
  long n = recv(fd, buf, len, flags);
  if (n < 0)
    printf("%s: -1 %s\n", label, ename(errno));
  else
    printf("%s: %ld \"%.*s\"\n", label, n, (int)(n < (long)len ? n : (long)len), buf);
}

/* Sends data with the given fds as SCM_RIGHTS. */
static long send_fds(int s, const char *data, int *fds, int n) {
  char ctl[CMSG_SPACE(sizeof(int) * 8)];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {(void *)data, strlen(data)};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (n > 0) {
    m.msg_control = ctl;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  }
  return sendmsg(s, &m, 0);
}

/* Receives with room for `room` fds; prints data, flags and how many fds arrived; returns the first fd. */
static int recv_fds(const char *label, int s, size_t ctlroom, int flags) {
  char data[64], ctl[256];
  struct iovec iov = {data, sizeof data};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctlroom ? ctl : NULL;
  m.msg_controllen = ctlroom;
  errno = 0;
  long n = recvmsg(s, &m, flags);
  if (n < 0) {
    printf("%s: -1 %s\n", label, ename(errno));
    return -1;
  }
  int first = -1, count = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      memcpy(&first, CMSG_DATA(c), sizeof(int));
    }
  }
  printf("%s: %ld \"%.*s\" flags 0x%x controllen %zu fds %d\n", label, n, (int)n, data, m.msg_flags,
         (size_t)m.msg_controllen, count);
  return first;
}

int main(void) {
  int sv[2], dv[2], qv[2];
  char buf[256];
  signal(SIGPIPE, SIG_IGN);

  SECTION("create");
  T(socketpair(AF_UNIX, SOCK_STREAM, 7, sv));
  T(socketpair(AF_UNIX, 9, 0, sv));
  T(socketpair(AF_UNIX, SOCK_STREAM | 0x100000, 0, sv));
  T(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
  T(fcntl(sv[0], F_GETFD));
  T(fcntl(sv[1], F_GETFL));
  struct stat st;
  T(fstat(sv[0], &st));
  TP("S_ISSOCK", S_ISSOCK(st.st_mode));
  T(st.st_mode & 0777);
  T(lseek(sv[0], 0, SEEK_SET));
  T(close(sv[0]));
  T(close(sv[1]));
  T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  T(socketpair(AF_UNIX, SOCK_DGRAM, 0, dv));
  T(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, qv));
  int notsock = open("/dev/null", O_RDWR);
  T(send(notsock, "x", 1, 0));
  T(shutdown(notsock, SHUT_RD));
  close(notsock);

  SECTION("stream");
  printf("poll idle: 0x%x\n", pollev(sv[0]));
  T(write(sv[0], "hello", 5));
  T(send(sv[0], " world", 6, 0));
  printf("poll with data: 0x%x\n", pollev(sv[1]));
  int avail = -1;
  T(ioctl(sv[1], FIONREAD, &avail));
  printf("FIONREAD: %d\n", avail);
  rcv("peek", sv[1], 7, MSG_PEEK);
  rcv("recv 3", sv[1], 3, 0);
  rcv("recv rest (stream merges writes)", sv[1], sizeof buf, 0);
  rcv("dontwait empty", sv[1], sizeof buf, MSG_DONTWAIT);
  T(sendto(sv[0], "x", 1, 0, (struct sockaddr *)&st, 4));
  T(send(sv[0], "", 0, 0));
  rcv("after zero-length send", sv[1], sizeof buf, MSG_DONTWAIT);

  SECTION("stream blocking and WAITALL");
  pid_t pid = fork();
  if (pid == 0) {
    usleep(50000);
    write(sv[1], "abc", 3);
    usleep(50000);
    write(sv[1], "defgh", 5);
    _exit(0);
  }
  rcv("WAITALL 8 across two writes", sv[0], 8, MSG_WAITALL);
  show_wait("writer", pid);
  pid = fork();
  if (pid == 0) {
    usleep(50000);
    write(sv[1], "late", 4);
    _exit(0);
  }
  rcv("blocking read woken by child", sv[0], sizeof buf, 0);
  show_wait("writer", pid);
  /* A large transfer through a blocking writer and a reading child. */
  pid = fork();
  if (pid == 0) {
    long total = 0;
    for (;;) {
      long n = read(sv[1], buf, sizeof buf);
      if (n <= 0) break;
      total += n;
      if (total >= 1 << 20) break;
    }
    _exit(total == 1 << 20 ? 0 : 1);
  }
  static char big[1 << 20];
  memset(big, 'b', sizeof big);
  T(write(sv[0], big, sizeof big));
  show_wait("reader of 1 MiB", pid);

  SECTION("stream nonblocking fill");
  T(fcntl(sv[0], F_SETFL, O_NONBLOCK));
  long total = 0;
  for (;;) {
    long w = write(sv[0], big, 4096);
    if (w < 0) {
      printf("fill stopped: %s\n", ename(errno));
      break;
    }
    total += w;
    if (total > (8 << 20)) break;
  }
  TP("filled something", total > 0);
  printf("poll full (writer): 0x%x\n", pollev(sv[0]) & POLLOUT);
  long drained = 0;
  for (;;) {
    long r = recv(sv[1], big, sizeof big, MSG_DONTWAIT);
    if (r <= 0) break;
    drained += r;
  }
  TP("drained all", drained == total);
  printf("poll drained (writer): 0x%x\n", pollev(sv[0]) & POLLOUT);
  T(fcntl(sv[0], F_SETFL, 0));

  SECTION("stream shutdown");
  T(shutdown(sv[0], 7));
  T(shutdown(sv[0], SHUT_WR));
  T(write(sv[0], "x", 1));
  T(send(sv[0], "x", 1, MSG_NOSIGNAL));
  printf("poll peer after SHUT_WR: 0x%x\n", pollev(sv[1]));
  T(read(sv[1], buf, sizeof buf));
  T(write(sv[1], "back", 4));
  rcv("half-closed still reads", sv[0], sizeof buf, 0);
  T(shutdown(sv[1], SHUT_RD));
  printf("poll after SHUT_RD: 0x%x\n", pollev(sv[1]));
  printf("poll own SHUT_WR + peer SHUT_RD: 0x%x\n", pollev(sv[0]));
  T(close(sv[0]));
  T(close(sv[1]));

  SECTION("stream close and SIGPIPE");
  T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  T(write(sv[0], "unread", 6));
  T(close(sv[1]));
  T(write(sv[0], "x", 1));
  printf("poll after peer close: 0x%x\n", pollev(sv[0]));
  int err = -1;
  socklen_t el = sizeof err;
  T(getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &el));
  printf("SO_ERROR: %s\n", err ? ename(err) : "0");
  T(read(sv[0], buf, sizeof buf));
  T(close(sv[0]));
  T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  T(write(sv[0], "msg", 3));
  T(close(sv[0]));
  rcv("data left after peer close", sv[1], sizeof buf, 0);
  rcv("then EOF", sv[1], sizeof buf, 0);
  T(close(sv[1]));
  signal(SIGPIPE, SIG_DFL);
  T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  T(close(sv[1]));
  pid = fork();
  if (pid == 0) {
    write(sv[0], "x", 1);
    _exit(0);
  }
  show_wait("write to closed peer, SIGPIPE default", pid);
  pid = fork();
  if (pid == 0) {
    _exit(send(sv[0], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE ? 3 : 4);
  }
  show_wait("send MSG_NOSIGNAL to closed peer", pid);
  T(close(sv[0]));
  signal(SIGPIPE, SIG_IGN);

  SECTION("datagram");
  T(send(dv[0], "one", 3, 0));
  T(send(dv[0], "two!", 4, 0));
  T(send(dv[0], "", 0, 0));
  T(ioctl(dv[1], FIONREAD, &avail));
  printf("FIONREAD: %d\n", avail);
  rcv("peek", dv[1], sizeof buf, MSG_PEEK);
  rcv("recv", dv[1], sizeof buf, 0);
  rcv("truncated", dv[1], 2, 0);
  rcv("empty datagram", dv[1], sizeof buf, 0);
  rcv("nothing", dv[1], sizeof buf, MSG_DONTWAIT);
  T(send(dv[0], "truncate-me", 11, 0));
  T(recv(dv[1], buf, 3, MSG_TRUNC));
  T(send(dv[0], "flags", 5, 0));
  {
    struct iovec iov = {buf, 2};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    T(recvmsg(dv[1], &m, 0));
    printf("msg_flags: 0x%x\n", m.msg_flags);
  }
  static char huge[300000];
  T(send(dv[0], huge, sizeof huge, 0));
  T(shutdown(dv[0], SHUT_WR));
  T(send(dv[0], "x", 1, 0));
  printf("poll after own SHUT_WR: 0x%x\n", pollev(dv[0]));
  T(shutdown(dv[1], SHUT_RD));
  rcv("after own SHUT_RD", dv[1], sizeof buf, 0);
  printf("poll after own SHUT_RD: 0x%x\n", pollev(dv[1]));
  T(close(dv[0]));
  T(close(dv[1]));
  T(socketpair(AF_UNIX, SOCK_DGRAM, 0, dv));
  T(close(dv[1]));
  T(send(dv[0], "x", 1, 0));
  T(send(dv[0], "x", 1, 0));
  rcv("recv, peer closed", dv[0], sizeof buf, MSG_DONTWAIT);
  T(close(dv[0]));

  SECTION("seqpacket");
  T(send(qv[0], "rec1", 4, 0));
  T(send(qv[0], "record2", 7, 0));
  rcv("record", qv[1], sizeof buf, 0);
  rcv("truncated record", qv[1], 3, 0);
  rcv("nothing", qv[1], sizeof buf, MSG_DONTWAIT);
  T(sendto(qv[0], "named", 5, 0, (struct sockaddr *)&st, 4));
  rcv("sendto with an address is ignored", qv[1], sizeof buf, 0);
  pid = fork();
  if (pid == 0) {
    usleep(50000);
    send(qv[1], "wake", 4, 0);
    _exit(0);
  }
  rcv("blocking recv woken by child", qv[0], sizeof buf, 0);
  show_wait("sender", pid);
  T(close(qv[1]));
  rcv("after peer close", qv[0], sizeof buf, 0);
  T(send(qv[0], "x", 1, 0));
  printf("poll after peer close: 0x%x\n", pollev(qv[0]));
  T(close(qv[0]));

  SECTION("options and names");
  T(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, qv));
  int v = -1;
  socklen_t vl = sizeof v;
  T(getsockopt(qv[0], SOL_SOCKET, SO_TYPE, &v, &vl));
  printf("SO_TYPE: %d len %u\n", v, vl);
  T(getsockopt(qv[0], SOL_SOCKET, SO_DOMAIN, &v, &vl));
  printf("SO_DOMAIN: %d\n", v);
  T(getsockopt(qv[0], SOL_SOCKET, SO_PROTOCOL, &v, &vl));
  printf("SO_PROTOCOL: %d\n", v);
  T(getsockopt(qv[0], SOL_SOCKET, SO_ERROR, &v, &vl));
  printf("SO_ERROR: %d\n", v);
  T(setsockopt(qv[0], SOL_SOCKET, SO_SNDBUF, &(int){65536}, sizeof(int)));
  T(getsockopt(qv[0], SOL_SOCKET, SO_SNDBUF, &v, &vl));
  printf("SO_SNDBUF after 65536: %d\n", v);
  T(setsockopt(qv[0], SOL_SOCKET, SO_RCVBUF, &(int){32768}, sizeof(int)));
  T(getsockopt(qv[0], SOL_SOCKET, SO_RCVBUF, &v, &vl));
  printf("SO_RCVBUF after 32768: %d\n", v);
  T(setsockopt(qv[0], SOL_SOCKET, SO_SNDBUF, &v, 2));
  T(getsockopt(qv[0], SOL_SOCKET, 9999, &v, &vl));
  T(setsockopt(qv[0], SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)));
  T(getsockopt(qv[0], SOL_SOCKET, SO_REUSEADDR, &v, &vl));
  printf("SO_REUSEADDR: %d\n", v);
  short sh = -1;
  socklen_t shl = sizeof sh;
  T(getsockopt(qv[0], SOL_SOCKET, SO_TYPE, &sh, &shl));
  printf("SO_TYPE in 2 bytes: %d len %u\n", sh, shl);
  struct ucred uc;
  socklen_t ul = sizeof uc;
  T(getsockopt(qv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul));
  printf("SO_PEERCRED len %u pid is mine %d uid %d gid %d\n", ul, uc.pid == getpid(), uc.uid == geteuid(), uc.gid == getegid());
  T(getsockopt(qv[0], SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
  printf("SO_ACCEPTCONN: %d\n", v);
  struct sockaddr_un sa;
  socklen_t sl = sizeof sa;
  memset(&sa, 0x55, sizeof sa);
  T(getsockname(qv[0], (struct sockaddr *)&sa, &sl));
  printf("getsockname: family %d len %u\n", sa.sun_family, sl);
  sl = sizeof sa;
  T(getpeername(qv[1], (struct sockaddr *)&sa, &sl));
  printf("getpeername: family %d len %u\n", sa.sun_family, sl);
  sl = 1;
  T(getsockname(qv[0], (struct sockaddr *)&sa, &sl));
  printf("short getsockname: len %u\n", sl);
  T(getsockname(0 + 99, (struct sockaddr *)&sa, &sl));
  T(send(qv[0], "addr", 4, 0));
  sl = sizeof sa;
  T(recvfrom(qv[1], buf, sizeof buf, 0, (struct sockaddr *)&sa, &sl));
  printf("recvfrom addrlen: %u\n", sl);
  T(close(qv[0]));
  T(close(qv[1]));

  SECTION("SCM_RIGHTS");
  T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  int p[2];
  T(pipe(p));
  pid = fork();
  if (pid == 0) {
    close(sv[0]);
    /* Receive a pipe's write end from the parent, write through it. */
    int fd = recv_fds("child got", sv[1], 256, MSG_CMSG_CLOEXEC);
    printf("child: received fd cloexec %d\n", fcntl(fd, F_GETFD));
    write(fd, "via passed fd", 13);
    close(fd);
    /* Send a new pipe's read end back; the parent reads what we write. */
    int q[2];
    pipe(q);
    send_fds(sv[1], "R", &q[0], 1);
    close(q[0]);
    write(q[1], "from child pipe", 15);
    close(q[1]);
    _exit(0);
  }
  /* The child is blocked in recvmsg; print only after it has answered. */
  long sent = send_fds(sv[0], "W", &p[1], 1);
  close(p[1]);
  long n = read(p[0], buf, sizeof buf);
  printf("parent sent: %ld\n", sent);
  printf("parent read through its own pipe: %.*s\n", (int)n, buf);
  int rfd = recv_fds("parent got", sv[0], 256, 0);
  printf("parent: received fd cloexec %d\n", fcntl(rfd, F_GETFD));
  n = read(rfd, buf, sizeof buf);
  printf("read from child's pipe: %.*s\n", (int)n, buf);
  T(read(rfd, buf, sizeof buf));
  close(rfd);
  close(p[0]);
  show_wait("child", pid);

  int three[3];
  T(pipe(p));
  three[0] = p[0];
  three[1] = p[1];
  three[2] = p[0];
  T(send_fds(sv[1], "3", three, 3));
  recv_fds("room for one fd", sv[0], CMSG_SPACE(sizeof(int)), 0);
  T(send_fds(sv[1], "N", three, 2));
  recv_fds("no control buffer", sv[0], 0, 0);
  T(send_fds(sv[1], "P", three, 2));
  int pk = recv_fds("peek", sv[0], 256, MSG_PEEK);
  close(pk);
  close(pk + 1);
  int got = recv_fds("after peek", sv[0], 256, 0);
  close(got);
  close(got + 1);
  T(send_fds(sv[1], "a", three, 1));
  T(send_fds(sv[1], "b", three, 1));
  got = recv_fds("one message at a time with fds", sv[0], 256, 0);
  close(got);
  got = recv_fds("second", sv[0], 256, 0);
  close(got);
  T(send(sv[1], "xy", 2, 0));
  T(send_fds(sv[1], "z", three, 1));
  got = recv_fds("plain data then data with fds", sv[0], 256, 0);
  close(got);
  int bad = 999;
  T(send_fds(sv[1], "bad", &bad, 1));
  {
    char ctl[CMSG_SPACE(4)] = {0};
    struct iovec iov = {"q", 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_len = 100;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    T(sendmsg(sv[1], &m, 0));
    c->cmsg_len = CMSG_LEN(4);
    c->cmsg_type = 77;
    T(sendmsg(sv[1], &m, 0));
    c->cmsg_level = 99;
    T(sendmsg(sv[1], &m, 0));
    rcv("cmsg of another level is ignored", sv[0], sizeof buf, 0);
  }
  close(p[0]);
  close(p[1]);
  close(sv[0]);
  close(sv[1]);

  SECTION("SCM_RIGHTS over datagrams");
  T(socketpair(AF_UNIX, SOCK_DGRAM, 0, dv));
  T(pipe(p));
  T(send_fds(dv[0], "d", &p[1], 1));
  got = recv_fds("dgram fds", dv[1], 256, 0);
  T(write(got, "ok", 2));
  T(read(p[0], buf, 2));
  close(got);
  close(p[0]);
  close(p[1]);
  close(dv[0]);
  close(dv[1]);

  SECTION("SCM_CREDENTIALS");
  T(socketpair(AF_UNIX, SOCK_DGRAM, 0, dv));
  T(setsockopt(dv[1], SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)));
  T(getsockopt(dv[1], SOL_SOCKET, SO_PASSCRED, &v, &vl));
  printf("SO_PASSCRED: %d\n", v);
  T(send(dv[0], "c", 1, 0));
  {
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    T(recvmsg(dv[1], &m, 0));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred u;
      memcpy(&u, CMSG_DATA(c), sizeof u);
      printf("creds: len %zu pid is mine %d uid %d gid %d\n", (size_t)c->cmsg_len, u.pid == getpid(), u.uid == getuid(),
             u.gid == getgid());
    } else {
      printf("creds: none\n");
    }
  }
  close(dv[0]);
  close(dv[1]);
  return 0;
}
