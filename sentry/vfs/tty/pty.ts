// Pseudo-terminals: a master (opened through /dev/ptmx) and its replica
// (/dev/pts/N), joined by a line discipline. The replica is a terminal with
// job control (terminal.ts); closing the master hangs it up.
import { EAGAIN, EBUSY, EFAULT, EINTR, EINVAL, EIO, ENOTTY, EPERM, ETIMEDOUT } from '../../../src/abi/errno';
import {
  O_CLOEXEC, SIGTTIN, SIGTTOU, SIGWINCH, TCFLSH, TOSTOP, TCIFLUSH, TCIOFF, TCIOFLUSH, TCION, TCOFLUSH, TCOOFF, TCOON, TCSBRK, TCSBRKP, TCXONC,
  TIOCEXCL, TIOCGETD, TIOCGEXCL, TIOCGPTLCK, TIOCGPTN, TIOCGPTPEER, TIOCNOTTY, TIOCNXCL, TIOCOUTQ, TIOCSETD,
  TIOCSPTLCK, TIOCSTI, VSTART, VSTOP,
} from '../../../src/abi/linux';
import { Termios, Winsize } from '../../../src/abi/layout';
import type { Task } from '../../kernel/task';
import { FileDescription, type ReadResult, type Stat } from '../file';
import {
  FIONREAD, O_ACCMODE, O_NOCTTY, O_NONBLOCK, POLLERR, POLLHUP, POLLIN, POLLOUT, TCGETS, TCSETS, TCSETSF,
  TCSETSW, TIOCGWINSZ, TIOCSWINSZ,
} from '../linuxconst';
import type { Inode } from '../inode';
import { decodeTermios, decodeWinsize, encodeTermios, encodeWinsize, LineDiscipline } from './ldisc';
import { controllingTerminal, Terminal } from './terminal';

const EMPTY = new Uint8Array(0);
/** Commands a background process may not issue without SIGTTOU (TIOCSPGRP checks in terminal.ts). */
const CHANGES_TERMINAL: ReadonlySet<number> = new Set([TCSETS, TCSETSW, TCSETSF, TCFLSH, TCXONC, TCSBRK, TCSBRKP, TIOCSETD]);
/** A single read takes at most this much from a queue. */
const MAX_READ = 1 << 16;

export class PTY extends Terminal {
  readonly ldisc = new LineDiscipline((sig) => this.signalForeground(sig));
  /** TIOCSPTLCK: the replica cannot be opened until unlocked (unlockpt). */
  locked = true;
  /** TIOCEXCL: only CAP_SYS_ADMIN may open the replica again. */
  exclusive = false;
  /** The master was closed: the replica is hung up. */
  hungUp = false;
  /** Open replica descriptions, and whether there ever was one (a master reads EIO once all are gone). */
  replicas = 0;
  private replicaOpened = false;

  /**
   * index is N in /dev/pts/N; replicaInode is what /dev/pts/N names;
   * released runs when the master goes (devpts forgets the pty).
   */
  constructor(readonly index: number, readonly replicaInode: () => Inode, private readonly released: () => void) {
    super();
  }

  get replicaClosed(): boolean { return this.replicaOpened && this.replicas === 0; }

  /** Opens the replica (open of /dev/pts/N, TIOCGPTPEER, /dev/tty). */
  openReplica(t: Task, flags: number): FileDescription | number {
    if (this.locked || this.hungUp) return -EIO;
    if (this.exclusive && t.creds.euid !== 0) return -EBUSY;
    const f = new ReplicaFD(this, flags);
    this.openedBy(t, (flags & O_NOCTTY) !== 0);
    return f;
  }

  override reopen(t: Task, flags: number): FileDescription | number { return this.openReplica(t, flags); }

  replicaAdded(): void {
    this.replicas++;
    this.replicaOpened = true;
  }

  replicaGone(): void {
    this.replicas--;
    this.ldisc.queue.notify();
  }

  masterGone(): void {
    this.hungUp = true;
    this.released();
    this.hangup();
    this.ldisc.queue.notify();
  }

