// Descriptions wrapping host fds the sandbox was given (runsc do's stdio, a
// container's console). The Sentry never blocks on them: reads and writes go
// through a non-blocking description of the same host file (reopened through
// /proc/self/fd, so the O_NONBLOCK never shows on the description the caller
// of runsc shares), and a task that would block is parked on the file's
// wait queue, which the host poller (sentry/kernel/hostpoll.ts) notifies.
//
// A host terminal is a terminal of the sandbox's: termios and window size
// ioctls go to the host tty, while its session and foreground process group
// are the sandbox's (terminal.ts), so a shell's job control works on it.
import * as fs from 'node:fs';
import { EAGAIN, EFAULT, EINTR, EPIPE } from '../../src/abi/errno';
import { SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH } from '../../src/abi/linux';
import { Termios, Winsize } from '../../src/abi/layout';
import * as libc from '../../src/ffi/libc';
import { hostPoller } from '../platform/hostpoll';
import type { Task } from '../kernel/task';
import { FileDescription, type ReadResult, type Stat } from './file';
import {
  AT_FDCWD, F_GETFL, FIONREAD, O_ACCMODE, O_APPEND, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLIN,
  POLLOUT, S_IFCHR, S_IFIFO, S_IFMT, SIGPIPE, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGWINSZ, TIOCSWINSZ,
} from './linuxconst';
import { controllingTerminal, Terminal } from './tty/terminal';

/** A single host read or write moves at most this much. */
const HOST_CHUNK = 1 << 20;
/** A write to a host fd that could not be made non-blocking moves at most this much once poll says it may. */
const POLLED_CHUNK = 4096;

/** How much each forwarded ioctl copies, and in which direction. */
const FORWARDED: ReadonlyMap<number, { size: number; dir: 'out' | 'in' }> = new Map([
  [TCGETS, { size: Termios.size, dir: 'out' }],
  [TCSETS, { size: Termios.size, dir: 'in' }],
  [TCSETSW, { size: Termios.size, dir: 'in' }],
  [TCSETSF, { size: Termios.size, dir: 'in' }],
  [TIOCGWINSZ, { size: Winsize.size, dir: 'out' }],
  [TIOCSWINSZ, { size: Winsize.size, dir: 'in' }],
  [FIONREAD, { size: 4, dir: 'out' }],
] as const);

/** The host fd's readiness now (POLLIN, POLLOUT, POLLHUP, POLLERR). */
function pollNow(fd: number): number {
  const pfd = new Uint8Array(8);
  const dv = new DataView(pfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, POLLIN | POLLOUT, true);
  for (;;) {
    const r = libc.poll(pfd, 1, 0);
    if (r < 0 && libc.errno() === EINTR) continue;
    if (r <= 0) return 0;
    return dv.getInt16(6, true) & (POLLIN | POLLOUT | POLLHUP | POLLERR);
  }
}

/**
 * A non-blocking description of hostFd's file: hostFd itself when it already
 * is non-blocking or never blocks (regular files), a reopened one for ttys and
 * FIFOs; null when neither works (sockets), where each call polls first.
 */
