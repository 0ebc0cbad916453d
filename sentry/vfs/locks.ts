// Advisory file locks: POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK),
// open-file-description locks (F_OFD_*) and flock(2), per inode.
//
// Owners, as in Linux: a POSIX lock belongs to the fd table that took it (so
// closing any fd of the file in that table drops the table's locks on it,
// fork does not inherit them and exec keeps them); an OFD lock and a flock
// lock belong to the open file description and go when it is released. POSIX
// and OFD locks conflict with each other; flock locks are a separate set.
// A blocked F_SETLKW or flock waits on the inode's queue and a signal
// interrupts it (EINTR); F_SETLKW detects a POSIX deadlock cycle (EDEADLK).
import { EAGAIN, EDEADLK, EWOULDBLOCK } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import { WaitQueue } from '../kernel/waiter';
import type { FileDescription } from './file';

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** A locked byte range [start, end) (end may be Infinity: to the end of the file and beyond). */
export interface RangeLock {
  owner: object;
  type: number;
  start: number;
  end: number;
  /** The locker's pid for F_GETLK (-1 for OFD locks). */
  pid: number;
}

class FileLocks {
  /** POSIX and OFD locks, sorted by start; one owner's ranges never overlap. */
  ranges: RangeLock[] = [];
  /** flock locks by description: LOCK_SH or LOCK_EX. */
  readonly flocks = new Map<FileDescription, number>();
  readonly queue = new WaitQueue();
  /** Descriptions whose release already drops their locks here. */
  readonly hooked = new WeakSet<FileDescription>();
}

/** Locks by the object they lock: the inode, or the description itself for files with no inode (pipes, sockets). */
const byFile = new WeakMap<object, FileLocks>();
/** Who each blocked POSIX owner waits for, to find deadlock cycles. */
const waitingOn = new Map<object, object>();

const keyOf = (f: FileDescription): object => f.loc?.d.inode ?? f;

function locksOf(f: FileDescription): FileLocks {
  const key = keyOf(f);
  let l = byFile.get(key);
  if (!l) { l = new FileLocks(); byFile.set(key, l); }
  return l;
}

/** Drops f's OFD and flock locks on l when f is released. */
function hook(l: FileLocks, f: FileDescription): void {
  if (l.hooked.has(f)) return;
  l.hooked.add(f);
  f.onRelease(() => {
    l.flocks.delete(f);
    l.ranges = l.ranges.filter((r) => r.owner !== f);
    l.queue.notify();
  });
}

function conflicting(l: FileLocks, owner: object, type: number, start: number, end: number): RangeLock | null {
  for (const r of l.ranges) {
    if (r.owner === owner || r.end <= start || r.start >= end) continue;
    if (r.type === F_WRLCK || type === F_WRLCK) return r;
  }
  return null;
}

/** Sets (or with F_UNLCK removes) owner's lock on [start, end), merging it with the owner's touching locks of the same type. */
function apply(l: FileLocks, owner: object, pid: number, type: number, start: number, end: number): void {
  const next: RangeLock[] = [];
  for (const r of l.ranges) {
    if (r.owner !== owner) { next.push(r); continue; }
    if (type !== F_UNLCK && r.type === type && r.end >= start && r.start <= end) {
      start = Math.min(start, r.start);
      end = Math.max(end, r.end);
      continue;
    }
    if (r.end <= start || r.start >= end) { next.push(r); continue; }
    if (r.start < start) next.push({ ...r, end: start });
    if (r.end > end) next.push({ ...r, start: end });
  }
  if (type !== F_UNLCK) next.push({ owner, type, start, end, pid });
  l.ranges = next.sort((a, b) => a.start - b.start);
  l.queue.notify();
}

/** The lock that would block owner from taking type on [start, end) (F_GETLK), or null. */
export function testLock(f: FileDescription, owner: object, type: number, start: number, end: number): RangeLock | null {
  return conflicting(locksOf(f), owner, type, start, end);
}

/** Whether waiting for `holder` would close a cycle of POSIX owners waiting on each other back to owner. */
function deadlocks(owner: object, holder: object): boolean {
  for (let o: object | undefined = holder, n = 0; o && n < 1024; o = waitingOn.get(o), n++) if (o === owner) return true;
  return false;
}

/**
 * F_SETLK/F_SETLKW (owner: the fd table, ofd false) and F_OFD_SETLK/W (owner:
 * f). Returns 0, -EAGAIN, -EDEADLK or, when a wait is interrupted, -EINTR.
 */
export function setLock(
  t: Task, f: FileDescription, owner: object, ofd: boolean, type: number, start: number, end: number, wait: boolean,
): number | Promise<number> {
  const l = locksOf(f);
  if (ofd) hook(l, f);
  const pid = ofd ? -1 : t.proc.pid;
  const blocker = type === F_UNLCK ? null : conflicting(l, owner, type, start, end);
  if (!blocker) { apply(l, owner, pid, type, start, end); return 0; }
  if (!wait) return -EAGAIN;
  return (async () => {
    for (;;) {
      const holder = conflicting(l, owner, type, start, end);
      if (!holder) break;
      if (!ofd && deadlocks(owner, holder.owner)) return -EDEADLK;
      if (!ofd) waitingOn.set(owner, holder.owner);
      const r = await t.waitFor(() => conflicting(l, owner, type, start, end) !== holder, [l.queue]);
      waitingOn.delete(owner);
      if (r < 0) return r;
    }
    apply(l, owner, pid, type, start, end);
    return 0;
  })();
}

/** Closing an fd of f in table drops the table's POSIX locks on f's file. */
export function releasePosixLocks(f: FileDescription, table: object): void {
  const l = byFile.get(keyOf(f));
  if (!l || !l.ranges.some((r) => r.owner === table)) return;
  l.ranges = l.ranges.filter((r) => r.owner !== table);
  l.queue.notify();
}

/** flock(2): op is LOCK_SH, LOCK_EX or LOCK_UN, with LOCK_NB. */
export function flock(t: Task, f: FileDescription, op: number): number | Promise<number> {
  const l = locksOf(f);
  hook(l, f);
  const kind = op & ~LOCK_NB;
  // Taking a lock f already holds in the other mode first drops it, as Linux does.
  if (l.flocks.has(f) && l.flocks.get(f) !== kind) {
    l.flocks.delete(f);
    l.queue.notify();
  }
  if (kind === LOCK_UN) return 0;
  const blocked = (): boolean => [...l.flocks].some(([g, k]) => g !== f && (k === LOCK_EX || kind === LOCK_EX));
  const grant = (): number => { l.flocks.set(f, kind); return 0; };
  if (!blocked()) return grant();
  if (op & LOCK_NB) return -EWOULDBLOCK;
  return t.waitFor(() => !blocked(), [l.queue]).then((r) => (r < 0 ? r : grant()));
}
