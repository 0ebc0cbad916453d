// The page cache: file contents read once (through the VFS, so through the
// Gofer) into the memory file, keyed by the file's identity and version, and
// shared by every read-only mapping of that file. Executables and libraries
// mapped by each exec are served from here without another read.
import type { MemoryFile } from './memfile';
import { pageUp } from './memfile';
import { Backing } from './address-space';

/** Pages of the memory file holding part of a file: its backing, the memory-file offset, and the length from there. */
export interface PageRun { backing: Backing; at: number; len: number }

/** A file's contents in the memory file, as mmap and the ELF loader see them. */
export interface FilePages {
  readonly size: number;
  /** The run of pages holding file offset off (page-aligned, below pageUp(size)). */
  run(off: number): PageRun;
}

/** What a file offers to mmap (the VFS implements it). */
export interface MappableSource {
  /** Stable for unchanged contents. */
  cacheKey: string;
  size(): number;
  readAt(off: number, len: number): Uint8Array | number;
  /** Reads straight into `dst` (memory-file pages): bytes read, -errno, or null to use readAt. */
  readInto?(off: number, dst: Uint8Array[]): number | null;
  /** Contents already kept in the memory file (tmpfs): mapped in place, shared with read/write, never cached. */
  pages?(): FilePages;
}

export class CachedFile implements FilePages {
  constructor(readonly key: string, readonly size: number, readonly backing: Backing) {}
  run(off: number): PageRun {
    return { backing: this.backing, at: this.backing.off + off, len: this.backing.len - off };
  }
}

/** Bytes of file contents kept once no mapping uses them. */
const RETAIN_BYTES = 512 << 20;

export class PageCache {
  /** Insertion order doubles as LRU order (entries are re-inserted on use). */
  private readonly files = new Map<string, CachedFile>();
  private bytes = 0;

  constructor(private readonly mf: MemoryFile) {}

  /** The cached contents of src, reading them in on a miss; -errno if the read fails. */
  get(src: MappableSource): FilePages | number {
    const inMemory = src.pages?.();
    if (inMemory) return inMemory;
    const hit = this.files.get(src.cacheKey);
    if (hit) {
      this.files.delete(src.cacheKey);
      this.files.set(src.cacheKey, hit);
      return hit;
    }
    const size = src.size();
    const len = Math.max(pageUp(size), 4096);
    const backing = new Backing(this.mf, this.mf.allocate(len), len, true).ref();
    const r = this.fill(src, backing, size);
    if (r < 0) {
      backing.unref();
      return r;
    }
    const f = new CachedFile(src.cacheKey, size, backing);
    this.files.set(src.cacheKey, f);
    this.bytes += len;
    this.evict();
    return f;
  }

  /** Reads src's contents into backing: 0, or -errno. */
  private fill(src: MappableSource, backing: Backing, size: number): number {
    const step = 1 << 20;
    try {
      for (let off = 0; off < size; off += step) {
        const want = Math.min(step, size - off);
        const direct = src.readInto?.(off, this.mf.views(backing.off + off, want)) ?? null;
        if (direct !== null) {
          if (direct < 0) return direct;
          if (direct < want) break;
          continue;
        }
        const data = src.readAt(off, want);
        if (typeof data === 'number') return data;
        this.mf.write(backing.off + off, data);
        if (data.length < want) break;
      }
    } catch (e) {
      backing.unref();
      throw e;
    }
    return 0;
  }

  /**
   * Drops every file no mapping uses (memory is short); returns the bytes
   * freed. The most recently used is kept: get's caller may be mapping it.
   */
  shrink(): number {
    let freed = 0;
    let left = this.files.size - 1;
    for (const [key, f] of this.files) {
      if (left-- <= 0) break;
      if (f.backing.refs > 1) continue;
      this.files.delete(key);
      this.bytes -= f.backing.len;
      freed += f.backing.mf!.committedIn(f.backing.off, f.backing.len);
      f.backing.unref();
    }
    return freed;
  }

  private evict(): void {
    for (const [key, f] of this.files) {
      if (this.bytes <= RETAIN_BYTES) break;
      this.files.delete(key);
      this.bytes -= f.backing.len;
      f.backing.unref();
    }
  }
}
