// Scheduling: policies, priorities, nice values and CPU affinity, kept per
// thread and reported back as Linux would. The Sentry runs every workload
// thread on one host CPU with the host's own scheduler, so these settings
// change no timing; they are validated and permission-checked (raising
// priority or a real-time policy needs CAP_SYS_NICE) like Linux's.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, EPERM, ESRCH, E2BIG, EACCES } from '../../src/abi/errno';
import { SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_RESET_ON_FORK } from '../../src/abi/linux';
import { CAP_SYS_NICE, capable } from '../../sentry/kernel/caps';
import { CPUS } from '../../sentry/kernel/machine';

const PRIO_PROCESS = 0;
const PRIO_PGRP = 1;
const PRIO_USER = 2;
/** Linux's SCHED_RR time slice. */
const RR_INTERVAL_NS = 100_000_000n;
const SCHED_ATTR_SIZE_VER0 = 48;
const SCHED_FLAG_RESET_ON_FORK = 1;

/** A thread's scheduling settings. */
export interface SchedState {
  policy: number;
  priority: number;
  nice: number;
  resetOnFork: boolean;
  /** Allowed CPUs as a bitmask over the sandbox's CPUs. */
  affinity: number;
}

const states = new WeakMap<Task, SchedState>();

export function schedOf(t: Task): SchedState {
  let s = states.get(t);
  if (!s) states.set(t, (s = { policy: SCHED_NORMAL, priority: 0, nice: 0, resetOnFork: false, affinity: (1 << CPUS) - 1 }));
  return s;
}

/** A new thread or process inherits its creator's settings (reset to normal ones with SCHED_RESET_ON_FORK). */
export function inheritSched(parent: Task, child: Task): void {
  const p = schedOf(parent);
  const s = { ...p };
  if (p.resetOnFork) {
    if (s.policy === SCHED_FIFO || s.policy === SCHED_RR) s.policy = SCHED_NORMAL;
    s.priority = 0;
    if (s.nice < 0) s.nice = 0;
    s.resetOnFork = false;
  }
  states.set(child, s);
}

const realtime = (policy: number) => policy === SCHED_FIFO || policy === SCHED_RR;
const validPolicy = (policy: number) => [SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE].includes(policy);

function target(t: Task, pid: number): Task | number {
  if (pid < 0) return -EINVAL;
  if (pid === 0) return t;
  return t.kernel.taskByTid(pid) ?? -ESRCH;
}

/** Applies a policy and priority change, or returns why not. */
function setPolicy(t: Task, who: Task, policy: number, priority: number, resetOnFork: boolean, nice?: number): number {
  if (!validPolicy(policy)) return -EINVAL;
  if (realtime(policy) ? priority < 1 || priority > 99 : priority !== 0) return -EINVAL;
  const s = schedOf(who);
  const privileged = capable(t.creds, CAP_SYS_NICE);
  if (!privileged) {
    if (realtime(policy) && (!realtime(s.policy) || priority > s.priority)) return -EPERM;
    if (s.resetOnFork && !resetOnFork) return -EPERM;
    if (nice !== undefined && nice < s.nice) return -EPERM;
    if (who.creds.uid !== t.creds.euid && who.creds.euid !== t.creds.euid) return -EPERM;
  }
  s.policy = policy;
  s.priority = priority;
  s.resetOnFork = resetOnFork;
  if (nice !== undefined) s.nice = nice;
  return 0;
}

function schedSetscheduler(t: Task, a: SyscallArgs): number {
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  if (!a.u64(2)) return -EINVAL;
  const prio = t.mm.readU32(a.u64(2));
  if (prio === null) return -EFAULT;
  const policy = a.int(1);
  return setPolicy(t, who, policy & ~SCHED_RESET_ON_FORK, prio | 0, (policy & SCHED_RESET_ON_FORK) !== 0);
}

function schedSetparam(t: Task, a: SyscallArgs): number {
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  if (!a.u64(1)) return -EINVAL;
  const prio = t.mm.readU32(a.u64(1));
  if (prio === null) return -EFAULT;
  const s = schedOf(who);
  return setPolicy(t, who, s.policy, prio | 0, s.resetOnFork);
}

