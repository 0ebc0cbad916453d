/* Credentials and capabilities: the setuid family's rules for privileged
 * and unprivileged callers, setfsuid, capget/capset, capabilities following
 * uid changes (PR_SET_KEEPCAPS), the bounding and ambient sets, dumpability;
 * and the scheduling calls (policies, priorities, nice, affinity). Run as root. */
#include "conf.h"
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>

static int capget2(struct __user_cap_data_struct d[2]) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capget, &h, d);
}

/* The sets the program started with: the host's, which need not be full. */
static unsigned long long start_prm;

static unsigned long long get64(int which) {
  struct __user_cap_data_struct d[2];
  capget2(d);
  unsigned a = which == 0 ? d[0].effective : which == 1 ? d[0].permitted : d[0].inheritable;
  unsigned b = which == 0 ? d[1].effective : which == 1 ? d[1].permitted : d[1].inheritable;
  return (unsigned long long)b << 32 | a;
}

static const char *rel(unsigned long long v) {
  static char buf[4][40];
  static int n;
  char *b = buf[n++ % 4];
  unsigned long long fs = 0x1full | 1ull << 9 | 1ull << 27 | 1ull << 32;
  if (v == start_prm) return "all";
  if (v == 0) return "none";
  if (v == (start_prm & ~fs)) return "all but the fs caps";
  snprintf(b, 40, "other %llx", v);
  return b;
}

static void show_caps(const char *label) {
  printf("%s: eff %s prm %s inh %s\n", label, rel(get64(0)), rel(get64(1)), rel(get64(2)));
}

static void show_ids(const char *label) {
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  printf("%s: uid %u %u %u fsuid %d gid %u %u %u\n", label, r, e, s, setfsuid(-1), gr, ge, gs);
}

