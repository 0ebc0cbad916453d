// splice, tee and vmsplice: moving data into, out of and between pipes
// without the workload copying it. The Sentry still copies (pipes hold
// their bytes in its memory); what matters is the semantics: one end of a
// splice is a pipe, offsets apply only to the other end, a full or empty
// pipe blocks unless SPLICE_F_NONBLOCK (or the pipe's O_NONBLOCK), and a pipe
// whose readers are gone raises SIGPIPE.
import { EAGAIN, EBADF, EFAULT, EINVAL, EPIPE, ESPIPE } from '../../src/abi/errno';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { FileDescription } from '../../sentry/vfs/file';
import { O_APPEND, O_NONBLOCK, SIGPIPE } from '../../sentry/vfs/linuxconst';
import { type Pipe, PipeFD } from '../../sentry/vfs/pipe';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { andThen, clampCount, fileOf, gather, readIovecs, scatter, totalLen } from './fs_util';

const SPLICE_F_MOVE = 1;
const SPLICE_F_NONBLOCK = 2;
const SPLICE_F_MORE = 4;
const SPLICE_F_GIFT = 8;
const SPLICE_FLAGS = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

const pipeOf = (f: FileDescription): Pipe | null => (f instanceof PipeFD ? f.pipe : null);
const hasData = (p: Pipe) => p.size > 0 || (p.writers === 0 && p.hadWriter);
const hasSpace = (p: Pipe) => p.space > 0 || p.readers === 0;

/** Waits until ready(p) (or fails with EAGAIN when not blocking); resolves 0 or -errno. */
function waitPipe(t: Task, p: Pipe, ready: (p: Pipe) => boolean, nonblock: boolean): number | Promise<number> {
  if (ready(p)) return 0;
  if (nonblock) return -EAGAIN;
  return t.waitFor(() => ready(p), [p.queue]).then((r) => (r < 0 ? r : 0));
}

/** Reads an optional loff_t at addr: -1 when addr is 0, else the offset or -errno (below -1). */
function readOffset(t: Task, addr: number, f: FileDescription): number {
  if (addr === 0) return -1;
  if (!f.positional) return -ESPIPE;
  const v = t.mm.readU64(addr);
  if (v === null) return -EFAULT;
  const n = Number(BigInt.asIntN(64, v));
  return n < 0 ? -EINVAL : n;
}

function sysSplice(t: Task, a: SyscallArgs): SysResult {
  const inF = fileOf(t, a.int(0)), outF = fileOf(t, a.int(2));
  const inOffAddr = a.u64(1), outOffAddr = a.u64(3), len = clampCount(a.u64(4)), flags = a.uint(5);
  if (!inF || !outF || !inF.readable || !outF.writable) return -EBADF;
  if (flags & ~SPLICE_FLAGS) return -EINVAL;
  if (outF.flags & O_APPEND) return -EINVAL;
  const inPipe = pipeOf(inF), outPipe = pipeOf(outF);
  if (!inPipe && !outPipe) return -EINVAL;
  if ((inPipe && inOffAddr) || (outPipe && outOffAddr)) return -ESPIPE;
  if (inPipe && inPipe === outPipe) return -EINVAL;
  const inOff = readOffset(t, inOffAddr, inF), outOff = readOffset(t, outOffAddr, outF);
  if (inOff < -1) return inOff;
  if (outOff < -1) return outOff;
  if (len === 0) return 0;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  const storeOffset = (addr: number, off: number, n: number): number =>
    addr === 0 || t.mm.writeU64(addr, BigInt(off + n)) ? n : -EFAULT;

  if (inPipe) {
    // Out of a pipe: what the writer takes leaves the pipe.
    return andThen(waitPipe(t, inPipe, hasData, nonblock || (inF.flags & O_NONBLOCK) !== 0), (r) => {
      if (r < 0) return r;
      if (inPipe.size === 0) return 0;
      const data = inPipe.peek(len);
      return andThen(outF.write(t, data, outOff), (w) => {
        if (w <= 0) return w;
        inPipe.drop(w);
        return storeOffset(outOffAddr, outOff, w);
      });
    });
  }
  // Into a pipe from a file.
  const p = outPipe!;
  return andThen(waitPipe(t, p, hasSpace, nonblock || (outF.flags & O_NONBLOCK) !== 0), (r) => {
    if (r < 0) return r;
    if (p.readers === 0) { t.sendSignal(SIGPIPE); return -EPIPE; }
    return andThen(inF.read(t, Math.min(len, p.space), inOff), (data) => {
      if (typeof data === 'number' || data.length === 0) return typeof data === 'number' ? data : 0;
      p.push(data);
      return storeOffset(inOffAddr, inOff, data.length);
    });
  });
}

