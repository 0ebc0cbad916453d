// poll, ppoll, select, pselect6: readiness of several files at once, waiting
// on every file's wait queue.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import type { FileDescription } from '../../sentry/vfs/file';
import type { WaitQueue } from '../../sentry/kernel/waiter';
import { UNBLOCKABLE } from '../../sentry/kernel/signals';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, ETIMEDOUT, EBADF } from '../../src/abi/errno';
import { POLLIN, POLLOUT, POLLPRI, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, POLLWRNORM, POLLRDBAND } from '../../src/abi/linux';
import { Pollfd, Timespec, Timeval } from '../../src/abi/layout';

const NS = 1_000_000_000n;
const MAX_POLLFDS = 1 << 20;

interface Watched { fd: number; events: number; file: FileDescription | undefined }

/** Readiness bits of a file as poll reports them (POLLRDNORM etc. follow POLLIN/POLLOUT). */
function revents(w: Watched): number {
  if (w.fd < 0) return 0;
  if (!w.file) return POLLNVAL;
  let r = w.file.readiness();
  if (r & POLLIN) r |= POLLRDNORM;
  if (r & POLLOUT) r |= POLLWRNORM;
  return r & (w.events | POLLERR | POLLHUP | POLLNVAL);
}

/**
 * Waits until check() reports something ready, the deadline passes (returns
 * 0 with nothing ready), or a signal comes (-EINTR).
 */
async function waitReady(t: Task, files: (FileDescription | undefined)[], check: () => number, deadline: bigint | undefined): Promise<number> {
  const queues: WaitQueue[] = [];
  for (const f of files) if (f) queues.push(f.queue);
  let found = check();
  if (found > 0 || (deadline !== undefined && t.kernel.monotonicNs() >= deadline)) return found;
  const r = await t.waitFor(() => (found = check()) > 0, queues, deadline);
  if (r === -ETIMEDOUT) return 0;
  return r < 0 ? r : found;
}

/** Installs a temporary signal mask for ppoll/pselect6; returns a function that undoes it unless a handler will. */
export function withMask(t: Task, maskAddr: number, size: number): (() => void) | number {
  if (!maskAddr) return () => {};
  if (size !== 8) return -EINVAL;
  const mask = t.mm.readU64(maskAddr);
  if (mask === null) return -EFAULT;
  t.savedMask = t.sigmask;
  t.sigmask = mask & ~UNBLOCKABLE;
  return () => {
    // Interrupted: the signal frame restores the saved mask when its handler returns.
    if (t.savedMask !== null && !t.kernel.signals.hasDeliverable(t)) {
      t.sigmask = t.savedMask;
      t.savedMask = null;
    }
  };
}

async function doPoll(t: Task, addr: number, nfds: number, deadline: bigint | undefined, undo: () => void): Promise<number> {
  const raw = nfds ? t.mm.read(addr, nfds * Pollfd.size) : new Uint8Array(0);
  if (!raw) {
    undo();
    return -EFAULT;
  }
  const watched: Watched[] = [];
  for (let i = 0; i < nfds; i++) {
    const p = Pollfd.decode(raw, i * Pollfd.size);
    watched.push({ fd: p.fd, events: p.events, file: p.fd >= 0 ? t.fds.get(p.fd) : undefined });
  }
  const ready = () => watched.reduce((n, w) => n + (revents(w) ? 1 : 0), 0);
  const r = await waitReady(t, watched.map((w) => w.file), ready, deadline);
  undo();
  if (r < 0) return r;
  for (let i = 0; i < nfds; i++) Pollfd.encodeInto(raw, i * Pollfd.size, { revents: revents(watched[i]!) });
  return t.mm.write(addr, raw) ? r : -EFAULT;
}

function poll(t: Task, a: SyscallArgs): number | Promise<number> {
  const nfds = a.uint(1);
  const timeout = a.int(2);
  if (nfds > MAX_POLLFDS || nfds > t.fds.limit) return -EINVAL;
  const deadline = timeout < 0 ? undefined : t.kernel.monotonicNs() + BigInt(timeout) * 1_000_000n;
  return doPoll(t, a.u64(0), nfds, deadline, () => {});
}

/** A relative timespec argument as a deadline; undefined for NULL (forever). */
export function timespecDeadline(t: Task, addr: number): bigint | undefined | number {
  if (!addr) return undefined;
  const raw = t.mm.read(addr, Timespec.size);
  if (!raw) return -EFAULT;
  const ts = Timespec.decodeBig(raw);
  if (ts.tv_sec < 0n || ts.tv_nsec < 0n || ts.tv_nsec >= NS) return -EINVAL;
  return t.kernel.monotonicNs() + ts.tv_sec * NS + ts.tv_nsec;
}

function ppoll(t: Task, a: SyscallArgs): number | Promise<number> {
  const nfds = a.uint(1);
  if (nfds > MAX_POLLFDS || nfds > t.fds.limit) return -EINVAL;
  const deadline = timespecDeadline(t, a.u64(2));
  if (typeof deadline === 'number') return deadline;
  const undo = withMask(t, a.u64(3), a.u64(4));
  if (typeof undo === 'number') return undo;
  return doPoll(t, a.u64(0), nfds, deadline, undo);
}

