// Synchronous 9P framing over a connected, blocking AF_UNIX SOCK_STREAM fd.
//
// Both ends (the Gofer's serve loop and the Sentry's client) do blocking
// fs.readSync / fs.writeSync on the raw fd. Short reads and writes are
// handled; EINTR retries; EAGAIN (someone made the fd non-blocking) waits
// in poll(2). Nothing here throws on I/O failure: results are -errno.
import * as fs from 'node:fs';
import { allocNative, close, freeNative, poll, recvWithFds, type NativeBytes } from '../ffi/libc';
import { EAGAIN, EINTR, EIO, EMSGSIZE, EPROTO } from '../abi/errno';
import { HEADER_SIZE } from './messages';

const POLLIN = 0x1;
const POLLOUT = 0x4;

/** -errno of a Node fs exception (err.errno is the negated Linux errno on Linux). */
export function errnoOf(e: unknown): number {
  const n = (e as { errno?: unknown }).errno;
  return typeof n === 'number' && n < 0 ? -n : 0;
}

function waitFor(fd: number, events: number): void {
  const pfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
  const dv = new DataView(pfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, events, true);
  poll(pfd, 1, -1);
}

/** Writes all of `data`. Returns 0, or -errno (EPIPE when the peer is gone). */
export function writeAll(fd: number, data: Uint8Array): number {
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const err = errnoOf(e);
      if (err === EINTR) continue;
      if (err === EAGAIN) { waitFor(fd, POLLOUT); continue; }
      return -(err || EIO);
    }
  }
  return 0;
}

/**
 * Reads whole 9P messages from a stream fd. One buffer is reused: a frame
 * returned by next() is valid until the following call.
 *
 * With `passFds` the buffer lives in native memory and is filled with
 * recvmsg(2), so file descriptors the peer attaches (SCM_RIGHTS: the Gofer
 * donates open host files this way) are kept, in arrival order, for takeFds().
 */
export class FrameReader {
  private buf: Buffer;
  private native: NativeBytes | null = null;
  private start = 0;
  private end = 0;
  private readonly fds: number[] = [];

  /** `maxSize` bounds one message (the negotiated msize); larger is a protocol error. */
  constructor(readonly fd: number, public maxSize: number, private readonly passFds = false) {
    this.buf = this.alloc(Math.min(maxSize, 64 * 1024) + 4096);
  }

  private alloc(len: number): Buffer {
    if (!this.passFds) return Buffer.allocUnsafe(len);
    const old = this.native;
    this.native = allocNative(len);
    if (old) { this.native.bytes.set(this.buf.subarray(0, this.end)); freeNative(old); }
    return this.native.bytes;
  }

  /** Whether a whole message is already buffered (next() will not read). */
  get ready(): boolean {
    const have = this.end - this.start;
    return have >= 4 && have >= this.buf.readUInt32LE(this.start);
  }

  /** File descriptors received so far and not yet taken; the caller owns them. */
  takeFds(): number[] {
    return this.fds.splice(0);
  }

  /** Closes received fds nobody took (they came with a reply that wanted none). */
  dropFds(): void {
    for (const fd of this.fds.splice(0)) close(fd);
  }

  private readOnce(): number {
    if (this.native) return recvWithFds(this.fd, this.native.addr + BigInt(this.end), this.buf.length - this.end, this.fds);
    try {
      return fs.readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
    } catch (e) {
      return -(errnoOf(e) || EIO);
    }
  }

  /** Reads at least once more into the buffer. Returns bytes read, 0 at EOF, or -errno. */
  private fill(): number {
    if (this.start > 0 && (this.start === this.end || this.buf.length - this.end < 4096)) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    for (;;) {
      const n = this.readOnce();
      if (n === -EINTR) continue;
      if (n === -EAGAIN) { waitFor(this.fd, POLLIN); continue; }
      return n;
    }
  }

  private grow(need: number): void {
    if (this.buf.length >= need) return;
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.passFds) { this.buf = this.alloc(need); return; }
    const nb = Buffer.allocUnsafe(need);
    this.buf.copy(nb, 0, 0, this.end);
    this.buf = nb;
  }

  /**
   * The next whole message (size field included), null at a clean EOF between
   * messages, or -errno: -EPROTO for EOF inside a message or a size below 7,
   * -EMSGSIZE for a size above maxSize, or the read error.
   */
  next(): Uint8Array | null | number {
    for (;;) {
      const have = this.end - this.start;
      if (have >= 4) {
        const size = this.buf.readUInt32LE(this.start);
        if (size < HEADER_SIZE) return -EPROTO;
        if (size > this.maxSize) return -EMSGSIZE;
        if (have >= size) {
          const frame = this.buf.subarray(this.start, this.start + size);
          this.start += size;
          return frame;
        }
        if (this.start + size > this.buf.length) this.grow(size + 4096);
      }
      const n = this.fill();
      if (n < 0) return n;
      if (n === 0) return have === 0 ? null : -EPROTO;
      this.end += n;
    }
  }
}
