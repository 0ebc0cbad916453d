// futex(2): the blocking half of every userspace lock, condition variable and
// thread join, and the priority-inheritance locks (sentry/kernel/futex_pi.ts).
// Timeouts: relative CLOCK_MONOTONIC for FUTEX_WAIT; absolute, CLOCK_MONOTONIC
// or with FUTEX_CLOCK_REALTIME CLOCK_REALTIME, for WAIT_BITSET, LOCK_PI2 and
// WAIT_REQUEUE_PI; absolute CLOCK_REALTIME for LOCK_PI.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, EAGAIN, ETIMEDOUT, ENOSYS, EINTR, ESRCH } from '../../src/abi/errno';
import {
  FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET,
  FUTEX_CLOCK_REALTIME, FUTEX_PRIVATE_FLAG, FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI,
  FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_WAITERS,
} from '../../src/abi/linux';
import { futexWord } from '../../sentry/kernel/futex_pi';
import { Timespec } from '../../src/abi/layout';

const NS = 1_000_000_000n;
/** sizeof(struct robust_list_head). */
const ROBUST_LIST_HEAD_SIZE = 24;

/** The futex key of a user address: its memory-file offset, or -EFAULT. */
function keyOf(t: Task, addr: number): number {
  if (addr % 4 !== 0) return -EINVAL;
  const off = t.mm.translate(addr);
  return off === null ? -EFAULT : off;
}

/** A timeout argument as a CLOCK_MONOTONIC deadline (undefined: none), or -errno. */
function deadlineOf(t: Task, timeoutAddr: number, absolute: boolean, realtime: boolean): bigint | undefined | number {
  if (!timeoutAddr) return undefined;
  const raw = t.mm.read(timeoutAddr, Timespec.size);
  if (!raw) return -EFAULT;
  const ts = Timespec.decodeBig(raw);
  if (ts.tv_sec < 0n || ts.tv_nsec < 0n || ts.tv_nsec >= NS) return -EINVAL;
  const ns = ts.tv_sec * NS + ts.tv_nsec;
  const now = t.kernel.monotonicNs();
  return absolute ? (realtime ? now + (ns - t.kernel.realtimeNs()) : ns) : now + ns;
}

async function wait(t: Task, addr: number, val: number, timeoutAddr: number, bitset: number, absolute: boolean, realtime: boolean): Promise<number> {
  const key = keyOf(t, addr);
  if (key < 0) return key;
  const deadline = deadlineOf(t, timeoutAddr, absolute, realtime);
  if (typeof deadline === 'number') return deadline;
  const cur = t.mm.readU32(addr);
  if (cur === null) return -EFAULT;
  if (cur !== val >>> 0) return -EAGAIN;
  const w = t.kernel.futexes.enqueue(key, bitset);
  const r = await t.waitFor(() => w.woken, [w.queue], deadline);
  if (w.woken) return 0;
  t.kernel.futexes.dequeue(w);
  return r === -ETIMEDOUT ? -ETIMEDOUT : -EINTR;
}

/** FUTEX_LOCK_PI and LOCK_PI2: LOCK_PI's timeout is on CLOCK_REALTIME whatever the flags. */
function lockPi(t: Task, addr: number, timeoutAddr: number, realtime: boolean): number | Promise<number> {
  const w = futexWord(t, addr);
  if (typeof w === 'number') return w;
  const deadline = deadlineOf(t, timeoutAddr, true, realtime);
  if (typeof deadline === 'number') return deadline;
  return t.kernel.piFutexes.lock(t, w, deadline);
}

