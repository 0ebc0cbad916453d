// Processes: identity, creation (fork, vfork, clone of processes), execve,
// exit, wait, and sending signals.
import { inheritOomScoreAdj } from '../../sentry/kernel/oom';
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { Task as TaskClass, copyCredentials } from '../../sentry/kernel/task';
import { Process } from '../../sentry/kernel/process';
import { exitedStatus } from '../../sentry/kernel/kernel';
import { R } from '../../sentry/platform/regs';
import type { Context } from '../../sentry/platform/platform';
import type { AddressSpace } from '../../sentry/mm/address-space';
import { EXITED, KEEP_REGS } from '../table';
import { SYS } from '../../src/abi/sysno';
import {
  EINVAL, ESRCH, EFAULT, EPERM, E2BIG, EAGAIN,
} from '../../src/abi/errno';
import {
  CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_PARENT_SETTID,
  CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID, CLONE_SETTLS, CLONE_PARENT, CSIGNAL, CLONE_SYSVSEM,
  SIGCHLD, NSIG, RLIMIT_NPROC,
} from '../../src/abi/linux';
import { wait4, waitid } from './wait';
import { inheritSched } from './sched';
import { CAP_SYS_ADMIN, CAP_SYS_RESOURCE, capable } from '../../sentry/kernel/caps';
import { watchCpuLimit } from '../../sentry/kernel/cputimers';

const MAX_ARG_STRINGS = 0x7fffffff;
const MAX_ARGS_BYTES = 2 << 20;
/** Clone flags this implementation honours; any other is refused with EINVAL rather than ignored. */
const SUPPORTED_CLONE = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_VFORK | CLONE_PARENT_SETTID |
  CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS | CLONE_PARENT | CSIGNAL;

/** Reads a NULL-terminated array of string pointers (argv, envp). */
function readStrings(t: Task, addr: number): string[] | number {
  const out: string[] = [];
  if (addr === 0) return out;
  let bytes = 0;
  for (let i = 0; i < MAX_ARG_STRINGS; i++) {
    const p = t.mm.readU64(addr + i * 8);
    if (p === null) return -EFAULT;
    if (p === 0n) return out;
    const s = t.mm.readCString(Number(p), MAX_ARGS_BYTES);
    if (s === null) return -EFAULT;
    if (s === undefined) return -E2BIG;
    bytes += s.length + 1;
    if (bytes > MAX_ARGS_BYTES) return -E2BIG;
    out.push(s);
  }
  return -E2BIG;
}

function execve(t: Task, a: SyscallArgs): number {
  const path = t.readPath(a.u64(0));
  if (typeof path === 'number') return path;
  const argv = readStrings(t, a.u64(1));
  if (typeof argv === 'number') return argv;
  const envp = readStrings(t, a.u64(2));
  if (typeof envp === 'number') return envp;
  const r = t.kernel.dispatcher.exec(t, path, argv, envp);
  if (r === KEEP_REGS) t.stub.regs.set(R.rax, 0);
  return r;
}

interface CloneArgs { flags: number; stack: number; parentTid: number; childTid: number; tls: number }

/**
 * The part of clone shared by threads and processes: the child task with the
 * parent's registers (rax 0, the new stack and TLS), the tid words, and its
 * first run.
 */
function startChild(t: Task, c: CloneArgs, tid: number, proc: Process, stub: Context, mm: AddressSpace): Task {
  const k = t.kernel;
  const child = new TaskClass(tid, k, proc, stub, mm, c.flags & CLONE_FILES ? t.fds : t.fds.fork(),
    c.flags & CLONE_FS ? t.fs : t.fs.clone(), copyCredentials(t.creds));
  child.sigmask = t.sigmask;
  child.noNewPrivs = t.noNewPrivs;
  inheritSched(t, child);
  const regs = stub.regs;
  regs.copyFrom(t.stub.regs);
  regs.set(R.rax, 0);
  if (c.stack) regs.set(R.rsp, c.stack);
  if (c.flags & CLONE_SETTLS) regs.set(R.fs_base, c.tls);
  stub.touchRegs();
  if (c.flags & CLONE_PARENT_SETTID) t.mm.writeU32(c.parentTid, tid);
  if (c.flags & CLONE_CHILD_SETTID) mm.writeU32(c.childTid, tid);
  if (c.flags & CLONE_CHILD_CLEARTID) child.clearChildTid = c.childTid;
  k.addTask(child);
  k.resume(child);
  return child;
}

