// Advisory locks: fcntl's record locks (F_GETLK/F_SETLK/F_SETLKW and the
// F_OFD_* forms) and flock(2), over sentry/vfs/locks.ts.
import { EBADF, EFAULT, EINVAL } from '../../src/abi/errno';
import type { Task } from '../../sentry/kernel/task';
import type { FileDescription } from '../../sentry/vfs/file';
import {
  F_RDLCK, F_UNLCK, F_WRLCK, flock, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, setLock, testLock,
} from '../../sentry/vfs/locks';
import { F_GETLK, F_OFD_GETLK, F_OFD_SETLKW, F_OFD_SETLK, F_SETLKW, SEEK_CUR, SEEK_END, SEEK_SET } from '../../sentry/vfs/linuxconst';
import type { SyscallArgs, SysResult } from '../types';
import { fileOf } from './fs_util';

/** struct flock: short l_type, l_whence; off_t l_start, l_len; pid_t l_pid. */
const FLOCK_SIZE = 32;

interface FlockArg { type: number; whence: number; start: number; len: number; pid: number }

function readFlock(t: Task, addr: number): FlockArg | null {
  const b = t.mm.read(addr, FLOCK_SIZE);
  if (!b) return null;
  const dv = new DataView(b.buffer);
  return {
    type: dv.getInt16(0, true), whence: dv.getInt16(2, true), start: Number(dv.getBigInt64(8, true)),
    len: Number(dv.getBigInt64(16, true)), pid: dv.getInt32(24, true),
  };
}

function writeFlock(t: Task, addr: number, a: FlockArg): boolean {
  const b = new Uint8Array(FLOCK_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt16(0, a.type, true);
  dv.setInt16(2, a.whence, true);
  dv.setBigInt64(8, BigInt(a.start), true);
  dv.setBigInt64(16, BigInt(a.len), true);
  dv.setInt32(24, a.pid, true);
  return t.mm.write(addr, b);
}

/** The byte range [start, end) a struct flock names, or -EINVAL. */
function rangeOf(t: Task, f: FileDescription, a: FlockArg): [number, number] | number {
  let base: number;
  switch (a.whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = f.offset; break;
    case SEEK_END: base = f.stat(t).size; break;
    default: return -EINVAL;
  }
  let start = base + a.start;
  let end = a.len === 0 ? Infinity : start + a.len;
  if (a.len < 0) { end = start; start += a.len; }
  return start < 0 ? -EINVAL : [start, end];
}

/** fcntl's lock commands. */
export function fcntlLock(t: Task, f: FileDescription, cmd: number, addr: number): SysResult {
  if (f.isPath) return -EBADF;
  const a = readFlock(t, addr);
  if (!a) return -EFAULT;
  const ofd = cmd === F_OFD_GETLK || cmd === F_OFD_SETLK || cmd === F_OFD_SETLKW;
  if (ofd && a.pid !== 0) return -EINVAL;
  if (a.type !== F_RDLCK && a.type !== F_WRLCK && a.type !== F_UNLCK) return -EINVAL;
  const range = rangeOf(t, f, a);
  if (typeof range === 'number') return range;
  const [start, end] = range;
  const owner = ofd ? f : t.fds;
  if (cmd === F_GETLK || cmd === F_OFD_GETLK) {
    if (a.type === F_UNLCK) return -EINVAL;
    const c = testLock(f, owner, a.type, start, end);
    const out: FlockArg = c
      ? { type: c.type, whence: SEEK_SET, start: c.start, len: c.end === Infinity ? 0 : c.end - c.start, pid: c.pid }
      : { ...a, type: F_UNLCK };
    return writeFlock(t, addr, out) ? 0 : -EFAULT;
  }
  if ((a.type === F_RDLCK && !f.readable) || (a.type === F_WRLCK && !f.writable)) return -EBADF;
  return setLock(t, f, owner, ofd, a.type, start, end, cmd === F_SETLKW || cmd === F_OFD_SETLKW);
}

export function sysFlock(t: Task, a: SyscallArgs): SysResult {
  const fd = a.int(0), op = a.int(1);
  const f = fileOf(t, fd);
  if (!f || f.isPath) return -EBADF;
  const kind = op & ~LOCK_NB;
  if (kind !== LOCK_SH && kind !== LOCK_EX && kind !== LOCK_UN) return -EINVAL;
  return flock(t, f, op);
}
