// Hostile input: test/hostile/garbage.c calls every implemented syscall with
// garbage arguments (NULL, unmapped and kernel addresses, huge lengths,
// negative fds, all-ones flags). The workload must stay alive ("survived")
// and the sandbox must exit normally. This runs ONLY under runsc: garbage
// syscalls on the host are dangerous, so there is deliberately no native run.
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO, assertExit, buildC, describeRun, implementedSyscalls, killAll, runSandboxed } from './harness';

afterAll(killAll);

/**
 * Fallback while `bin/runsc syscalls --json` does not exist: the syscalls the
 * conformance programs exercise (x86-64 numbers). The garbage program itself
 * skips the ones that would end, stop or block it.
 */
const FALLBACK_SYSCALLS: Readonly<Record<string, number>> = {
  read: 0, write: 1, open: 2, close: 3, stat: 4, fstat: 5, lstat: 6, poll: 7, lseek: 8, mmap: 9,
  mprotect: 10, munmap: 11, brk: 12, rt_sigaction: 13, rt_sigprocmask: 14, rt_sigreturn: 15, ioctl: 16,
  pread64: 17, pwrite64: 18, readv: 19, writev: 20, access: 21, pipe: 22, select: 23, sched_yield: 24,
  mremap: 25, msync: 26, madvise: 28, dup: 32, dup2: 33, pause: 34, nanosleep: 35, getpid: 39,
  clone: 56, fork: 57, vfork: 58, execve: 59, exit: 60, wait4: 61, kill: 62, uname: 63, fcntl: 72,
  fsync: 74, truncate: 76, ftruncate: 77, getcwd: 79, chdir: 80, fchdir: 81, rename: 82, mkdir: 83,
  rmdir: 84, link: 86, unlink: 87, symlink: 88, readlink: 89, chmod: 90, fchmod: 91, umask: 95,
  gettimeofday: 96, getrlimit: 97, getuid: 102, getgid: 104, geteuid: 107, getegid: 108, getppid: 110,
  rt_sigpending: 127, sigaltstack: 131, arch_prctl: 158, setrlimit: 160, gettid: 186, time: 201,
  futex: 202, getdents64: 217, set_tid_address: 218, clock_gettime: 228, clock_getres: 229,
  clock_nanosleep: 230, exit_group: 231, tgkill: 234, openat: 257, mkdirat: 258, newfstatat: 262,
  unlinkat: 263, renameat: 264, readlinkat: 267, faccessat: 269, pselect6: 270, ppoll: 271,
  set_robust_list: 273, dup3: 292, pipe2: 293, prlimit64: 302, getrandom: 318, execveat: 322,
  statx: 332, rseq: 334, faccessat2: 439,
};

it('garbage arguments to every implemented syscall leave the workload alive (runsc only)', async () => {
  const bin = buildC(path.join(REPO, 'test', 'hostile', 'garbage.c'), 'static');
  // TODO(syscall table): drop FALLBACK_SYSCALLS once `runsc syscalls --json` always exists.
  const nrs = implementedSyscalls() ?? Object.values(FALLBACK_SYSCALLS);
  const sorted = [...new Set(nrs)].sort((a, b) => a - b);
  const r = await runSandboxed(bin, sorted.map(String), { cwd: '/', timeoutMs: 45_000 });
  const msg = describeRun('runsc do garbage', r);
  assertExit('runsc do garbage', r, 0);
  expect(r.stdout, msg).toMatch(/^survived \d+ calls$/m);
  // Every number was either exercised or deliberately skipped.
  const seen = new Set(
    r.stdout.split('\n').map((l) => /^(?:ok|skip) (\d+)/.exec(l)?.[1]).filter((x): x is string => x !== undefined).map(Number),
  );
  expect(sorted.filter((n) => !seen.has(n)), msg).toEqual([]);
});
