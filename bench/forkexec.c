/* fork + execve + waitpid loop (ms per iteration).
 * usage: forkexec ITERS PROGRAM   (PROGRAM: a tiny static executable, e.g. .build/true) */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void one(const char *prog) {
  pid_t pid = fork();
  if (pid < 0) { fprintf(stderr, "fork: %s\n", strerror(errno)); exit(1); }
  if (pid == 0) {
    char *args[] = { (char *)prog, NULL };
    execve(prog, args, environ);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) { fprintf(stderr, "waitpid: %s\n", strerror(errno)); exit(1); }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "child %s: %s %d\n", prog, WIFEXITED(st) ? "exit status" : "signal",
            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    exit(1);
  }
}

int main(int argc, char **argv) {
  long n = bench_iters(argc, argv, 3, "ITERS PROGRAM");
  const char *prog = argv[2];
  long long t0 = bench_now_ns();
  for (long i = 0; i < n; i++) one(prog);
  long long t1 = bench_now_ns();
  bench_report("forkexec", n, t0, t1);
  return 0;
}
