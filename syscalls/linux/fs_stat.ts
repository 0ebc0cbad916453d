// stat, fstat, lstat, newfstatat, statx, statfs, fstatfs: encoding the VFS's
// Stat and StatFS with the layouts from src/abi/layout.ts.
import { EBADF, EFAULT, EINVAL } from '../../src/abi/errno';
import { Stat as StatLayout, Statfs as StatfsLayout, Statx as StatxLayout } from '../../src/abi/layout';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { Stat } from '../../sentry/vfs/file';
import type { StatFS } from '../../sentry/vfs/inode';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW, STATX__RESERVED,
  STATX_BASIC_STATS,
} from '../../sentry/vfs/linuxconst';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { fileOf } from './fs_util';
import { readPathArg } from './fs_pathutil';

export function encodeStat(s: Stat): Uint8Array {
  return StatLayout.encode({
    st_dev: s.dev, st_ino: BigInt.asUintN(64, s.ino), st_nlink: s.nlink, st_mode: s.mode, st_uid: s.uid,
    st_gid: s.gid, st_rdev: s.rdev, st_size: s.size, st_blksize: s.blksize, st_blocks: s.blocks,
    st_atime: BigInt.asUintN(64, BigInt(s.atimeSec)), st_atime_nsec: s.atimeNsec,
    st_mtime: BigInt.asUintN(64, BigInt(s.mtimeSec)), st_mtime_nsec: s.mtimeNsec,
    st_ctime: BigInt.asUintN(64, BigInt(s.ctimeSec)), st_ctime_nsec: s.ctimeNsec,
  });
}

const major = (dev: number): number => (dev >>> 8) & 0xfff;
const minor = (dev: number): number => (dev & 0xff) | ((dev >>> 12) & 0xfff00);

export function encodeStatx(s: Stat): Uint8Array {
  return StatxLayout.encode({
    stx_mask: STATX_BASIC_STATS, stx_blksize: s.blksize, stx_nlink: s.nlink, stx_uid: s.uid, stx_gid: s.gid,
    stx_mode: s.mode & 0xffff, stx_ino: BigInt.asUintN(64, s.ino), stx_size: s.size, stx_blocks: s.blocks,
    stx_atime_sec: s.atimeSec, stx_atime_nsec: s.atimeNsec,
    stx_ctime_sec: s.ctimeSec, stx_ctime_nsec: s.ctimeNsec,
    stx_mtime_sec: s.mtimeSec, stx_mtime_nsec: s.mtimeNsec,
    stx_rdev_major: major(s.rdev), stx_rdev_minor: minor(s.rdev),
    stx_dev_major: major(s.dev), stx_dev_minor: minor(s.dev),
  });
}

export function encodeStatfs(s: StatFS, dev: number): Uint8Array {
  return StatfsLayout.encode({
    f_type: s.type, f_bsize: s.bsize, f_blocks: s.blocks, f_bfree: s.bfree, f_bavail: s.bavail,
    f_files: s.files, f_ffree: s.ffree, f_fsid0: dev, f_fsid1: 0, f_namelen: s.namelen, f_frsize: s.frsize,
    f_flags: s.flags,
  });
}

function out(t: Task, addr: number, s: Stat | number, enc: (s: Stat) => Uint8Array): number {
  if (typeof s === 'number') return s;
  return t.mm.write(addr, enc(s)) ? 0 : -EFAULT;
}

function statPath(t: Task, dirfd: number, pathAddr: number, bufAddr: number, flags: number): number {
  const emptyPath = (flags & AT_EMPTY_PATH) !== 0;
  const path = readPathArg(t, pathAddr, emptyPath);
  if (typeof path === 'number') return path;
  const s = t.kernel.vfs.stat(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, emptyPath);
  return out(t, bufAddr, s, encodeStat);
}

function sysStat(t: Task, a: SyscallArgs): SysResult {
  return statPath(t, AT_FDCWD, a.u64(0), a.u64(1), 0);
}

function sysLstat(t: Task, a: SyscallArgs): SysResult {
  return statPath(t, AT_FDCWD, a.u64(0), a.u64(1), AT_SYMLINK_NOFOLLOW);
}

function sysFstat(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), buf = a.u64(1);
  const f = fileOf(t, fd);
  if (!f) return -EBADF;
  return out(t, buf, f.stat(t), encodeStat);
}

function sysNewfstatat(t: Task, a: SyscallArgs): SysResult {
  const dirfd = a.int(0), path = a.u64(1), buf = a.u64(2), flags = a.int(3);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) return -EINVAL;
  return statPath(t, dirfd, path, buf, flags);
}

function sysStatx(t: Task, a: SyscallArgs): SysResult {
  const dirfd = a.int(0), pathAddr = a.u64(1), flags = a.int(2), mask = a.uint(3), buf = a.u64(4);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) return -EINVAL;
  if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return -EINVAL;
  if (mask & STATX__RESERVED) return -EINVAL;
  const emptyPath = (flags & AT_EMPTY_PATH) !== 0;
  const path = readPathArg(t, pathAddr, emptyPath);
  if (typeof path === 'number') return path;
  const s = t.kernel.vfs.stat(t, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, emptyPath);
  return out(t, buf, s, encodeStatx);
}

function sysStatfs(t: Task, a: SyscallArgs): SysResult {
  const pathAddr = a.u64(0), buf = a.u64(1);
  const path = readPathArg(t, pathAddr, false);
  if (typeof path === 'number') return path;
  const loc = t.kernel.vfs.resolveAt(t, AT_FDCWD, path, true, false);
  if (typeof loc === 'number') return loc;
  const fs = loc.d.inode.fs;
  return t.mm.write(buf, encodeStatfs(fs.statfs(), fs.dev)) ? 0 : -EFAULT;
}

function sysFstatfs(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), buf = a.u64(1);
  const f = fileOf(t, fd);
  if (!f) return -EBADF;
  if (!f.loc) {
    // Pipes and other anonymous files: pipefs/anon_inodefs-like answers.
    const s = f.stat(t);
    return t.mm.write(buf, encodeStatfs({
      type: 0x50495045, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255,
      frsize: 4096, flags: 0,
    }, s.dev)) ? 0 : -EFAULT;
  }
  const fs = f.loc.d.inode.fs;
  return t.mm.write(buf, encodeStatfs(fs.statfs(), fs.dev)) ? 0 : -EFAULT;
}

export const statRows: SyscallRow[] = [
  { nr: SYS.stat, name: 'stat', handler: sysStat, args: ['path', 'ptr'], support: 'full' },
  { nr: SYS.fstat, name: 'fstat', handler: sysFstat, args: ['fd', 'ptr'], support: 'full' },
  { nr: SYS.lstat, name: 'lstat', handler: sysLstat, args: ['path', 'ptr'], support: 'full' },
  { nr: SYS.newfstatat, name: 'newfstatat', handler: sysNewfstatat, args: ['fd', 'path', 'ptr', 'hex'], support: 'full' },
  {
    nr: SYS.statx, name: 'statx', handler: sysStatx, args: ['fd', 'path', 'hex', 'hex', 'ptr'], support: 'partial',
    note: 'Reports STATX_BASIC_STATS only (no birth time, mount id or attributes).',
  },
  { nr: SYS.statfs, name: 'statfs', handler: sysStatfs, args: ['path', 'ptr'], support: 'full' },
  { nr: SYS.fstatfs, name: 'fstatfs', handler: sysFstatfs, args: ['fd', 'ptr'], support: 'full' },
];
