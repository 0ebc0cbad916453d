// Path syscalls: open*, access*, getdents64, cwd, mkdir/rmdir, link/unlink,
// symlink/readlink, rename*, chmod*/chown*, umask, truncate, utimensat,
// fsync, sendfile, sync.
import { E2BIG, EAGAIN, EBADF, EFAULT, EINVAL, ENOENT, ENOTDIR, ERANGE, ESPIPE } from '../../src/abi/errno';
import { Timespec } from '../../src/abi/layout';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { TimeSpec } from '../../sentry/vfs/inode';
import { nowSpec } from '../../sentry/vfs/inode';
import {
  AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, O_ACCMODE, O_APPEND,
  O_ASYNC, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_DSYNC, O_EXCL, O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NOFOLLOW,
  O_NONBLOCK, O_PATH, O_SYNC, O_TMPFILE, O_TRUNC, O_WRONLY, RENAME_NOREPLACE, UTIME_NOW, UTIME_OMIT,
} from '../../sentry/vfs/linuxconst';
import {
  RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV,
} from '../../sentry/vfs/vfs';
import { fsSubject, realSubject } from '../../sentry/vfs/perm';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { readPathArg } from './fs_pathutil';
import { andThen, clampCount, fileOf, getdentsAs } from './fs_util';

const enc = new TextEncoder();

// ---- open ----

function doOpen(t: Task, dirfd: number, pathAddr: number, flags: number, mode: number, resolve = 0): SysResult {
  const path = readPathArg(t, pathAddr, false);
  if (typeof path === 'number') return path;
  const f = t.kernel.vfs.open(t, dirfd, path, flags, mode, resolve);
  if (typeof f === 'number') return f;
  return andThen(f.opened(t), (r) => {
    if (r < 0) {
      f.decRef();
      return r;
    }
    const fd = t.fds.install(f, (flags & O_CLOEXEC) !== 0);
    if (fd < 0) f.decRef();
    return fd;
  });
}

const sysOpen = (t: Task, a: SyscallArgs): SysResult => doOpen(t, AT_FDCWD, a.u64(0), a.uint(1), a.uint(2));
const sysOpenat = (t: Task, a: SyscallArgs): SysResult => doOpen(t, a.int(0), a.u64(1), a.uint(2), a.uint(3));
const sysCreat = (t: Task, a: SyscallArgs): SysResult =>
  doOpen(t, AT_FDCWD, a.u64(0), O_CREAT | O_WRONLY | O_TRUNC, a.uint(1));

/** Every open flag Linux knows: openat2 rejects the others (open and openat ignore them). */
const VALID_OPEN_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | O_ASYNC |
  O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | O_TMPFILE;
const RESOLVE_CACHED = 0x20;
const RESOLVE_ALL = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT |
  RESOLVE_CACHED;
/** struct open_how { u64 flags, mode, resolve; } as of Linux 5.6; callers may pass a larger one zero-filled. */
const OPEN_HOW_SIZE = 24;
const OPEN_HOW_MAX = 4096;

