// Futexes: wait queues keyed by the memory-file offset of the futex word, so
// that private and shared mappings of the same page meet at the same key.
import { WaitQueue } from './waiter';
import type { PiWaiter } from './futex_pi';

export interface FutexWaiter {
  key: number;
  bitset: number;
  woken: boolean;
  readonly queue: WaitQueue;
  /** FUTEX_WAIT_REQUEUE_PI: the PI futex this waiter may be requeued to, and the waiting thread. */
  requeuePiTo?: { key: number; tid: number };
  /** Set when FUTEX_CMP_REQUEUE_PI moved the waiter: its place in the PI futex's queue. */
  pi?: PiWaiter;
}

export class Futexes {
  private readonly waiters = new Map<number, FutexWaiter[]>();

  enqueue(key: number, bitset: number): FutexWaiter {
    const w: FutexWaiter = { key, bitset, woken: false, queue: new WaitQueue() };
    const list = this.waiters.get(key);
    if (list) list.push(w);
    else this.waiters.set(key, [w]);
    return w;
  }

  /** Removes a waiter that gave up (timeout, signal). */
  dequeue(w: FutexWaiter): void {
    const list = this.waiters.get(w.key);
    if (!list) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.waiters.delete(w.key);
  }

  /** The waiters on key, in order (FUTEX_CMP_REQUEUE_PI inspects them before taking any). */
  waitersOn(key: number): readonly FutexWaiter[] {
    return this.waiters.get(key) ?? [];
  }

  /** Wakes up to n waiters on key whose bitset intersects bitset; returns how many. */
  wake(key: number, n: number, bitset = 0xffffffff): number {
    const list = this.waiters.get(key);
    if (!list) return 0;
    let woken = 0;
    for (let i = 0; i < list.length && woken < n;) {
      const w = list[i]!;
      if ((w.bitset & bitset) === 0) { i++; continue; }
      list.splice(i, 1);
      w.woken = true;
      w.queue.notify();
      woken++;
    }
    if (list.length === 0) this.waiters.delete(key);
    return woken;
  }

  /** Wakes up to n waiters on from and moves up to m of the rest to to; returns woken + moved. */
  requeue(from: number, to: number, n: number, m: number): number {
    const woken = this.wake(from, n);
    const list = this.waiters.get(from);
    if (!list || m <= 0) return woken;
    const moved = list.splice(0, m);
    if (list.length === 0) this.waiters.delete(from);
    for (const w of moved) w.key = to;
    const dest = this.waiters.get(to);
    if (dest) dest.push(...moved);
    else this.waiters.set(to, moved);
    return woken + moved.length;
  }
}
