/* Resource limits enforced: RLIMIT_NOFILE (EMFILE, dup2/F_DUPFD past it),
 * RLIMIT_AS (mmap, brk, mremap growth), RLIMIT_STACK (the stack a new
 * image gets), RLIMIT_NPROC (fork and threads of an unprivileged user);
 * prlimit64 on another process. */
#include "conf.h"
#include <pthread.h>
#include <sys/mman.h>

static long mapped_bytes(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  long total = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < 0x800000000000UL) total += b - a;
  }
  if (f) fclose(f);
  return total;
}

static void *nothing(void *arg) { return arg; }

/* Recurses through depth bytes of stack, touching each page. */
static int deep(long depth) {
  volatile char buf[4096];
  buf[0] = 1;
  return depth <= 4096 ? buf[0] : deep(depth - 4096) + buf[0];
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "stack") == 0) {
    deep(atol(argv[2]) << 20);
    printf("used %s MiB of stack\n", argv[2]);
    return 0;
  }

  SECTION("RLIMIT_NOFILE");
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl = {8, 8};
    T(setrlimit(RLIMIT_NOFILE, &rl));
    int opened = 0, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) opened++;
    printf("opened until %s, highest fd %d\n", ename(errno), opened + 2);
    T(dup2(0, 8));
    T(dup2(0, 7));
    T(fcntl(0, F_DUPFD, 8));
    rl.rlim_cur = 16;
    TL("soft above hard", setrlimit(RLIMIT_NOFILE, &rl));
    rl.rlim_cur = 4;
    rl.rlim_max = 4;
    T(setrlimit(RLIMIT_NOFILE, &rl));
    T(open("/dev/null", O_RDONLY));
    _exit(0);
  }
  show_wait("child", pid);

  SECTION("RLIMIT_AS");
  pid = fork();
  if (pid == 0) {
    /* Room for 64 MiB more than is mapped now. */
    long have = mapped_bytes();
    struct rlimit rl = {(rlim_t)have + (64L << 20), RLIM_INFINITY};
    T(setrlimit(RLIMIT_AS, &rl));
    void *p = mmap(NULL, 32L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TP("mmap 32 MiB", p != MAP_FAILED);
    void *q = mmap(NULL, 64L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 64 MiB more: %s\n", q == MAP_FAILED ? ename(errno) : "mapped");
    void *r = mremap(p, 32L << 20, 128L << 20, MREMAP_MAYMOVE);
    printf("mremap to 128 MiB: %s\n", r == MAP_FAILED ? ename(errno) : "moved");
    void *fixed = mmap(p, 32L << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    TP("MAP_FIXED over the same 32 MiB", fixed == p);
    errno = 0;
    void *old = sbrk(0);
    void *b = sbrk(128L << 20);
    printf("sbrk 128 MiB: %s, break unchanged %d\n", b == (void *)-1 ? ename(errno) : "grew", sbrk(0) == old);
    T(munmap(p, 32L << 20));
    q = mmap(NULL, 48L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TP("after munmap, 48 MiB fits", q != MAP_FAILED);
    _exit(0);
  }
  show_wait("child", pid);

  SECTION("RLIMIT_STACK applies to the next image");
  for (int i = 0; i < 2; i++) {
    pid = fork();
    if (pid == 0) {
      struct rlimit rl = {(i == 0 ? 64L : 4L) << 20, RLIM_INFINITY};
      setrlimit(RLIMIT_STACK, &rl);
      execl("/proc/self/exe", argv[0], "stack", "16", (char *)NULL);
      _exit(99);
    }
    show_wait(i == 0 ? "16 MiB deep with a 64 MiB limit" : "16 MiB deep with a 4 MiB limit", pid);
  }

  SECTION("RLIMIT_NPROC for an unprivileged user");
  pid = fork();
  if (pid == 0) {
    struct rlimit rl = {1, 1};
    T(setrlimit(RLIMIT_NPROC, &rl));
    T(setresuid(54321, 54321, 54321));
    pid_t c = fork();
    if (c == 0) _exit(0);
    printf("fork at the limit: %s\n", c < 0 ? ename(errno) : "forked");
    pthread_t th;
    int e = pthread_create(&th, NULL, nothing, NULL);
    printf("pthread_create at the limit: %s\n", e ? ename(e) : "0");
    _exit(0);
  }
  show_wait("child", pid);
  pid = fork();
  if (pid == 0) {
    struct rlimit rl = {1, 1};
    T(setrlimit(RLIMIT_NPROC, &rl));
    pid_t c = fork();
    if (c == 0) _exit(0);
    TP("root is exempt", c > 0);
    if (c > 0) waitpid(c, NULL, 0);
    _exit(0);
  }
  show_wait("child", pid);

  SECTION("prlimit64 on another process");
  pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  struct rlimit nl = {100, 200}, ol;
  T(prlimit(pid, RLIMIT_NOFILE, &nl, &ol));
  T(prlimit(pid, RLIMIT_NOFILE, NULL, &ol));
  printf("child's NOFILE now %ld %ld\n", (long)ol.rlim_cur, (long)ol.rlim_max);
  T(prlimit(pid, 99, NULL, &ol));
  T(prlimit(99999, RLIMIT_NOFILE, NULL, &ol));
  nl.rlim_cur = 300;
  T(prlimit(pid, RLIMIT_NOFILE, &nl, NULL));
  kill(pid, SIGKILL);
  show_wait("child", pid);
  return 0;
}
