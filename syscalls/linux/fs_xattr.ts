// Extended attributes: the get/set/list/remove families, by path (following
// or not) and by fd. tmpfs (and so the overlay's upper layer) stores user.*
// and trusted.* attributes, the gofer filesystem user.* ones on the host;
// other filesystems answer EOPNOTSUPP.
import { E2BIG, EACCES, EBADF, EFAULT, EINVAL, EOPNOTSUPP, EPERM, ERANGE } from '../../src/abi/errno';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { Dentry } from '../../sentry/vfs/dentry';
import type { Inode } from '../../sentry/vfs/inode';
import { fileEvent, IN_ATTRIB } from '../../sentry/vfs/inotify';
import { AT_FDCWD } from '../../sentry/vfs/linuxconst';
import { XATTR_CREATE, XATTR_REPLACE } from '../../sentry/vfs/memfs';
import { fsSubject, MAY_READ, MAY_WRITE, permits } from '../../sentry/vfs/perm';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { readPathArg } from './fs_pathutil';
import { fileOf } from './fs_util';

const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;
const XATTR_LIST_MAX = 65536;

type Target = { kind: 'path'; follow: boolean } | { kind: 'fd' };

/** The dentry argument 0 names, or -errno. */
function dentryOf(t: Task, a: SyscallArgs, how: Target): Dentry | number {
  if (how.kind === 'fd') {
    const f = fileOf(t, a.int(0));
    if (!f || f.isPath) return -EBADF;
    return f.loc?.d ?? -EOPNOTSUPP;
  }
  const path = readPathArg(t, a.u64(0), false);
  if (typeof path === 'number') return path;
  const loc = t.kernel.vfs.resolveAt(t, AT_FDCWD, path, how.follow, false);
  return typeof loc === 'number' ? loc : loc.d;
}

/** The inode argument 0 names, or -errno. */
function inodeOf(t: Task, a: SyscallArgs, how: Target): Inode | number {
  const d = dentryOf(t, a, how);
  return typeof d === 'number' ? d : d.inode;
}

/** Runs a change of d's attributes; IN_ATTRIB when it succeeds. */
function changed(d: Dentry, r: number): number {
  if (r === 0) fileEvent(d, IN_ATTRIB);
  return r;
}

/** The attribute name at addr, or -errno (ERANGE when longer than XATTR_NAME_MAX). */
function nameArg(t: Task, addr: number): string | number {
  const s = t.mm.readCString(addr, XATTR_NAME_MAX + 1);
  if (s === null) return -EFAULT;
  if (s === undefined || s.length === 0) return -ERANGE;
  return s;
}

/** May the caller read (or write) attribute name of inode? 0 or -errno. */
function access(t: Task, inode: Inode, name: string, want: number): number {
  if (name.startsWith('trusted.')) return t.creds.euid === 0 ? 0 : want === MAY_WRITE ? -EPERM : -EOPNOTSUPP;
  if (!name.startsWith('user.')) return 0; // the filesystem rejects other namespaces
  const st = inode.stat();
  return permits(fsSubject(t), st.mode, st.uid, st.gid, want) ? 0 : -EACCES;
}

function sysGetxattr(how: Target) {
  return (t: Task, a: SyscallArgs): SysResult => {
    const inode = inodeOf(t, a, how);
    if (typeof inode === 'number') return inode;
    const name = nameArg(t, a.u64(1));
    if (typeof name === 'number') return name;
    const denied = access(t, inode, name, MAY_READ);
    if (denied < 0) return denied;
    const v = inode.getxattr(name);
    if (typeof v === 'number') return v;
    const size = a.u64(3);
    if (size === 0) return v.length;
    if (size < v.length) return -ERANGE;
    return v.length === 0 || t.mm.write(a.u64(2), v) ? v.length : -EFAULT;
  };
}

function sysSetxattr(how: Target) {
  return (t: Task, a: SyscallArgs): SysResult => {
    const d = dentryOf(t, a, how);
    if (typeof d === 'number') return d;
    const inode = d.inode;
    const flags = a.int(4);
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return -EINVAL;
    const name = nameArg(t, a.u64(1));
    if (typeof name === 'number') return name;
    const size = a.u64(3);
    if (size > XATTR_SIZE_MAX) return -E2BIG;
    const value = size === 0 ? new Uint8Array(0) : t.mm.read(a.u64(2), size);
    if (!value) return -EFAULT;
    const denied = access(t, inode, name, MAY_WRITE);
    if (denied < 0) return denied;
    return changed(d, inode.setxattr(name, value, flags));
  };
}