  /** The terminal ioctls both ends answer (viaMaster: issued on the master). */
  ioctl(t: Task, cmd: number, arg: number, file: FileDescription, viaMaster: boolean): number {
    const l = this.ldisc;
    if (!viaMaster && CHANGES_TERMINAL.has(cmd)) {
      const bg = this.backgroundCheck(t, SIGTTOU);
      if (bg < 0) return bg;
    }
    switch (cmd) {
      case TCGETS:
        return t.mm.write(arg, encodeTermios(l.termios)) ? 0 : -EFAULT;
      case TCSETS:
      case TCSETSW:
      case TCSETSF: {
        const b = t.mm.read(arg, Termios.size);
        if (!b) return -EFAULT;
        if (cmd === TCSETSF) l.flushInput();
        l.setTermios(decodeTermios(b));
        return 0;
      }
      case TIOCGWINSZ:
        return t.mm.write(arg, encodeWinsize(l.winsize)) ? 0 : -EFAULT;
      case TIOCSWINSZ: {
        const b = t.mm.read(arg, Winsize.size);
        if (!b) return -EFAULT;
        const w = decodeWinsize(b);
        const old = l.winsize;
        l.winsize = w;
        if (w.row !== old.row || w.col !== old.col || w.xpixel !== old.xpixel || w.ypixel !== old.ypixel) {
          this.signalForeground(SIGWINCH);
        }
        return 0;
      }
      case FIONREAD:
        return t.mm.writeU32(arg, viaMaster ? l.outputBytes : l.readableBytes) ? 0 : -EFAULT;
      case TIOCOUTQ:
        return t.mm.writeU32(arg, viaMaster ? 0 : l.outputBytes) ? 0 : -EFAULT;
      case TCFLSH: {
        // The master's input is the replica's output, and the other way round.
        const input = viaMaster ? () => l.flushOutput() : () => l.flushInput();
        const output = viaMaster ? () => l.flushInput() : () => l.flushOutput();
        switch (arg) {
          case TCIFLUSH: input(); return 0;
          case TCOFLUSH: output(); return 0;
          case TCIOFLUSH: input(); output(); return 0;
          default: return -EINVAL;
        }
      }
      case TCXONC:
        switch (arg) {
          case TCOOFF: l.outputStopped = true; return 0;
          case TCOON: l.outputStopped = false; l.queue.notify(POLLIN); return 0;
          case TCIOFF: return this.transmit(l.termios.cc[VSTOP]!);
          case TCION: return this.transmit(l.termios.cc[VSTART]!);
          default: return -EINVAL;
        }
      case TCSBRK:
      case TCSBRKP:
        return 0;
      case TIOCSTI: {
        if (controllingTerminal(t.kernel, t.proc) !== this && t.creds.euid !== 0) return -EPERM;
        const b = t.mm.read(arg, 1);
        if (!b) return -EFAULT;
        l.receive(b);
        return 0;
      }
      case TIOCGETD:
        return t.mm.writeU32(arg, 0) ? 0 : -EFAULT;
      case TIOCSETD: {
        const v = t.mm.readU32(arg);
        if (v === null) return -EFAULT;
        return v === 0 ? 0 : -EINVAL;
      }
      case TIOCEXCL: this.exclusive = true; return 0;
      case TIOCNXCL: this.exclusive = false; return 0;
      case TIOCGEXCL: return t.mm.writeU32(arg, this.exclusive ? 1 : 0) ? 0 : -EFAULT;
      case TIOCNOTTY:
        // A master is never anyone's controlling terminal.
        if (viaMaster) return -ENOTTY;
        break;
      default:
        break;
    }
    const r = this.jobControlIoctl(t, cmd, arg, file.readable, viaMaster);
    return r ?? -ENOTTY;
  }

  /** Sends a flow-control character to the other side (TCIOFF/TCION). */
  private transmit(c: number): number {
    if (c !== 0) this.ldisc.writeOutput(Uint8Array.of(c));
    return 0;
  }
}

abstract class PtyFD extends FileDescription {
  constructor(readonly pty: PTY, flags: number) {
    super(flags);
    this.queue = pty.ldisc.queue;
  }

  protected get nonblocking(): boolean { return (this.flags & O_NONBLOCK) !== 0; }

  override stat(t: Task): Stat { return this.pty.replicaInode().stat(); }
  override fsync(t: Task): number { return 0; }
}

export class MasterFD extends PtyFD {
  constructor(pty: PTY, flags: number, private readonly statFn: () => Stat) { super(pty, flags); }

  protected override release(): void { this.pty.masterGone(); }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    if (len === 0) return EMPTY;
    const got = this.pty.ldisc.readOutput(Math.min(len, MAX_READ));
    if (got) return got;
    if (this.pty.replicaClosed) return -EIO;
    if (this.nonblocking) return -EAGAIN;
    return (async () => {
      const l = this.pty.ldisc;
      const r = await t.waitFor(() => l.outputReady || this.pty.replicaClosed, [l.queue]);
      if (r < 0) return r;
      return l.readOutput(Math.min(len, MAX_READ)) ?? -EIO;
    })();
  }

  override write(t: Task, data: Uint8Array, offset: number): number | Promise<number> {
    const l = this.pty.ldisc;
    const n = l.receive(data);
    if (n === data.length) return n;
    if (this.nonblocking) return n > 0 ? n : -EAGAIN;
    return (async () => {
      let done = n;
      while (done < data.length) {
        const r = await t.waitFor(() => l.inputSpace, [l.queue]);
        if (r < 0) return done > 0 ? done : r;
        done += l.receive(data.subarray(done));
      }
      return done;
    })();
  }

  override ioctl(t: Task, cmd: number, arg: number): number {
    switch (cmd) {
      case TIOCGPTN:
        return t.mm.writeU32(arg, this.pty.index) ? 0 : -EFAULT;
      case TIOCSPTLCK: {
        const v = t.mm.readU32(arg);
        if (v === null) return -EFAULT;
        this.pty.locked = v !== 0;
        return 0;
      }
      case TIOCGPTLCK:
        return t.mm.writeU32(arg, this.pty.locked ? 1 : 0) ? 0 : -EFAULT;
      case TIOCGPTPEER: {
        if (arg & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | 0o100000 /* O_LARGEFILE */)) return -EINVAL;
        const f = this.pty.openReplica(t, arg & ~O_CLOEXEC);
        if (typeof f === 'number') return f;
        const fd = t.fds.install(f, (arg & O_CLOEXEC) !== 0);
        if (fd < 0) f.decRef();
        return fd;
      }
      default:
        return this.pty.ioctl(t, cmd, arg, this, true);
    }
  }

  override readiness(): number {
    const l = this.pty.ldisc;
    let r = 0;
    if (l.outputReady) r |= POLLIN;
    if (l.inputSpace) r |= POLLOUT;
    if (this.pty.replicaClosed) r |= POLLHUP;
    return r;
  }

  override stat(t: Task): Stat { return this.statFn(); }
  override displayName(): string { return '/dev/pts/ptmx'; }
  override reopen(t: Task, flags: number): FileDescription | number { return this.incRef(); }
}

