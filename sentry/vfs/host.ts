// A description wrapping a host fd the sandbox inherited (its stdin, stdout,
// stderr). A read blocks only the reading task: the host fd is polled, and
// read once it has data. Writes are synchronous host calls: a write to a full
// pipe blocks the whole Sentry until the reader makes room.
// Terminal ioctls are forwarded to the host fd.
import * as fs from 'node:fs';
import { EAGAIN, EFAULT, EINTR, EPIPE } from '../../src/abi/errno';
import { Termios, Winsize } from '../../src/abi/layout';
import * as libc from '../../src/ffi/libc';
import { WAIT_READY, type Task } from '../kernel/task';
import { FileDescription, type ReadResult, type Stat } from './file';
import {
  F_GETFL, FIONREAD, O_ACCMODE, O_APPEND, O_RDWR, O_NONBLOCK, POLLERR, POLLHUP, POLLIN, POLLOUT, SIGPIPE, TCGETS, TCSETS, TCSETSF, TCSETSW,
  TIOCGPGRP, TIOCGWINSZ, TIOCSPGRP, TIOCSWINSZ,
} from './linuxconst';

/** sizeof(struct termios) as TCGETS uses it (the kernel's, not glibc's). */
const KERNEL_TERMIOS_SIZE = Termios.size;
const WINSIZE_SIZE = Winsize.size;
/** How often a task waiting to read a host fd looks at it again. */
const HOST_RECHECK_NS = 10_000_000n;
/** A single host read or write moves at most this much. */
const HOST_CHUNK = 1 << 20;

/** How much each forwarded ioctl copies, and in which direction. */
const FORWARDED: ReadonlyMap<number, { size: number; dir: 'out' | 'in' }> = new Map([
  [TCGETS, { size: KERNEL_TERMIOS_SIZE, dir: 'out' }],
  [TCSETS, { size: KERNEL_TERMIOS_SIZE, dir: 'in' }],
  [TCSETSW, { size: KERNEL_TERMIOS_SIZE, dir: 'in' }],
  [TCSETSF, { size: KERNEL_TERMIOS_SIZE, dir: 'in' }],
  [TIOCGWINSZ, { size: WINSIZE_SIZE, dir: 'out' }],
  [TIOCSWINSZ, { size: WINSIZE_SIZE, dir: 'in' }],
  [TIOCGPGRP, { size: 4, dir: 'out' }],
  [FIONREAD, { size: 4, dir: 'out' }],
] as const);

/** Blocks the Sentry until the host fd has one of events; returns the revents. */
function hostPoll(fd: number, events: number, timeoutMs: number): number {
  const pfd = new Uint8Array(8);
  const dv = new DataView(pfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, events, true);
  for (;;) {
    const r = libc.poll(pfd, 1, timeoutMs);
    if (r < 0 && libc.errno() === EINTR) continue;
    if (r <= 0) return 0;
    return dv.getInt16(6, true);
  }
}

export class HostFD extends FileDescription {
  constructor(readonly hostFd: number, flags: number) {
    super(flags);
  }

