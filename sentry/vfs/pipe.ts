// Pipes (pipe(2), pipe2(2) and FIFOs) with Linux semantics: the buffer is a
// ring of page-sized slots (16 by default, F_SETPIPE_SZ changes the count); a
// write first tops up the last page with the remainder of its length modulo
// a page when that fits, then fills fresh slots a page at a time, so a write
// of at most PIPE_BUF bytes is atomic; read returns EOF once every writer is
// gone, write fails with EPIPE (and raises SIGPIPE) once every reader is gone,
// O_NONBLOCK turns waiting into EAGAIN.
import { EAGAIN, EBUSY, EFAULT, EINVAL, EPERM, EPIPE } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import { WaitQueue } from '../kernel/waiter';
import { anonStat, FileDescription, type ReadResult, type Stat } from './file';
import {
  FIONREAD, O_NONBLOCK, O_RDONLY, O_WRONLY, PIPE_CAPACITY, POLLERR, POLLHUP, POLLIN,
  POLLOUT, S_IFIFO, SIGPIPE,
} from './linuxconst';

const PAGE_SIZE = 4096;
/** /proc/sys/fs/pipe-max-size: the largest capacity an unprivileged F_SETPIPE_SZ may ask for. */
export const PIPE_MAX_SIZE = 1 << 20;

/** Device number pipefs reports in st_dev. */
export const PIPEFS_DEV = 0x0c;
let nextPipeIno = 1n << 32n;

/** One slot: a page holding data[off, off+len); writes may append to it while mergeable. */
interface PipeBuf { data: Uint8Array; off: number; len: number; mergeable: boolean }

export class Pipe {
  readonly ino = nextPipeIno++;
  /** Page slots (F_SETPIPE_SZ). */
  private slots = PIPE_CAPACITY / PAGE_SIZE;
  private bufs: PipeBuf[] = [];
  /** Bytes buffered. */
  size = 0;
  readers = 0;
  writers = 0;
  /** Notified on every change of data, readers or writers. */
  readonly queue = new WaitQueue();
  /** Ever had a writer: a FIFO opened for reading before any writer does not report EOF. */
  hadWriter = false;

  get capacity(): number { return this.slots * PAGE_SIZE; }
  get full(): boolean { return this.bufs.length >= this.slots; }
  /** Bytes that fit in the free slots. */
  get space(): number { return (this.slots - this.bufs.length) * PAGE_SIZE; }

  /** Appends what fits of data to the last page if it may grow there; returns the bytes taken. */
  merge(data: Uint8Array): number {
    const last = this.bufs[this.bufs.length - 1];
    if (!last || !last.mergeable || last.off + last.len + data.length > PAGE_SIZE) return 0;
    last.data.set(data, last.off + last.len);
    last.len += data.length;
    this.size += data.length;
    this.queue.notify(POLLIN);
    return data.length;
  }

  /** Fills free slots with data (a page each); returns the bytes taken. */
  fill(data: Uint8Array, mergeable = true): number {
    const done = Math.min(data.length, this.space);
    if (done === 0) return 0;
    // One allocation for all the pages this write takes.
    const store = new Uint8Array(Math.ceil(done / PAGE_SIZE) * PAGE_SIZE);
    store.set(data.subarray(0, done));
    for (let o = 0; o < done; o += PAGE_SIZE) {
      this.bufs.push({ data: store.subarray(o, o + PAGE_SIZE), off: 0, len: Math.min(PAGE_SIZE, done - o), mergeable });
    }
    this.size += done;
    this.queue.notify(POLLIN);
    return done;
  }

  /** Spliced-in data (file pages in Linux): fresh slots that later writes do not append to. */
  push(data: Uint8Array): number { return this.fill(data, false); }

  /** The first n bytes (at most), left in the buffer. */
  peek(n: number): Uint8Array {
    n = Math.min(n, this.size);
    const out = new Uint8Array(n);
    let got = 0;
    for (let i = 0; got < n; i++) {
      const b = this.bufs[i]!;
      const k = Math.min(b.len, n - got);
      out.set(b.data.subarray(b.off, b.off + k), got);
      got += k;
    }
    return out;
  }

  /** Removes and returns up to n bytes. */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.drop(out.length);
    return out;
  }

  /** Removes the first n bytes (n ≤ size). */
  drop(n: number): void {
    let left = n;
    while (left > 0) {
      const b = this.bufs[0]!;
      const k = Math.min(b.len, left);
      b.off += k;
      b.len -= k;
      left -= k;
      if (b.len === 0) this.bufs.shift();
    }
    this.size -= n;
    if (n > 0) this.queue.notify(POLLOUT);
  }

  /**
   * F_SETPIPE_SZ: rounds want up to a power-of-two number of pages (at least
   * one); beyond fs.pipe-max-size only root may go. Returns the new capacity
   * or -errno (EBUSY when the slots in use would not fit).
   */
  resize(want: number, privileged: boolean): number {
    if (want < 0 || want > 2 ** 31) return -EINVAL;
    let cap = PAGE_SIZE;
    while (cap < want) cap *= 2;
    if (cap > PIPE_MAX_SIZE && !privileged) return -EPERM;
    if (cap / PAGE_SIZE < this.bufs.length) return -EBUSY;
    this.slots = cap / PAGE_SIZE;
    this.queue.notify(POLLOUT);
    return cap;
  }

  /** Opens ever made of each end: a FIFO opener waits for these to move (a partner that came and went counts). */
  readerOpens = 0;
  writerOpens = 0;

  addReader(): void { this.readers++; this.readerOpens++; this.queue.notify(); }
  addWriter(): void { this.writers++; this.writerOpens++; this.hadWriter = true; this.queue.notify(); }
  dropReader(): void { this.readers--; this.queue.notify(); }
  dropWriter(): void { this.writers--; this.queue.notify(); }
}

