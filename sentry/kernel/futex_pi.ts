// Priority-inheritance futexes and robust lists.
//
// A PI futex word holds its owner's tid, FUTEX_WAITERS while threads wait in
// the kernel, and FUTEX_OWNER_DIED after an owner died holding it. Userspace
// takes and drops an uncontended lock itself (compare-and-swap 0 <-> tid);
// the kernel is asked only under contention. FUTEX_UNLOCK_PI hands the lock
// straight to the first waiter (this kernel has one CPU and no priorities to
// inherit, so waiters are served in arrival order). The word is changed
// with atomic compare-and-swap on the memory file, since workload threads
// run concurrently with the Sentry.
//
// Robust lists (set_robust_list): when a thread exits (or execs), each lock
// on its list that it still owns is marked FUTEX_OWNER_DIED and one waiter
// is woken, or, for a PI lock with waiters, handed the lock.
import type { Kernel } from './kernel';
import type { Task } from './task';
import { WaitQueue } from './waiter';
import { FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, PROT_WRITE } from '../../src/abi/linux';
import { EAGAIN, EDEADLK, EFAULT, EINVAL, EPERM, ESRCH } from '../../src/abi/errno';

/** A futex word in workload memory, for atomic access: its key and a one-element view. */
export interface FutexWord {
  key: number;
  cell: Int32Array;
}

/** The futex word at addr, writable, or -errno. */
export function futexWord(t: Task, addr: number): FutexWord | number {
  if (addr % 4 !== 0) return -EINVAL;
  const v = t.mm.find(addr);
  if (!v || v.pastEof) return -EFAULT;
  if (!(v.prot & PROT_WRITE)) return -EFAULT;
  const key = v.off + (addr - v.start);
  const bytes = t.mm.mf.viewOf(key, 4);
  if (!bytes) return -EFAULT;
  return { key, cell: new Int32Array(bytes.buffer, bytes.byteOffset, 1) };
}

const WAITERS = FUTEX_WAITERS | 0;
const OWNER_DIED = FUTEX_OWNER_DIED;

export interface PiWaiter {
  tid: number;
  /** Set when the lock has been handed to this waiter. */
  acquired: boolean;
  readonly queue: WaitQueue;
}

export class PiFutexes {
  private readonly waiters = new Map<number, PiWaiter[]>();

  constructor(private readonly kernel: Kernel) {}

  /**
   * Takes the lock for tid if it is free. Returns 1 if tid now holds it, 0
   * if another live thread does (FUTEX_WAITERS is then set, so its owner
   * will unlock through the kernel), or -errno.
   */
  tryAcquire(w: FutexWord, tid: number): number {
    for (;;) {
      const v = Atomics.load(w.cell, 0);
      const owner = v & FUTEX_TID_MASK;
      if (owner === 0) {
        const next = tid | (v & OWNER_DIED) | (this.waiters.has(w.key) ? WAITERS : 0);
        if (Atomics.compareExchange(w.cell, 0, v, next) === v) return 1;
        continue;
      }
      if (owner === tid) return -EDEADLK;
      const o = this.kernel.taskByTid(owner);
      if (!o || o.exited) return -ESRCH;
      if (v & WAITERS || Atomics.compareExchange(w.cell, 0, v, v | WAITERS) === v) return 0;
    }
  }

  /** FUTEX_TRYLOCK_PI. */
  trylock(w: FutexWord, tid: number): number {
    const r = this.tryAcquire(w, tid);
    return r === 1 ? 0 : r === 0 ? -EAGAIN : r;
  }

  /** FUTEX_LOCK_PI: takes the lock, waiting for it if need be. */
  async lock(t: Task, w: FutexWord, deadline: bigint | undefined): Promise<number> {
    const r = this.tryAcquire(w, t.tid);
    if (r !== 0) return r === 1 ? 0 : r;
    return this.await(t, w.key, this.enqueue(w.key, t.tid), deadline);
  }

