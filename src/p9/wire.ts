// Little-endian 9P primitives: a plain encoder for trusted data and a
// bounds-checked decoder with one sticky error for untrusted bytes.
//
// The decoder never throws: every read past the end (or a count that cannot
// fit in what is left) records the first error, and every later read returns
// a zero value. Callers check `err` once, at the end.

/** A qid: the server's unique identity of a file. */
export interface Qid {
  /** QT* bits (QTDIR, QTSYMLINK, QTFILE...). */
  type: number;
  version: number;
  /** Unique per file on the server; our Gofer uses st_ino. */
  path: bigint;
}

/** Size of an encoded qid: type[1] version[4] path[8]. */
export const QID_SIZE = 13;

/** Largest 9P string (u16 length prefix). */
export const MAX_STRING = 0xffff;

export class Encoder {
  private buf: Buffer;
  private dv: DataView;
  off = 0;

  constructor(capacity = 8192) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Starts a new message; previous views returned by bytes() become invalid. */
  reset(): void { this.off = 0; }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.off + n) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.off);
    this.buf = nb;
    this.dv = new DataView(nb.buffer, nb.byteOffset, nb.byteLength);
  }

  u8(v: number): void { this.ensure(1); this.dv.setUint8(this.off, v); this.off += 1; }
  u16(v: number): void { this.ensure(2); this.dv.setUint16(this.off, v, true); this.off += 2; }
  /** Values wrap modulo 2^32, so -1 encodes as 0xffffffff. */
  u32(v: number): void { this.ensure(4); this.dv.setUint32(this.off, v >>> 0, true); this.off += 4; }
  /** Values wrap modulo 2^64, so -1n encodes as all ones. */
  u64(v: bigint): void { this.ensure(8); this.dv.setBigUint64(this.off, v, true); this.off += 8; }

  /** A 9P string: u16 byte length then UTF-8. Throws on a string over 64 KiB: encoding trusted data, that is a bug. */
  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > MAX_STRING) throw new RangeError(`9P string of ${n} bytes exceeds ${MAX_STRING}`);
    this.u16(n);
    this.ensure(n);
    this.buf.write(s, this.off, n, 'utf8');
    this.off += n;
  }

  qid(q: Qid): void { this.u8(q.type); this.u32(q.version); this.u64(q.path); }

  /** Raw bytes with no length prefix. */
  raw(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.off); this.off += b.length; }

  /** Overwrites a u32 already written at `at` (a message's size field). */
  patchU32(at: number, v: number): void { this.dv.setUint32(at, v >>> 0, true); }

  /** A view of what was written since reset(); valid until the next write or reset. */
  bytes(): Uint8Array { return this.buf.subarray(0, this.off); }
}

export class Decoder {
  private readonly dv: DataView;
  private readonly b: Buffer;
  private readonly u8a: Uint8Array;
  off: number;
  readonly end: number;
  /** The first error met, or null. Sticky: later reads return zero values. */
  err: string | null = null;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.u8a = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.off = start;
    this.end = Math.min(end, bytes.length);
  }

  get remaining(): number { return this.err === null ? this.end - this.off : 0; }

  fail(why: string): void { if (this.err === null) this.err = `${why} at byte ${this.off}`; }

  private take(n: number): number {
    if (this.err !== null) return -1;
    if (n < 0 || this.off + n > this.end) { this.fail(`truncated: need ${n} bytes, have ${this.end - this.off}`); return -1; }
    const at = this.off;
    this.off += n;
    return at;
  }

  u8(): number { const at = this.take(1); return at < 0 ? 0 : this.dv.getUint8(at); }
  u16(): number { const at = this.take(2); return at < 0 ? 0 : this.dv.getUint16(at, true); }
  u32(): number { const at = this.take(4); return at < 0 ? 0 : this.dv.getUint32(at, true); }
  u64(): bigint { const at = this.take(8); return at < 0 ? 0n : this.dv.getBigUint64(at, true); }

  /** A 9P string. Invalid UTF-8 decodes with U+FFFD replacements (never throws). */
  str(): string {
    const n = this.u16();
    const at = this.take(n);
    return at < 0 ? '' : this.b.toString('utf8', at, at + n);
  }

  qid(): Qid {
    const type = this.u8();
    const version = this.u32();
    const path = this.u64();
    return { type, version, path };
  }

  /** `n` raw bytes as a view into the input (no copy). */
  raw(n: number): Uint8Array {
    const at = this.take(n);
    return at < 0 ? new Uint8Array(0) : this.u8a.subarray(at, at + n);
  }

  /**
   * Checks that `count` items of at least `minSize` bytes each can fit in what
   * is left, before anyone allocates an array for them.
   */
  fits(count: number, minSize: number): boolean {
    if (this.err !== null) return false;
    if (count * minSize > this.end - this.off) { this.fail(`count ${count} cannot fit`); return false; }
    return true;
  }
}
