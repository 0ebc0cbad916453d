// The memory file: one sparse memfd holding every page of workload memory.
// The Sentry maps it into its own address space (in 1 GiB windows), so copying
// syscall arguments in and results out is a memory access, and stubs map windows of
// it into the workload's address space. Offsets are allocated page-aligned;
// freed ranges are punched so their memory goes back to the host.
//
// Accounting: a page is *committed* before anything may touch it (the Sentry
// through its windows, or the workload through a host mapping, which the
// address space creates only over committed pages). The committed pages are
// the sandbox's memory use, held under a limit: a commit that would pass it
// asks the kernel to make room (drop unused page cache, or the OOM killer) and
// otherwise throws OutOfMemory.
import * as libc from '../../src/ffi/libc';

export const PAGE = 4096;
const MFD_CLOEXEC = 1;
const PROT_RW = 3;
const MAP_SHARED_NORESERVE = 0x01 | 0x4000;
const FALLOC_PUNCH = 0x01 | 0x02; // FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
/** Address space reserved for the file; pages cost nothing until touched. */
const FILE_SIZE = 2 ** 38;
/** V8 refuses ArrayBuffer views over 4 GiB: the mapping is seen through 1 GiB windows. */
const CHUNK = 2 ** 30;
export const WINDOW_SIZE = CHUNK;

export const pageDown = (x: number): number => x - (x % PAGE);
export const pageUp = (x: number): number => Math.ceil(x / PAGE) * PAGE;

/** The memory file has no room left: the syscall that needed it fails with ENOMEM. */
export class OutOfMemory extends RangeError {
  constructor() { super('memory file exhausted'); }
}