function sysOpenat2(t: Task, a: SyscallArgs): SysResult {
  const size = a.u64(3);
  if (size < OPEN_HOW_SIZE) return -EINVAL;
  if (size > OPEN_HOW_MAX) return -E2BIG;
  const raw = t.mm.read(a.u64(2), size);
  if (!raw) return -EFAULT;
  if (raw.subarray(OPEN_HOW_SIZE).some((b) => b !== 0)) return -E2BIG;
  const dv = new DataView(raw.buffer, raw.byteOffset, OPEN_HOW_SIZE);
  const flags = dv.getBigUint64(0, true), mode = dv.getBigUint64(8, true), resolve = dv.getBigUint64(16, true);
  if (flags & ~BigInt(VALID_OPEN_FLAGS) || resolve & ~BigInt(RESOLVE_ALL)) return -EINVAL;
  const f = Number(flags), r = Number(resolve);
  if (mode & ~0o7777n || (mode !== 0n && !(f & O_CREAT) && (f & O_TMPFILE) !== O_TMPFILE)) return -EINVAL;
  if (f & O_PATH && f & ~(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) return -EINVAL;
  if (r & RESOLVE_BENEATH && r & RESOLVE_IN_ROOT) return -EINVAL;
  // Everything here is "cached" except what must change the file.
  if (r & RESOLVE_CACHED && f & (O_TRUNC | O_CREAT | O_TMPFILE)) return -EAGAIN;
  return doOpen(t, a.int(0), a.u64(1), f, Number(mode), r & ~RESOLVE_CACHED);
}

// ---- access ----

function doAccess(t: Task, dirfd: number, pathAddr: number, mode: number, flags: number): number {
  if (mode & ~7) return -EINVAL;
  if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  const emptyPath = (flags & AT_EMPTY_PATH) !== 0;
  const path = readPathArg(t, pathAddr, emptyPath);
  if (typeof path === 'number') return path;
  const vfs = t.kernel.vfs;
  const loc = vfs.resolveAt(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, emptyPath);
  if (typeof loc === 'number') return loc;
  return vfs.access(t, loc, mode, flags & AT_EACCESS ? fsSubject(t) : realSubject(t));
}

// ---- directories ----

function sysGetdents64(t: Task, a: SyscallArgs): SysResult {
  return getdentsAs(t, a, (records) => records);
}

function sysGetcwd(t: Task, a: SyscallArgs): SysResult {
  const buf = a.u64(0), size = a.u64(1);
  const p = t.kernel.vfs.getcwd(t);
  if (typeof p === 'number') return p;
  const bytes = enc.encode(p + '\0');
  if (bytes.length > size) return -ERANGE;
  return t.mm.write(buf, bytes) ? bytes.length : -EFAULT;
}

function sysChdir(t: Task, a: SyscallArgs): SysResult {
  const path = readPathArg(t, a.u64(0), false);
  if (typeof path === 'number') return path;
  const vfs = t.kernel.vfs;
  const loc = vfs.resolveAt(t, AT_FDCWD, path, true, false);
  if (typeof loc === 'number') return loc;
  return vfs.chdirTo(t, loc);
}

function sysFchdir(t: Task, a: SyscallArgs): SysResult {
  const f = fileOf(t, a.int(0));
  if (!f) return -EBADF;
  if (!f.loc) return -ENOTDIR;
  return t.kernel.vfs.chdirTo(t, f.loc);
}

function withPath(t: Task, addr: number, fn: (path: string) => number): number {
  const p = readPathArg(t, addr, false);
  return typeof p === 'number' ? p : fn(p);
}

const sysMkdir = (t: Task, a: SyscallArgs): SysResult =>
  withPath(t, a.u64(0), (p) => t.kernel.vfs.mkdir(t, AT_FDCWD, p, a.uint(1)));
const sysMkdirat = (t: Task, a: SyscallArgs): SysResult =>
  withPath(t, a.u64(1), (p) => t.kernel.vfs.mkdir(t, a.int(0), p, a.uint(2)));
const sysRmdir = (t: Task, a: SyscallArgs): SysResult =>
  withPath(t, a.u64(0), (p) => t.kernel.vfs.rmdir(t, AT_FDCWD, p));
const sysUnlink = (t: Task, a: SyscallArgs): SysResult =>
  withPath(t, a.u64(0), (p) => t.kernel.vfs.unlink(t, AT_FDCWD, p));

function sysUnlinkat(t: Task, a: SyscallArgs): SysResult {
  const dirfd = a.int(0), pathAddr = a.u64(1), flags = a.int(2);
  if (flags & ~AT_REMOVEDIR) return -EINVAL;
  return withPath(t, pathAddr, (p) =>
    flags & AT_REMOVEDIR ? t.kernel.vfs.rmdir(t, dirfd, p) : t.kernel.vfs.unlink(t, dirfd, p));
}

// ---- links ----

function doLink(t: Task, oldDirfd: number, oldAddr: number, newDirfd: number, newAddr: number, flags: number): number {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  const emptyPath = (flags & AT_EMPTY_PATH) !== 0;
  const oldPath = readPathArg(t, oldAddr, emptyPath);
  if (typeof oldPath === 'number') return oldPath;
  const newPath = readPathArg(t, newAddr, false);
  if (typeof newPath === 'number') return newPath;
  const vfs = t.kernel.vfs;
  const src = vfs.resolveAt(t, oldDirfd, oldPath, (flags & AT_SYMLINK_FOLLOW) !== 0, emptyPath);
  if (typeof src === 'number') return src;
  return vfs.link(t, src, newDirfd, newPath);
}

function doSymlink(t: Task, targetAddr: number, dirfd: number, pathAddr: number): number {
  const target = readPathArg(t, targetAddr, false);
  if (typeof target === 'number') return target;
  return withPath(t, pathAddr, (p) => t.kernel.vfs.symlink(t, target, dirfd, p));
}

function doReadlink(t: Task, dirfd: number, pathAddr: number, buf: number, size: number): number {
  if (size <= 0) return -EINVAL;
  const path = readPathArg(t, pathAddr, true);
  if (typeof path === 'number') return path;
  if (path === '' && dirfd === AT_FDCWD) return -ENOENT;
  const text = t.kernel.vfs.readlink(t, dirfd, path);
  if (typeof text === 'number') return text;
  const bytes = enc.encode(text).subarray(0, size);
  return t.mm.write(buf, bytes) ? bytes.length : -EFAULT;
}

function doRename(t: Task, od: number, oa: number, nd: number, na: number, flags: number): number {
  if (flags & ~RENAME_NOREPLACE) return -EINVAL;
  const oldPath = readPathArg(t, oa, false);
  if (typeof oldPath === 'number') return oldPath;
  const newPath = readPathArg(t, na, false);
  if (typeof newPath === 'number') return newPath;
  return t.kernel.vfs.rename(t, od, oldPath, nd, newPath, flags);
}

// ---- attributes ----

/** Resolves (dirfd, path) or uses fd's location; then applies fn. */
function atLoc(t: Task, dirfd: number, pathAddr: number, follow: boolean, emptyPath: boolean,
  fn: (loc: import('../../sentry/vfs/dentry').Location) => number): number {
  const path = readPathArg(t, pathAddr, emptyPath);
  if (typeof path === 'number') return path;
  const loc = t.kernel.vfs.resolveAt(t, dirfd, path, follow, emptyPath);
  if (typeof loc === 'number') return loc;
  return fn(loc);
}

function fdLoc(t: Task, fd: number, fn: (loc: import('../../sentry/vfs/dentry').Location) => number): number {
  const f = fileOf(t, fd);
  if (!f) return -EBADF;
  if (!f.loc || f.isPath) return -EBADF;
  return fn(f.loc);
}

const chmodFn = (t: Task, mode: number) => (loc: import('../../sentry/vfs/dentry').Location): number =>
  t.kernel.vfs.setattr(t, loc, { mode: mode & 0o7777 });

function chownFn(t: Task, uid: number, gid: number) {
  return (loc: import('../../sentry/vfs/dentry').Location): number => t.kernel.vfs.setattr(t, loc, {
    uid: uid === 0xffffffff ? undefined : uid,
    gid: gid === 0xffffffff ? undefined : gid,
  });
}

function sysFchownat(t: Task, a: SyscallArgs): SysResult {
  const dirfd = a.int(0), path = a.u64(1), uid = a.uint(2), gid = a.uint(3), flags = a.int(4);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  return atLoc(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, (flags & AT_EMPTY_PATH) !== 0, chownFn(t, uid, gid));
}

function sysUmask(t: Task, a: SyscallArgs): SysResult {
  const old = t.fs.umask;
  t.fs.umask = a.uint(0) & 0o777;
  return old;
}

function sysTruncate(t: Task, a: SyscallArgs): SysResult {
  const pathAddr = a.u64(0), len = a.i64(1);
  if (len < 0) return -EINVAL;
  return withPath(t, pathAddr, (p) => t.kernel.vfs.truncatePath(t, AT_FDCWD, p, len));
}

function sysFtruncate(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), len = a.i64(1);
  const f = fileOf(t, fd);
  if (!f || f.isPath) return -EBADF;
  if (len < 0) return -EINVAL;
  if (!f.writable) return -EINVAL;
  return f.truncate(t, len);
}