/** FUTEX_WAIT_REQUEUE_PI: waits on addr until FUTEX_CMP_REQUEUE_PI hands over (or queues for) the PI lock at addr2. */
async function waitRequeuePi(t: Task, addr: number, val: number, timeoutAddr: number, addr2: number, realtime: boolean): Promise<number> {
  const key = keyOf(t, addr);
  if (key < 0) return key;
  const w2 = futexWord(t, addr2);
  if (typeof w2 === 'number') return w2;
  if (w2.key === key) return -EINVAL;
  const deadline = deadlineOf(t, timeoutAddr, true, realtime);
  if (typeof deadline === 'number') return deadline;
  const cur = t.mm.readU32(addr);
  if (cur === null) return -EFAULT;
  if (cur !== val >>> 0) return -EAGAIN;
  const f = t.kernel.futexes;
  const w = f.enqueue(key, 0xffffffff);
  w.requeuePiTo = { key: w2.key, tid: t.tid };
  const r = await t.waitFor(() => w.woken, [w.queue], deadline);
  if (!w.woken) {
    f.dequeue(w);
    return r;
  }
  // Woken by a plain FUTEX_WAKE rather than a requeue.
  if (!w.pi) return -EAGAIN;
  return t.kernel.piFutexes.await(t, w2.key, w.pi, deadline);
}

/**
 * FUTEX_CMP_REQUEUE_PI: if *addr is still val3, the first waiter on addr
 * takes the PI lock at addr2 if it is free, and waiters (up to nrRequeue
 * more) move to the lock's queue. Returns how many were woken or moved.
 */
function cmpRequeuePi(t: Task, addr: number, nrWake: number, nrRequeue: number, addr2: number, val3: number): number {
  const key = keyOf(t, addr);
  if (key < 0) return key;
  const w2 = futexWord(t, addr2);
  if (typeof w2 === 'number') return w2;
  if (nrWake !== 1 || w2.key === key || nrRequeue < 0) return -EINVAL;
  const cur = t.mm.readU32(addr);
  if (cur === null) return -EFAULT;
  if (cur !== val3 >>> 0) return -EAGAIN;
  const f = t.kernel.futexes;
  const pi = t.kernel.piFutexes;
  const waiters = f.waitersOn(key);
  if (waiters.some((w) => w.requeuePiTo?.key !== w2.key)) return -EINVAL;
  const moving = waiters.slice(0, 1 + nrRequeue);
  let done = 0;
  for (const [i, w] of moving.entries()) {
    if (i === 0) {
      const got = pi.tryAcquire(w2, w.requeuePiTo!.tid);
      if (got < 0) return got;
      if (got === 1) {
        w.pi = { tid: 0, acquired: true, queue: w.queue };
        f.dequeue(w);
        w.woken = true;
        w.queue.notify();
        done++;
        continue;
      }
      if (nrRequeue === 0) break;
    }
    w.pi = pi.enqueue(w2.key, w.requeuePiTo!.tid);
    Atomics.or(w2.cell, 0, FUTEX_WAITERS | 0);
    f.dequeue(w);
    w.woken = true;
    w.queue.notify();
    done++;
  }
  return done;
}

/** FUTEX_WAKE_OP's operation on *uaddr2; returns the old value or -EFAULT. */
function wakeOp(t: Task, addr2: number, encoded: number): { old: number; cmp: boolean } | number {
  const op = (encoded >>> 28) & 7;
  const cmp = (encoded >>> 24) & 15;
  let oparg = (encoded << 8) >> 20;
  const cmparg = (encoded << 20) >> 20;
  if ((encoded >>> 28) & 8) oparg = 1 << (oparg & 31);
  const old = t.mm.readU32(addr2);
  if (old === null) return -EFAULT;
  const next = [oparg, old + oparg, old | oparg, old & ~oparg, old ^ oparg][op];
  if (next === undefined) return -ENOSYS;
  if (!t.mm.writeU32(addr2, next >>> 0)) return -EFAULT;
  const o = old | 0;
  const c = [o === cmparg, o !== cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg][cmp];
  if (c === undefined) return -ENOSYS;
  return { old, cmp: c };
}

