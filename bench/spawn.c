/* Runs a command ITERS times, each to completion, with stdout on /dev/null
 * (ms per run). With a DIR other than "-", run i gets a fresh directory
 * DIR/i (made here) and every argument "{}" becomes that directory.
 * usage: spawn ITERS NAME DIR|- CMD ARGS... */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 5, "ITERS NAME DIR|- CMD ARGS...");
  const char *name = argv[2], *dir = argv[3];
  char **cmd = argv + 4;
  int ncmd = argc - 4;
  char sub[4096];
  char **args = calloc(ncmd + 1, sizeof *args);
  if (!args) return 1;
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) { fprintf(stderr, "/dev/null: %s\n", strerror(errno)); return 1; }
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    for (int k = 0; k < ncmd; k++) args[k] = cmd[k];
    if (strcmp(dir, "-") != 0) {
      snprintf(sub, sizeof sub, "%s/%ld", dir, i);
      if (mkdir(sub, 0755) != 0) { fprintf(stderr, "mkdir %s: %s\n", sub, strerror(errno)); return 1; }
      for (int k = 0; k < ncmd; k++) if (strcmp(args[k], "{}") == 0) args[k] = sub;
    }
    pid_t pid = fork();
    if (pid < 0) { fprintf(stderr, "fork: %s\n", strerror(errno)); return 1; }
    if (pid == 0) {
      dup2(devnull, 1);
      execv(args[0], args);
      fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
      _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) { fprintf(stderr, "waitpid: %s\n", strerror(errno)); return 1; }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "%s failed (status 0x%x)\n", args[0], st); return 1; }
  }
  long long t1 = bench_now_ns();
  bench_report(name, n, t0, t1);
  return 0;
}
