// memfd_create and file seals (fcntl F_ADD_SEALS/F_GET_SEALS).
import { EFAULT, EINVAL, EPERM } from '../../src/abi/errno';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { FileDescription } from '../../sentry/vfs/file';
import { RegularFD } from '../../sentry/vfs/inodefd';
import { newMemfd } from '../../sentry/vfs/memfd';
import { F_SEAL_EXEC, MemInode } from '../../sentry/vfs/memfs';
import { S_IFREG } from '../../sentry/vfs/linuxconst';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_HUGETLB = 0x4;
const MFD_NOEXEC_SEAL = 0x8;
const MFD_EXEC = 0x10;
/** NAME_MAX minus "memfd:". */
const MFD_NAME_MAX = 249;

function sysMemfdCreate(t: Task, a: SyscallArgs): SysResult {
  const flags = a.uint(1);
  if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)) return -EINVAL;
  if (flags & MFD_HUGETLB) return -EINVAL;
  if (flags & MFD_EXEC && flags & MFD_NOEXEC_SEAL) return -EINVAL;
  const name = t.mm.readCString(a.u64(0), MFD_NAME_MAX + 1);
  if (name === null) return -EFAULT;
  if (name === undefined) return -EINVAL;
  const noexec = (flags & MFD_NOEXEC_SEAL) !== 0;
  const f = newMemfd(t, name, (flags & MFD_ALLOW_SEALING) !== 0 || noexec, noexec);
  if (typeof f === 'number') return f;
  const fd = t.fds.install(f, (flags & MFD_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

/** The tmpfs inode whose seals f's fcntl manages, or null (other files: EINVAL). */
function sealable(f: FileDescription): MemInode | null {
  return f instanceof RegularFD && f.inode instanceof MemInode && f.inode.type === S_IFREG ? f.inode : null;
}

/** fcntl(F_GET_SEALS) and fcntl(F_ADD_SEALS, seals). */
export function fcntlSeals(t: Task, f: FileDescription, add: number | null): number {
  const inode = sealable(f);
  if (!inode) return -EINVAL;
  if (add === null) return inode.seals;
  if (!f.writable) return -EPERM;
  return inode.addSeals(add);
}

export const memfdRows: SyscallRow[] = [
  {
    nr: SYS.memfd_create, name: 'memfd_create', handler: sysMemfdCreate, args: ['str', 'hex'], support: 'partial',
    note: `MFD_HUGETLB returns EINVAL. F_SEAL_WRITE is granted even while writable shared mappings exist (Linux: EBUSY). F_SEAL_EXEC (${F_SEAL_EXEC}) is recorded but chmod ignores it.`,
  },
];