function futex(t: Task, a: SyscallArgs): number | Promise<number> {
  const addr = a.u64(0);
  const op = a.int(1);
  const val = a.uint(2);
  const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  const realtime = (op & FUTEX_CLOCK_REALTIME) !== 0;
  const f = t.kernel.futexes;
  switch (cmd) {
    case FUTEX_WAIT:
      if (realtime) return -ENOSYS;
      return wait(t, addr, val, a.u64(3), 0xffffffff, false, false);
    case FUTEX_WAIT_BITSET:
      if (a.uint(5) === 0) return -EINVAL;
      return wait(t, addr, val, a.u64(3), a.uint(5), true, realtime);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      const bitset = cmd === FUTEX_WAKE ? 0xffffffff : a.uint(5);
      if (bitset === 0) return -EINVAL;
      const key = keyOf(t, addr);
      return key < 0 ? key : f.wake(key, val, bitset);
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      const key = keyOf(t, addr);
      const key2 = keyOf(t, a.u64(4));
      if (key < 0) return key;
      if (key2 < 0) return key2;
      if (cmd === FUTEX_CMP_REQUEUE) {
        const cur = t.mm.readU32(addr);
        if (cur === null) return -EFAULT;
        if (cur !== a.uint(5)) return -EAGAIN;
      }
      return f.requeue(key, key2, val, a.uint(3));
    }
    case FUTEX_WAKE_OP: {
      const key = keyOf(t, addr);
      const key2 = keyOf(t, a.u64(4));
      if (key < 0) return key;
      if (key2 < 0) return key2;
      const r = wakeOp(t, a.u64(4), a.uint(5));
      if (typeof r === 'number') return r;
      return f.wake(key, val) + (r.cmp ? f.wake(key2, a.uint(3)) : 0);
    }
    case FUTEX_LOCK_PI:
      return lockPi(t, addr, a.u64(3), true);
    case FUTEX_LOCK_PI2:
      return lockPi(t, addr, a.u64(3), realtime);
    case FUTEX_TRYLOCK_PI:
    case FUTEX_UNLOCK_PI: {
      const w = futexWord(t, addr);
      if (typeof w === 'number') return w;
      return cmd === FUTEX_TRYLOCK_PI ? t.kernel.piFutexes.trylock(w, t.tid) : t.kernel.piFutexes.unlock(w, t.tid);
    }
    case FUTEX_WAIT_REQUEUE_PI:
      return waitRequeuePi(t, addr, val, a.u64(3), a.u64(4), realtime);
    case FUTEX_CMP_REQUEUE_PI:
      return cmpRequeuePi(t, addr, val, a.int(3), a.u64(4), a.uint(5));
    default:
      return -ENOSYS;
  }
}

/** set_robust_list: remembered, and walked when the thread exits (sentry/kernel/futex_pi.ts). */
function setRobustList(t: Task, a: SyscallArgs): number {
  if (a.u64(1) !== ROBUST_LIST_HEAD_SIZE) return -EINVAL;
  t.robustList = a.u64(0);
  return 0;
}

function getRobustList(t: Task, a: SyscallArgs): number {
  const pid = a.int(0);
  const target = pid === 0 ? t : t.kernel.taskByTid(pid);
  if (!target) return -ESRCH;
  if (!t.mm.writeU64(a.u64(1), BigInt(target.robustList))) return -EFAULT;
  return t.mm.writeU64(a.u64(2), BigInt(ROBUST_LIST_HEAD_SIZE)) ? 0 : -EFAULT;
}

export const futexRows: SyscallRow[] = [
  { nr: SYS.futex, name: 'futex', handler: futex, args: ['ptr', 'hex', 'int', 'ptr', 'ptr', 'hex'], support: 'partial', note: 'Every operation but FUTEX_FD (ENOSYS, as on Linux since 2.6.26); PI locks are handed over in arrival order (no priorities to inherit).' },
  { nr: SYS.set_robust_list, name: 'set_robust_list', handler: setRobustList, args: ['ptr', 'size'], support: 'full' },
  { nr: SYS.get_robust_list, name: 'get_robust_list', handler: getRobustList, args: ['pid', 'ptr', 'ptr'], support: 'full' },
];
