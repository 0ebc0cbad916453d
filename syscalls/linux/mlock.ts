// mlock and friends, and mmap's MAP_LOCKED and MAP_POPULATE: locked memory
// is committed and mapped at once (sentry/mm: AddressSpace.populateRange),
// within RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK. Nothing is ever
// swapped, so a lock changes nothing else. As in Linux (mm/mlock.c), pages
// the sandbox's memory cannot hold make mlock fail with EAGAIN, while
// mmap's and mlockall's populating is best effort.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EAGAIN, EINVAL, ENOMEM, EPERM } from '../../src/abi/errno';
import { MAP_LOCKED, MAP_NONBLOCK, MAP_POPULATE, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT, RLIMIT_MEMLOCK } from '../../src/abi/linux';
import { capable } from '../../sentry/kernel/caps';
import { pageDown, pageUp } from '../../sentry/mm/memfile';

const CAP_IPC_LOCK = 14;

const lockLimit = (t: Task): number => t.proc.rlimits[RLIMIT_MEMLOCK]![0];
const unlimited = (t: Task): boolean => capable(t.creds, CAP_IPC_LOCK);

/** 0 if t may lock more bytes of memory, else -errno (EPERM with a zero limit, ENOMEM past it). */
function mayLock(t: Task, more: number, overLimit: number): number {
  if (unlimited(t)) return 0;
  if (lockLimit(t) === 0) return -EPERM;
  return t.mm.lockedBytes() + more > lockLimit(t) ? overLimit : 0;
}

function lock(t: Task, addr: number, len: number, onFault: boolean): number {
  const start = pageDown(addr);
  const end = pageUp(addr + len);
  if (end === start) return 0;
  const r = mayLock(t, end - start - t.mm.lockedBytes(start, end), -ENOMEM) || t.mm.setLocked(start, end - start, true);
  if (r < 0) return r;
  return onFault || t.mm.populateRange(start, end) ? 0 : -EAGAIN;
}

function mlock2(t: Task, a: SyscallArgs): number {
  const flags = a.int(2);
  if (flags & ~MLOCK_ONFAULT) return -EINVAL;
  return lock(t, a.u64(0), a.u64(1), (flags & MLOCK_ONFAULT) !== 0);
}

function munlock(t: Task, a: SyscallArgs): number {
  const start = pageDown(a.u64(0));
  const end = pageUp(a.u64(0) + a.u64(1));
  return end === start ? 0 : t.mm.setLocked(start, end - start, false);
}

function mlockall(t: Task, a: SyscallArgs): number {
  const flags = a.int(0);
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return -EINVAL;
  if (!unlimited(t) && lockLimit(t) === 0) return -EPERM;
  if (flags & MCL_CURRENT && !unlimited(t) && t.mm.mappedBytes() > lockLimit(t)) return -ENOMEM;
  t.mm.lockFuture = (flags & MCL_FUTURE) !== 0;
  if (flags & MCL_CURRENT) {
    for (const v of t.mm.mappings()) v.locked = true;
    if (!(flags & MCL_ONFAULT)) t.mm.populateRange(0, Number.MAX_SAFE_INTEGER);
  }
  return 0;
}

function munlockall(t: Task): number {
  t.mm.lockFuture = false;
  for (const v of t.mm.mappings()) v.locked = false;
  return 0;
}

/** Before mmap places len bytes with flags: 0, or -errno when they may not be locked (EPERM with a zero RLIMIT_MEMLOCK, EAGAIN past it). */
export function mapLockCheck(t: Task, len: number, flags: number): number {
  if (!(flags & MAP_LOCKED) && !t.mm.lockFuture) return 0;
  return mayLock(t, pageUp(len), -EAGAIN);
}

/** After mmap placed [addr, addr+len): locks it (MAP_LOCKED, mlockall(MCL_FUTURE)) and populates it, best effort. */
export function mapLockAndPopulate(t: Task, addr: number, len: number, flags: number): void {
  const locked = (flags & MAP_LOCKED) !== 0 || t.mm.lockFuture;
  if (locked) t.mm.setLocked(addr, pageUp(len), true);
  if (locked || (flags & MAP_POPULATE && !(flags & MAP_NONBLOCK))) t.mm.populateRange(addr, addr + pageUp(len));
}

export const mlockRows: SyscallRow[] = [
  { nr: SYS.mlock, name: 'mlock', handler: (t, a) => lock(t, a.u64(0), a.u64(1), false), args: ['ptr', 'size'], support: 'full', note: 'Commits and maps the pages (nothing is swapped); EAGAIN when the sandbox\'s memory cannot hold them.' },
  { nr: SYS.mlock2, name: 'mlock2', handler: mlock2, args: ['ptr', 'size', 'hex'], support: 'full' },
  { nr: SYS.munlock, name: 'munlock', handler: munlock, args: ['ptr', 'size'], support: 'full' },
  { nr: SYS.mlockall, name: 'mlockall', handler: mlockall, args: ['hex'], support: 'full' },
  { nr: SYS.munlockall, name: 'munlockall', handler: munlockall, args: [], support: 'full' },
];
