// read/write and friends, close, dup*, fcntl, ioctl, lseek, pipe*.
import { EBADF, EFAULT, EINVAL, ESPIPE } from '../../src/abi/errno';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { FileDescription } from '../../sentry/vfs/file';
import {
  F_ADD_SEALS, F_DUPFD, F_DUPFD_CLOEXEC, F_GET_SEALS, F_GETFD, F_GETFL, F_GETLK, F_GETOWN, F_GETPIPE_SZ,
  F_GETSIG, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETFD, F_SETFL, F_SETLK, F_SETLKW, F_SETOWN,
  F_SETPIPE_SZ, F_SETSIG, FD_CLOEXEC, FIOCLEX, FIONBIO,
  FIONCLEX, O_CLOEXEC, O_DIRECT, O_NONBLOCK, SEEK_CUR, SEEK_END, SEEK_HOLE, SEEK_SET,
  SEEK_DATA,
} from '../../sentry/vfs/linuxconst';
import { newPipe, PipeFD } from '../../sentry/vfs/pipe';
import { fcntlSeals } from './fs_memfd';
import { fcntlLock } from './fs_locks';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import {
  clampCount, fileOf, finishRead, gather, installPair, readIovecs, scatter, andThen, totalLen,
} from './fs_util';


function sysRead(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), addr = a.u64(1), len = clampCount(a.u64(2));
  const f = fileOf(t, fd);
  if (!f || !f.readable) return -EBADF;
  return f.readToUser(t, addr, len, -1) ?? finishRead(t, f.read(t, len, -1), addr);
}

function sysWrite(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), addr = a.u64(1), len = clampCount(a.u64(2));
  const f = fileOf(t, fd);
  if (!f || !f.writable) return -EBADF;
  const direct = f.writeFromUser(t, addr, len, -1);
  if (direct !== null) return direct;
  const data = len === 0 ? new Uint8Array(0) : t.mm.read(addr, len);
  if (!data) return -EFAULT;
  return f.write(t, data, -1);
}

/** The description pread and pwrite use: open for reading (or writing, as `writing` says), seekable, and off not negative. */
function positionalFile(t: Task, fd: number, off: number, writing: boolean): FileDescription | number {
  const f = fileOf(t, fd);
  if (!f || !(writing ? f.writable : f.readable)) return -EBADF;
  if (off < 0) return -EINVAL;
  return f.positional ? f : -ESPIPE;
}

function sysPread(t: Task, a: SyscallArgs): SysResult {
  const addr = a.u64(1), len = clampCount(a.u64(2)), off = a.i64(3);
  const f = positionalFile(t, a.int(0), off, false);
  if (typeof f === 'number') return f;
  return f.readToUser(t, addr, len, off) ?? finishRead(t, f.read(t, len, off), addr);
}

function sysPwrite(t: Task, a: SyscallArgs): SysResult {
  const addr = a.u64(1), len = clampCount(a.u64(2)), off = a.i64(3);
  const f = positionalFile(t, a.int(0), off, true);
  if (typeof f === 'number') return f;
  const direct = f.writeFromUser(t, addr, len, off);
  if (direct !== null) return direct;
  const data = len === 0 ? new Uint8Array(0) : t.mm.read(addr, len);
  if (!data) return -EFAULT;
  return f.write(t, data, off);
}

function sysReadv(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), iovAddr = a.u64(1), iovcnt = a.int(2);
  const f = fileOf(t, fd);
  if (!f || !f.readable) return -EBADF;
  const iovs = readIovecs(t, iovAddr, iovcnt);
  if (typeof iovs === 'number') return iovs;
  return andThen(f.read(t, totalLen(iovs), -1), (r) => (typeof r === 'number' ? r : scatter(t, iovs, r)));
}

function sysWritev(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), iovAddr = a.u64(1), iovcnt = a.int(2);
  const f = fileOf(t, fd);
  if (!f || !f.writable) return -EBADF;
  const iovs = readIovecs(t, iovAddr, iovcnt);
  if (typeof iovs === 'number') return iovs;
  const data = gather(t, iovs);
  if (typeof data === 'number') return data;
  return f.write(t, data, -1);
}

function sysLseek(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), off = a.i64(1), whence = a.uint(2);
  const f = fileOf(t, fd);
  if (!f) return -EBADF;
  if (whence !== SEEK_SET && whence !== SEEK_CUR && whence !== SEEK_END && whence !== SEEK_DATA && whence !== SEEK_HOLE) {
    return -EINVAL;
  }
  return f.lseek(t, off, whence);
}

function sysClose(t: Task, a: SyscallArgs): SysResult {
  return t.fds.close(a.int(0));
}

function sysDup(t: Task, a: SyscallArgs): SysResult {
  const f = fileOf(t, a.int(0));
  if (!f) return -EBADF;
  const fd = t.fds.install(f.incRef(), false);
  if (fd < 0) f.decRef();
  return fd;
}

function dupTo(t: Task, oldfd: number, newfd: number, cloexec: boolean): number {
  const f = fileOf(t, oldfd);
  if (!f) return -EBADF;
  if (newfd < 0 || newfd >= t.fds.limit) return -EBADF;
  t.fds.installAt(newfd, f.incRef(), cloexec);
  return newfd;
}

function sysDup2(t: Task, a: SyscallArgs): SysResult {
  const oldfd = a.int(0), newfd = a.int(1);
  if (oldfd === newfd) return fileOf(t, oldfd) ? newfd : -EBADF;
  return dupTo(t, oldfd, newfd, false);
}

function sysDup3(t: Task, a: SyscallArgs): SysResult {
  const oldfd = a.int(0), newfd = a.int(1), flags = a.uint(2);
  if ((flags & ~O_CLOEXEC) !== 0 || oldfd === newfd) return -EINVAL;
  return dupTo(t, oldfd, newfd, (flags & O_CLOEXEC) !== 0);
}

