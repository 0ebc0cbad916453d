// The page cache: file contents read once (through the VFS, so through the
// Gofer) into the memory file, keyed by the file's identity and version, and
// shared by every read-only mapping of that file. Executables and libraries
// mapped by each exec are served from here without another read.
import type { MemoryFile } from './memfile';
import { pageUp } from './memfile';
import { Backing } from './address-space';

/** What a file offers to mmap (the VFS implements it). */
export interface MappableSource {
  /** Stable for unchanged contents; unique per call for files that may change under the mapping. */
  cacheKey: string;
  size(): number;
  readAt(off: number, len: number): Uint8Array | number;
  /** Reads straight into `dst` (memory-file pages): bytes read, -errno, or null to use readAt. */
  readInto?(off: number, dst: Uint8Array[]): number | null;
}

export class CachedFile {
  /** retained: the cache keeps it for later mappings; otherwise the first mapping's caller drops it. */
  constructor(readonly key: string, readonly size: number, readonly backing: Backing, readonly retained: boolean) {}
}

/** Bytes of file contents kept once no mapping uses them. */
const RETAIN_BYTES = 512 << 20;

export class PageCache {
  /** Insertion order doubles as LRU order (entries are re-inserted on use). */
  private readonly files = new Map<string, CachedFile>();
  private bytes = 0;

  constructor(private readonly mf: MemoryFile) {}

  /** The cached contents of src, reading them in on a miss; -errno if the read fails. */
  get(src: MappableSource): CachedFile | number {
    const hit = this.files.get(src.cacheKey);
    if (hit) {
      this.files.delete(src.cacheKey);
      this.files.set(src.cacheKey, hit);
      return hit;
    }
    const size = src.size();
    const len = Math.max(pageUp(size), 4096);
    const backing = new Backing(this.mf, this.mf.allocate(len), len, true).ref();
    const step = 1 << 20;
    for (let off = 0; off < size; off += step) {
      const want = Math.min(step, size - off);
      const direct = src.readInto?.(off, this.mf.views(backing.off + off, want)) ?? null;
      if (direct !== null) {
        if (direct < 0) { backing.unref(); return direct; }
        if (direct < want) break;
        continue;
      }
      const data = src.readAt(off, want);
      if (typeof data === 'number') {
        backing.unref();
        return data;
      }
      this.mf.write(backing.off + off, data);
      if (data.length < want) break;
    }
    // Contents that may change under a mapping (in-memory files) are not kept.
    const retained = !src.cacheKey.startsWith('uncached:');
    const f = new CachedFile(src.cacheKey, size, backing, retained);
    if (retained) {
      this.files.set(src.cacheKey, f);
      this.bytes += len;
      this.evict();
    }
    return f;
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