function schedGetscheduler(t: Task, a: SyscallArgs): number {
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  const s = schedOf(who);
  return s.policy | (s.resetOnFork ? SCHED_RESET_ON_FORK : 0);
}

function schedGetparam(t: Task, a: SyscallArgs): number {
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  if (!a.u64(1)) return -EINVAL;
  return t.mm.writeU32(a.u64(1), schedOf(who).priority) ? 0 : -EFAULT;
}

function priorityLimit(policy: number, max: boolean): number {
  if (realtime(policy)) return max ? 99 : 1;
  return validPolicy(policy) ? 0 : -EINVAL;
}

function schedRrGetInterval(t: Task, a: SyscallArgs): number {
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  // Linux reports 0 for FIFO, and for normal tasks a slice shorter than a tick.
  const ns = schedOf(who).policy === SCHED_RR ? RR_INTERVAL_NS : 0n;
  const ts = new DataView(new ArrayBuffer(16));
  ts.setBigInt64(0, ns / 1_000_000_000n, true);
  ts.setBigInt64(8, ns % 1_000_000_000n, true);
  return t.mm.write(a.u64(1), new Uint8Array(ts.buffer)) ? 0 : -EFAULT;
}

/** struct sched_attr (version 0): size, policy, flags, nice, priority, then deadline fields. */
function schedSetattr(t: Task, a: SyscallArgs): number {
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  if (a.uint(2) !== 0 || !a.u64(1)) return -EINVAL;
  const raw = t.mm.read(a.u64(1), SCHED_ATTR_SIZE_VER0);
  if (!raw) return -EFAULT;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const size = dv.getUint32(0, true);
  if (size !== 0 && size < SCHED_ATTR_SIZE_VER0) {
    t.mm.writeU32(a.u64(1), SCHED_ATTR_SIZE_VER0);
    return -E2BIG;
  }
  const flags = Number(dv.getBigUint64(8, true));
  if (flags & ~SCHED_FLAG_RESET_ON_FORK) return -EINVAL;
  const nice = dv.getInt32(16, true);
  if (nice < -20 || nice > 19) return -EINVAL;
  return setPolicy(t, who, dv.getUint32(4, true), dv.getUint32(20, true) | 0, (flags & SCHED_FLAG_RESET_ON_FORK) !== 0, nice);
}

function schedGetattr(t: Task, a: SyscallArgs): number {
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  const size = a.uint(2);
  if (!a.u64(1) || size < SCHED_ATTR_SIZE_VER0 || size > 4096 || a.uint(3) !== 0) return -EINVAL;
  const s = schedOf(who);
  const out = new DataView(new ArrayBuffer(SCHED_ATTR_SIZE_VER0));
  out.setUint32(0, SCHED_ATTR_SIZE_VER0, true);
  out.setUint32(4, s.policy, true);
  out.setBigUint64(8, s.resetOnFork ? 1n : 0n, true);
  out.setInt32(16, realtime(s.policy) ? 0 : s.nice, true);
  out.setUint32(20, s.priority, true);
  return t.mm.write(a.u64(1), new Uint8Array(out.buffer)) ? 0 : -EFAULT;
}

function schedSetaffinity(t: Task, a: SyscallArgs): number {
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  const len = Math.min(a.u64(1), 128);
  const raw = t.mm.read(a.u64(2), len);
  if (!raw) return -EFAULT;
  const mask = (raw[0] ?? 0) & ((1 << CPUS) - 1);
  if (mask === 0) return -EINVAL;
  schedOf(who).affinity = mask;
  return 0;
}

function schedGetaffinity(t: Task, a: SyscallArgs): number {
  const len = a.u64(1);
  if (len < 8 || len % 8 !== 0) return -EINVAL;
  const who = target(t, a.int(0));
  if (typeof who === 'number') return who;
  const mask = new Uint8Array(8);
  mask[0] = schedOf(who).affinity;
  return t.mm.write(a.u64(2), mask) ? 8 : -EFAULT;
}