/** Bits per window of the committed-page bitmap: one per page. */
const WINDOW_PAGES = CHUNK / PAGE;
/** Set bits in each byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => { let n = 0; for (let x = b; x; x &= x - 1) n++; return n; });

export class MemoryFile {
  readonly fd: number;
  /** The most bytes that may be committed at once (the sandbox's memory). */
  limit = Number.MAX_SAFE_INTEGER;
  /** Asked to make room for bytes more when a commit would pass the limit; true to try again. */
  onFull: ((bytes: number) => boolean) | null = null;
  /** Frees what can go without harm (unused page cache); returns the bytes freed. */
  onShrink: (() => number) | null = null;
  private committed = 0;
  /** One bit per page: committed or not. By window; absent: none of its pages. */
  private readonly bits: Uint8Array[] = [];
  /** Windows mapped so far, by index; each maps [i*CHUNK, (i+1)*CHUNK) of the file. */
  private readonly chunks: { bytes: Uint8Array; addr: bigint }[] = [];
  /** Free ranges below `top`, sorted by offset: [offset, length]. */
  private free: [number, number][] = [];
  private top = 0;

  constructor() {
    this.fd = libc.memfdCreate('runsc-memory', MFD_CLOEXEC);
    if (this.fd < 0) throw new Error(`memfd_create: errno ${libc.errno()}`);
    if (libc.ftruncate(this.fd, FILE_SIZE) < 0) throw new Error(`ftruncate: errno ${libc.errno()}`);
  }

  /** Allocates len bytes (rounded up to pages); returns the file offset. Throws when the file is full. */
  allocate(len: number): number {
    len = pageUp(len);
    for (let i = 0; i < this.free.length; i++) {
      const [off, flen] = this.free[i]!;
      if (flen >= len) {
        if (flen === len) this.free.splice(i, 1);
        else this.free[i] = [off + len, flen - len];
        return off;
      }
    }
    if (this.top + len > FILE_SIZE) throw new OutOfMemory();
    const off = this.top;
    this.top += len;
    return off;
  }

  /** Returns a range to the allocator and its pages to the host. */
  release(off: number, len: number): void {
    len = pageUp(len);
    this.punch(off, len);
    let i = 0;
    while (i < this.free.length && this.free[i]![0] < off) i++;
    this.free.splice(i, 0, [off, len]);
    // Coalesce with the neighbours.
    if (i + 1 < this.free.length && off + len === this.free[i + 1]![0]) {
      this.free[i]![1] += this.free[i + 1]![1];
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1]![0] + this.free[i - 1]![1] === off) {
      this.free[i - 1]![1] += this.free[i]![1];
      this.free.splice(i, 1);
    }
  }

  /**
   * Drops the contents of a range (it reads back as zeros); whole pages go
   * back to the host and stop counting, unless keepCommitted (pages a host
   * mapping may still reach, such as a truncated shared file's).
   */
  punch(off: number, len: number, keepCommitted = false): void {
    libc.fallocate(this.fd, FALLOC_PUNCH, off, len);
    if (!keepCommitted) this.uncommit(pageUp(off), pageDown(off + len) - pageUp(off));
  }

  /** Bytes committed: the sandbox's memory use. */
  committedBytes(): number {
    return this.committed * PAGE;
  }

  /**
   * Commits the pages of [off, off+len) that are not yet, making room through
   * onFull when the limit would be passed; throws OutOfMemory when it cannot.
   */
  commit(off: number, len: number): void {
    const first = Math.floor(off / PAGE);
    const end = Math.ceil((off + len) / PAGE);
    if (end <= first) return;
    while (!this.tryCommit(off, len)) {
      const missing = end - first - this.countCommitted(first, end);
      if (!this.onFull?.((this.committed + missing) * PAGE - this.limit)) throw new OutOfMemory();
    }
  }

  /** Commits [off, off+len) if it fits under the limit as things are; false (nothing done) otherwise. */
  tryCommit(off: number, len: number): boolean {
    const first = Math.floor(off / PAGE);
    const end = Math.ceil((off + len) / PAGE);
    const missing = end - first - this.countCommitted(first, end);
    if (missing === 0) return true;
    if ((this.committed + missing) * PAGE > this.limit) return false;
    this.setBits(first, end, true);
    this.committed += missing;
    return true;
  }

  /** Whether bytes more fit under the limit, once what can go without harm has gone. */
  reclaim(bytes: number): boolean {
    if ((this.committed * PAGE) + bytes <= this.limit) return true;
    this.onShrink?.();
    return (this.committed * PAGE) + bytes <= this.limit;
  }

  /** Whether every page of [off, off+len) is committed. */
  isCommitted(off: number, len: number): boolean {
    const first = Math.floor(off / PAGE);
    const end = Math.ceil((off + len) / PAGE);
    return this.countCommitted(first, end) === end - first;
  }

  /** Committed bytes of [off, off+len). */
  committedIn(off: number, len: number): number {
    return this.countCommitted(Math.floor(off / PAGE), Math.ceil((off + len) / PAGE)) * PAGE;
  }

  private uncommit(off: number, len: number): void {
    const first = off / PAGE;
    const end = first + Math.max(0, len) / PAGE;
    if (end <= first) return;
    this.committed -= this.countCommitted(first, end);
    this.setBits(first, end, false);
  }

  private pageCommitted(page: number): boolean {
    const bits = this.bits[Math.floor(page / WINDOW_PAGES)];
    const i = page % WINDOW_PAGES;
    return bits !== undefined && ((bits[i >> 3]! >> (i & 7)) & 1) === 1;
  }

  /** Committed pages among page numbers [first, end). */
  private countCommitted(first: number, end: number): number {
    let n = 0;
    for (let p = first; p < end;) {
      const w = Math.floor(p / WINDOW_PAGES);
      const stop = Math.min(end, (w + 1) * WINDOW_PAGES);
      const bits = this.bits[w];
      if (bits) {
        let i = p - w * WINDOW_PAGES;
        const last = stop - w * WINDOW_PAGES;
        for (; i < last && i & 7; i++) n += (bits[i >> 3]! >> (i & 7)) & 1;
        for (; i + 8 <= last; i += 8) n += POPCOUNT[bits[i >> 3]!]!;
        for (; i < last; i++) n += (bits[i >> 3]! >> (i & 7)) & 1;
      }
      p = stop;
    }
    return n;
  }

  private setBits(first: number, end: number, on: boolean): void {
    for (let p = first; p < end;) {
      const w = Math.floor(p / WINDOW_PAGES);
      const stop = Math.min(end, (w + 1) * WINDOW_PAGES);
      let bits = this.bits[w];
      if (!bits && !on) { p = stop; continue; }
      bits ??= this.bits[w] = new Uint8Array(WINDOW_PAGES / 8);
      let i = p - w * WINDOW_PAGES;
      const last = stop - w * WINDOW_PAGES;
      for (; i < last && i & 7; i++) bits[i >> 3] = on ? bits[i >> 3]! | (1 << (i & 7)) : bits[i >> 3]! & ~(1 << (i & 7));
      if (i + 8 <= last) bits.fill(on ? 0xff : 0, i >> 3, (last >> 3));
      i = Math.max(i, last & ~7);
      for (; i < last; i++) bits[i >> 3] = on ? bits[i >> 3]! | (1 << (i & 7)) : bits[i >> 3]! & ~(1 << (i & 7));
      p = stop;
    }
  }

  private window(i: number): { bytes: Uint8Array; addr: bigint } {
    let c = this.chunks[i];
    if (!c) {
      const p = libc.mmap(null, CHUNK, PROT_RW, MAP_SHARED_NORESERVE, this.fd, i * CHUNK);
      const addr = libc.address(p);
      if (addr === 0xffff_ffff_ffff_ffffn) throw new Error(`mmap of the memory file: errno ${libc.errno()}`);
      c = { bytes: new Uint8Array(libc.view(p, CHUNK)), addr };
      this.chunks[i] = c;
    }
    return c;
  }

  /** Where window i (file offsets [i*WINDOW_SIZE, (i+1)*WINDOW_SIZE)) is mapped in the Sentry. */
  windowAddress(i: number): bigint {
    return this.window(i).addr;
  }

  private chunk(i: number): Uint8Array {
    return this.window(i).bytes;
  }

  /**
   * Copies len bytes at off into dst at dstOff. Pages never committed read
   * as zeros without being touched (a read of the file's hole through a
   * window would make the host allocate one).
   */
  readInto(off: number, dst: Uint8Array, dstOff: number, len: number): void {
    while (len > 0) {
      const page = Math.floor(off / PAGE);
      const committed = this.pageCommitted(page);
      // The run of pages in the same state, from off.
      let next = page + 1;
      while (next * PAGE < off + len && this.pageCommitted(next) === committed) next++;
      const end = next * PAGE;
      const n = Math.min(len, end - off);
      if (committed) this.copyOut(off, dst, dstOff, n);
      else dst.fill(0, dstOff, dstOff + n);
      off += n;
      dstOff += n;
      len -= n;
    }
  }

  private copyOut(off: number, dst: Uint8Array, dstOff: number, len: number): void {
    while (len > 0) {
      const ci = Math.floor(off / CHUNK);
      const co = off - ci * CHUNK;
      const n = Math.min(len, CHUNK - co);
      dst.set(this.chunk(ci).subarray(co, co + n), dstOff);
      off += n;
      dstOff += n;
      len -= n;
    }
  }

  /** Copies src into the file at off. */
  write(off: number, src: Uint8Array): void {
    this.commit(off, src.length);
    let done = 0;
    while (done < src.length) {
      const ci = Math.floor(off / CHUNK);
      const co = off - ci * CHUNK;
      const n = Math.min(src.length - done, CHUNK - co);
      this.chunk(ci).set(done === 0 && n === src.length ? src : src.subarray(done, done + n), co);
      off += n;
      done += n;
    }
  }

  /** A live view of [off, off+len) when it lies inside one window, else null. Commits nothing: for the Sentry's own pages, or ones already committed. */
  viewOf(off: number, len: number): Uint8Array | null {
    const ci = Math.floor(off / CHUNK);
    const co = off - ci * CHUNK;
    if (co + len > CHUNK) return null;
    return this.chunk(ci).subarray(co, co + len);
  }

  /** Live views of [off, off+len), one per window it spans: for host I/O straight into or out of the file. */
  views(off: number, len: number, out: Uint8Array[] = []): Uint8Array[] {
    this.commit(off, len);
    while (len > 0) {
      const ci = Math.floor(off / CHUNK);
      const co = off - ci * CHUNK;
      const n = Math.min(len, CHUNK - co);
      out.push(this.chunk(ci).subarray(co, co + n));
      off += n;
      len -= n;
    }
    return out;
  }

  /** How many pages of [off, off+len) hold data (mincore). */
  residentPages(off: number, len: number): number {
    len = pageUp(len);
    let n = 0;
    while (len > 0) {
      const ci = Math.floor(off / CHUNK);
      const k = Math.min(len, (ci + 1) * CHUNK - off);
      const vec = new Uint8Array(k / PAGE);
      if (libc.mincore(this.window(ci).addr + BigInt(off - ci * CHUNK), k, vec) < 0) return 0;
      for (const b of vec) n += b & 1;
      off += k;
      len -= k;
    }
    return n;
  }

  /** Copies the pages of [src, src+len) that hold data to dst (fork's copy of private memory). */
  copyResident(src: number, dst: number, len: number): void {
    len = pageUp(len);
    // mincore works within one window at a time.
    const ci = Math.floor(src / CHUNK);
    const inWindow = Math.min(len, (ci + 1) * CHUNK - src);
    if (inWindow < len) {
      this.copyResident(src, dst, inWindow);
      this.copyResident(src + inWindow, dst + inWindow, len - inWindow);
      return;
    }
    const pages = len / PAGE;
    const vec = new Uint8Array(pages);
    if (libc.mincore(this.window(ci).addr + BigInt(src - ci * CHUNK), len, vec) < 0) {
      this.commit(dst, len);
      this.copy(src, dst, len);
      return;
    }
    let i = 0;
    while (i < pages) {
      if (!(vec[i]! & 1)) { i++; continue; }
      let j = i;
      while (j < pages && vec[j]! & 1) j++;
      const n = Math.min(len, j * PAGE) - i * PAGE;
      this.commit(dst + i * PAGE, n);
      this.copy(src + i * PAGE, dst + i * PAGE, n);
      i = j;
    }
  }

  private copy(src: number, dst: number, len: number): void {
    const from = this.viewOf(src, len);
    const to = this.viewOf(dst, len);
    if (from && to) {
      to.set(from);
      return;
    }
    const buf = new Uint8Array(Math.min(len, CHUNK));
    while (len > 0) {
      const n = Math.min(len, buf.length);
      const v = n === buf.length ? buf : buf.subarray(0, n);
      this.readInto(src, v, 0, n);
      this.write(dst, v);
      src += n;
      dst += n;
      len -= n;
    }
  }
}