  private get nonblocking(): boolean { return (this.flags & O_NONBLOCK) !== 0; }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    // Read only what is there: a host read that blocked would stop the whole
    // Sentry (a workload reading its own stdout socket would hang the sandbox).
    if (hostPoll(this.hostFd, POLLIN, 0) === 0) return this.nonblocking ? -EAGAIN : this.readWhenReady(t, len, offset);
    const buf = new Uint8Array(Math.min(len, HOST_CHUNK));
    for (;;) {
      const n = offset < 0 ? libc.read(this.hostFd, buf, buf.length) : libc.pread(this.hostFd, buf, buf.length, offset);
      if (n >= 0) return buf.subarray(0, n);
      const e = libc.errno();
      if (e === EINTR) continue;
      if (e !== EAGAIN) return -e;
      return this.nonblocking ? -EAGAIN : this.readWhenReady(t, len, offset);
    }
  }

  /** Blocks the task, not the Sentry: re-checks the host fd every HOST_RECHECK_NS. */
  private async readWhenReady(t: Task, len: number, offset: number): Promise<ReadResult> {
    for (;;) {
      const r = await t.waitFor(() => hostPoll(this.hostFd, POLLIN, 0) !== 0, [], t.kernel.monotonicNs() + HOST_RECHECK_NS);
      if (r === -EINTR) return -EINTR;
      if (r === WAIT_READY) return this.read(t, len, offset);
    }
  }

  override write(t: Task, data: Uint8Array, offset: number): number {
    let done = 0;
    while (done < data.length) {
      const chunk = data.subarray(done, done + HOST_CHUNK);
      const n = offset < 0 ? libc.write(this.hostFd, chunk, chunk.length)
        : libc.pwrite(this.hostFd, chunk, chunk.length, offset + done);
      if (n >= 0) { done += n; continue; }
      const e = libc.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) {
        if (this.nonblocking) return done > 0 ? done : -EAGAIN;
        hostPoll(this.hostFd, POLLOUT, -1);
        continue;
      }
      if (done > 0) return done;
      if (e === EPIPE) t.sendSignal(SIGPIPE);
      return -e;
    }
    return done;
  }

  private seekable: boolean | undefined;
  override get positional(): boolean {
    if (this.seekable === undefined) this.seekable = libc.lseek(this.hostFd, 0, 1 /* SEEK_CUR */) >= 0;
    return this.seekable;
  }

  override lseek(t: Task, offset: number, whence: number): number {
    const r = libc.lseek(this.hostFd, offset, whence);
    return r < 0 ? -libc.errno() : r;
  }

  override stat(t: Task): Stat {
    const s = fs.fstatSync(this.hostFd, { bigint: true });
    const sec = (ns: bigint): number => Number(ns / 1000000000n);
    const nsec = (ns: bigint): number => Number(ns % 1000000000n);
    return {
      dev: Number(s.dev), ino: s.ino, mode: Number(s.mode), nlink: Number(s.nlink),
      uid: Number(s.uid), gid: Number(s.gid), rdev: Number(s.rdev), size: Number(s.size),
      blksize: Number(s.blksize), blocks: Number(s.blocks),
      atimeSec: sec(s.atimeNs), atimeNsec: nsec(s.atimeNs),
      mtimeSec: sec(s.mtimeNs), mtimeNsec: nsec(s.mtimeNs),
      ctimeSec: sec(s.ctimeNs), ctimeNsec: nsec(s.ctimeNs),
    };
  }

  override ioctl(t: Task, cmd: number, argAddr: number): number {
    if (cmd === TIOCSPGRP) {
      // The sandbox's process groups mean nothing to the host terminal: accept and ignore.
      return t.mm.read(argAddr, 4) ? 0 : -EFAULT;
    }
    const f = FORWARDED.get(cmd);
    if (!f) return super.ioctl(t, cmd, argAddr) as number;
    let buf: Uint8Array;
    if (f.dir === 'in') {
      const b = t.mm.read(argAddr, f.size);
      if (!b) return -EFAULT;
      buf = b;
    } else {
      buf = new Uint8Array(f.size);
    }
    const r = libc.ioctlBuf(this.hostFd, cmd, buf);
    if (r < 0) return -libc.errno();
    if (f.dir === 'out' && !t.mm.write(argAddr, buf)) return -EFAULT;
    return 0;
  }

  override fsync(t: Task): number { return 0; }

  override get pollsHost(): boolean { return true; }

  override readiness(): number {
    return hostPoll(this.hostFd, POLLIN | POLLOUT, 0) & (POLLIN | POLLOUT | POLLHUP | POLLERR);
  }

  override displayName(): string {
    try { return fs.readlinkSync(`/proc/self/fd/${this.hostFd}`); } catch { return `host:[${this.hostFd}]`; }
  }
}

/** The status flags a host fd has: its access mode and O_APPEND (O_NONBLOCK is emulated, not inherited). */
export function hostStatusFlags(hostFd: number): number {
  const fl = libc.fcntl(hostFd, F_GETFL, 0);
  if (fl < 0) return O_RDWR;
  return fl & (O_ACCMODE | O_APPEND);
}