/**
 * RLIMIT_NPROC: would another task (process or thread) of t's real user
 * pass it? Root and holders of CAP_SYS_RESOURCE or CAP_SYS_ADMIN are
 * exempt, as in Linux.
 */
function pastNprocLimit(t: Task): boolean {
  const uid = t.creds.uid;
  if (uid === 0 || capable(t.creds, CAP_SYS_RESOURCE) || capable(t.creds, CAP_SYS_ADMIN)) return false;
  let tasks = 0;
  for (const p of t.kernel.processes.values()) for (const o of p.tasks) if (o.creds.uid === uid) tasks++;
  return tasks >= t.proc.rlimits[RLIMIT_NPROC]![0];
}

/** Creates a thread in t's process: a host thread in the same stub process. */
function cloneThread(t: Task, c: CloneArgs): number {
  if (!(c.flags & CLONE_SIGHAND) || !(c.flags & CLONE_VM) || c.flags & CLONE_VFORK) return -EINVAL;
  if (pastNprocLimit(t)) return -EAGAIN;
  const k = t.kernel;
  const tid = k.allocPid();
  startChild(t, c, tid, t.proc, k.platform.newThread(t.stub), t.mm);
  return tid;
}

/** Creates a child process, or a thread with CLONE_THREAD. */
function cloneProcess(t: Task, flags: number, stack: number, parentTid: number, childTid: number, tls: number): number | Promise<number> {
  const c: CloneArgs = { flags, stack, parentTid, childTid, tls };
  if (flags & ~(SUPPORTED_CLONE | CLONE_THREAD | CLONE_SYSVSEM)) return -EINVAL;
  if (flags & CLONE_THREAD) return cloneThread(t, c);
  if (flags & CLONE_SIGHAND && !(flags & CLONE_VM)) return -EINVAL;
  const k = t.kernel;
  if (pastNprocLimit(t)) return -EAGAIN;
  // A CLONE_VM child (vfork, posix_spawn) is a host task in the parent's address space.
  const stub = flags & CLONE_VM ? k.platform.newSharingMemory(t.stub) : k.platform.newProcess();
  let mm: AddressSpace;
  try {
    mm = flags & CLONE_VM ? t.mm : t.mm.fork(stub);
  } catch (e) {
    // Out of memory copying the parent's: the child's stub goes too (ENOMEM, as Linux's fork).
    k.platform.discard(stub);
    stub.kill();
    throw e;
  }
  if (flags & CLONE_VM) mm.users++;
  const pid = k.allocPid();
  const parent = flags & CLONE_PARENT && t.proc.parent ? t.proc.parent : t.proc;
  const proc = new Process(pid, parent, t.proc.rlimits, k.monotonicNs());
  proc.pgid = t.proc.pgid;
  proc.sid = t.proc.sid;
  proc.comm = t.proc.comm;
  proc.dumpable = t.proc.dumpable;
  // The child runs the same image: /proc/[pid]/exe and cmdline stay until it execs.
  proc.exe = t.proc.exe?.incRef() ?? null;
  inheritOomScoreAdj(t.proc, proc);
  proc.argv = t.proc.argv;
  proc.envp = t.proc.envp;
  proc.actions = t.proc.forkActions();
  proc.exitSignal = flags & CSIGNAL;
  parent.children.add(proc);
  // An inherited RLIMIT_CPU applies to the child's own CPU time.
  watchCpuLimit(k, proc);
  const child = startChild(t, c, pid, proc, stub, mm);
  if (!(flags & CLONE_VFORK)) return pid;
  child.vforkParent = t;
  return t.waitFor(() => child.vforkParent === null, [proc.vforkDone]).then(() => pid);
}

