// The xattr family: get/set/list/remove, on a path (following a final
// symlink or not) or an fd. Names, sizes, flags and permissions are checked
// here as Linux's fs/xattr.c does; the inode stores the attribute (the gofer
// filesystem passes user.* attributes through to the host, others have none).
import { E2BIG, EBADF, EFAULT, EINVAL, ENODATA, EOPNOTSUPP, EPERM, ERANGE } from '../../src/abi/errno';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { Inode } from '../../sentry/vfs/inode';
import { AT_FDCWD, S_IFDIR, S_IFMT, S_IFREG, S_ISVTX } from '../../sentry/vfs/linuxconst';
import { fsSubject, MAY_READ, MAY_WRITE, permits } from '../../sentry/vfs/perm';
import type { ArgFormat, SyscallArgs, SyscallRow, SysResult } from '../types';
import { readPathArg } from './fs_pathutil';
import { fileOf } from './fs_util';

const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
/** The namespaces Linux knows; a name outside them is EOPNOTSUPP. Only user.* is ever stored. */
const NAMESPACES = ['user.', 'trusted.', 'security.', 'system.'];

type Target = (t: Task, a: SyscallArgs) => Inode | number;

/** The inode of a path argument (0), following a final symlink or not. */
const byPath = (follow: boolean): Target => (t, a) => {
  const path = readPathArg(t, a.u64(0), false);
  if (typeof path === 'number') return path;
  const loc = t.kernel.vfs.resolveAt(t, AT_FDCWD, path, follow, false);
  return typeof loc === 'number' ? loc : loc.d.inode;
};

/** The inode of an fd argument (0); O_PATH fds are EBADF, anonymous files have no attributes. */
const byFd: Target = (t, a) => {
  const f = fileOf(t, a.int(0));
  if (!f || f.isPath) return -EBADF;
  return f.loc ? f.loc.d.inode : -EOPNOTSUPP;
};

/** The attribute name at addr: ERANGE when empty or longer than XATTR_NAME_MAX. */
function readName(t: Task, addr: number): string | number {
  const s = t.mm.readCString(addr, XATTR_NAME_MAX + 1);
  if (s === null) return -EFAULT;
  if (s === undefined || s === '' || Buffer.byteLength(s) > XATTR_NAME_MAX) return -ERANGE;
  return s;
}

/** xattr_permission for user.* names: regular files and directories only; then read or write permission. */
function allowed(t: Task, ino: Inode, name: string, want: number): number {
  if (!NAMESPACES.some((ns) => name.startsWith(ns))) return -EOPNOTSUPP;
  if (!name.startsWith('user.')) return want === MAY_WRITE ? -EOPNOTSUPP : -ENODATA;
  const st = ino.stat();
  const fmt = st.mode & S_IFMT;
  if (fmt !== S_IFREG && fmt !== S_IFDIR) return want === MAY_WRITE ? -EPERM : -ENODATA;
  const s = fsSubject(t);
  if (want === MAY_WRITE && fmt === S_IFDIR && (st.mode & S_ISVTX) && s && s.uid !== 0 && s.uid !== st.uid) return -EPERM;
  return permits(s, st.mode, st.uid, st.gid, want) ? 0 : -13 /* EACCES */;
}

/** Copies bytes out as getxattr/listxattr do: size 0 asks for the length; too small a buffer is ERANGE. */
function copyOut(t: Task, bytes: Uint8Array, addr: number, size: number): number {
  if (size === 0) return bytes.length;
  if (bytes.length > size) return -ERANGE;
  if (bytes.length > 0 && !t.mm.write(addr, bytes)) return -EFAULT;
  return bytes.length;
}

// Argument positions: the target is argument 0 for every variant; name, value, size, flags follow.
function get(target: Target) {
  return (t: Task, a: SyscallArgs): SysResult => {
    const ino = target(t, a);
    if (typeof ino === 'number') return ino;
    const name = readName(t, a.u64(1));
    if (typeof name === 'number') return name;
    const p = allowed(t, ino, name, MAY_READ);
    if (p < 0) return p;
    const v = ino.getxattr(name);
    if (typeof v === 'number') return v;
    return copyOut(t, v, a.u64(2), Math.min(a.u64(3), XATTR_SIZE_MAX));
  };
}

function set(target: Target) {
  return (t: Task, a: SyscallArgs): SysResult => {
    const ino = target(t, a);
    if (typeof ino === 'number') return ino;
    const name = readName(t, a.u64(1));
    if (typeof name === 'number') return name;
    const size = a.u64(3), flags = a.int(4);
    if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) !== 0) return -EINVAL;
    if (size > XATTR_SIZE_MAX) return -E2BIG;
    const value = size === 0 ? new Uint8Array(0) : t.mm.read(a.u64(2), size);
    if (!value) return -EFAULT;
    const p = allowed(t, ino, name, MAY_WRITE);
    if (p < 0) return p;
    return ino.setxattr(name, value, flags);
  };
}

function list(target: Target) {
  return (t: Task, a: SyscallArgs): SysResult => {
    const ino = target(t, a);
    if (typeof ino === 'number') return ino;
    const names = ino.listxattr();
    if (typeof names === 'number') return names;
    const bytes = Buffer.from(names.map((n) => `${n}\0`).join(''), 'utf8');
    return copyOut(t, bytes, a.u64(1), Math.min(a.u64(2), XATTR_SIZE_MAX));
  };
}

function remove(target: Target) {
  return (t: Task, a: SyscallArgs): SysResult => {
    const ino = target(t, a);
    if (typeof ino === 'number') return ino;
    const name = readName(t, a.u64(1));
    if (typeof name === 'number') return name;
    const p = allowed(t, ino, name, MAY_WRITE);
    if (p < 0) return p;
    return ino.removexattr(name);
  };
}

const NOTE = 'user.* attributes of regular files and directories on gofer filesystems (through to the host, where its filesystem supports them); other namespaces and filesystems have none.';
const row = (nr: number, name: string, handler: (t: Task, a: SyscallArgs) => SysResult, args: ArgFormat[]): SyscallRow =>
  ({ nr, name, handler, args, support: 'partial', note: NOTE });

export const xattrRows: SyscallRow[] = [
  row(SYS.getxattr, 'getxattr', get(byPath(true)), ['path', 'str', 'ptr', 'size']),
  row(SYS.lgetxattr, 'lgetxattr', get(byPath(false)), ['path', 'str', 'ptr', 'size']),
  row(SYS.fgetxattr, 'fgetxattr', get(byFd), ['fd', 'str', 'ptr', 'size']),
  row(SYS.setxattr, 'setxattr', set(byPath(true)), ['path', 'str', 'ptr', 'size', 'hex']),
  row(SYS.lsetxattr, 'lsetxattr', set(byPath(false)), ['path', 'str', 'ptr', 'size', 'hex']),
  row(SYS.fsetxattr, 'fsetxattr', set(byFd), ['fd', 'str', 'ptr', 'size', 'hex']),
  row(SYS.listxattr, 'listxattr', list(byPath(true)), ['path', 'ptr', 'size']),
  row(SYS.llistxattr, 'llistxattr', list(byPath(false)), ['path', 'ptr', 'size']),
  row(SYS.flistxattr, 'flistxattr', list(byFd), ['fd', 'ptr', 'size']),
  row(SYS.removexattr, 'removexattr', remove(byPath(true)), ['path', 'str']),
  row(SYS.lremovexattr, 'lremovexattr', remove(byPath(false)), ['path', 'str']),
  row(SYS.fremovexattr, 'fremovexattr', remove(byFd), ['fd', 'str']),
];
