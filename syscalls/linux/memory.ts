// Memory: mmap and friends, answered by the task's AddressSpace.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EBADF, EINVAL, EACCES, ENODEV } from '../../src/abi/errno';
import { MAP_ANONYMOUS, MAP_SHARED, MAP_TYPE, PROT_WRITE, O_ACCMODE, O_RDONLY, O_WRONLY } from '../../src/abi/linux';
import { PAGE } from '../../sentry/mm/memfile';

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
  if ((flags & MAP_TYPE) === MAP_SHARED && prot & PROT_WRITE) {
    if (mode === O_RDONLY) return -EACCES;
    // Writes through a shared file mapping would have to reach the file: not supported yet.
    return -ENODEV;
  }
  const src = f.mappable();
  if (!src) return -ENODEV;
  const cache = t.kernel.cache.get(src);
  if (typeof cache === 'number') return cache;
  return t.mm.mmap(addr, len, prot, flags, { cache, offset: off, name: f.displayName() });
}

export const memoryRows: SyscallRow[] = [
  { nr: SYS.mmap, name: 'mmap', handler: mmap, args: ['ptr', 'size', 'hex', 'hex', 'fd', 'off'], support: 'partial', note: 'Shared writable file mappings return ENODEV.' },
  { nr: SYS.munmap, name: 'munmap', handler: (t, a) => t.mm.munmap(a.u64(0), a.u64(1)), args: ['ptr', 'size'], support: 'full' },
  { nr: SYS.mprotect, name: 'mprotect', handler: (t, a) => t.mm.mprotect(a.u64(0), a.u64(1), a.int(2)), args: ['ptr', 'size', 'hex'], support: 'full' },
  { nr: SYS.brk, name: 'brk', handler: (t, a) => t.mm.setBrk(a.u64(0)), args: ['ptr'], support: 'full' },
  { nr: SYS.mremap, name: 'mremap', handler: (t, a) => t.mm.mremap(a.u64(0), a.u64(1), a.u64(2), a.int(3), a.u64(4)), args: ['ptr', 'size', 'size', 'hex', 'ptr'], support: 'partial', note: 'MREMAP_DONTUNMAP is not supported.' },
  { nr: SYS.madvise, name: 'madvise', handler: (t, a) => t.mm.madvise(a.u64(0), a.u64(1), a.int(2)), args: ['ptr', 'size', 'int'], support: 'partial', note: 'MADV_DONTNEED and MADV_FREE free private anonymous pages; other valid advice has no effect.' },
];
