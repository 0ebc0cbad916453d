// File contents kept in the memory file (tmpfs, memfd, the overlay's upper
// layer), so that every MAP_SHARED mapping of the file and read/write use the
// same pages. The data lives in extents of the memory file, each twice the
// size of the ones before it, allocated only when a write or a mapping needs
// them: a sparse file costs nothing for its holes, and a file of n bytes has
// O(log n) extents (a mapping that spans several is several VMAs).
import { MemoryFile, PAGE, pageUp } from './memfile';
import { Backing } from './address-space';
import type { FilePages, PageRun } from './pagecache';

interface Extent { start: number; len: number; backing: Backing }

/** A filesystem's size limit (tmpfs's size=): committed bytes of its files, and how many it may hold. */
export interface SpaceQuota {
  used: number;
  limit(): number;
}

let shared: MemoryFile | null = null;
/** The memory file of this Sentry process: one per sandbox, shared by the kernel and every in-memory filesystem. */
export function sentryMemoryFile(): MemoryFile {
  shared ??= new MemoryFile();
  return shared;
}

/** Gives extents back to the memory file (mappings hold their own references) and their bytes back to the quota. */
function release(extents: Extent[], quota: SpaceQuota | null): void {
  for (const e of extents) {
    if (quota) quota.used = Math.max(0, quota.used - e.backing.mf!.committedIn(e.backing.off, e.len));
    e.backing.unref();
  }
  extents.length = 0;
}

/** Extents of a file nobody references any more (one freed without free(): a memfd whose last fd closed). */
const releaser = new FinalizationRegistry<{ extents: Extent[]; quota: SpaceQuota | null }>(({ extents, quota }) => release(extents, quota));

export class FileData implements FilePages {
  private readonly extents: Extent[] = [];
  /** Bytes covered by extents: [0, capacity). */
  private capacity = 0;
  /** The file's size. */
  size = 0;

  constructor(private readonly mf: MemoryFile = sentryMemoryFile(), private readonly quota: SpaceQuota | null = null) {
    releaser.register(this, { extents: this.extents, quota }, this);
  }

  /** Empties the file now (unlinked and closed), rather than when it is collected. */
  free(): void {
    releaser.unregister(this);
    release(this.extents, this.quota);
    this.capacity = 0;
    this.size = 0;
  }

  /** Makes extents cover [0, end). */
  private reserve(end: number): void {
    while (this.capacity < end) {
      const len = Math.max(pageUp(end - this.capacity), this.capacity, PAGE);
      // Page-cache semantics: a private mapping must copy these pages before writing them.
      const backing = new Backing(this.mf, this.mf.allocate(len), len, true).ref();
      this.extents.push({ start: this.capacity, len, backing });
      this.capacity += len;
    }
  }

  private extentAt(off: number): Extent {
    let lo = 0;
    let hi = this.extents.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.extents[mid]!.start <= off) lo = mid;
      else hi = mid - 1;
    }
    return this.extents[lo]!;
  }

  /** Calls fn(memory-file offset, byte offset in the range, length) for each extent piece of [off, off+len) inside capacity. */
  private each(off: number, len: number, fn: (at: number, done: number, n: number) => void): void {
    let done = 0;
    const end = Math.min(off + len, this.capacity);
    while (off + done < end) {
      const e = this.extentAt(off + done);
      const inExt = off + done - e.start;
      const n = Math.min(end - (off + done), e.len - inExt);
      fn(e.backing.off + inExt, done, n);
      done += n;
    }
  }

  read(off: number, len: number): Uint8Array {
    const n = Math.max(0, Math.min(len, this.size - off));
    const out = new Uint8Array(n);
    this.each(off, n, (at, done, k) => this.mf.readInto(at, out, done, k));
    return out;
  }

  /**
   * Writes data at off; false when there is no room for the pages it needs
   * (ENOSPC): past the filesystem's size limit, or the sandbox's memory.
   * File data never sets off the OOM killer.
   */
  write(off: number, data: Uint8Array): boolean {
    const end = off + data.length;
    this.reserve(end);
    let grow = 0;
    this.each(off, data.length, (at, _d, k) => { grow += pageUp(at + k) - (at - (at % PAGE)) - this.mf.committedIn(at, k); });
    if (grow > 0 && this.quota && this.quota.used + grow > this.quota.limit()) return false;
    if (grow > 0 && this.mf.committedBytes() + grow > this.mf.limit && !this.mf.reclaim(grow)) return false;
    this.each(off, data.length, (at, done, k) => this.mf.write(at, data.subarray(done, done + k)));
    if (this.quota) this.quota.used += grow;
    if (end > this.size) this.size = end;
    return true;
  }

  /** Sets the size; bytes past a shrunk size read back as zeros if the file grows again. */
  truncate(size: number): void {
    // Zero the tail of the last page and drop the pages after it (a page never touched stays absent).
    // The pages stay counted: a shared mapping may still reach them.
    if (size < this.size) this.each(size, this.capacity - size, (at, _d, k) => this.mf.punch(at, k, true));
    this.size = size;
  }

  /** Bytes of the file that occupy memory (st_blocks): holes never written cost nothing. */
  residentBytes(): number {
    let n = 0;
    this.each(0, pageUp(this.size), (at, _d, k) => { n += this.mf.residentPages(at, k) * PAGE; });
    return n;
  }

  /** The pages holding file offset off (page-aligned, below pageUp(size)), for mmap. */
  run(off: number): PageRun {
    this.reserve(pageUp(Math.max(this.size, off + 1)));
    const e = this.extentAt(off);
    return { backing: e.backing, at: e.backing.off + (off - e.start), len: e.len - (off - e.start) };
  }
}
