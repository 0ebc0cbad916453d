// Pipes (pipe(2), pipe2(2) and FIFOs) with Linux semantics: a 64 KiB buffer,
// writes of at most PIPE_BUF bytes are atomic, read returns EOF once every
// writer is gone, write fails with EPIPE (and raises SIGPIPE) once every
// reader is gone, O_NONBLOCK turns waiting into EAGAIN.
import { EAGAIN, EFAULT, EINVAL, EPIPE } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import { WaitQueue } from '../kernel/waiter';
import { anonStat, FileDescription, type ReadResult, type Stat } from './file';
import {
  FIONREAD, O_NONBLOCK, O_RDONLY, O_WRONLY, PIPE_BUF, PIPE_CAPACITY, POLLERR, POLLHUP, POLLIN,
  POLLOUT, S_IFIFO, SIGPIPE,
} from './linuxconst';

/** Device number pipefs reports in st_dev. */
export const PIPEFS_DEV = 0x0c;
let nextPipeIno = 1n << 32n;

export class Pipe {
  readonly ino = nextPipeIno++;
  readonly capacity = PIPE_CAPACITY;
  private chunks: Uint8Array[] = [];
  /** Bytes buffered. */
  size = 0;
  readers = 0;
  writers = 0;
  /** Notified on every change of data, readers or writers. */
  readonly queue = new WaitQueue();
  /** Ever had a writer: a FIFO opened for reading before any writer does not report EOF. */
  hadWriter = false;

  get space(): number { return this.capacity - this.size; }

  /** Appends data (the caller checked space). */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data.slice());
    this.size += data.length;
    this.queue.notify(POLLIN);
  }

  /** Removes and returns up to n bytes. */
  take(n: number): Uint8Array {
    n = Math.min(n, this.size);
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - got);
      out.set(c.subarray(0, k), got);
      got += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.size -= n;
    if (n > 0) this.queue.notify(POLLOUT);
    return out;
  }

  addReader(): void { this.readers++; this.queue.notify(); }
  addWriter(): void { this.writers++; this.hadWriter = true; this.queue.notify(); }
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
    if (data.length <= PIPE_BUF) {
      if (p.space >= data.length) { p.push(data); return data.length; }
      if (this.nonblocking) return -EAGAIN;
    } else if (p.space > 0) {
      const n = Math.min(p.space, data.length);
      p.push(data.subarray(0, n));
      if (n === data.length || this.nonblocking) return n;
      return this.writeBlocking(t, data, n);
    } else if (this.nonblocking) {
      return -EAGAIN;
    }
    return this.writeBlocking(t, data, 0);
  }

  private async writeBlocking(t: Task, data: Uint8Array, done: number): Promise<number> {
    const p = this.pipe;
    const atomic = data.length <= PIPE_BUF;
    while (done < data.length) {
      const need = atomic ? data.length : 1;
      const r = await t.waitFor(() => p.readers === 0 || p.space >= need, [p.queue]);
      if (r < 0) return done > 0 ? done : r;
      if (p.readers === 0) {
        t.sendSignal(SIGPIPE);
        return done > 0 ? done : -EPIPE;
      }
      const n = Math.min(p.space, data.length - done);
      p.push(data.subarray(done, done + n));
      done += n;
    }
    return done;
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
      if (p.space >= PIPE_BUF) r |= POLLOUT;
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
