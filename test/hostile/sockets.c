/* Hostile input to the Sentry's sockets: every socket family we implement,
 * open and valid, given bad pointers (NULL, unmapped, kernel), lying lengths,
 * malformed msghdrs and control messages, and random netlink messages. All
 * sockets are non-blocking, so nothing waits. Prints "survived" if the
 * workload is still alive at the end. Runs only under runsc. */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

static const uintptr_t BAD[] = {0, 1, 0x1000, 0xdeadbeef000, 0xffff800000000000ul, 0xfffffffffffff000ul};
#define NBAD (sizeof BAD / sizeof BAD[0])
static const long LENS[] = {0, 1, 2, 3, 15, 16, 27, 28, 109, 110, 111, 128, 129, 4096, -1, 0x7fffffff, 0x100000000l};
#define NLENS (sizeof LENS / sizeof LENS[0])

static unsigned rnd_state = 12345;
static unsigned rnd(void) { rnd_state = rnd_state * 1103515245 + 12345; return rnd_state >> 8; }

static void pound(int fd) {
  char buf[512];
  for (size_t i = 0; i < NBAD; i++)
    for (size_t j = 0; j < NLENS; j++) {
      syscall(SYS_bind, fd, BAD[i], LENS[j]);
      syscall(SYS_connect, fd, BAD[i], LENS[j]);
      syscall(SYS_sendto, fd, BAD[i], LENS[j], MSG_DONTWAIT, BAD[i], LENS[j]);
      syscall(SYS_sendto, fd, buf, 8, MSG_DONTWAIT | MSG_NOSIGNAL, BAD[i], LENS[j]);
      syscall(SYS_recvfrom, fd, BAD[i], LENS[j], MSG_DONTWAIT, BAD[i], BAD[i]);
      syscall(SYS_getsockopt, fd, SOL_SOCKET, (int)j, BAD[i], BAD[i]);
      syscall(SYS_setsockopt, fd, (int)(rnd() % 300), (int)(rnd() % 80), BAD[i], LENS[j]);
      syscall(SYS_getsockname, fd, BAD[i], BAD[i]);
      syscall(SYS_getpeername, fd, BAD[i], BAD[i]);
      syscall(SYS_sendmsg, fd, BAD[i], MSG_DONTWAIT);
      syscall(SYS_recvmsg, fd, BAD[i], MSG_DONTWAIT);
      syscall(SYS_accept4, fd, BAD[i], BAD[i], SOCK_NONBLOCK);
      syscall(SYS_ioctl, fd, 0x8933, BAD[i]);
    }
  /* msghdrs that lie about their iovecs, names and control messages */
  for (int k = 0; k < 200; k++) {
    struct iovec iov[4];
    for (int q = 0; q < 4; q++) { iov[q].iov_base = rnd() % 2 ? buf : (void *)BAD[rnd() % NBAD]; iov[q].iov_len = LENS[rnd() % NLENS]; }
    char ctl[256];
    for (size_t q = 0; q < sizeof ctl; q++) ctl[q] = (char)rnd();
    struct cmsghdr *c = (struct cmsghdr *)ctl;
    c->cmsg_level = rnd() % 2 ? SOL_SOCKET : (int)rnd();
    c->cmsg_type = rnd() % 3;
    c->cmsg_len = LENS[rnd() % NLENS];
    struct msghdr m = {0};
    m.msg_name = rnd() % 2 ? buf : (void *)BAD[rnd() % NBAD];
    m.msg_namelen = LENS[rnd() % NLENS];
    m.msg_iov = rnd() % 4 ? iov : (void *)BAD[rnd() % NBAD];
    m.msg_iovlen = rnd() % 5 ? rnd() % 5 : (size_t)LENS[rnd() % NLENS];
    m.msg_control = rnd() % 3 ? ctl : (void *)BAD[rnd() % NBAD];
    m.msg_controllen = rnd() % 2 ? sizeof ctl : (size_t)LENS[rnd() % NLENS];
    syscall(SYS_sendmsg, fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    syscall(SYS_recvmsg, fd, &m, MSG_DONTWAIT | (rnd() % 2 ? MSG_PEEK : 0) | (rnd() % 2 ? MSG_TRUNC : 0));
  }
}

int main(void) {
  const int kinds[][3] = {
    {AF_UNIX, SOCK_STREAM, 0}, {AF_UNIX, SOCK_DGRAM, 0}, {AF_UNIX, SOCK_SEQPACKET, 0},
    {AF_INET, SOCK_STREAM, 0}, {AF_INET, SOCK_DGRAM, 0}, {AF_INET6, SOCK_STREAM, 0}, {AF_INET6, SOCK_DGRAM, 0},
    {AF_NETLINK, SOCK_RAW, NETLINK_ROUTE},
  };
  signal(SIGPIPE, SIG_IGN); /* EPIPE on unconnected stream sockets is expected */
  int calls = 0;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    int fd = socket(kinds[k][0], kinds[k][1] | SOCK_NONBLOCK, kinds[k][2]);
    if (fd < 0) { perror("socket"); return 1; }
    pound(fd);
    listen(fd, 1);
    pound(fd);
    close(fd);
    calls++;
  }
  /* random netlink requests, valid-looking headers with random bodies */
  int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE);
  for (int k = 0; k < 2000; k++) {
    unsigned char msg[256];
    for (size_t q = 0; q < sizeof msg; q++) msg[q] = (unsigned char)rnd();
    struct nlmsghdr *h = (struct nlmsghdr *)msg;
    h->nlmsg_len = rnd() % 300;
    h->nlmsg_type = 16 + rnd() % 16;
    h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | (rnd() % 2 ? NLM_F_DUMP : 0) | (rnd() & 0xff));
    send(nl, msg, rnd() % sizeof msg, MSG_DONTWAIT);
    char out[64];
    recv(nl, out, sizeof out, MSG_DONTWAIT | (rnd() % 2 ? MSG_TRUNC : 0));
  }
  /* a socketpair passing itself over itself, then closed */
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  close(sv[0]);
  close(sv[1]);
  printf("survived %d socket kinds\n", calls);
  return 0;
}