int main(void) {
  start_prm = get64(1);
  SECTION("capget/capset");
  struct __user_cap_header_struct h = {0x12345678, 0};
  struct __user_cap_data_struct d[2];
  T(syscall(SYS_capget, &h, NULL));
  printf("version answered: %x\n", h.version);
  h.version = 0x12345678;
  T(syscall(SYS_capget, &h, d));
  h.version = _LINUX_CAPABILITY_VERSION_3;
  h.pid = 999999;
  T(syscall(SYS_capget, &h, d));
  h.pid = 0;
  T(capget2(d));
  TP("root has CAP_SETUID and CAP_SYS_ADMIN", (d[0].effective >> CAP_SETUID & 1) && (d[0].effective >> CAP_SYS_ADMIN & 1));
  pid_t pid = fork();
  if (pid == 0) {
    capget2(d);
    d[0].effective &= ~(1u << CAP_SETUID);
    T(syscall(SYS_capset, &h, d));
    TL("setuid without CAP_SETUID in effective", setuid(1234));
    d[0].effective |= 1u << CAP_SETUID;
    T(syscall(SYS_capset, &h, d));
    d[0].permitted &= ~(1u << CAP_SETUID);
    TL("capset: effective not in permitted", syscall(SYS_capset, &h, d));
    d[0].effective &= ~(1u << CAP_SETUID);
    T(syscall(SYS_capset, &h, d));
    d[0].permitted |= 1u << CAP_SETUID;
    TL("capset: regaining a dropped permitted capability", syscall(SYS_capset, &h, d));
    h.pid = getppid();
    TL("capset on another process", syscall(SYS_capset, &h, d));
    _exit(0);
  }
  show_wait("child", pid);

  SECTION("uid changes and capabilities");
  pid = fork();
  if (pid == 0) {
    show_ids("start");
    T(prctl(PR_GET_DUMPABLE));
    T(setresgid(100, 100, 100));
    T(setresuid(1000, 0, 0));
    show_caps("ruid 1000, euid 0");
    T(prctl(PR_GET_DUMPABLE));
    T(seteuid(1000));
    show_caps("euid 1000, suid 0");
    T(seteuid(0));
    show_caps("euid 0 again");
    T(setfsuid(1000));
    show_caps("fsuid 1000");
    T(setfsuid(0));
    T(prctl(PR_SET_KEEPCAPS, 1));
    T(prctl(PR_GET_KEEPCAPS));
    T(setresuid(1000, 1000, 1000));
    show_caps("all 1000 with KEEPCAPS");
    show_ids("now");
    TL("setuid(0) unprivileged", setuid(0));
    TL("setresuid(2000, -1, -1)", setresuid(2000, -1, -1));
    TL("setgroups unprivileged", setgroups(0, NULL));
    T(setfsuid(2000));
    show_ids("after setfsuid(2000)");
    T(prctl(PR_SET_DUMPABLE, 1));
    T(prctl(PR_GET_DUMPABLE));
    TL("PR_SET_DUMPABLE 2", prctl(PR_SET_DUMPABLE, 2));
    _exit(0);
  }
  show_wait("child", pid);
  pid = fork();
  if (pid == 0) {
    T(setresuid(1000, 1000, 1000));
    show_caps("all 1000 without KEEPCAPS");
    T(setreuid(-1, 1000));
    TL("setreuid(1000, 0)", setreuid(1000, 0));
    _exit(0);
  }
  show_wait("child", pid);

  SECTION("bounding and ambient sets");
  pid = fork();
  if (pid == 0) {
    T(prctl(PR_CAPBSET_READ, CAP_NET_RAW));
    T(prctl(PR_CAPBSET_DROP, CAP_NET_RAW));
    T(prctl(PR_CAPBSET_READ, CAP_NET_RAW));
    TL("PR_CAPBSET_READ 99", prctl(PR_CAPBSET_READ, 99));
    TL("ambient raise without inheritable", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    capget2(d);
    d[0].inheritable |= 1u << CAP_CHOWN;
    T(syscall(SYS_capset, &h, d));
    T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0));
    T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
    T(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0));
    _exit(0);
  }
  show_wait("child", pid);

  SECTION("scheduling");
  T(sched_getscheduler(0));
  T(sched_get_priority_max(SCHED_FIFO));
  T(sched_get_priority_min(SCHED_RR));
  T(sched_get_priority_max(SCHED_OTHER));
  T(sched_get_priority_max(42));
  struct sched_param sp = {0};
  T(sched_getparam(0, &sp));
  sp.sched_priority = 10;
  T(sched_setscheduler(0, SCHED_FIFO, &sp));
  T(sched_getscheduler(0));
  sp.sched_priority = 0;
  T(sched_getparam(0, &sp));
  printf("priority %d\n", sp.sched_priority);
  sp.sched_priority = 100;
  T(sched_setparam(0, &sp));
  sp.sched_priority = 0;
  T(sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp));
  T(sched_getscheduler(0));
  T(sched_setscheduler(0, 42, &sp));
  T(sched_setscheduler(999999, SCHED_OTHER, &sp));
  struct timespec rr;
  T(sched_rr_get_interval(0, &rr));
  sp.sched_priority = 1;
  T(sched_setscheduler(0, SCHED_RR, &sp));
  T(sched_rr_get_interval(0, &rr));
  TP("SCHED_RR interval positive", rr.tv_sec > 0 || rr.tv_nsec > 0);
  sp.sched_priority = 0;
  T(sched_setscheduler(0, SCHED_OTHER, &sp));
  T(getpriority(PRIO_PROCESS, 0));
  T(setpriority(PRIO_PROCESS, 0, 5));
  T(getpriority(PRIO_PROCESS, 0));
  T(setpriority(PRIO_PROCESS, 0, 100));
  T(getpriority(PRIO_PROCESS, 0));
  T(setpriority(42, 0, 0));
  pid = fork();
  if (pid == 0) {
    T(getpriority(PRIO_PROCESS, 0));
    T(setresuid(1000, 1000, 1000));
    TL("raising priority unprivileged", setpriority(PRIO_PROCESS, 0, 0));
    T(setpriority(PRIO_PROCESS, 0, 19));
    sp.sched_priority = 1;
    TL("SCHED_FIFO unprivileged", sched_setscheduler(0, SCHED_FIFO, &sp));
    _exit(0);
  }
  show_wait("child", pid);
  cpu_set_t set;
  CPU_ZERO(&set);
  T(sched_getaffinity(0, sizeof set, &set));
  TP("CPU 0 allowed", CPU_ISSET(0, &set));
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  T(sched_setaffinity(0, sizeof set, &set));
  CPU_ZERO(&set);
  TL("empty mask", sched_setaffinity(0, sizeof set, &set));
  T(sched_yield());
  return 0;
}
