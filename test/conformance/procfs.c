/* procfs and sysfs: values that must agree with what the process knows of
 * itself (pids, ids, masks, limits, cwd, fds), and the shape of the rest
 * (memory and CPU figures differ between the host and the sandbox). */
#include "conf.h"
#include <ctype.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

static char buf[65536];

/* Reads path into buf; line[] is the same text after a newline, for field(). */
static char line_buf[65536 + 1];
static long slurp(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -errno;
  long n = 0, r;
  while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
  close(fd);
  buf[n] = 0;
  line_buf[0] = '\n';
  memcpy(line_buf + 1, buf, n + 1);
  return n;
}

/* The value after "key:" in buf (status-style), trimmed. */
static const char *field(const char *key) {
  static char v[256];
  char pat[64];
  snprintf(pat, sizeof pat, "\n%s:", key);
  char *p = strstr(line_buf, pat);
  if (!p) return "(missing)";
  p += strlen(pat);
  while (*p == ' ' || *p == '\t') p++;
  size_t n = strcspn(p, "\n");
  snprintf(v, sizeof v, "%.*s", (int)n, p);
  return v;
}

static void show_link(const char *path) {
  char t[256];
  ssize_t n = readlink(path, t, sizeof t - 1);
  t[n < 0 ? 0 : n] = 0;
  printf("%s -> %s\n", path, n < 0 ? ename(errno) : t);
}

static int lines_starting(const char *prefix) {
  int n = 0;
  for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
    if (strncmp(p, prefix, strlen(prefix)) == 0) n++;
  return n;
}