function nonblockingTwin(hostFd: number): number | null {
  const fl = libc.fcntl(hostFd, F_GETFL, 0);
  if (fl >= 0 && fl & O_NONBLOCK) return hostFd;
  let type: number;
  try { type = fs.fstatSync(hostFd).mode & S_IFMT; } catch { return hostFd; }
  if (type !== S_IFCHR && type !== S_IFIFO) return type === 0o140000 /* S_IFSOCK */ ? null : hostFd;
  const fd = libc.openat(AT_FDCWD, `/proc/self/fd/${hostFd}`, ((fl >= 0 ? fl : O_RDWR) & O_ACCMODE) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
  return fd >= 0 ? fd : null;
}

/** Host terminals by device number: stdin, stdout and stderr on one tty are one terminal. */
const hostTerminals = new Map<number, HostTerminal>();

/** A host tty as a terminal of the sandbox's. */
export class HostTerminal extends Terminal {
  constructor(private readonly hostFd: number) {
    super();
    // Signals the host terminal generates reach the Sentry's process group
    // (the waker stub): they are for the sandbox's foreground group.
    hostPoller().onSignal = (sig) => {
      if (sig === SIGHUP) this.hangup();
      else if (sig === SIGINT || sig === SIGQUIT || sig === SIGTSTP || sig === SIGWINCH) this.signalForeground(sig);
    };
  }

  override reopen(t: Task, flags: number): FileDescription | number {
    this.claim(t);
    return new HostFD(this.hostFd, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  }

  /**
   * On first use, the host terminal becomes the controlling terminal of the
   * session it was given to: the user's process leads it (init, or a
   * process started by runsc exec), or else it is init's.
   */
  claim(t: Task): void {
    if (this.claimed) return;
    this.claimed = true;
    const p = t.proc.pid === t.proc.sid ? t.proc : t.kernel.init;
    if (p && !p.zombie && !controllingTerminal(t.kernel, p)) this.attach(t.kernel, p);
  }

  private claimed = false;
}

export class HostFD extends FileDescription {
  /** Where reads and writes go (see nonblockingTwin); null: poll, then use hostFd. */
  private readonly ioFd: number | null;
  private readonly unregister: (() => void) | null;
  /** Set when hostFd is a terminal. */
  readonly terminal: HostTerminal | null = null;

  constructor(readonly hostFd: number, flags: number) {
    super(flags);
    this.ioFd = nonblockingTwin(hostFd);
    this.unregister = hostPoller().register(this.ioFd ?? hostFd, this.queue);
    if (libc.isatty(hostFd) === 1) {
      const rdev = fs.fstatSync(hostFd).rdev;
      let term = hostTerminals.get(rdev);
      if (!term) hostTerminals.set(rdev, (term = new HostTerminal(hostFd)));
      this.terminal = term;
    }
  }

  protected override release(): void {
    this.unregister?.();
    if (this.ioFd !== null && this.ioFd !== this.hostFd) libc.close(this.ioFd);
  }

  private get nonblocking(): boolean { return (this.flags & O_NONBLOCK) !== 0; }

  /** One attempt: the data or -errno, or null when it would block. */
  private tryRead(len: number): ReadResult | null {
    if (this.ioFd === null && !(pollNow(this.hostFd) & (POLLIN | POLLHUP | POLLERR))) return null;
    const buf = new Uint8Array(Math.min(len, HOST_CHUNK));
    for (;;) {
      const n = libc.read(this.ioFd ?? this.hostFd, buf, buf.length);
      if (n >= 0) return buf.subarray(0, n);
      const e = libc.errno();
      if (e === EINTR) continue;
      return e === EAGAIN ? null : -e;
    }
  }

  /** One attempt: bytes written or -errno, or null when it would block. */
  private tryWrite(chunk: Uint8Array): number | null {
    if (this.ioFd === null) {
      if (!(pollNow(this.hostFd) & (POLLOUT | POLLERR | POLLHUP))) return null;
      chunk = chunk.subarray(0, POLLED_CHUNK);
    }
    for (;;) {
      const n = libc.write(this.ioFd ?? this.hostFd, chunk, chunk.length);
      if (n >= 0) return n;
      const e = libc.errno();
      if (e === EINTR) continue;
      return e === EAGAIN ? null : -e;
    }
  }

  /** Parks t until the host fd has one of events; 0, or -EINTR. */
  private park(t: Task, events: number): Promise<number> {
    return t.waitFor(() => (pollNow(this.ioFd ?? this.hostFd) & (events | POLLHUP | POLLERR)) !== 0, [this.queue]);
  }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    if (offset >= 0) {
      const buf = new Uint8Array(Math.min(len, HOST_CHUNK));
      const n = libc.pread(this.hostFd, buf, buf.length, offset);
      return n >= 0 ? buf.subarray(0, n) : -libc.errno();
    }
    const bg = this.terminal?.backgroundCheck(t, SIGTTIN) ?? 0;
    if (bg < 0) return bg;
    const r = this.tryRead(len);
    if (r !== null) return r;
    if (this.nonblocking) return -EAGAIN;
    return (async () => {
      for (;;) {
        const w = await this.park(t, POLLIN);
        if (w < 0) return w;
        const again = this.tryRead(len);
        if (again !== null) return again;
      }
    })();
  }

  override write(t: Task, data: Uint8Array, offset: number): number | Promise<number> {
    if (offset >= 0) {
      const n = libc.pwrite(this.hostFd, data, Math.min(data.length, HOST_CHUNK), offset);
      return n >= 0 ? n : -libc.errno();
    }
    let done = 0;
    const step = (): number | null => {
      while (done < data.length) {
        const n = this.tryWrite(data.subarray(done, done + HOST_CHUNK));
        if (n === null) return null;
        if (n < 0) {
          if (done > 0) return done;
          if (n === -EPIPE) t.sendSignal(SIGPIPE);
          return n;
        }
        done += n;
      }
      return done;
    };
    const r = step();
    if (r !== null) return r;
    if (this.nonblocking) return done > 0 ? done : -EAGAIN;
    return (async () => {
      for (;;) {
        const w = await this.park(t, POLLOUT);
        if (w < 0) return done > 0 ? done : w;
        const again = step();
        if (again !== null) return again;
      }
    })();
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
    const term = this.terminal;
    if (term) {
      term.claim(t);
      const r = term.jobControlIoctl(t, cmd, argAddr, this.readable, false);
      if (r !== undefined) return r;
    }
    const f = FORWARDED.get(cmd);
    if (!f) return super.ioctl(t, cmd, argAddr) as number;
    if (term && f.dir === 'in' && cmd !== TIOCSWINSZ) {
      const bg = term.backgroundCheck(t, SIGTTOU);
      if (bg < 0) return bg;
    }
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

  override readiness(): number {
    return pollNow(this.ioFd ?? this.hostFd);
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