/** One end of a pipe (or a FIFO opened for reading, writing or both). */
export class PipeFD extends FileDescription {
  private readonly isReader: boolean;
  private readonly isWriter: boolean;

  constructor(readonly pipe: Pipe, flags: number, private readonly statFn?: () => Stat) {
    super(flags);
    this.isReader = this.readable;
    this.isWriter = this.writable;
    if (this.isReader) pipe.addReader();
    if (this.isWriter) pipe.addWriter();
    // Readiness of this description is the pipe's.
    this.queue = pipe.queue;
  }

  protected override release(): void {
    if (this.isReader) this.pipe.dropReader();
    if (this.isWriter) this.pipe.dropWriter();
  }

  private get nonblocking(): boolean { return (this.flags & O_NONBLOCK) !== 0; }

  /** fifo(7): without O_NONBLOCK, a reader waits for a writer and a writer for a reader; O_RDWR never waits. */
  override opened(t: Task): number | Promise<number> {
    if (this.isReader === this.isWriter || this.nonblocking) return 0;
    const p = this.pipe;
    const partnerOpens = () => (this.isReader ? p.writerOpens : p.readerOpens);
    if ((this.isReader ? p.writers : p.readers) > 0) return 0;
    const seen = partnerOpens();
    return t.waitFor(() => partnerOpens() !== seen, [p.queue]).then((r) => (r < 0 ? r : 0));
  }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    const p = this.pipe;
    if (len === 0) return new Uint8Array(0);
    if (p.size > 0) return p.take(len);
    if (p.writers === 0 && p.hadWriter) return new Uint8Array(0);
    if (this.nonblocking) return -EAGAIN;
    return this.readBlocking(t, len);
  }

  private async readBlocking(t: Task, len: number): Promise<ReadResult> {
    const p = this.pipe;
    const r = await t.waitFor(() => p.size > 0 || (p.writers === 0 && p.hadWriter), [p.queue]);
    if (r < 0) return r; // -EINTR
    return p.take(len);
  }

  override write(t: Task, data: Uint8Array, offset: number): number | Promise<number> {
    const p = this.pipe;
    if (p.readers === 0) { t.sendSignal(SIGPIPE); return -EPIPE; }
    if (data.length === 0) return 0;
    // The remainder of the length modulo a page goes first to the last page, if it fits whole.
    const chars = data.length % PAGE_SIZE;
    const done = chars ? p.merge(data.subarray(0, chars)) : 0;
    return this.writeSlots(t, data, done + p.fill(data.subarray(done)));
  }

  /** Writes data[done..] into slots as they free up. */
  private writeSlots(t: Task, data: Uint8Array, done: number): number | Promise<number> {
    if (done === data.length) return done;
    if (this.nonblocking) return done > 0 ? done : -EAGAIN;
    return (async () => {
      const p = this.pipe;
      while (done < data.length) {
        const r = await t.waitFor(() => p.readers === 0 || !p.full, [p.queue]);
        if (r < 0) return done > 0 ? done : r;
        if (p.readers === 0) {
          t.sendSignal(SIGPIPE);
          return done > 0 ? done : -EPIPE;
        }
        done += p.fill(data.subarray(done));
      }
      return done;
    })();
  }

  override stat(t: Task): Stat {
    if (this.statFn) return this.statFn();
    return anonStat(S_IFIFO | 0o600, this.pipe.ino, PIPEFS_DEV);
  }

  override ioctl(t: Task, cmd: number, argAddr: number): number {
    if (cmd === FIONREAD) {
      return t.mm.writeU32(argAddr, this.isReader ? this.pipe.size : 0) ? 0 : -EFAULT;
    }
    return super.ioctl(t, cmd, argAddr) as number;
  }

  override readiness(): number {
    const p = this.pipe;
    let r = 0;
    if (this.isReader) {
      if (p.size > 0) r |= POLLIN;
      if (p.writers === 0 && p.hadWriter) r |= POLLHUP;
    }
    if (this.isWriter) {
      if (!p.full) r |= POLLOUT;
      if (p.readers === 0) r |= POLLERR;
    }
    return r;
  }

  override fsync(t: Task): number { return -EINVAL; }

  override displayName(): string { return `pipe:[${this.pipe.ino}]`; }

  override reopen(t: Task, flags: number): FileDescription | number {
    return new PipeFD(this.pipe, flags & ~0o2000000, this.statFn);
  }
}

/** pipe(2): the read end and the write end, with the given extra status flags (O_NONBLOCK). */
export function newPipe(extraFlags: number): [PipeFD, PipeFD] {
  const p = new Pipe();
  return [new PipeFD(p, O_RDONLY | extraFlags), new PipeFD(p, O_WRONLY | extraFlags)];
}