  /** Queues tid for the lock at key (its word already has FUTEX_WAITERS). */
  enqueue(key: number, tid: number): PiWaiter {
    const waiter: PiWaiter = { tid, acquired: false, queue: new WaitQueue() };
    const list = this.waiters.get(key);
    if (list) list.push(waiter);
    else this.waiters.set(key, [waiter]);
    return waiter;
  }

  /** Waits until waiter is handed the lock (0), or gives up (-ETIMEDOUT, -EINTR). */
  async await(t: Task, key: number, waiter: PiWaiter, deadline: bigint | undefined): Promise<number> {
    const r = await t.waitFor(() => waiter.acquired, [waiter.queue], deadline);
    if (waiter.acquired) return 0;
    const list = this.waiters.get(key);
    const i = list?.indexOf(waiter) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list?.length === 0) this.waiters.delete(key);
    return r;
  }

  /** FUTEX_UNLOCK_PI: tid releases the lock, to the first waiter if there is one. */
  unlock(w: FutexWord, tid: number): number {
    if ((Atomics.load(w.cell, 0) & FUTEX_TID_MASK) !== tid) return -EPERM;
    this.release(w, 0);
    return 0;
  }

  /** Gives the lock to the first waiter (with extra bits), or frees it. */
  private release(w: FutexWord, extra: number): void {
    const list = this.waiters.get(w.key);
    const next = list?.shift();
    if (list?.length === 0) this.waiters.delete(w.key);
    if (next) {
      // As Linux: FUTEX_WAITERS stays set while the lock has been contended.
      Atomics.store(w.cell, 0, next.tid | WAITERS | extra);
      next.acquired = true;
      next.queue.notify();
    } else {
      Atomics.store(w.cell, 0, extra);
    }
  }

  /**
   * The robust-list death of a lock that tid owns (word checked by the
   * caller): a PI lock with waiters goes to the first of them, marked
   * FUTEX_OWNER_DIED. Returns true if a waiter took it.
   */
  ownerDied(w: FutexWord): boolean {
    if (!this.waiters.has(w.key)) return false;
    this.release(w, OWNER_DIED);
    return true;
  }
}

const ROBUST_LIST_LIMIT = 2048;

/**
 * Walks t's robust list as t exits: struct robust_list_head { next,
 * futex_offset, list_op_pending }; each entry's lock word lies at
 * entry + futex_offset, and bit 0 of an entry pointer marks a PI lock.
 */
export function exitRobustList(t: Task): void {
  const head = t.robustList;
  if (!head) return;
  t.robustList = 0;
  const next = t.mm.readU64(head);
  const offset = t.mm.readU64(head + 8);
  const pending = t.mm.readU64(head + 16);
  if (next === null || offset === null || pending === null) return;
  const off = Number(BigInt.asIntN(64, offset));
  let entry = next;
  for (let n = 0; entry !== BigInt(head) && n < ROBUST_LIST_LIMIT; n++) {
    const addr = Number(entry & ~1n);
    const following = t.mm.readU64(addr);
    if (following === null) return;
    if (entry !== pending) lockDied(t, addr + off, (entry & 1n) !== 0n);
    entry = following;
  }
  if (pending) lockDied(t, Number(pending & ~1n) + off, (pending & 1n) !== 0n);
}

/** A lock t held when it died: mark it, and let a waiter have it. */
function lockDied(t: Task, addr: number, pi: boolean): void {
  const w = futexWord(t, addr);
  if (typeof w === 'number') return;
  const k = t.kernel;
  for (;;) {
    const v = Atomics.load(w.cell, 0);
    if ((v & FUTEX_TID_MASK) !== t.tid) return;
    if (pi && k.piFutexes.ownerDied(w)) return;
    if (Atomics.compareExchange(w.cell, 0, v, (v & WAITERS) | OWNER_DIED) !== v) continue;
    if (!pi && v & WAITERS) k.futexes.wake(w.key, 1);
    return;
  }
}