const SELECT_IN = POLLIN | POLLRDNORM | POLLHUP | POLLERR;
const SELECT_OUT = POLLOUT | POLLWRNORM | POLLERR;
const SELECT_EX = POLLPRI | POLLRDBAND;

async function doSelect(t: Task, nfds: number, addrs: number[], deadline: bigint | undefined, undo: () => void): Promise<number> {
  const bytes = Math.ceil(nfds / 64) * 8;
  const sets: (Uint8Array | null)[] = [];
  for (const addr of addrs) {
    if (!addr) { sets.push(null); continue; }
    const s = t.mm.read(addr, bytes);
    if (!s) { undo(); return -EFAULT; }
    sets.push(s);
  }
  const isSet = (s: Uint8Array | null, fd: number) => s !== null && (s[fd >> 3]! & (1 << (fd & 7))) !== 0;
  const files = new Map<number, FileDescription>();
  for (let fd = 0; fd < nfds; fd++) {
    if (!sets.some((s) => isSet(s, fd))) continue;
    const f = t.fds.get(fd);
    if (!f) { undo(); return -EBADF; }
    files.set(fd, f);
  }
  const masks = [SELECT_IN, SELECT_OUT, SELECT_EX];
  const out = sets.map((s) => (s ? new Uint8Array(s.length) : null));
  const scan = (): number => {
    let n = 0;
    for (const o of out) o?.fill(0);
    for (const [fd, f] of files) {
      const r = f.readiness();
      for (let i = 0; i < 3; i++) {
        if (isSet(sets[i]!, fd) && r & masks[i]!) {
          out[i]![fd >> 3]! |= 1 << (fd & 7);
          n++;
        }
      }
    }
    return n;
  };
  const r = await waitReady(t, [...files.values()], scan, deadline);
  undo();
  if (r < 0) return r;
  if (r === 0) for (const o of out) o?.fill(0);
  for (let i = 0; i < 3; i++) if (addrs[i] && !t.mm.write(addrs[i]!, out[i]!)) return -EFAULT;
  return r;
}

function select(t: Task, a: SyscallArgs): number | Promise<number> {
  const nfds = a.int(0);
  if (nfds < 0 || nfds > t.fds.limit) return -EINVAL;
  const tvAddr = a.u64(4);
  let deadline: bigint | undefined;
  if (tvAddr) {
    const raw = t.mm.read(tvAddr, Timeval.size);
    if (!raw) return -EFAULT;
    const tv = Timeval.decodeBig(raw);
    if (tv.tv_sec < 0n || tv.tv_usec < 0n || tv.tv_usec >= 1_000_000n) return -EINVAL;
    deadline = t.kernel.monotonicNs() + tv.tv_sec * NS + tv.tv_usec * 1000n;
  }
  return doSelect(t, nfds, [a.u64(1), a.u64(2), a.u64(3)], deadline, () => {}).then((r) => {
    const left = timeLeft(t, deadline);
    if (tvAddr && left !== null) t.mm.write(tvAddr, Timeval.encode({ tv_sec: left / NS, tv_usec: (left % NS) / 1000n }));
    return r;
  });
}

/** What is left of a deadline (select and pselect6 report it back, as Linux does), or null for none. */
function timeLeft(t: Task, deadline: bigint | undefined): bigint | null {
  if (deadline === undefined) return null;
  const left = deadline - t.kernel.monotonicNs();
  return left > 0n ? left : 0n;
}

function pselect6(t: Task, a: SyscallArgs): number | Promise<number> {
  const nfds = a.int(0);
  if (nfds < 0 || nfds > t.fds.limit) return -EINVAL;
  const deadline = timespecDeadline(t, a.u64(4));
  if (typeof deadline === 'number') return deadline;
  // The sixth argument points to { const sigset_t *ss; size_t ss_len; }.
  let undo: (() => void) | number = () => {};
  const sigArg = a.u64(5);
  if (sigArg) {
    const raw = t.mm.read(sigArg, 16);
    if (!raw) return -EFAULT;
    const dv = new DataView(raw.buffer);
    undo = withMask(t, Number(dv.getBigUint64(0, true)), Number(dv.getBigUint64(8, true)));
    if (typeof undo === 'number') return undo;
  }
  const tsAddr = a.u64(4);
  return doSelect(t, nfds, [a.u64(1), a.u64(2), a.u64(3)], deadline, undo).then((r) => {
    const left = timeLeft(t, deadline);
    if (left !== null) t.mm.write(tsAddr, Timespec.encode({ tv_sec: left / NS, tv_nsec: left % NS }));
    return r;
  });
}

export const pollRows: SyscallRow[] = [
  { nr: SYS.poll, name: 'poll', handler: poll, args: ['ptr', 'uint', 'int'], support: 'full' },
  { nr: SYS.ppoll, name: 'ppoll', handler: ppoll, args: ['ptr', 'uint', 'ptr', 'ptr', 'size'], support: 'full' },
  { nr: SYS.select, name: 'select', handler: select, args: ['int', 'ptr', 'ptr', 'ptr', 'ptr'], support: 'full' },
  { nr: SYS.pselect6, name: 'pselect6', handler: pselect6, args: ['int', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr'], support: 'full' },
];
