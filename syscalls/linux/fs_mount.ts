// mount(2) and umount2(2) for privileged workloads: new tmpfs, proc and
// sysfs mounts (with MS_RDONLY and tmpfs's mode=), propagation changes
// (accepted: the sandbox has one mount namespace and nothing to propagate to),
// and unmounting. Bind, move and remount return EINVAL; other filesystem types
// ENODEV. Without root: EPERM, as without CAP_SYS_ADMIN.
import { EFAULT, EINVAL, ENODEV, EPERM } from '../../src/abi/errno';
import {
  MNT_DETACH, MNT_EXPIRE, MNT_FORCE, MS_BIND, MS_MOVE, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SHARED, MS_SLAVE,
  UMOUNT_NOFOLLOW,
} from '../../src/abi/linux';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import { CPUS } from '../../sentry/kernel/machine';
import { AT_FDCWD } from '../../sentry/vfs/linuxconst';
import { MemFS } from '../../sentry/vfs/memfs';
import { SysFS } from '../../sentry/vfs/sysfs';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { readPathArg } from './fs_pathutil';

const MS_UNBINDABLE = 1 << 17;
const PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

/** tmpfs's mode= option (octal), or the default 1777; -EINVAL for a bad value. */
function tmpfsMode(data: string): number {
  const opt = data.split(',').find((o) => o.startsWith('mode='));
  if (!opt) return 0o1777;
  const v = opt.slice(5);
  return /^[0-7]{1,4}$/.test(v) ? parseInt(v, 8) : -EINVAL;
}

function sysMount(t: Task, a: SyscallArgs): SysResult {
  const flags = a.u64(3);
  const target = readPathArg(t, a.u64(1), false);
  if (typeof target === 'number') return target;
  const vfs = t.kernel.vfs;
  // Linux resolves the target before checking the caller's privilege.
  const loc = vfs.resolveAt(t, AT_FDCWD, target, true, false);
  if (typeof loc === 'number') return loc;
  if (t.creds.euid !== 0) return -EPERM;
  // Propagation changes alone (mount --make-rprivate /): nothing to do in one namespace.
  if (flags & PROPAGATION) return flags & ~(PROPAGATION | MS_REC) ? -EINVAL : 0;
  if (flags & (MS_REMOUNT | MS_BIND | MS_MOVE)) return -EINVAL;
  const fstype = a.u64(2) ? t.mm.readCString(a.u64(2), 256) : '';
  if (fstype === null) return -EFAULT;
  if (fstype === undefined) return -ENODEV;
  const data = a.u64(4) ? t.mm.readCString(a.u64(4), 4096) : '';
  if (data === null) return -EFAULT;
  const ro = (flags & MS_RDONLY) !== 0;
  const options = ro ? 'ro' : 'rw';
  switch (fstype) {
    case 'tmpfs': {
      const mode = tmpfsMode(data ?? '');
      if (mode < 0) return mode;
      const fs = new MemFS(ro);
      return vfs.mountOnto(loc, fs.newDir(mode, { uid: 0, gid: 0 }), 'tmpfs', options);
    }
    case 'proc': return vfs.mountOnto(loc, vfs.procfs.root, 'proc', options);
    case 'sysfs': return vfs.mountOnto(loc, new SysFS(CPUS).root, 'sysfs', options);
    default: return -ENODEV;
  }
}

function sysUmount2(t: Task, a: SyscallArgs): SysResult {
  const flags = a.int(1);
  if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) return -EINVAL;
  if (flags & MNT_EXPIRE && flags & (MNT_FORCE | MNT_DETACH)) return -EINVAL;
  const target = readPathArg(t, a.u64(0), false);
  if (typeof target === 'number') return target;
  const loc = t.kernel.vfs.resolveAt(t, AT_FDCWD, target, (flags & UMOUNT_NOFOLLOW) === 0, false);
  if (typeof loc === 'number') return loc;
  if (t.creds.euid !== 0) return -EPERM;
  return t.kernel.vfs.unmount(loc, (flags & MNT_DETACH) !== 0);
}

export const mountRows: SyscallRow[] = [
  {
    nr: SYS.mount, name: 'mount', handler: sysMount, args: ['str', 'path', 'str', 'hex', 'str'], support: 'partial',
    note: 'Root only. New tmpfs (mode=), proc and sysfs mounts, MS_RDONLY; propagation flags are accepted; MS_BIND, MS_MOVE and MS_REMOUNT return EINVAL; other types ENODEV.',
  },
  {
    nr: SYS.umount2, name: 'umount2', handler: sysUmount2, args: ['path', 'hex'], support: 'partial',
    note: 'Root only; EBUSY while mounts sit on it unless MNT_DETACH; open files do not keep a mount busy.',
  },
];