function sysFsync(t: Task, a: SyscallArgs): SysResult {
  const f = fileOf(t, a.int(0));
  if (!f || f.isPath) return -EBADF;
  return f.fsync(t);
}

/** Reads utimensat's times: [atime, mtime], each a TimeSpec, 'omit', or -EINVAL/-EFAULT. */
function readTimes(t: Task, addr: number): [TimeSpec | 'omit', TimeSpec | 'omit', boolean] | number {
  if (addr === 0) { const n = nowSpec(); return [n, n, true]; }
  const raw = t.mm.read(addr, Timespec.size * 2);
  if (!raw) return -EFAULT;
  const out: (TimeSpec | 'omit')[] = [];
  let onlyNow = true;
  for (let i = 0; i < 2; i++) {
    const v = Timespec.decode(raw, i * Timespec.size);
    if (v.tv_nsec === UTIME_OMIT) { out.push('omit'); continue; }
    if (v.tv_nsec === UTIME_NOW) { out.push(nowSpec()); continue; }
    if (v.tv_nsec < 0 || v.tv_nsec >= 1e9) return -EINVAL;
    onlyNow = false;
    out.push([v.tv_sec, v.tv_nsec]);
  }
  return [out[0]!, out[1]!, onlyNow];
}

function sysUtimensat(t: Task, a: SyscallArgs): SysResult {
  const dirfd = a.int(0), pathAddr = a.u64(1), timesAddr = a.u64(2), flags = a.int(3);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  const times = readTimes(t, timesAddr);
  if (typeof times === 'number') return times;
  const [at, mt, onlyNow] = times;
  const vfs = t.kernel.vfs;
  const apply = (loc: import('../../sentry/vfs/dentry').Location): number => {
    const p = vfs.mayTouch(t, loc, onlyNow);
    if (p < 0) return p;
    if (at === 'omit' && mt === 'omit') return 0;
    return vfs.setattr(t, loc, { atime: at === 'omit' ? undefined : at, mtime: mt === 'omit' ? undefined : mt });
  };
  if (pathAddr === 0) {
    // futimens: the file dirfd refers to.
    if (dirfd === AT_FDCWD) return -EFAULT;
    const f = fileOf(t, dirfd);
    if (!f) return -EBADF;
    if (!f.loc) return -EBADF;
    return apply(f.loc);
  }
  return atLoc(t, dirfd, pathAddr, (flags & AT_SYMLINK_NOFOLLOW) === 0, (flags & AT_EMPTY_PATH) !== 0, apply);
}