function clone(t: Task, a: SyscallArgs): number | Promise<number> {
  // x86-64 argument order: flags, stack, parent_tid, child_tid, tls.
  return cloneProcess(t, a.u64(0), a.u64(1), a.u64(2), a.u64(3), a.u64(4));
}

const CLONE_ARGS_SIZE_VER0 = 64;
function clone3(t: Task, a: SyscallArgs): number | Promise<number> {
  const size = a.u64(1);
  if (size < CLONE_ARGS_SIZE_VER0 || size > 4096) return -EINVAL;
  const raw = t.mm.read(a.u64(0), CLONE_ARGS_SIZE_VER0);
  if (!raw) return -EFAULT;
  const dv = new DataView(raw.buffer);
  const f = (i: number) => Number(dv.getBigUint64(i * 8, true));
  // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls.
  const flags = f(0);
  if (flags & CSIGNAL || f(4) >= NSIG + 1) return -EINVAL;
  const stack = f(5) ? f(5) + f(6) : 0;
  return cloneProcess(t, flags | f(4), stack, f(3), f(2), f(7));
}

function exitGroup(t: Task, a: SyscallArgs): number {
  t.kernel.exitProcess(t.proc, exitedStatus(a.int(0)));
  return EXITED;
}

/** exit: the thread ends; the last thread's exit ends the process. */
function exit(t: Task, a: SyscallArgs): number {
  // CLONE_CHILD_CLEARTID: zero the tid word and wake a joiner.
  if (t.clearChildTid && t.mm.writeU32(t.clearChildTid, 0)) {
    const key = t.mm.translate(t.clearChildTid);
    if (key !== null) t.kernel.futexes.wake(key, 1);
  }
  t.kernel.exitTask(t, exitedStatus(a.int(0)));
  return EXITED;
}

/** Processes a kill(2) pid argument names, excluding zombies. */
function killTargets(t: Task, pid: number): Process[] {
  const all = [...t.kernel.processes.values()].filter((p) => !p.zombie);
  if (pid > 0) return all.filter((p) => p.pid === pid);
  if (pid === 0) return all.filter((p) => p.pgid === t.proc.pgid);
  if (pid === -1) return all.filter((p) => p.pid !== 1 && p !== t.proc);
  return all.filter((p) => p.pgid === -pid);
}

function kill(t: Task, a: SyscallArgs): number {
  const pid = a.int(0);
  const sig = a.int(1);
  if (sig < 0 || sig > NSIG) return -EINVAL;
  if (pid === -2147483648) return -ESRCH;
  const targets = killTargets(t, pid);
  if (targets.length === 0) return -ESRCH;
  if (sig === 0) return 0;
  for (const p of targets) t.kernel.signals.sendToProcess(p, sig, { signo: sig, code: 0, pid: t.pid, uid: t.creds.uid });
  return 0;
}

function signalThread(t: Task, tgid: number, tid: number, sig: number): number {
  if (sig < 0 || sig > NSIG || tid <= 0) return -EINVAL;
  const target = t.kernel.taskByTid(tid);
  if (!target || (tgid > 0 && target.pid !== tgid)) return -ESRCH;
  if (sig === 0) return 0;
  t.kernel.signals.sendToTask(target, sig, { signo: sig, code: -6 /* SI_TKILL */, pid: t.pid, uid: t.creds.uid });
  return 0;
}

const getpid = (t: Task) => t.pid;
const getppid = (t: Task) => t.proc.parent?.pid ?? 0;
const gettid = (t: Task) => t.tid;

function setTidAddress(t: Task, a: SyscallArgs): number {
  t.clearChildTid = a.u64(0);
  return t.tid;
}

function findProcess(t: Task, pid: number): Process | undefined {
  return pid === 0 ? t.proc : t.kernel.processes.get(pid);
}

function getpgid(t: Task, a: SyscallArgs): number {
  const p = findProcess(t, a.int(0));
  return p ? p.pgid : -ESRCH;
}

