// File syscalls beyond the core set: mknod*, vectored positional I/O,
// the old getdents, close_range, flock (fs_locks.ts), fadvise64, fallocate, readahead,
// copy_file_range and chroot.
import {
  EBADF, EFAULT, EINVAL, EISDIR, ENODEV, ENOTDIR, EOPNOTSUPP, EPERM, ESPIPE,
} from '../../src/abi/errno';
import { Dirent64, DIRENT64_NAME_OFFSET } from '../../src/abi/layout';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { FileDescription } from '../../sentry/vfs/file';
import {
  AT_FDCWD, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK,
} from '../../sentry/vfs/linuxconst';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { readPathArg } from './fs_pathutil';
import { sysFlock } from './fs_locks';
import { andThen, clampCount, fileOf, gather, getdentsAs, readIovecs, scatter, totalLen, type IoVec } from './fs_util';

// ---- mknod ----

function doMknod(t: Task, dirfd: number, pathAddr: number, mode: number, dev: number): number {
  const type = mode & S_IFMT;
  if (type !== 0 && type !== S_IFREG && type !== S_IFCHR && type !== S_IFBLK && type !== S_IFIFO && type !== S_IFSOCK) {
    return type === S_IFDIR ? -EPERM : -EINVAL;
  }
  if ((type === S_IFCHR || type === S_IFBLK) && t.creds.euid !== 0) return -EPERM;
  const path = readPathArg(t, pathAddr, false);
  if (typeof path === 'number') return path;
  return t.kernel.vfs.mknod(t, dirfd, path, mode, dev);
}

// ---- vectored positional I/O ----

/** RWF_HIPRI, RWF_DSYNC, RWF_SYNC: accepted, nothing to do. */
const RWF_ACCEPTED = 0x1 | 0x2 | 0x4;

/**
 * What preadv and pwritev (and their v2) take: the description (readable or
 * writable, as `writing` says), the iovecs, and the file position: off, or
 * -1 (the file's own offset) for the v2 calls given -1.
 */
function vectoredArgs(t: Task, a: SyscallArgs, v2: boolean, writing: boolean): { f: FileDescription; iovs: IoVec[]; pos: number } | number {
  const f = fileOf(t, a.int(0));
  if (!f || !(writing ? f.writable : f.readable)) return -EBADF;
  if ((v2 ? a.int(5) : 0) & ~RWF_ACCEPTED) return -EOPNOTSUPP;
  const iovs = readIovecs(t, a.u64(1), a.int(2));
  if (typeof iovs === 'number') return iovs;
  const off = a.i64(3);
  if (v2 && off === -1) return { f, iovs, pos: -1 };
  if (off < 0) return -EINVAL;
  return f.positional ? { f, iovs, pos: off } : -ESPIPE;
}

function doPreadv(t: Task, a: SyscallArgs, v2: boolean): SysResult {
  const v = vectoredArgs(t, a, v2, false);
  if (typeof v === 'number') return v;
  return andThen(v.f.read(t, totalLen(v.iovs), v.pos), (r) => (typeof r === 'number' ? r : scatter(t, v.iovs, r)));
}

function doPwritev(t: Task, a: SyscallArgs, v2: boolean): SysResult {
  const v = vectoredArgs(t, a, v2, true);
  if (typeof v === 'number') return v;
  const data = gather(t, v.iovs);
  if (typeof data === 'number') return data;
  return v.f.write(t, data, v.pos);
}

// ---- getdents (struct linux_dirent) ----

/**
 * The old getdents: the same records as getdents64 re-laid out as struct
 * linux_dirent { u64 d_ino; u64 d_off; u16 d_reclen; char d_name[]; u8 pad; u8 d_type }.
 * Both formats need header + name + 2 bytes rounded to 8, so sizes match.
 */
function sysGetdents(t: Task, a: SyscallArgs): SysResult {
  return getdentsAs(t, a, toLinuxDirent);
}