function sysTee(t: Task, a: SyscallArgs): SysResult {
  const inF = fileOf(t, a.int(0)), outF = fileOf(t, a.int(1)), len = clampCount(a.u64(2)), flags = a.uint(3);
  if (!inF || !outF || !inF.readable || !outF.writable) return -EBADF;
  if (flags & ~SPLICE_FLAGS) return -EINVAL;
  const inPipe = pipeOf(inF), outPipe = pipeOf(outF);
  if (!inPipe || !outPipe || inPipe === outPipe) return -EINVAL;
  if (len === 0) return 0;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  return andThen(waitPipe(t, inPipe, hasData, nonblock), (r) => {
    if (r < 0 || inPipe.size === 0) return r;
    return andThen(waitPipe(t, outPipe, hasSpace, nonblock), (w) => {
      if (w < 0) return w;
      if (outPipe.readers === 0) { t.sendSignal(SIGPIPE); return -EPIPE; }
      // The input keeps its bytes: tee duplicates them.
      const data = inPipe.peek(Math.min(len, outPipe.space));
      outPipe.push(data);
      return data.length;
    });
  });
}

function sysVmsplice(t: Task, a: SyscallArgs): SysResult {
  const f = fileOf(t, a.int(0)), flags = a.uint(3);
  if (!f) return -EBADF;
  if (flags & ~SPLICE_FLAGS) return -EINVAL;
  const p = pipeOf(f);
  if (!p) return -EBADF;
  const iovs = readIovecs(t, a.u64(1), a.int(2));
  if (typeof iovs === 'number') return iovs;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0 || (f.flags & O_NONBLOCK) !== 0;
  if (f.writable) {
    // Into the pipe: like writev, bounded by the room there is once any.
    const data = gather(t, iovs);
    if (typeof data === 'number') return data;
    if (data.length === 0) return 0;
    return andThen(waitPipe(t, p, hasSpace, nonblock), (r) => {
      if (r < 0) return r;
      if (p.readers === 0) { t.sendSignal(SIGPIPE); return -EPIPE; }
      const n = Math.min(p.space, data.length);
      p.push(data.subarray(0, n));
      return n;
    });
  }
  // Out of the pipe into the caller's memory.
  return andThen(waitPipe(t, p, hasData, nonblock), (r) => {
    if (r < 0) return r;
    return scatter(t, iovs, p.take(totalLen(iovs)));
  });
}

export const spliceRows: SyscallRow[] = [
  { nr: SYS.splice, name: 'splice', handler: sysSplice, args: ['fd', 'ptr', 'fd', 'ptr', 'size', 'hex'], support: 'full' },
  { nr: SYS.tee, name: 'tee', handler: sysTee, args: ['fd', 'fd', 'size', 'hex'], support: 'full' },
  {
    nr: SYS.vmsplice, name: 'vmsplice', handler: sysVmsplice, args: ['fd', 'iov', 'int', 'hex'], support: 'partial',
    note: 'Copies (SPLICE_F_GIFT pages are not taken over); the data is the same.',
  },
];