function setpgid(t: Task, a: SyscallArgs): number {
  const pid = a.int(0);
  const pgid = a.int(1);
  if (pgid < 0) return -EINVAL;
  const p = findProcess(t, pid);
  if (!p || (p !== t.proc && p.parent !== t.proc)) return -ESRCH;
  if (p.sid === p.pid) return -EPERM;
  const target = pgid === 0 ? p.pid : pgid;
  if (target !== p.pid && ![...t.kernel.processes.values()].some((q) => q.pgid === target && q.sid === p.sid)) return -EPERM;
  p.pgid = target;
  return 0;
}

function getsid(t: Task, a: SyscallArgs): number {
  const p = findProcess(t, a.int(0));
  return p ? p.sid : -ESRCH;
}

function setsid(t: Task): number {
  const p = t.proc;
  if ([...t.kernel.processes.values()].some((q) => q.pgid === p.pid)) return -EPERM;
  p.sid = p.pgid = p.pid;
  return p.pid;
}

export const processRows: SyscallRow[] = [
  { nr: SYS.getpid, name: 'getpid', handler: getpid, args: [], support: 'full' },
  { nr: SYS.getppid, name: 'getppid', handler: getppid, args: [], support: 'full' },
  { nr: SYS.gettid, name: 'gettid', handler: gettid, args: [], support: 'full' },
  { nr: SYS.set_tid_address, name: 'set_tid_address', handler: setTidAddress, args: ['ptr'], support: 'full' },
  { nr: SYS.fork, name: 'fork', handler: (t) => cloneProcess(t, SIGCHLD, 0, 0, 0, 0), args: [], support: 'full' },
  { nr: SYS.vfork, name: 'vfork', handler: (t) => cloneProcess(t, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0), args: [], support: 'full' },
  { nr: SYS.clone, name: 'clone', handler: clone, args: ['hex', 'ptr', 'ptr', 'ptr', 'ptr'], support: 'partial', note: 'Processes and threads; namespaces (CLONE_NEW*), CLONE_PIDFD and CLONE_PTRACE return EINVAL.' },
  { nr: SYS.clone3, name: 'clone3', handler: clone3, args: ['ptr', 'size'], support: 'partial', note: 'As clone.' },
  { nr: SYS.execve, name: 'execve', handler: execve, args: ['path', 'ptr', 'ptr'], support: 'full' },
  { nr: SYS.exit, name: 'exit', handler: exit, args: ['int'], support: 'full' },
  { nr: SYS.exit_group, name: 'exit_group', handler: exitGroup, args: ['int'], support: 'full' },
  { nr: SYS.wait4, name: 'wait4', handler: wait4, args: ['pid', 'ptr', 'hex', 'ptr'], support: 'partial', note: 'rusage has CPU times only.' },
  { nr: SYS.waitid, name: 'waitid', handler: waitid, args: ['int', 'int', 'ptr', 'hex', 'ptr'], support: 'full' },
  { nr: SYS.kill, name: 'kill', handler: kill, args: ['pid', 'signal'], support: 'full' },
  { nr: SYS.tkill, name: 'tkill', handler: (t, a) => signalThread(t, -1, a.int(0), a.int(1)), args: ['pid', 'signal'], support: 'full' },
  { nr: SYS.tgkill, name: 'tgkill', handler: (t, a) => signalThread(t, a.int(0), a.int(1), a.int(2)), args: ['pid', 'pid', 'signal'], support: 'full' },
  { nr: SYS.getpgid, name: 'getpgid', handler: getpgid, args: ['pid'], support: 'full' },
  { nr: SYS.setpgid, name: 'setpgid', handler: setpgid, args: ['pid', 'pid'], support: 'full' },
  { nr: SYS.getpgrp, name: 'getpgrp', handler: (t) => t.proc.pgid, args: [], support: 'full' },
  { nr: SYS.getsid, name: 'getsid', handler: getsid, args: ['pid'], support: 'full' },
  { nr: SYS.setsid, name: 'setsid', handler: setsid, args: [], support: 'full' },
];