function toLinuxDirent(r: Uint8Array): Uint8Array {
  const out = new Uint8Array(r.length);
  const dv = new DataView(out.buffer);
  for (let off = 0; off < r.length;) {
    const h = Dirent64.decode(r, off);
    const nameStart = off + DIRENT64_NAME_OFFSET;
    const nameEnd = r.indexOf(0, nameStart);
    dv.setBigUint64(off, BigInt(h.d_ino), true);
    dv.setBigInt64(off + 8, BigInt(h.d_off), true);
    dv.setUint16(off + 16, h.d_reclen, true);
    out.set(r.subarray(nameStart, nameEnd), off + 18);
    out[off + h.d_reclen - 1] = h.d_type;
    off += h.d_reclen;
  }
  return out;
}

// ---- fd-range and advisory calls ----

const CLOSE_RANGE_UNSHARE = 0x2;
const CLOSE_RANGE_CLOEXEC = 0x4;

function sysCloseRange(t: Task, a: SyscallArgs): SysResult {
  const first = a.uint(0), last = a.uint(1), flags = a.uint(2);
  if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) return -EINVAL;
  if (first > last) return -EINVAL;
  for (const fd of t.fds.fds()) {
    if (fd < first || fd > last) continue;
    if (flags & CLOSE_RANGE_CLOEXEC) t.fds.setCloexec(fd, true);
    else t.fds.close(fd);
  }
  return 0;
}

function sysFadvise(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), advice = a.int(3);
  const f = fileOf(t, fd);
  if (!f || f.isPath) return -EBADF;
  if (f.displayName().startsWith('pipe:')) return -ESPIPE;
  if (advice < 0 || advice > 5) return -EINVAL;
  return 0;
}

function sysReadahead(t: Task, a: SyscallArgs): SysResult {
  const f = fileOf(t, a.int(0));
  if (!f || !f.readable) return -EBADF;
  return f.positional && f.fileType(t) === S_IFREG ? 0 : -EINVAL;
}

function sysFallocate(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), mode = a.int(1), off = a.i64(2), len = a.i64(3);
  const f = fileOf(t, fd);
  if (!f || f.isPath || !f.writable) return -EBADF;
  if (off < 0 || len <= 0) return -EINVAL;
  const type = f.fileType(t);
  if (type === S_IFIFO) return -ESPIPE;
  if (type === S_IFDIR) return -EISDIR;
  if (type !== S_IFREG) return -ENODEV;
  if (mode !== 0) return -EOPNOTSUPP;
  const size = f.stat(t).size;
  return off + len > size ? f.truncate(t, off + len) : 0;
}

// ---- copy_file_range ----

const COPY_CHUNK = 1 << 20;

function sysCopyFileRange(t: Task, a: SyscallArgs): SysResult {
  const inFd = a.int(0), inOffAddr = a.u64(1), outFd = a.int(2), outOffAddr = a.u64(3);
  const len = clampCount(a.u64(4)), flags = a.uint(5);
  if (flags !== 0) return -EINVAL;
  const inF = fileOf(t, inFd), outF = fileOf(t, outFd);
  if (!inF || !inF.readable || !outF || !outF.writable) return -EBADF;
  if (inF.fileType(t) !== S_IFREG || outF.fileType(t) !== S_IFREG) return -EINVAL;
  const readOff = (addr: number, f: typeof inF): number => {
    if (addr === 0) return f.offset;
    const v = t.mm.readU64(addr);
    if (v === null) return -EFAULT;
    const n = Number(BigInt.asIntN(64, v));
    return n < 0 ? -EINVAL : n;
  };
  const inOff = readOff(inOffAddr, inF);
  if (inOff < 0) return inOff;
  const outOff = readOff(outOffAddr, outF);
  if (outOff < 0) return outOff;
  const data = inF.read(t, Math.min(len, COPY_CHUNK), inOff);
  return andThen(data, (d) => {
    if (typeof d === 'number') return d;
    if (d.length === 0) return 0;
    return andThen(outF.write(t, d, outOff), (w) => {
      if (w < 0) return w;
      if (inOffAddr !== 0) { if (!t.mm.writeU64(inOffAddr, BigInt(inOff + w))) return -EFAULT; } else inF.offset = inOff + w;
      if (outOffAddr !== 0) { if (!t.mm.writeU64(outOffAddr, BigInt(outOff + w))) return -EFAULT; } else outF.offset = outOff + w;
      return w;
    });
  });
}

