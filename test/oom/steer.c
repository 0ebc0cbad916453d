/* oom_score_adj steers the OOM killer. A holder touches HOLD MiB and waits;
 * then a bomb allocates until memory runs out. With the holder's
 * oom_score_adj at 0 it is the bigger process and dies first (the bomb then
 * dies too, once it is the biggest); at -1000 it is never chosen and the
 * bomb dies. The parent (small) reports who died first and how.
 * usage: steer HOLDER_ADJ HOLD_MIB */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void set_adj(const char *v) {
  FILE *f = fopen("/proc/self/oom_score_adj", "w");
  if (!f || fputs(v, f) < 0 || fclose(f) != 0) { perror("oom_score_adj"); exit(2); }
}

/* Allocates and touches n bytes; the compiler may not drop what it cannot see used. */
static void touch(size_t n) {
  volatile char *p = malloc(n);
  if (!p) _exit(3);
  for (size_t o = 0; o < n; o += 4096) p[o] = 1;
}

static const char *how(int st) {
  static char buf[32];
  if (WIFSIGNALED(st)) snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(st));
  else snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: steer HOLDER_ADJ HOLD_MIB\n"); return 2; }
  size_t hold = (size_t)atoi(argv[2]) << 20;
  int ready[2];
  if (pipe(ready) != 0) { perror("pipe"); return 2; }
  pid_t holder = fork();
  if (holder == 0) {
    set_adj(argv[1]);
    touch(hold);
    if (write(ready[1], "x", 1) != 1) _exit(4);
    for (;;) pause();
  }
  char c;
  if (read(ready[0], &c, 1) != 1) { fprintf(stderr, "holder failed\n"); return 2; }
  FILE *f = fopen("/proc/self/oom_score_adj", "r");
  int own = -1;
  if (!f || fscanf(f, "%d", &own) != 1) { perror("read oom_score_adj"); return 2; }
  fclose(f);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/oom_score_adj", holder);
  f = fopen(path, "r");
  int theirs = 0;
  if (!f || fscanf(f, "%d", &theirs) != 1) { perror("read holder's oom_score_adj"); return 2; }
  fclose(f);
  printf("parent oom_score_adj %d, holder's %d\n", own, theirs);
  fflush(stdout);
  pid_t bomb = fork();
  if (bomb == 0) {
    for (;;) touch(1 << 20);
  }
  int st;
  pid_t first = waitpid(-1, &st, 0);
  printf("first to die: %s, %s\n", first == holder ? "holder" : first == bomb ? "bomb" : "?", how(st));
  /* The survivor: the bomb dies by the OOM killer in its turn; the holder is ended here. */
  if (first == bomb) kill(holder, SIGTERM);
  pid_t second = waitpid(-1, &st, 0);
  printf("then: %s, %s\n", second == holder ? "holder" : second == bomb ? "bomb" : "?", how(st));
  return 0;
}