// ---- sendfile, sync ----

const SENDFILE_CHUNK = 1 << 20;

function sysSendfile(t: Task, a: SyscallArgs): SysResult {
  const outFd = a.int(0), inFd = a.int(1), offAddr = a.u64(2), count = clampCount(a.u64(3));
  const inF = fileOf(t, inFd), outF = fileOf(t, outFd);
  if (!inF || !inF.readable || !outF || !outF.writable) return -EBADF;
  const n = Math.min(count, SENDFILE_CHUNK);
  let off = -1;
  if (offAddr !== 0) {
    const v = t.mm.readU64(offAddr);
    if (v === null) return -EFAULT;
    off = Number(BigInt.asIntN(64, v));
    if (off < 0) return -EINVAL;
    if (!inF.positional) return -ESPIPE;
  } else if (inF.positional) {
    off = inF.offset;
  }
  if (n === 0) return 0;
  return andThen(inF.read(t, n, off), (data) => {
    if (typeof data === 'number') return data;
    if (data.length === 0) return 0;
    return andThen(outF.write(t, data, -1), (w) => {
      const done = w < 0 ? 0 : w;
      if (offAddr !== 0) {
        if (!t.mm.writeU64(offAddr, BigInt(off + done))) return -EFAULT;
      } else if (inF.positional) {
        inF.offset = off + done;
      }
      return w;
    });
  });
}

function sysSyncfs(t: Task, a: SyscallArgs): SysResult {
  return fileOf(t, a.int(0)) ? 0 : -EBADF;
}