int main(int argc, char **argv) {
  (void)argc;
  char self[32];
  SECTION("self");
  ssize_t n = readlink("/proc/self", self, sizeof self - 1);
  self[n < 0 ? 0 : n] = 0;
  TP("/proc/self is the pid", atoi(self) == getpid());
  char ts[64], want[64];
  n = readlink("/proc/thread-self", ts, sizeof ts - 1);
  ts[n < 0 ? 0 : n] = 0;
  snprintf(want, sizeof want, "%d/task/%ld", getpid(), (long)syscall(SYS_gettid));
  TP("/proc/thread-self is pid/task/tid", strcmp(ts, want) == 0);

  SECTION("stat");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  signal(SIGUSR2, SIG_IGN);
  slurp("/proc/self/stat");
  char *rp = strrchr(buf, ')');
  printf("comm field: %.*s\n", (int)(rp + 1 - strchr(buf, '(')), strchr(buf, '('));
  char state;
  int ppid, pgrp, sid;
  sscanf(rp + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid);
  printf("state %c ppid ok %d pgrp ok %d sid ok %d\n", state, ppid == getppid(), pgrp == getpgrp(), sid == getsid(0));
  int fields = 2;
  for (char *p = rp + 1; *p; p++) if (*p == ' ') fields++;
  printf("fields: %d\n", fields);

  SECTION("status");
  slurp("/proc/self/status");
  printf("Name: %s\n", field("Name"));
  printf("State: %s\n", field("State"));
  TP("Tgid", atoi(field("Tgid")) == getpid());
  TP("PPid", atoi(field("PPid")) == getppid());
  char ids[64];
  snprintf(ids, sizeof ids, "%d\t%d\t%d\t%d", getuid(), geteuid(), getuid(), geteuid());
  TP("Uid", strcmp(field("Uid"), ids) == 0);
  printf("Threads: %s\n", field("Threads"));
  printf("SigBlk: %s\n", field("SigBlk"));
  printf("SigIgn: %s\n", field("SigIgn"));
  printf("SigCgt: %s\n", field("SigCgt"));
  printf("Umask: %s\n", field("Umask"));
  TP("VmRSS present", strcmp(field("VmRSS"), "(missing)") != 0);
  TP("VmSize present", strcmp(field("VmSize"), "(missing)") != 0);

  SECTION("statm");
  slurp("/proc/self/statm");
  long sz, res, shr, text, lib, data, dt;
  int got = sscanf(buf, "%ld %ld %ld %ld %ld %ld %ld", &sz, &res, &shr, &text, &lib, &data, &dt);
  printf("statm fields %d size>0 %d resident>0 %d resident<=size %d\n", got, sz > 0, res > 0, res <= sz);

  SECTION("cmdline, environ, comm");
  n = slurp("/proc/self/cmdline");
  TP("cmdline is argv", strcmp(buf, argv[0]) == 0 && n == (long)strlen(argv[0]) + 1);
  n = slurp("/proc/self/environ");
  TP("environ has PATH", memmem(buf, n, "PATH=", 5) != NULL);
  prctl(PR_SET_NAME, "renamed-by-prctl-long");
  slurp("/proc/self/comm");
  printf("comm: %s", buf);
  int cf = open("/proc/self/comm", O_WRONLY);
  T(write(cf, "written", 7));
  close(cf);
  slurp("/proc/self/comm");
  printf("comm: %s", buf);

  SECTION("links and fds");
  show_link("/proc/self/root");
  T(chdir("/tmp"));
  show_link("/proc/self/cwd");
  char exe[256];
  n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n < 0 ? 0 : n] = 0;
  TP("exe is argv[0]", strcmp(exe, argv[0]) == 0);
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  char fdp[64];
  snprintf(fdp, sizeof fdp, "/proc/self/fd/%d", fd);
  n = readlink(fdp, exe, sizeof exe - 1);
  exe[n < 0 ? 0 : n] = 0;
  snprintf(want, sizeof want, "/proc/%d/stat", getpid());
  TP("fd link names the file", strcmp(exe, want) == 0);
  read(fd, buf, 5);
  snprintf(fdp, sizeof fdp, "/proc/self/fdinfo/%d", fd);
  slurp(fdp);
  printf("pos: %s\n", field("pos"));
  printf("flags: %s\n", field("flags"));
  TP("mnt_id", strcmp(field("mnt_id"), "(missing)") != 0);
  close(fd);

  SECTION("limits");
  slurp("/proc/self/limits");
  printf("%.*s\n", (int)strcspn(buf, "\n"), buf);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  char line[128];
  snprintf(line, sizeof line, "Max open files            %-20lu %-20lu files", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
  TP("Max open files", strstr(buf, line) != NULL);

  SECTION("oom_score_adj");
  slurp("/proc/self/oom_score_adj");
  printf("oom_score_adj: %s", buf);
  int of = open("/proc/self/oom_score_adj", O_WRONLY);
  T(write(of, "100", 3));
  T(write(of, "2000", 4));
  close(of);
  slurp("/proc/self/oom_score_adj");
  printf("oom_score_adj: %s", buf);
  pid_t oc = fork();
  if (oc == 0) {
    slurp("/proc/self/oom_score_adj");
    printf("child inherits oom_score_adj: %s", buf);
    _exit(0);
  }
  show_wait("child", oc);

  SECTION("task, maps, mounts");
  char tp[64];
  snprintf(tp, sizeof tp, "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
  T(access(tp, R_OK));
  slurp("/proc/self/maps");
  TP("maps has [stack]", strstr(buf, "[stack]") != NULL);
  TP("maps names the binary", strstr(buf, argv[0]) != NULL);
  slurp("/proc/self/mounts");
  TP("mounts has /proc", strstr(buf, " /proc proc ") != NULL);
  slurp("/proc/self/mountinfo");
  TP("mountinfo lines have ' - '", lines_starting("") > 0 && strstr(buf, " - ") != NULL);
  slurp("/proc/self/smaps");
  TP("smaps has Rss", strstr(buf, "\nRss:") != NULL);

  SECTION("zombie");
  pid_t c = fork();
  if (c == 0) _exit(3);
  char cp[64];
  snprintf(cp, sizeof cp, "/proc/%d/stat", c);
  for (int i = 0; i < 100; i++) {
    slurp(cp);
    if (strstr(buf, ") Z ")) break;
    usleep(10000);
  }
  printf("child state: %c\n", strrchr(buf, ')')[2]);
  show_wait("child", c);
  T(access(cp, F_OK));

  SECTION("system files");
  slurp("/proc/meminfo");
  TP("meminfo", strncmp(buf, "MemTotal:", 9) == 0 && strstr(buf, "\nMemAvailable:") && strstr(buf, "\nSwapTotal:"));
  slurp("/proc/cpuinfo");
  printf("cpuinfo processors = online CPUs: %d\n", lines_starting("processor") == sysconf(_SC_NPROCESSORS_ONLN));
  slurp("/proc/stat");
  TP("stat", strncmp(buf, "cpu ", 4) == 0 && strstr(buf, "\nbtime ") && strstr(buf, "\nprocs_running "));
  slurp("/proc/uptime");
  double up, idle;
  TP("uptime", sscanf(buf, "%lf %lf", &up, &idle) == 2 && up >= 0);
  slurp("/proc/loadavg");
  double l1, l5, l15;
  int run, tot, last;
  TP("loadavg", sscanf(buf, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &run, &tot, &last) == 6);
  slurp("/proc/version");
  TP("version", strncmp(buf, "Linux version ", 14) == 0);
  slurp("/proc/filesystems");
  TP("filesystems", strstr(buf, "\tproc\n") && strstr(buf, "\ttmpfs\n") && strstr(buf, "\tsysfs\n"));
  struct utsname u;
  uname(&u);
  slurp("/proc/sys/kernel/hostname");
  TP("hostname", strncmp(buf, u.nodename, strlen(u.nodename)) == 0);
  slurp("/proc/sys/kernel/osrelease");
  TP("osrelease", strncmp(buf, u.release, strlen(u.release)) == 0);
  slurp("/proc/sys/kernel/pid_max");
  TP("pid_max", atol(buf) > 0);
  char id1[64], id2[64];
  slurp("/proc/sys/kernel/random/boot_id");
  strcpy(id1, buf);
  slurp("/proc/sys/kernel/random/boot_id");
  TP("boot_id stable", strlen(id1) == 37 && strcmp(id1, buf) == 0);
  slurp("/proc/sys/kernel/random/uuid");
  strcpy(id1, buf);
  slurp("/proc/sys/kernel/random/uuid");
  strcpy(id2, buf);
  TP("uuid fresh", strlen(id1) == 37 && strcmp(id1, id2) != 0);
  slurp("/proc/sys/vm/overcommit_memory");
  TP("overcommit_memory", buf[0] >= '0' && buf[0] <= '2');
  slurp("/proc/sys/fs/file-max");
  TP("file-max", atol(buf) > 0);

  SECTION("sysfs");
  slurp("/sys/devices/system/cpu/online");
  int lo = -1, hi = -1;
  if (sscanf(buf, "%d-%d", &lo, &hi) == 1) hi = lo;
  TP("online = CPU count", hi - lo + 1 == sysconf(_SC_NPROCESSORS_ONLN));
  T(access("/sys/devices/system/cpu/possible", R_OK));
  struct stat st;
  T(stat("/sys/fs/cgroup", &st));
  TP("cgroup is a dir", S_ISDIR(st.st_mode));
  return 0;
}
