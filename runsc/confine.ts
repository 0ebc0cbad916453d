// The Sentry's confinement (issue 7, the second layer under the Sentry).
//
// Stage 1 runs before Node, in dist/launcher (runsc/launcher.ts), which
// bin/runsc puts in front of `runsc do` and `create` in front of an OCI
// sandbox (runsc/sandbox_launch.ts): new mount, PID, IPC and UTS
// namespaces, a network namespace unless --network=host, a user namespace
// with --rootless (the user's ids mapped to 0), private mounts,
// no_new_privs, and a bounding set of SENTRY_BOUNDING. The Sentry is pid 1 of
// its PID namespace, so when it dies the kernel kills the Gofer and every stub
// with it; the launcher, outside, waits and passes its exit status on.
//
// Stage 2 (confineSentry) runs once the Sentry is up — its Gofers started and
// attached, its first stub spawned — because after it the Sentry can neither
// start processes nor open host paths:
//   * a fresh tmpfs holding only a read-only /proc of the Sentry's own PID
//     namespace (stub CPU times, /proc/self/fd) becomes the root (pivot_root,
//     old root detached) and is made read-only: no host path resolves;
//   * every capability is dropped from the main thread (bounding, effective,
//     permitted, inheritable, ambient);
//   * a seccomp filter on every thread (TSYNC) allows only the host syscalls
//     in SENTRY_SYSCALLS, with the argument checks noted there; anything else
//     kills the Sentry (SECCOMP_RET_KILL_PROCESS), the kernel logs the call
//     (SECCOMP_FILTER_FLAG_LOG), and the launcher reports the SIGSYS.
// Capabilities are per thread: Node's helper threads keep SENTRY_BOUNDING,
// and the filter is what denies them every call those capabilities guard.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as libc from '../src/ffi/libc';
import {
  AUDIT_ARCH_X86_64, Bpf, DATA_ARCH, DATA_NR, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, dataArg,
} from '../src/seccomp';
import { KEEP_CAPS, SETUP_CAPS } from '../gofer/confine';
import { OPT_FORK, capMask } from './launcher';

export class SentryConfineError extends Error {
  constructor(step: string, why: string) { super(`confining the Sentry: ${step}: ${why}`); }
}

const CLONE_NEWNS = 0x20000;
const CLONE_NEWUTS = 0x4000000;
const CLONE_NEWIPC = 0x8000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_THREAD = 0x10000;

/**
 * The Sentry's bounding set: what the Gofers it starts need (gofer/confine.ts);
 * the Sentry itself needs only CAP_SYS_ADMIN (mount, pivot_root) and
 * CAP_SETPCAP (emptying the bounding set) for stage 2, then nothing.
 */
export const SENTRY_BOUNDING = [...KEEP_CAPS.keys(), ...SETUP_CAPS];

const CAP_NET_BIND_SERVICE = 10;
/**
 * Kept with --network=host: the host checks a bind below port 1024 against
 * the Sentry's own credentials (engines such as docker lower
 * ip_unprivileged_port_start with a sysctl in the spec, which runsc does not
 * apply; Kubernetes gives containers this capability instead).
 */
const HOST_NETWORK_CAPS = [CAP_NET_BIND_SERVICE];

export interface ConfineOptions {
  network: string;
  rootless: boolean;
  /** A new network namespace; by default, unless --network=host (an OCI sandbox decides by its spec: runsc/netns.ts). */
  freshNetns?: boolean;
}

/** The launcher's arguments (before the program) for a Sentry started with o. */
export function launcherArgs(o: ConfineOptions, uid: number, gid: number): string[] {
  let flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID;
  if (o.freshNetns ?? o.network !== 'host') flags |= CLONE_NEWNET;
  if (o.rootless) flags |= CLONE_NEWUSER;
  const keep = o.network === 'host' ? [...SENTRY_BOUNDING, ...HOST_NETWORK_CAPS] : SENTRY_BOUNDING;
  return [String(flags), capMask(keep), String(OPT_FORK), o.rootless ? `0 ${uid} 1` : '-', o.rootless ? `0 ${gid} 1` : '-'];
}