// ---- chroot ----

function sysChroot(t: Task, a: SyscallArgs): SysResult {
  if (t.creds.euid !== 0) return -EPERM;
  const path = readPathArg(t, a.u64(0), false);
  if (typeof path === 'number') return path;
  const vfs = t.kernel.vfs;
  const loc = vfs.resolveAt(t, AT_FDCWD, path, true, false);
  if (typeof loc === 'number') return loc;
  if (!loc.d.inode.isDir) return -ENOTDIR;
  t.fs.root = loc;
  return 0;
}

export const extraRows: SyscallRow[] = [
  {
    nr: SYS.mknod, name: 'mknod', handler: (t, a) => doMknod(t, AT_FDCWD, a.u64(0), a.uint(1), a.uint(2)),
    args: ['path', 'mode', 'hex'], support: 'partial',
    note: 'FIFOs and regular files work; device nodes can be made (as root) but open with ENXIO; sockets are inert.',
  },
  {
    nr: SYS.mknodat, name: 'mknodat', handler: (t, a) => doMknod(t, a.int(0), a.u64(1), a.uint(2), a.uint(3)),
    args: ['fd', 'path', 'mode', 'hex'], support: 'partial',
    note: 'FIFOs and regular files work; device nodes can be made (as root) but open with ENXIO; sockets are inert.',
  },
  { nr: SYS.preadv, name: 'preadv', handler: (t, a) => doPreadv(t, a, false), args: ['fd', 'iov', 'int', 'off'], support: 'full' },
  { nr: SYS.pwritev, name: 'pwritev', handler: (t, a) => doPwritev(t, a, false), args: ['fd', 'iov', 'int', 'off'], support: 'full' },
  {
    nr: SYS.preadv2, name: 'preadv2', handler: (t, a) => doPreadv(t, a, true), args: ['fd', 'iov', 'int', 'off', 'int', 'hex'],
    support: 'partial', note: 'RWF_HIPRI/RWF_DSYNC/RWF_SYNC are accepted and ignored; other flags return EOPNOTSUPP.',
  },
  {
    nr: SYS.pwritev2, name: 'pwritev2', handler: (t, a) => doPwritev(t, a, true), args: ['fd', 'iov', 'int', 'off', 'int', 'hex'],
    support: 'partial', note: 'RWF_HIPRI/RWF_DSYNC/RWF_SYNC are accepted and ignored; other flags (RWF_APPEND, RWF_NOWAIT) return EOPNOTSUPP.',
  },
  { nr: SYS.getdents, name: 'getdents', handler: sysGetdents, args: ['fd', 'ptr', 'size'], support: 'full' },
  {
    nr: SYS.close_range, name: 'close_range', handler: sysCloseRange, args: ['fd', 'fd', 'hex'], support: 'partial',
    note: 'CLOSE_RANGE_UNSHARE does not unshare a table shared by CLONE_FILES.',
  },
  {
    nr: SYS.flock, name: 'flock', handler: sysFlock, args: ['fd', 'int'], support: 'full',
  },
  { nr: SYS.fadvise64, name: 'fadvise64', handler: sysFadvise, args: ['fd', 'off', 'size', 'int'], support: 'full' },
  { nr: SYS.readahead, name: 'readahead', handler: sysReadahead, args: ['fd', 'off', 'size'], support: 'full' },
  {
    nr: SYS.fallocate, name: 'fallocate', handler: sysFallocate, args: ['fd', 'int', 'off', 'off'], support: 'partial',
    note: 'Mode 0 only (extends the file); punching, collapsing and zeroing return EOPNOTSUPP.',
  },
  {
    nr: SYS.copy_file_range, name: 'copy_file_range', handler: sysCopyFileRange,
    args: ['fd', 'ptr', 'fd', 'ptr', 'size', 'hex'], support: 'partial', note: 'Copies at most 1 MiB per call.',
  },
  {
    nr: SYS.chroot, name: 'chroot', handler: sysChroot, args: ['path'], support: 'full',
  },
];
