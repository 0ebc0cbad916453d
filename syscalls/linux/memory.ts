// Memory: mmap and friends, answered by the task's AddressSpace. RLIMIT_AS
// bounds the address space's total size: growth past it is ENOMEM (brk
// keeps the old break).
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EBADF, EINVAL, EACCES, ENODEV, ENOMEM, EPERM } from '../../src/abi/errno';
import {
  MAP_ANONYMOUS, MAP_PRIVATE, MAP_TYPE, MAP_FIXED, MS_ASYNC, MS_INVALIDATE, MS_SYNC, PROT_WRITE, O_ACCMODE, O_RDONLY,
  O_WRONLY, RLIMIT_AS, MREMAP_FIXED,
} from '../../src/abi/linux';
import { PAGE, pageUp } from '../../sentry/mm/memfile';
import { mapLockAndPopulate, mapLockCheck, mlockRows } from './mlock';

/** Bytes of [start, end) already mapped (a MAP_FIXED mapping replaces them). */
function mappedIn(t: Task, start: number, end: number): number {
  let n = 0;
  for (const v of t.mm.mappings()) n += Math.max(0, Math.min(end, v.end) - Math.max(start, v.start));
  return n;
}

/** Would adding grow bytes to t's address space pass RLIMIT_AS? */
function pastAsLimit(t: Task, grow: number): boolean {
  if (grow <= 0) return false;
  let total = 0;
  for (const v of t.mm.mappings()) total += v.end - v.start;
  return total + grow > t.proc.rlimits[RLIMIT_AS]![0];
}

function mmap(t: Task, a: SyscallArgs): number {
  const flags = a.int(3);
  const locked = mapLockCheck(t, a.u64(1), flags);
  if (locked < 0) return locked;
  const r = place(t, a);
  if (r >= 0) mapLockAndPopulate(t, r, a.u64(1), flags);
  return r;
}

/** mmap's placing of the new mapping: its address, or -errno. */
function place(t: Task, a: SyscallArgs): number {
  const addr = a.u64(0);
  const len = a.u64(1);
  const prot = a.int(2);
  const flags = a.int(3);
  const fd = a.int(4);
  const off = a.i64(5);
  const size = pageUp(len);
  if (pastAsLimit(t, size - (flags & MAP_FIXED ? mappedIn(t, addr, addr + size) : 0))) return -ENOMEM;
  if (flags & MAP_ANONYMOUS) return t.mm.mmap(addr, len, prot, flags, null);
  if (off < 0 || off % PAGE !== 0) return -EINVAL;
  const f = t.fds.get(fd);
  if (!f) return -EBADF;
  const mode = f.flags & O_ACCMODE;
  if (mode === O_WRONLY) return -EACCES;
  const src = f.mappable();
  if (!src) return -ENODEV;
  if ((flags & MAP_TYPE) !== MAP_PRIVATE && prot & PROT_WRITE) {
    if (mode === O_RDONLY) return -EACCES;
    // Stores through the mapping must reach the file: only files whose data lives in the memory file (tmpfs).
    if (!src.pages) return -ENODEV;
    if (src.writeSealed?.()) return -EPERM;
  }
  const cache = t.kernel.cache.get(src);
  if (typeof cache === 'number') return cache;
  return t.mm.mmap(addr, len, prot, flags, { cache, offset: off, name: f.displayName() });
}

/** Shared mappings are the file's own pages, so there is nothing to write back: msync only validates. */
function msync(t: Task, a: SyscallArgs): number {
  const addr = a.u64(0), len = a.u64(1), flags = a.int(2);
  if (addr % PAGE !== 0 || flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return -EINVAL;
  if (flags & MS_ASYNC && flags & MS_SYNC) return -EINVAL;
  return t.mm.covered(addr, addr + pageUp(len)) ? 0 : -ENOMEM;
}

function brk(t: Task, a: SyscallArgs): number {
  const want = a.u64(0);
  if (want > t.mm.brk && pastAsLimit(t, pageUp(want) - pageUp(t.mm.brk))) return t.mm.brk;
  return t.mm.setBrk(want);
}

function mremap(t: Task, a: SyscallArgs): number {
  const oldLen = pageUp(a.u64(1));
  const newLen = pageUp(a.u64(2));
  const flags = a.int(3);
  // A move to a fixed place replaces what was there.
  const replaced = flags & MREMAP_FIXED ? mappedIn(t, a.u64(4), a.u64(4) + newLen) : 0;
  if (pastAsLimit(t, newLen - oldLen - replaced)) return -ENOMEM;
  return t.mm.mremap(a.u64(0), a.u64(1), a.u64(2), flags, a.u64(4));
}

export const memoryRows: SyscallRow[] = [
  { nr: SYS.mmap, name: 'mmap', handler: mmap, args: ['ptr', 'size', 'hex', 'hex', 'fd', 'off'], support: 'partial', note: 'Shared writable mappings of files on the gofer (not in memory) return ENODEV; tmpfs, memfd and overlay-upper files share pages with read/write.' },
  { nr: SYS.munmap, name: 'munmap', handler: (t, a) => t.mm.munmap(a.u64(0), a.u64(1)), args: ['ptr', 'size'], support: 'full' },
  { nr: SYS.mprotect, name: 'mprotect', handler: (t, a) => t.mm.mprotect(a.u64(0), a.u64(1), a.int(2)), args: ['ptr', 'size', 'hex'], support: 'full' },
  { nr: SYS.msync, name: 'msync', handler: msync, args: ['ptr', 'size', 'hex'], support: 'full' },
  { nr: SYS.brk, name: 'brk', handler: brk, args: ['ptr'], support: 'full' },
  { nr: SYS.mremap, name: 'mremap', handler: mremap, args: ['ptr', 'size', 'size', 'hex', 'ptr'], support: 'partial', note: 'MREMAP_DONTUNMAP is not supported.' },
  ...mlockRows,
  { nr: SYS.madvise, name: 'madvise', handler: (t, a) => t.mm.madvise(a.u64(0), a.u64(1), a.int(2)), args: ['ptr', 'size', 'int'], support: 'partial', note: 'MADV_DONTNEED and MADV_FREE free private anonymous pages; other valid advice has no effect.' },
];
