/* Processes: fork, vfork, wait4 with status decoding, exit codes, execve of
 * /bin/true and friends, ECHILD, WNOHANG, kill(pid, 0). No /proc. */
#include "conf.h"

static pid_t child_exit(int code) {
  pid_t pid = fork();
  if (pid == 0) _exit(code);
  return pid;
}

static void exec_child(const char *label, const char *path, char *const argv[]) {
  pid_t pid = fork();
  if (pid == 0) {
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    execve(path, argv, envp);
    printf("%s: execve -1 %s\n", label, ename(errno));
    _exit(100);
  }
  show_wait(label, pid);
}

int main(void) {
  SECTION("identity");
  pid_t me = getpid();
  TP("getpid() == syscall(SYS_getpid)", me == syscall(SYS_getpid));
  TP("gettid() == getpid()", syscall(SYS_gettid) == me);

  SECTION("fork/wait4");
  int codes[] = {0, 1, 7, 42, 255, 256, 257};
  for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    char label[32];
    snprintf(label, sizeof label, "_exit(%d)", codes[i]);
    show_wait(label, child_exit(codes[i]));
  }
  pid_t pid = fork();
  if (pid == 0) {
    _exit(getppid() == me ? 0 : 1);
  }
  show_wait("child sees parent's pid via getppid", pid);
  pid = fork();
  if (pid == 0) {
    exit(3); /* runs atexit, flushes stdio */
  }
  show_wait("exit(3)", pid);
  pid = fork();
  if (pid == 0) {
    raise(SIGUSR1);
    _exit(0);
  }
  show_wait("raise(SIGUSR1)", pid);
  pid = fork();
  if (pid == 0) {
    raise(SIGKILL);
    _exit(0);
  }
  show_wait("raise(SIGKILL)", pid);

  SECTION("status bits");
  pid = child_exit(5);
  int st = 0;
  T(wait4(pid, &st, 0, NULL) == pid);
  printf("WIFEXITED=%d WEXITSTATUS=%d WIFSIGNALED=%d raw=0x%x\n", WIFEXITED(st), WEXITSTATUS(st), WIFSIGNALED(st), st);
  pid = fork();
  if (pid == 0) {
    raise(SIGTERM);
    _exit(0);
  }
  st = 0;
  T(wait4(pid, &st, 0, NULL) == pid);
  printf("WIFEXITED=%d WIFSIGNALED=%d WTERMSIG=%d\n", WIFEXITED(st), WIFSIGNALED(st), WTERMSIG(st));
  pid = child_exit(9);
  struct rusage ru;
  T(wait4(pid, NULL, 0, &ru) == pid);

  SECTION("many children");
  int sum = 0, reaped = 0;
  for (int i = 0; i < 10; i++) child_exit(i);
  for (;;) {
    st = 0;
    pid_t r = wait4(-1, &st, 0, NULL);
    if (r < 0) {
      printf("wait4(-1) finally: %s\n", ename(errno));
      break;
    }
    reaped++;
    sum += WEXITSTATUS(st);
  }
  printf("reaped %d, sum of statuses %d\n", reaped, sum);

  SECTION("ECHILD/WNOHANG");
  T(wait4(-1, NULL, 0, NULL));
  T(wait4(me, NULL, 0, NULL));
  T(wait4(-1, NULL, WNOHANG, NULL));
  T(wait4(-1, NULL, 0x1000, NULL));
  int p[2];
  pipe(p);
  pid = fork();
  if (pid == 0) {
    char c;
    close(p[1]);
    _exit(read(p[0], &c, 1) == 0 ? 11 : 12);
  }
  close(p[0]);
  T(wait4(pid, NULL, WNOHANG, NULL));
  T(kill(pid, 0));
  close(p[1]);
  show_wait("child after its pipe closed", pid);
  T(kill(pid, 0));
  T(waitpid(pid, NULL, 0));

  SECTION("vfork");
  volatile int shared = 0;
  pid = vfork();
  if (pid == 0) {
    shared = 1;
    _exit(4);
  }
  show_wait("vfork child _exit(4)", pid);
  printf("parent sees vfork child's write: %d\n", shared);
  pid = vfork();
  if (pid == 0) {
    char *argv[] = {"true", NULL};
    execv("/bin/true", argv);
    _exit(100);
  }
  show_wait("vfork + execv(/bin/true)", pid);

  SECTION("execve");
  {
    char *a[] = {"true", NULL};
    exec_child("execve(/bin/true)", "/bin/true", a);
  }
  {
    char *a[] = {"false", NULL};
    exec_child("execve(/bin/false)", "/bin/false", a);
  }
  {
    char *a[] = {"echo", "echo", "from", "exec", NULL};
    exec_child("execve(/bin/echo)", "/bin/echo", a + 1);
  }
  {
    char *a[] = {"sh", "-c", "exit 37", NULL};
    exec_child("execve(/bin/sh -c 'exit 37')", "/bin/sh", a);
  }
  {
    char *a[] = {"sh", "-c", "echo \"$0 $1 $# PATH=$PATH\"", "zero", "one", NULL};
    exec_child("execve(/bin/sh) argv and envp", "/bin/sh", a);
  }
  {
    char *a[] = {"x", NULL};
    exec_child("execve(missing)", "/nonexistent/prog", a);
    exec_child("execve(directory)", "/tmp", a);
    exec_child("execve(/bin/true/x)", "/bin/true/x", a);
  }
  tmp_enter();
  put_file("noexec-magic", "this is not an ELF file\n");
  chmod("noexec-magic", 0755);
  put_file("script", "#!/bin/sh\necho script ran with \"$@\"\nexit 6\n");
  chmod("script", 0755);
  put_file("plain", "#!/bin/sh\necho should not run\n");
  chmod("plain", 0644);
  {
    char *a[] = {"x", NULL};
    exec_child("execve(text file with x bit)", "noexec-magic", a);
    exec_child("execve(script without x bit)", "plain", a);
    char *b[] = {"script", "arg1", NULL};
    exec_child("execve(#! script)", "script", b);
  }
  tmp_leave();
  return 0;
}