/** The hidden flag the launched Sentry carries (bin/runsc adds it). */
export const CONFINED_FLAG = '--sentry-confined';

/**
 * For a `do` started without bin/runsc: execve this same command line through
 * the launcher (a second Node start; bin/runsc avoids it).
 */
export function reexecConfined(o: ConfineOptions): never {
  const launcher = path.join(__dirname, 'launcher');
  const args = [launcher, ...launcherArgs(o, process.getuid!(), process.getgid!()), process.execPath, ...process.execArgv,
    process.argv[1]!, CONFINED_FLAG, ...process.argv.slice(2)];
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  libc.execve(launcher, [...args, null], [...env, null]);
  throw new SentryConfineError('execve', `${launcher}: errno ${libc.errno()}`);
}

// ---- stage 2 ----

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_REMOUNT = 0x20;
const MS_BIND = 0x1000;
const MNT_DETACH = 2;
const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const PR_GET_NO_NEW_PRIVS = 39;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

function check(r: number, step: string): void {
  if (r < 0) throw new SentryConfineError(step, `errno ${libc.errno()}`);
}

/** Stage 2; see the top of this file. `mountPoint` is any directory to build the new root on. */
export function confineSentry(needs: FilterNeeds, mountPoint = '/tmp'): void {
  if (process.pid !== 1) throw new SentryConfineError('namespaces', 'not pid 1 of a new PID namespace: was the launcher skipped?');
  if (libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) !== 1) throw new SentryConfineError('no_new_privs', 'not set');
  check(libc.mount('none', mountPoint, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=0555,size=16k'), `tmpfs on ${mountPoint}`);
  fs.mkdirSync(path.join(mountPoint, 'proc'));
  check(libc.mount('proc', path.join(mountPoint, 'proc'), 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, null), 'mount proc');
  check(libc.chdir(mountPoint), 'chdir');
  check(libc.pivotRoot('.', '.'), 'pivot_root');
  check(libc.umount2('.', MNT_DETACH), 'detach the old root');
  check(libc.chdir('/'), 'chdir /');
  check(libc.mount(null, '/', null, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null), 'read-only root');
  const keep = needs.hostNetwork ? HOST_NETWORK_CAPS : [];
  for (let c = 0; c < 64 && libc.prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++) {
    if (!keep.includes(c)) check(libc.prctl(PR_CAPBSET_DROP, c, 0, 0, 0), `drop capability ${c}`);
  }
  check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), 'clear ambient capabilities');
  const hdr = new Uint8Array(8);
  new DataView(hdr.buffer).setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  // struct __user_cap_data_struct[2]: effective, permitted, inheritable for capabilities 0-31, then 32-63.
  const data = new DataView(new ArrayBuffer(24));
  const mask = keep.reduce((m, c) => m | (1 << c), 0);
  data.setUint32(0, mask, true);
  data.setUint32(4, mask, true);
  check(libc.capset(hdr, new Uint8Array(data.buffer)), 'capset');
  check(libc.seccompSetFilter(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG, sentryFilter(needs)), 'seccomp');
}

/**
 * The host syscalls the Sentry may make once confined, each with why. The
 * list was measured (docs/security.md says how) over the test suite's
 * programs; the Sentry's own calls are in src/ffi/libc.ts, the rest are
 * Node's (V8, libuv, glibc).
 */
