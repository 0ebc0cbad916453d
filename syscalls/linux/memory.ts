// Memory: mmap and friends, answered by the task's AddressSpace.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EBADF, EINVAL, EACCES, ENODEV, ENOMEM, EPERM } from '../../src/abi/errno';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_TYPE, MS_ASYNC, MS_INVALIDATE, MS_SYNC, PROT_WRITE, O_ACCMODE, O_RDONLY, O_WRONLY } from '../../src/abi/linux';
import { PAGE, pageUp } from '../../sentry/mm/memfile';

function mmap(t: Task, a: SyscallArgs): number {
  const addr = a.u64(0);
  const len = a.u64(1);
  const prot = a.int(2);
  const flags = a.int(3);
  const fd = a.int(4);
  const off = a.i64(5);
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

export const memoryRows: SyscallRow[] = [
  { nr: SYS.mmap, name: 'mmap', handler: mmap, args: ['ptr', 'size', 'hex', 'hex', 'fd', 'off'], support: 'partial', note: 'Shared writable mappings of files on the gofer (not in memory) return ENODEV; tmpfs, memfd and overlay-upper files share pages with read/write.' },
  { nr: SYS.munmap, name: 'munmap', handler: (t, a) => t.mm.munmap(a.u64(0), a.u64(1)), args: ['ptr', 'size'], support: 'full' },
  { nr: SYS.mprotect, name: 'mprotect', handler: (t, a) => t.mm.mprotect(a.u64(0), a.u64(1), a.int(2)), args: ['ptr', 'size', 'hex'], support: 'full' },
  { nr: SYS.msync, name: 'msync', handler: msync, args: ['ptr', 'size', 'hex'], support: 'full' },
  { nr: SYS.brk, name: 'brk', handler: (t, a) => t.mm.setBrk(a.u64(0)), args: ['ptr'], support: 'full' },
  { nr: SYS.mremap, name: 'mremap', handler: (t, a) => t.mm.mremap(a.u64(0), a.u64(1), a.u64(2), a.int(3), a.u64(4)), args: ['ptr', 'size', 'size', 'hex', 'ptr'], support: 'partial', note: 'MREMAP_DONTUNMAP is not supported.' },
  { nr: SYS.madvise, name: 'madvise', handler: (t, a) => t.mm.madvise(a.u64(0), a.u64(1), a.int(2)), args: ['ptr', 'size', 'int'], support: 'partial', note: 'MADV_DONTNEED and MADV_FREE free private anonymous pages; other valid advice has no effect.' },
];