function sysListxattr(how: Target) {
  return (t: Task, a: SyscallArgs): SysResult => {
    const inode = inodeOf(t, a, how);
    if (typeof inode === 'number') return inode;
    const names = inode.listxattr().filter((n) => !n.startsWith('trusted.') || t.creds.euid === 0);
    const out = Buffer.from(names.map((n) => `${n}\0`).join(''), 'utf8');
    const size = a.u64(2);
    if (size === 0) return out.length;
    if (size < out.length) return out.length > XATTR_LIST_MAX ? -E2BIG : -ERANGE;
    return out.length === 0 || t.mm.write(a.u64(1), out) ? out.length : -EFAULT;
  };
}

function sysRemovexattr(how: Target) {
  return (t: Task, a: SyscallArgs): SysResult => {
    const d = dentryOf(t, a, how);
    if (typeof d === 'number') return d;
    const inode = d.inode;
    const name = nameArg(t, a.u64(1));
    if (typeof name === 'number') return name;
    const denied = access(t, inode, name, MAY_WRITE);
    if (denied < 0) return denied;
    return changed(d, inode.removexattr(name));
  };
}

const FOLLOW: Target = { kind: 'path', follow: true };
const NOFOLLOW: Target = { kind: 'path', follow: false };
const FD: Target = { kind: 'fd' };
const NOTE = 'tmpfs (and the overlay\'s upper layer) stores user.* and trusted.* (root) attributes; gofer filesystems pass user.* attributes of regular files and directories through to the host; others return EOPNOTSUPP.';

export const xattrRows: SyscallRow[] = [
  { nr: SYS.getxattr, name: 'getxattr', handler: sysGetxattr(FOLLOW), args: ['path', 'str', 'ptr', 'size'], support: 'partial', note: NOTE },
  { nr: SYS.lgetxattr, name: 'lgetxattr', handler: sysGetxattr(NOFOLLOW), args: ['path', 'str', 'ptr', 'size'], support: 'partial', note: NOTE },
  { nr: SYS.fgetxattr, name: 'fgetxattr', handler: sysGetxattr(FD), args: ['fd', 'str', 'ptr', 'size'], support: 'partial', note: NOTE },
  { nr: SYS.setxattr, name: 'setxattr', handler: sysSetxattr(FOLLOW), args: ['path', 'str', 'ptr', 'size', 'hex'], support: 'partial', note: NOTE },
  { nr: SYS.lsetxattr, name: 'lsetxattr', handler: sysSetxattr(NOFOLLOW), args: ['path', 'str', 'ptr', 'size', 'hex'], support: 'partial', note: NOTE },
  { nr: SYS.fsetxattr, name: 'fsetxattr', handler: sysSetxattr(FD), args: ['fd', 'str', 'ptr', 'size', 'hex'], support: 'partial', note: NOTE },
  { nr: SYS.listxattr, name: 'listxattr', handler: sysListxattr(FOLLOW), args: ['path', 'ptr', 'size'], support: 'partial', note: NOTE },
  { nr: SYS.llistxattr, name: 'llistxattr', handler: sysListxattr(NOFOLLOW), args: ['path', 'ptr', 'size'], support: 'partial', note: NOTE },
  { nr: SYS.flistxattr, name: 'flistxattr', handler: sysListxattr(FD), args: ['fd', 'ptr', 'size'], support: 'partial', note: NOTE },
  { nr: SYS.removexattr, name: 'removexattr', handler: sysRemovexattr(FOLLOW), args: ['path', 'str'], support: 'partial', note: NOTE },
  { nr: SYS.lremovexattr, name: 'lremovexattr', handler: sysRemovexattr(NOFOLLOW), args: ['path', 'str'], support: 'partial', note: NOTE },
  { nr: SYS.fremovexattr, name: 'fremovexattr', handler: sysRemovexattr(FD), args: ['fd', 'str'], support: 'partial', note: NOTE },
];