export class ReplicaFD extends PtyFD {
  constructor(pty: PTY, flags: number) {
    super(pty, flags);
    pty.replicaAdded();
  }

  protected override release(): void { this.pty.replicaGone(); }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    const l = this.pty.ldisc;
    if (this.pty.hungUp || len === 0) return EMPTY;
    const bg = this.pty.backgroundCheck(t, SIGTTIN);
    if (bg < 0) return bg;
    len = Math.min(len, MAX_READ);
    const timing = l.rawTiming;
    if (!timing) {
      const line = l.readInput(len);
      if (line) return line;
      if (this.nonblocking) return -EAGAIN;
      return this.readCanonical(t, len);
    }
    const { min, timeDs } = timing;
    if (min === 0 && timeDs === 0) return l.readInput(len) ?? EMPTY;
    const want = min === 0 ? 1 : Math.min(min, len);
    if (l.readableBytes >= want) return l.readInput(len)!;
    if (this.nonblocking) return l.readInput(len) ?? -EAGAIN;
    return this.readRaw(t, len, want, min, timeDs);
  }

  private async readCanonical(t: Task, len: number): Promise<ReadResult> {
    const l = this.pty.ldisc;
    const r = await t.waitFor(() => l.inputReady || this.pty.hungUp, [l.queue]);
    if (r < 0) return r;
    // A read the hangup finds waiting fails; later ones see end of file.
    if (this.pty.hungUp) return -EIO;
    return l.readInput(len) ?? EMPTY;
  }

  /**
   * A non-canonical read that must wait (POSIX's VMIN/VTIME cases): for want
   * bytes (VMIN, or 1); VTIME alone bounds the whole wait, VMIN and VTIME
   * together bound the wait after each byte once one has come.
   */
  private async readRaw(t: Task, len: number, want: number, min: number, timeDs: number): Promise<ReadResult> {
    const l = this.pty.ldisc;
    const interval = BigInt(timeDs) * 100_000_000n;
    const interbyte = min > 0 && timeDs > 0;
    let deadline = min === 0 || (interbyte && l.readableBytes > 0) ? t.kernel.monotonicNs() + interval : undefined;
    for (;;) {
      const before = l.readableBytes;
      const r = await t.waitFor(
        () => l.readableBytes >= want || this.pty.hungUp || (interbyte && l.readableBytes > before), [l.queue], deadline);
      if (r === -EINTR) return r;
      if (r === -ETIMEDOUT || l.readableBytes >= want || this.pty.hungUp) break;
      deadline = t.kernel.monotonicNs() + interval;
    }
    if (this.pty.hungUp) return -EIO;
    return l.readInput(len) ?? EMPTY;
  }

  override write(t: Task, data: Uint8Array, offset: number): number | Promise<number> {
    const pty = this.pty;
    const l = pty.ldisc;
    if (pty.hungUp) return -EIO;
    if (l.termios.lflag & TOSTOP) {
      const bg = pty.backgroundCheck(t, SIGTTOU);
      if (bg < 0) return bg;
    }
    const n = l.writeOutput(data);
    if (n === data.length) return n;
    if (this.nonblocking) return n > 0 ? n : -EAGAIN;
    return (async () => {
      let done = n;
      while (done < data.length) {
        const r = await t.waitFor(() => l.outputSpace || pty.hungUp, [l.queue]);
        if (r < 0) return done > 0 ? done : r;
        if (pty.hungUp) return done > 0 ? done : -EIO;
        done += l.writeOutput(data.subarray(done));
      }
      return done;
    })();
  }

  override ioctl(t: Task, cmd: number, arg: number): number {
    return this.pty.ioctl(t, cmd, arg, this, false);
  }

  override readiness(): number {
    if (this.pty.hungUp) return POLLIN | POLLOUT | POLLERR | POLLHUP;
    const l = this.pty.ldisc;
    return (l.inputReady ? POLLIN : 0) | (l.outputSpace ? POLLOUT : 0);
  }

  override displayName(): string { return `/dev/pts/${this.pty.index}`; }
  override reopen(t: Task, flags: number): FileDescription | number {
    return this.pty.openReplica(t, flags | O_NOCTTY);
  }
}