function sysFcntl(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), cmd = a.int(1);
  const f = fileOf(t, fd);
  if (!f) return -EBADF;
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const min = a.int(2);
      if (min < 0 || min >= t.fds.limit) return -EINVAL;
      const nfd = t.fds.install(f.incRef(), cmd === F_DUPFD_CLOEXEC, min);
      if (nfd < 0) f.decRef();
      return nfd;
    }
    case F_GETFD:
      return t.fds.getCloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      return t.fds.setCloexec(fd, (a.int(2) & FD_CLOEXEC) !== 0);
    case F_GETFL:
      return f.flags & ~O_CLOEXEC;
    case F_SETFL:
      if (f.isPath) return -EBADF;
      return f.setStatusFlags(a.uint(2));
    case F_GETLK:
    case F_OFD_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return fcntlLock(t, f, cmd, a.u64(2));
    case F_GETOWN:
    case F_GETSIG:
      return 0;
    case F_SETOWN:
    case F_SETSIG:
      return 0;
    case F_GETPIPE_SZ:
      return f instanceof PipeFD ? f.pipe.capacity : -EBADF;
    case F_SETPIPE_SZ:
      return f instanceof PipeFD ? f.pipe.resize(a.uint(2), t.creds.euid === 0) : -EBADF;
    case F_GET_SEALS:
      return fcntlSeals(t, f, null);
    case F_ADD_SEALS:
      return fcntlSeals(t, f, a.uint(2));
    default:
      return -EINVAL;
  }
}

function sysIoctl(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), cmd = a.uint(1), arg = a.u64(2);
  const f = fileOf(t, fd);
  if (!f || f.isPath) return -EBADF;
  switch (cmd) {
    case FIOCLEX: return t.fds.setCloexec(fd, true);
    case FIONCLEX: return t.fds.setCloexec(fd, false);
    case FIONBIO: {
      const v = t.mm.readU32(arg);
      if (v === null) return -EFAULT;
      return f.setStatusFlags(v !== 0 ? f.flags | O_NONBLOCK : f.flags & ~O_NONBLOCK);
    }
    default:
      return f.ioctl(t, cmd, arg);
  }
}

function doPipe(t: Task, addr: number, flags: number): number {
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) !== 0) return -EINVAL;
  const [r, w] = newPipe(flags & O_NONBLOCK);
  return installPair(t, r, w, (flags & O_CLOEXEC) !== 0, addr);
}

export const rwRows: SyscallRow[] = [
  { nr: SYS.read, name: 'read', handler: sysRead, args: ['fd', 'buf', 'size'], support: 'full' },
  { nr: SYS.write, name: 'write', handler: sysWrite, args: ['fd', 'buf', 'size'], support: 'full' },
  { nr: SYS.pread64, name: 'pread64', handler: sysPread, args: ['fd', 'buf', 'size', 'off'], support: 'full' },
  { nr: SYS.pwrite64, name: 'pwrite64', handler: sysPwrite, args: ['fd', 'buf', 'size', 'off'], support: 'full' },
  { nr: SYS.readv, name: 'readv', handler: sysReadv, args: ['fd', 'iov', 'int'], support: 'full' },
  { nr: SYS.writev, name: 'writev', handler: sysWritev, args: ['fd', 'iov', 'int'], support: 'full' },
  { nr: SYS.lseek, name: 'lseek', handler: sysLseek, args: ['fd', 'off', 'int'], support: 'full' },
  { nr: SYS.close, name: 'close', handler: sysClose, args: ['fd'], support: 'full' },
  { nr: SYS.dup, name: 'dup', handler: sysDup, args: ['fd'], support: 'full' },
  { nr: SYS.dup2, name: 'dup2', handler: sysDup2, args: ['fd', 'fd'], support: 'full' },
  { nr: SYS.dup3, name: 'dup3', handler: sysDup3, args: ['fd', 'fd', 'oflags'], support: 'full' },
  {
    nr: SYS.fcntl, name: 'fcntl', handler: sysFcntl, args: ['fd', 'int', 'hex'], support: 'partial',
    note: 'F_SETOWN/F_SETSIG are accepted and ignored; seals work on tmpfs files and memfds.',
  },
  {
    nr: SYS.ioctl, name: 'ioctl', handler: sysIoctl, args: ['fd', 'hex', 'hex'], support: 'partial',
    note: 'FIOCLEX, FIONCLEX, FIONBIO, FIONREAD; on ptys TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ, TCFLSH, TCXONC, TCSBRK, ' +
      'TIOCOUTQ, TIOCSTI, TIOCGETD/TIOCSETD, TIOCEXCL/TIOCNXCL/TIOCGEXCL, TIOCGPTN, TIOCSPTLCK/TIOCGPTLCK, TIOCGPTPEER and ' +
      'the job-control ioctls (TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID); on host terminals termios and window ' +
      'size go to the host tty, job control is the Sentry\'s. Background groups get SIGTTIN/SIGTTOU as on Linux; ' +
      'TIOCPKT, termio (TCGETA...) and modem ioctls return ENOTTY.',
  },
  {
    nr: SYS.pipe, name: 'pipe', handler: (t, a) => doPipe(t, a.u64(0), 0), args: ['ptr'], support: 'full',
  },
  {
    nr: SYS.pipe2, name: 'pipe2', handler: (t, a) => doPipe(t, a.u64(0), a.uint(1)), args: ['ptr', 'oflags'],
    support: 'partial', note: 'O_DIRECT (packet mode) is accepted but the pipe stays a byte stream.',
  },
];
