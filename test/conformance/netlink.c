/* NETLINK_ROUTE as getifaddrs(3) and iproute2 use it: socket/bind/getsockname
 * (the port id is the tgid), RTM_GETLINK and RTM_GETADDR dumps (only lo's
 * entries are printed: the native host may have more interfaces), a link by
 * index, NLMSG_ERROR for unknown requests, MSG_PEEK|MSG_TRUNC sizing, and
 * getifaddrs/if_nametoindex for lo. */
#include "conf.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

static int nl_send(int fd, int type, int flags, int seq, void *body, size_t blen) {
  char buf[256] = {0};
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  h->nlmsg_len = NLMSG_LENGTH(blen);
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = seq;
  memcpy(NLMSG_DATA(h), body, blen);
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  return sendto(fd, buf, h->nlmsg_len, 0, (struct sockaddr *)&k, sizeof k);
}

/* Receives one datagram and prints lo's messages in it; returns 1 once NLMSG_DONE or an error arrived. */
static int nl_dump(int fd, int seq, int show_from) {
  static char buf[65536];
  struct sockaddr_nl from;
  struct iovec iov = {buf, sizeof buf};
  struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
  long n = recvmsg(fd, &m, 0);
  if (n < 0) { printf("recvmsg: %s\n", ename(errno)); return 1; }
  if (show_from) printf("datagram from pid %u namelen %u trunc %d\n", from.nl_pid, m.msg_namelen, (m.msg_flags & MSG_TRUNC) != 0);
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
    if (h->nlmsg_seq != (unsigned)seq) printf("wrong seq\n");
    if (h->nlmsg_type == NLMSG_DONE) { printf("NLMSG_DONE multi %d\n", (h->nlmsg_flags & NLM_F_MULTI) != 0); return 1; }
    if (h->nlmsg_type == NLMSG_ERROR) {
      struct nlmsgerr *e = NLMSG_DATA(h);
      printf("NLMSG_ERROR %s\n", e->error ? ename(-e->error) : "0");
      return 1;
    }
    if (h->nlmsg_type == RTM_NEWLINK) {
      struct ifinfomsg *ifi = NLMSG_DATA(h);
      if (ifi->ifi_index != 1) continue;
      printf("link index %d type %d up %d loopback %d running %d multi %d\n", ifi->ifi_index, ifi->ifi_type,
             (ifi->ifi_flags & IFF_UP) != 0, (ifi->ifi_flags & IFF_LOOPBACK) != 0, (ifi->ifi_flags & IFF_RUNNING) != 0,
             (h->nlmsg_flags & NLM_F_MULTI) != 0);
      int len = IFLA_PAYLOAD(h);
      for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_IFNAME) printf("  IFLA_IFNAME %s\n", (char *)RTA_DATA(a));
        if (a->rta_type == IFLA_MTU) printf("  IFLA_MTU %u\n", *(unsigned *)RTA_DATA(a));
        if (a->rta_type == IFLA_ADDRESS) printf("  IFLA_ADDRESS len %d\n", (int)RTA_PAYLOAD(a));
      }
    } else if (h->nlmsg_type == RTM_NEWADDR) {
      struct ifaddrmsg *ifa = NLMSG_DATA(h);
      if (ifa->ifa_index != 1) continue;
      printf("addr family %d prefix %d scope %d\n", ifa->ifa_family, ifa->ifa_prefixlen, ifa->ifa_scope);
      int len = IFA_PAYLOAD(h);
      for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        char ip[64];
        if (a->rta_type == IFA_ADDRESS || a->rta_type == IFA_LOCAL) {
          inet_ntop(ifa->ifa_family, RTA_DATA(a), ip, sizeof ip);
          printf("  %s %s\n", a->rta_type == IFA_ADDRESS ? "IFA_ADDRESS" : "IFA_LOCAL", ip);
        }
        if (a->rta_type == IFA_LABEL) printf("  IFA_LABEL %s\n", (char *)RTA_DATA(a));
      }
    }
  }
  return 0;
}

int main(void) {
  SECTION("socket");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  TP("socket", fd >= 0);
  TL("bad protocol", socket(AF_NETLINK, SOCK_RAW, 99));
  TL("stream type", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  T(bind(fd, (struct sockaddr *)&sa, sizeof sa));
  socklen_t sl = sizeof sa;
  T(getsockname(fd, (struct sockaddr *)&sa, &sl));
  printf("family %d len %u pid is tgid %d\n", sa.nl_family, sl, sa.nl_pid == (unsigned)getpid());
  int fd2 = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
  struct sockaddr_nl sa2 = {.nl_family = AF_NETLINK};
  T(bind(fd2, (struct sockaddr *)&sa2, sizeof sa2));
  sl = sizeof sa2;
  getsockname(fd2, (struct sockaddr *)&sa2, &sl);
  printf("second socket's pid differs %d\n", sa2.nl_pid != sa.nl_pid);
  close(fd2);
  int v = 1;
  T(setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, sizeof v));
  T(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){1 << 20}, sizeof(int)));

  SECTION("RTM_GETLINK dump");
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  T(nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &ifi, sizeof ifi));
  char tiny[4];
  TL("peek size", recv(fd, tiny, sizeof tiny, MSG_PEEK | MSG_TRUNC) > 16);
  while (!nl_dump(fd, 1, 0)) {}

  SECTION("RTM_GETLINK lo by index");
  ifi.ifi_index = 1;
  T(nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 2, &ifi, sizeof ifi));
  nl_dump(fd, 2, 1);
  ifi.ifi_index = 999999;
  T(nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 3, &ifi, sizeof ifi));
  nl_dump(fd, 3, 1);

  SECTION("RTM_GETADDR dumps");
  struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
  T(nl_send(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 4, &ifa, sizeof ifa));
  while (!nl_dump(fd, 4, 0)) {}
  ifa.ifa_family = AF_INET6;
  T(nl_send(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 5, &ifa, sizeof ifa));
  while (!nl_dump(fd, 5, 0)) {}
  TL("nothing left", recv(fd, tiny, sizeof tiny, MSG_DONTWAIT));
  close(fd);

  SECTION("getifaddrs");
  struct ifaddrs *ifs;
  T(getifaddrs(&ifs));
  for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
    if (strcmp(i->ifa_name, "lo") != 0 || !i->ifa_addr) continue;
    int f = i->ifa_addr->sa_family;
    char ip[64] = "", mask[64] = "";
    if (f == AF_INET) {
      inet_ntop(f, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip, sizeof ip);
      inet_ntop(f, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr, mask, sizeof mask);
    } else if (f == AF_INET6) {
      inet_ntop(f, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ip, sizeof ip);
      inet_ntop(f, &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, mask, sizeof mask);
    }
    printf("lo family %d %s/%s up %d loopback %d\n", f == AF_PACKET ? 17 : f, ip, mask, (i->ifa_flags & IFF_UP) != 0,
           (i->ifa_flags & IFF_LOOPBACK) != 0);
  }
  freeifaddrs(ifs);
  printf("if_nametoindex(lo) %u\n", if_nametoindex("lo"));
  char name[IF_NAMESIZE];
  printf("if_indextoname(1) %s\n", if_indextoname(1, name) ? name : ename(errno));
  TL("if_nametoindex(nosuch)", if_nametoindex("nosuch0") ? 1 : -1);
  return 0;
}
