// futex(2): the blocking half of every userspace lock, condition variable and
// thread join. Timeouts: relative CLOCK_MONOTONIC for FUTEX_WAIT, absolute
// (CLOCK_MONOTONIC or, with FUTEX_CLOCK_REALTIME, CLOCK_REALTIME) for WAIT_BITSET.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, EAGAIN, ETIMEDOUT, ENOSYS, EINTR } from '../../src/abi/errno';
import {
  FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET,
  FUTEX_CLOCK_REALTIME, FUTEX_PRIVATE_FLAG,
} from '../../src/abi/linux';
import { Timespec } from '../../src/abi/layout';

const NS = 1_000_000_000n;

/** The futex key of a user address: its memory-file offset, or -EFAULT. */
function keyOf(t: Task, addr: number): number {
  if (addr % 4 !== 0) return -EINVAL;
  const off = t.mm.translate(addr);
  return off === null ? -EFAULT : off;
}

async function wait(t: Task, addr: number, val: number, timeoutAddr: number, bitset: number, absolute: boolean, realtime: boolean): Promise<number> {
  const key = keyOf(t, addr);
  if (key < 0) return key;
  let deadline: bigint | undefined;
  if (timeoutAddr) {
    const raw = t.mm.read(timeoutAddr, Timespec.size);
    if (!raw) return -EFAULT;
    const ts = Timespec.decodeBig(raw);
    if (ts.tv_sec < 0n || ts.tv_nsec < 0n || ts.tv_nsec >= NS) return -EINVAL;
    const ns = ts.tv_sec * NS + ts.tv_nsec;
    const now = t.kernel.monotonicNs();
    deadline = absolute ? (realtime ? now + (ns - t.kernel.realtimeNs()) : ns) : now + ns;
  }
  const cur = t.mm.readU32(addr);
  if (cur === null) return -EFAULT;
  if (cur !== val >>> 0) return -EAGAIN;
  const w = t.kernel.futexes.enqueue(key, bitset);
  const r = await t.waitFor(() => w.woken, [w.queue], deadline);
  if (w.woken) return 0;
  t.kernel.futexes.dequeue(w);
  return r === -ETIMEDOUT ? -ETIMEDOUT : -EINTR;
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
    default:
      return -ENOSYS;
  }
}

export const futexRows: SyscallRow[] = [
  { nr: SYS.futex, name: 'futex', handler: futex, args: ['ptr', 'hex', 'int', 'ptr', 'ptr', 'hex'], support: 'partial', note: 'WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET; the PI operations return ENOSYS.' },
  { nr: SYS.set_robust_list, name: 'set_robust_list', handler: (t, a) => (a.u64(1) === 24 ? 0 : -EINVAL), args: ['ptr', 'size'], support: 'partial', note: 'Accepted; robust futexes are not released when a thread dies (threads come with the task model).' },
];