export const SENTRY_SYSCALLS: ReadonlyMap<number, string> = new Map([
  [0, 'read: 9P replies from the Gofer, host stdin, /proc files, libuv wakeups'],
  [1, 'write: 9P requests, host stdout/stderr, logs'],
  [3, 'close'],
  [5, 'fstat: Node and glibc on open fds'],
  [7, 'poll: is a host fd (stdio) ready, for the workload\'s reads and polls'],
  [8, 'lseek: host fds the workload seeks'],
  [9, 'mmap: V8 and glibc heaps, windows of the memory file'],
  [10, 'mprotect: V8 code pages, guard pages'],
  [11, 'munmap: V8 and glibc give memory back'],
  [12, 'brk: glibc malloc'],
  [13, 'rt_sigaction: Node\'s and glibc\'s signal handling'],
  [14, 'rt_sigprocmask: signal masks around Node\'s critical sections'],
  [15, 'rt_sigreturn: return from Node\'s signal handlers'],
  [16, 'ioctl: terminal ioctls the workload makes on host stdio (TCGETS, TIOCGWINSZ, ...); the KVM platform\'s /dev/kvm, VM and vCPU fds'],
  [17, 'pread64: positional reads of host fds'],
  [18, 'pwrite64: positional writes of host fds'],
  [24, 'sched_yield: V8\'s spin locks'],
  [25, 'mremap: glibc realloc of large blocks'],
  [27, 'mincore: fork copies only the resident pages of the memory file'],
  [28, 'madvise: V8 and glibc release memory'],
  [47, 'recvmsg: 9P replies, with the open host files the Gofer donates (SCM_RIGHTS)'],
  [51, 'getsockname: libuv tells what kind of fd stdio is'],
  [55, 'getsockopt: libuv tells what kind of fd stdio is (SO_TYPE)'],
  [39, 'getpid: Node (process.pid, for logs)'],
  [60, 'exit: a Node thread ends'],
  [61, 'wait4: the scheduler waits for the stubs\' stops'],
  [62, 'kill: SIGKILL to stubs'],
  [63, 'uname: Node\'s os module'],
  [72, 'fcntl: flags of host fds'],
  [74, 'fsync: pino\'s synchronous log destination'],
  [89, 'readlink: the names of host fds (/proc/self/fd) for the workload\'s /proc'],
  [96, 'gettimeofday: when the vDSO is not used'],
  [99, 'sysinfo: host memory figures for the workload\'s sysinfo and /proc'],
  [102, 'getuid: the workload\'s credentials start as runsc\'s'],
  [104, 'getgid: as getuid'],
  [107, 'geteuid: as getuid'],
  [108, 'getegid: as getuid'],
  [115, 'getgroups: as getuid'],
  [128, 'rt_sigtimedwait: the KVM platform takes its time-slice signal'],
  [131, 'sigaltstack: Node\'s threads'],
  [157, 'prctl: names of new threads (PR_SET_NAME)'],
  [186, 'gettid: glibc'],
  [202, 'futex: every lock and condition variable; Atomics.wait'],
  [204, 'sched_getaffinity: libuv sizes its thread pool'],
  [223, 'timer_settime: the KVM platform arms its time-slice timer'],
  [218, 'set_tid_address: new threads'],
  [219, 'restart_syscall: the kernel resumes a timed wait (poll, futex, epoll_wait) that a freeze (runsc pause) or a stop interrupted'],
  [228, 'clock_gettime: when the vDSO is not used'],
  [231, 'exit_group: the Sentry exits with the workload\'s status'],
  [232, 'epoll_wait: the host poller collects ready host fds (sentry/platform/hostpoll.ts)'],
  [233, 'epoll_ctl: libuv\'s event loop; the host poller adds and removes host fds'],
  [257, 'openat: /proc files of the Sentry\'s own PID namespace (stub CPU times, host stdio reopened through /proc/self/fd); the root is an empty read-only tmpfs'],
  [262, 'newfstatat: stat of donated host files (AT_EMPTY_PATH)'],
  [273, 'set_robust_list: new threads'],
  [281, 'epoll_pwait: libuv\'s event loop'],
  [285, 'fallocate: freed workload memory goes back to the host (PUNCH_HOLE)'],
  [286, 'timerfd_settime: the host poller\'s timerfd at the next timer deadline (the waker waits on it)'],
  [318, 'getrandom: V8\'s and Node\'s random seeds'],
  [324, 'membarrier: V8'],
  [332, 'statx: Node\'s fstat'],
  [334, 'rseq: glibc registers each new thread'],
]);

