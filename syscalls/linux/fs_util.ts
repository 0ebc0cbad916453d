// Helpers shared by the file syscall handlers: fd lookup, finishing a read
// or write that may be a Promise, iovec arrays.
import { EBADF, EFAULT, EINVAL } from '../../src/abi/errno';
import { Iovec } from '../../src/abi/layout';
import type { Task } from '../../sentry/kernel/task';
import type { FileDescription, ReadResult } from '../../sentry/vfs/file';
import { IOV_MAX, MAX_RW_COUNT } from '../../sentry/vfs/linuxconst';
import type { SyscallArgs, SysResult } from '../types';

/** The description fd refers to, or undefined (the caller returns -EBADF). */
export function fileOf(t: Task, fd: number): FileDescription | undefined {
  return fd < 0 ? undefined : t.fds.get(fd);
}

export const ebadf = -EBADF;

/** Clamps a read/write length as Linux's rw_verify_area does. */
export function clampCount(n: number): number {
  return n > MAX_RW_COUNT ? MAX_RW_COUNT : n;
}

/** Copies what a read produced out to addr; a result is a count or -errno. */
export function finishRead(t: Task, r: ReadResult | Promise<ReadResult>, addr: number): SysResult {
  if (r instanceof Promise) return r.then((v) => copyOutRead(t, v, addr));
  return copyOutRead(t, r, addr);
}

function copyOutRead(t: Task, r: ReadResult, addr: number): number {
  if (typeof r === 'number') return r;
  if (r.length > 0 && !t.mm.write(addr, r)) return -EFAULT;
  return r.length;
}

export interface IoVec { base: number; len: number }


/** Reads iovcnt iovecs at addr: the list, or -EINVAL / -EFAULT. Lengths are clamped so their sum ≤ MAX_RW_COUNT. */
export function readIovecs(t: Task, addr: number, iovcnt: number): IoVec[] | number {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return -EINVAL;
  if (iovcnt === 0) return [];
  const raw = t.mm.read(addr, iovcnt * Iovec.size);
  if (!raw) return -EFAULT;
  const out: IoVec[] = [];
  let total = 0;
  for (let i = 0; i < iovcnt; i++) {
    const v = Iovec.decodeBig(raw, i * Iovec.size);
    const base = Number(v.iov_base);
    const lenBig = BigInt.asIntN(64, v.iov_len);
    if (lenBig < 0n) return -EINVAL;
    let len = lenBig > BigInt(MAX_RW_COUNT) ? MAX_RW_COUNT : Number(lenBig);
    if (total + len > MAX_RW_COUNT) len = MAX_RW_COUNT - total;
    total += len;
    out.push({ base, len });
  }
  return out;
}

/** Gathers the bytes iovecs describe, or -EFAULT. */
export function gather(t: Task, iovs: IoVec[]): Uint8Array | number {
  // Read first, allocate after: a lying iovec must not cost an allocation of its claimed size.
  const parts: Uint8Array[] = [];
  for (const v of iovs) {
    if (v.len === 0) continue;
    const b = t.mm.read(v.base, v.len);
    if (!b) return -EFAULT;
    parts.push(b);
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((s, b) => s + b.length, 0));
  let off = 0;
  for (const b of parts) { out.set(b, off); off += b.length; }
  return out;
}

/** Scatters data over iovecs; returns bytes placed, or -EFAULT if none could be. */
export function scatter(t: Task, iovs: IoVec[], data: Uint8Array): number {
  let off = 0;
  for (const v of iovs) {
    if (off >= data.length) break;
    const n = Math.min(v.len, data.length - off);
    if (n === 0) continue;
    if (!t.mm.write(v.base, data.subarray(off, off + n))) return off > 0 ? off : -EFAULT;
    off += n;
  }
  return off;
}

export function totalLen(iovs: IoVec[]): number {
  return iovs.reduce((s, v) => s + v.len, 0);
}

/** Applies f to a value that may be a Promise. */
export function andThen<T>(v: T | Promise<T>, f: (x: T) => SysResult): SysResult {
  return v instanceof Promise ? v.then(f) : f(v);
}

/**
 * getdents and getdents64 (fd, buf, count): the directory's next records as
 * linux_dirent64, re-laid out by layout (to a buffer of the same size), copied
 * to buf. A bad buf puts the directory offset back: nothing was consumed.
 */
export function getdentsAs(t: Task, a: SyscallArgs, layout: (dirent64: Uint8Array) => Uint8Array): SysResult {
  const f = fileOf(t, a.int(0));
  if (!f || f.isPath) return -EBADF;
  const saved = f.offset;
  const r = f.getdents(t, a.uint(2));
  if (typeof r === 'number') return r;
  const out = layout(r);
  if (out.length > 0 && !t.mm.write(a.u64(1), out)) {
    f.offset = saved;
    return -EFAULT;
  }
  return out.length;
}

/**
 * pipe and socketpair: installs both ends and stores their fds as int[2] at
 * addr; on any failure neither end stays installed.
 */
export function installPair(t: Task, a: FileDescription, b: FileDescription, cloexec: boolean, addr: number): number {
  const fdA = t.fds.install(a, cloexec);
  if (fdA < 0) { a.decRef(); b.decRef(); return fdA; }
  const fdB = t.fds.install(b, cloexec);
  if (fdB < 0) { t.fds.close(fdA); b.decRef(); return fdB; }
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, fdA, true);
  dv.setInt32(4, fdB, true);
  if (!t.mm.write(addr, out)) {
    t.fds.close(fdA);
    t.fds.close(fdB);
    return -EFAULT;
  }
  return 0;
}