/** The tasks getpriority/setpriority's which and who name. */
function priorityTargets(t: Task, which: number, who: number): Task[] | number {
  const all = [...t.kernel.processes.values()].filter((p) => !p.zombie);
  switch (which) {
    case PRIO_PROCESS: {
      if (who === 0) return [t];
      const o = t.kernel.taskByTid(who);
      return o ? [o] : [];
    }
    case PRIO_PGRP: {
      const pgid = who === 0 ? t.proc.pgid : who;
      return all.filter((p) => p.pgid === pgid).flatMap((p) => [...p.tasks]);
    }
    case PRIO_USER: {
      const uid = who === 0 ? t.creds.uid : who;
      return all.flatMap((p) => [...p.tasks]).filter((o) => o.creds.uid === uid);
    }
    default:
      return -EINVAL;
  }
}

/** getpriority: 20 - the lowest nice value among the targets (the raw syscall's biased result). */
function getpriority(t: Task, a: SyscallArgs): number {
  const targets = priorityTargets(t, a.int(0), a.int(1));
  if (typeof targets === 'number') return targets;
  if (targets.length === 0) return -ESRCH;
  return 20 - Math.min(...targets.map((o) => schedOf(o).nice));
}

function setpriority(t: Task, a: SyscallArgs): number {
  const targets = priorityTargets(t, a.int(0), a.int(1));
  if (typeof targets === 'number') return targets;
  if (targets.length === 0) return -ESRCH;
  const nice = Math.max(-20, Math.min(19, a.int(2)));
  for (const o of targets) {
    if (t.creds.uid !== o.creds.euid && t.creds.euid !== o.creds.euid && !capable(t.creds, CAP_SYS_NICE)) return -EPERM;
    // Lowering a nice value takes CAP_SYS_NICE (RLIMIT_NICE is 0).
    if (nice < schedOf(o).nice && !capable(t.creds, CAP_SYS_NICE)) return -EACCES;
  }
  for (const o of targets) schedOf(o).nice = nice;
  return 0;
}

export const schedRows: SyscallRow[] = [
  { nr: SYS.sched_yield, name: 'sched_yield', handler: () => 0, args: [], support: 'full' },
  { nr: SYS.getpriority, name: 'getpriority', handler: getpriority, args: ['int', 'int'], support: 'full' },
  { nr: SYS.setpriority, name: 'setpriority', handler: setpriority, args: ['int', 'int', 'int'], support: 'full' },
  { nr: SYS.sched_setparam, name: 'sched_setparam', handler: schedSetparam, args: ['pid', 'ptr'], support: 'full' },
  { nr: SYS.sched_getparam, name: 'sched_getparam', handler: schedGetparam, args: ['pid', 'ptr'], support: 'full' },
  { nr: SYS.sched_setscheduler, name: 'sched_setscheduler', handler: schedSetscheduler, args: ['pid', 'int', 'ptr'], support: 'full' },
  { nr: SYS.sched_getscheduler, name: 'sched_getscheduler', handler: schedGetscheduler, args: ['pid'], support: 'full' },
  { nr: SYS.sched_get_priority_max, name: 'sched_get_priority_max', handler: (_t, a) => priorityLimit(a.int(0), true), args: ['int'], support: 'full' },
  { nr: SYS.sched_get_priority_min, name: 'sched_get_priority_min', handler: (_t, a) => priorityLimit(a.int(0), false), args: ['int'], support: 'full' },
  { nr: SYS.sched_rr_get_interval, name: 'sched_rr_get_interval', handler: schedRrGetInterval, args: ['pid', 'ptr'], support: 'full' },
  { nr: SYS.sched_setaffinity, name: 'sched_setaffinity', handler: schedSetaffinity, args: ['pid', 'size', 'ptr'], support: 'partial', note: 'The sandbox has one CPU; a mask without it is EINVAL.' },
  { nr: SYS.sched_getaffinity, name: 'sched_getaffinity', handler: schedGetaffinity, args: ['pid', 'size', 'ptr'], support: 'partial', note: 'The sandbox has one CPU.' },
  { nr: SYS.sched_setattr, name: 'sched_setattr', handler: schedSetattr, args: ['pid', 'ptr', 'hex'], support: 'partial', note: 'SCHED_DEADLINE and utilization clamping are EINVAL.' },
  { nr: SYS.sched_getattr, name: 'sched_getattr', handler: schedGetattr, args: ['pid', 'ptr', 'size', 'hex'], support: 'full' },
];