/**
 * Added with --network=host, where the workload's AF_INET and AF_INET6
 * sockets are host sockets (sentry/net/hostinet.ts). `socket` is allowed for
 * those two families only.
 */
export const HOST_NETWORK_SYSCALLS: ReadonlyMap<number, string> = new Map([
  [41, 'socket: a workload\'s inet socket, AF_INET and AF_INET6 only'],
  [42, 'connect: the workload connects a host socket'],
  [44, 'sendto: data and datagrams out'],
  [45, 'recvfrom: data and datagrams in'],
  [48, 'shutdown'],
  [49, 'bind'],
  [50, 'listen'],
  [52, 'getpeername'],
  [54, 'setsockopt: the workload\'s socket options, passed through'],
  [288, 'accept4: a host socket\'s connections'],
]);

/** Added in an OCI sandbox, which serves its control socket (runsc/control.ts; the listener is passed in). */
export const CONTROL_SYSCALLS: ReadonlyMap<number, string> = new Map([
  [288, 'accept4: connections of runsc start, kill, exec'],
  [46, 'sendmsg: answers on the control socket'],
  [54, 'setsockopt: receive timeouts on control connections (SO_RCVTIMEO)'],
  [234, 'tgkill: the control socket\'s watcher thread rings the Kernel\'s doorbell (runsc/control.ts)'],
]);

/** What a confined Sentry needs besides SENTRY_SYSCALLS. */
export interface FilterNeeds {
  hostNetwork?: boolean;
  control?: boolean;
}

const NR_SOCKET = 41;
const AF_INET = 2;
const AF_INET6 = 10;
const NR_PTRACE = 101;
/** Requests that would take a new tracee: stubs are seized before the filter, their forks are traced automatically. */
const PTRACE_NEW_TRACEE = [0 /* TRACEME */, 16 /* ATTACH */, 0x4206 /* SEIZE */];
const NR_CLONE = 56;
const NR_CLONE3 = 435;
const ENOSYS = 38;

/**
 * SENTRY_SYSCALLS as a filter (with the lists needs adds), plus ptrace on
 * existing tracees, clone for threads only, and clone3 refused (ENOSYS:
 * glibc then uses clone).
 */
export function sentryFilter(needs: FilterNeeds = {}): Uint8Array {
  const allowed = new Set(SENTRY_SYSCALLS.keys());
  if (needs.hostNetwork) for (const nr of HOST_NETWORK_SYSCALLS.keys()) if (nr !== NR_SOCKET) allowed.add(nr);
  if (needs.control) for (const nr of CONTROL_SYSCALLS.keys()) allowed.add(nr);
  const p = new Bpf().load(DATA_ARCH).jeq(AUDIT_ARCH_X86_64, null, 'kill').load(DATA_NR);
  for (const nr of allowed) p.jeq(nr, 'allow');
  if (needs.hostNetwork) p.jeq(NR_SOCKET, 'socket');
  p.jeq(NR_PTRACE, 'ptrace');
  p.jeq(NR_CLONE3, 'nosys');
  p.jeq(NR_CLONE, null, 'kill');
  // A new thread only: no new process (that could exec), no namespaces.
  p.load(dataArg(0)).jset(CLONE_THREAD, null, 'kill').jset(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET, 'kill', 'allow');
  // ptrace: the ptrace platform, on the stubs it already traces.
  p.label('ptrace').load(dataArg(0));
  for (const req of PTRACE_NEW_TRACEE) p.jeq(req, 'kill');
  p.jeq(0, 'allow', 'allow');
  if (needs.hostNetwork) p.label('socket').load(dataArg(0)).jeq(AF_INET, 'allow').jeq(AF_INET6, 'allow', 'kill');
  return p.label('allow').ret(SECCOMP_RET_ALLOW)
    .label('nosys').ret(SECCOMP_RET_ERRNO | ENOSYS)
    .label('kill').ret(SECCOMP_RET_KILL_PROCESS)
    .assemble();
}