export const pathRows: SyscallRow[] = [
  {
    nr: SYS.openat2, name: 'openat2', handler: sysOpenat2, args: ['fd', 'path', 'ptr', 'size'], support: 'partial',
    note: 'As openat, with every RESOLVE_* flag; RESOLVE_CACHED fails (EAGAIN) only for O_CREAT, O_TRUNC and O_TMPFILE.',
  },
  {
    nr: SYS.open, name: 'open', handler: sysOpen, args: ['path', 'oflags', 'mode'], support: 'partial',
    note: 'O_TMPFILE returns EOPNOTSUPP.',
  },
  {
    nr: SYS.openat, name: 'openat', handler: sysOpenat, args: ['fd', 'path', 'oflags', 'mode'], support: 'partial',
    note: 'O_TMPFILE returns EOPNOTSUPP.',
  },
  { nr: SYS.creat, name: 'creat', handler: sysCreat, args: ['path', 'mode'], support: 'full' },
  {
    nr: SYS.access, name: 'access', handler: (t, a) => doAccess(t, AT_FDCWD, a.u64(0), a.int(1), 0),
    args: ['path', 'int'], support: 'full',
  },
  {
    nr: SYS.faccessat, name: 'faccessat', handler: (t, a) => doAccess(t, a.int(0), a.u64(1), a.int(2), 0),
    args: ['fd', 'path', 'int'], support: 'full',
  },
  {
    nr: SYS.faccessat2, name: 'faccessat2', handler: (t, a) => doAccess(t, a.int(0), a.u64(1), a.int(2), a.int(3)),
    args: ['fd', 'path', 'int', 'hex'], support: 'full',
  },
  { nr: SYS.getdents64, name: 'getdents64', handler: sysGetdents64, args: ['fd', 'ptr', 'size'], support: 'full' },
  { nr: SYS.getcwd, name: 'getcwd', handler: sysGetcwd, args: ['ptr', 'size'], support: 'full' },
  { nr: SYS.chdir, name: 'chdir', handler: sysChdir, args: ['path'], support: 'full' },
  { nr: SYS.fchdir, name: 'fchdir', handler: sysFchdir, args: ['fd'], support: 'full' },
  { nr: SYS.mkdir, name: 'mkdir', handler: sysMkdir, args: ['path', 'mode'], support: 'full' },
  { nr: SYS.mkdirat, name: 'mkdirat', handler: sysMkdirat, args: ['fd', 'path', 'mode'], support: 'full' },
  { nr: SYS.rmdir, name: 'rmdir', handler: sysRmdir, args: ['path'], support: 'full' },
  { nr: SYS.unlink, name: 'unlink', handler: sysUnlink, args: ['path'], support: 'full' },
  { nr: SYS.unlinkat, name: 'unlinkat', handler: sysUnlinkat, args: ['fd', 'path', 'hex'], support: 'full' },
  {
    nr: SYS.link, name: 'link', handler: (t, a) => doLink(t, AT_FDCWD, a.u64(0), AT_FDCWD, a.u64(1), 0),
    args: ['path', 'path'], support: 'full',
  },
  {
    nr: SYS.linkat, name: 'linkat', handler: (t, a) => doLink(t, a.int(0), a.u64(1), a.int(2), a.u64(3), a.int(4)),
    args: ['fd', 'path', 'fd', 'path', 'hex'], support: 'full',
  },
  {
    nr: SYS.symlink, name: 'symlink', handler: (t, a) => doSymlink(t, a.u64(0), AT_FDCWD, a.u64(1)),
    args: ['path', 'path'], support: 'full',
  },
  {
    nr: SYS.symlinkat, name: 'symlinkat', handler: (t, a) => doSymlink(t, a.u64(0), a.int(1), a.u64(2)),
    args: ['path', 'fd', 'path'], support: 'full',
  },
  {
    nr: SYS.readlink, name: 'readlink', handler: (t, a) => doReadlink(t, AT_FDCWD, a.u64(0), a.u64(1), a.int(2)),
    args: ['path', 'ptr', 'size'], support: 'full',
  },
  {
    nr: SYS.readlinkat, name: 'readlinkat', handler: (t, a) => doReadlink(t, a.int(0), a.u64(1), a.u64(2), a.int(3)),
    args: ['fd', 'path', 'ptr', 'size'], support: 'full',
  },
  {
    nr: SYS.rename, name: 'rename', handler: (t, a) => doRename(t, AT_FDCWD, a.u64(0), AT_FDCWD, a.u64(1), 0),
    args: ['path', 'path'], support: 'partial', note: 'Renaming a directory that exists in the read-only lower layer returns EXDEV.',
  },
  {
    nr: SYS.renameat, name: 'renameat', handler: (t, a) => doRename(t, a.int(0), a.u64(1), a.int(2), a.u64(3), 0),
    args: ['fd', 'path', 'fd', 'path'], support: 'partial', note: 'Renaming a directory that exists in the read-only lower layer returns EXDEV.',
  },
  {
    nr: SYS.renameat2, name: 'renameat2', handler: (t, a) => doRename(t, a.int(0), a.u64(1), a.int(2), a.u64(3), a.uint(4)),
    args: ['fd', 'path', 'fd', 'path', 'hex'], support: 'partial',
    note: 'Flags 0 and RENAME_NOREPLACE; RENAME_EXCHANGE and RENAME_WHITEOUT return EINVAL. ' +
      'Renaming a directory that exists in the read-only lower layer returns EXDEV.',
  },
  {
    nr: SYS.chmod, name: 'chmod', handler: (t, a) => atLoc(t, AT_FDCWD, a.u64(0), true, false, chmodFn(t, a.uint(1))),
    args: ['path', 'mode'], support: 'full',
  },
  {
    nr: SYS.fchmod, name: 'fchmod', handler: (t, a) => fdLoc(t, a.int(0), chmodFn(t, a.uint(1))),
    args: ['fd', 'mode'], support: 'partial', note: 'Pipes and other anonymous files return EBADF.',
  },
  {
    nr: SYS.fchmodat, name: 'fchmodat', handler: (t, a) => atLoc(t, a.int(0), a.u64(1), true, false, chmodFn(t, a.uint(2))),
    args: ['fd', 'path', 'mode'], support: 'full',
  },
  {
    nr: SYS.chown, name: 'chown', handler: (t, a) => atLoc(t, AT_FDCWD, a.u64(0), true, false, chownFn(t, a.uint(1), a.uint(2))),
    args: ['path', 'int', 'int'], support: 'full',
  },
  {
    nr: SYS.lchown, name: 'lchown', handler: (t, a) => atLoc(t, AT_FDCWD, a.u64(0), false, false, chownFn(t, a.uint(1), a.uint(2))),
    args: ['path', 'int', 'int'], support: 'full',
  },
  {
    nr: SYS.fchown, name: 'fchown', handler: (t, a) => fdLoc(t, a.int(0), chownFn(t, a.uint(1), a.uint(2))),
    args: ['fd', 'int', 'int'], support: 'partial', note: 'Pipes and other anonymous files return EBADF.',
  },
  { nr: SYS.fchownat, name: 'fchownat', handler: sysFchownat, args: ['fd', 'path', 'int', 'int', 'hex'], support: 'full' },
  { nr: SYS.umask, name: 'umask', handler: sysUmask, args: ['mode'], support: 'full' },
  { nr: SYS.truncate, name: 'truncate', handler: sysTruncate, args: ['path', 'off'], support: 'full' },
  { nr: SYS.ftruncate, name: 'ftruncate', handler: sysFtruncate, args: ['fd', 'off'], support: 'full' },
  {
    nr: SYS.fsync, name: 'fsync', handler: sysFsync, args: ['fd'], support: 'full',
  },
  { nr: SYS.fdatasync, name: 'fdatasync', handler: sysFsync, args: ['fd'], support: 'full' },
  {
    nr: SYS.utimensat, name: 'utimensat', handler: sysUtimensat, args: ['fd', 'path', 'ptr', 'hex'], support: 'full',
  },
  {
    nr: SYS.sendfile, name: 'sendfile', handler: sysSendfile, args: ['fd', 'fd', 'ptr', 'size'], support: 'partial',
    note: 'Moves at most 1 MiB per call (a short count, as Linux allows).',
  },
  {
    nr: SYS.sync, name: 'sync', handler: () => 0, args: [], support: 'full',
  },
  { nr: SYS.syncfs, name: 'syncfs', handler: sysSyncfs, args: ['fd'], support: 'full' },
];
