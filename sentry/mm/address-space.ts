// A workload process's address space: the Sentry's list of mappings (VMAs),
// each backed by pages of the memory file, mirrored into the platform's
// address space (the ptrace stub's host mappings, or KVM guest page tables).
// The Sentry's list is the truth: every user-memory access a syscall makes is
// checked against it (EFAULT otherwise), and the platform only follows it.
//
// Private file mappings that are never writable use the page cache's pages
// directly; writable private mappings get their own copy. fork copies the
// resident pages of private memory eagerly.
//
// The host mirror holds only committed pages (sentry/mm/memfile.ts): a VMA
// whose pages are all committed is mapped whole; any other is mapped a window
// at a time when the workload first touches it (the host reports an unmapped
// address, and the kernel calls populate), so every page the workload can
// reach has been counted against the sandbox's memory limit.
import { MemoryFile, PAGE, pageUp, pageDown } from './memfile';
import type { UserMemory } from './usermem';
import type { PageCache, FilePages, PageRun } from './pagecache';
import { USER_END, type Platform, type Context } from '../platform/platform';
import {
  PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_FIXED_NOREPLACE,
  MAP_TYPE, MAP_SHARED_VALIDATE, MREMAP_MAYMOVE, MREMAP_FIXED, MADV_DONTNEED, MADV_FREE,
} from '../../src/abi/linux';
import { EINVAL, ENOMEM, EEXIST, EFAULT } from '../../src/abi/errno';

/** Lowest address a mapping may have (vm.mmap_min_addr). */
export const MMAP_MIN_ADDR = 0x10000;
export { USER_END };
const STACK_SIZE = 8 << 20;
const MIN_STACK_SIZE = 128 << 10;
/** Where mmap starts looking, top down: below the stack and a guard gap. */
const MMAP_TOP = USER_END - STACK_SIZE - (128 << 20);

/** Pages of the memory file shared by one or more mappings. */
export class Backing {
  refs = 0;
  /** cached: these are page-cache pages, which a private mapping must never write. */
  constructor(readonly mf: MemoryFile | null, readonly off: number, readonly len: number, readonly cached: boolean) {}
  ref(): this {
    this.refs++;
    return this;
  }
  unref(): void {
    if (--this.refs === 0) this.mf?.release(this.off, this.len);
  }
}

export interface Vma {
  start: number;
  end: number;
  prot: number;
  shared: boolean;
  backing: Backing;
  /** Memory-file offset of start. */
  off: number;
  /** Bytes the next fault in this VMA maps (see populate). */
  faultSize?: number;
  /** mlock'ed (VM_LOCKED). */
  locked?: boolean;
  /** Name for /proc/[pid]/maps: a path, [heap], [stack], or ''. */
  name: string;
  /** Offset in the mapped file, for maps. */
  fileOffset: number;
  /** Pages of a file mapping wholly past the end of the file: nothing is mapped, and a touch is SIGBUS. */
  pastEof?: boolean;
}

export interface FileMapping {
  cache: FilePages;
  offset: number;
  name: string;
}

/** madvise advice values Linux accepts (asm-generic/mman-common.h); only DONTNEED and FREE change anything here. */
const KNOWN_ADVICE = new Set([0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);

/** The backing of past-EOF mappings: no pages, never freed. */
const PAST_EOF = new Backing(null, 0, 0, true).ref();

/** Addresses beyond the user range (kernel addresses, which lose precision as numbers) are never mapped. */
const inUserRange = (addr: number, len: number): boolean =>
  len === 0 || (addr >= 0 && addr + len <= USER_END && Number.isSafeInteger(addr));

const hostProt = (v: Vma): number =>
  v.backing.cached && !v.shared ? v.prot & ~PROT_WRITE : v.prot;

/** What the first touch of a VMA maps; each later one maps twice as much, up to MAX_FAULT. */
const MIN_FAULT = 64 << 10;
const MAX_FAULT = 2 << 20;

export class AddressSpace implements UserMemory {
  private vmas: Vma[] = [];
  brkStart = 0;
  brk = 0;
  /** Processes using this address space (more than one after clone with CLONE_VM). */
  users = 1;
  /** The context through which mapping changes reach the platform; the kernel points it at a stopped thread. */
  stub: Context;

  constructor(readonly mf: MemoryFile, private readonly cache: PageCache, private readonly host: Platform, stub: Context) {
    this.stub = stub;
  }

  /** Applies queued mapping changes to the host; the kernel calls it before the process runs. Returns 0 or -errno. */
  flush(): number {
    return this.host.flush(this.stub);
  }

  // ---- lookup ----
  private indexOf(addr: number): number {
    let lo = 0;
    let hi = this.vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.vmas[mid]!;
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  find(addr: number): Vma | undefined {
    const i = this.indexOf(addr);
    return i < 0 ? undefined : this.vmas[i];
  }

  /** The memory-file offset backing a mapped address (futex keys), or null. */
  translate(addr: number): number | null {
    const v = this.find(addr);
    return v ? v.off + (addr - v.start) : null;
  }

  mappings(): readonly Vma[] {
    return this.vmas;
  }

  // ---- UserMemory ----
  read(addr: number, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    return this.readInto(addr, out) ? out : null;
  }

  readInto(addr: number, out: Uint8Array): boolean {
    if (!inUserRange(addr, out.length)) return false;
    let done = 0;
    while (done < out.length) {
      const a = addr + done;
      const v = this.find(a);
      if (!v || !(v.prot & (PROT_READ | PROT_EXEC)) || v.pastEof) return false;
      const n = Math.min(out.length - done, v.end - a);
      this.mf.readInto(v.off + (a - v.start), out, done, n);
      done += n;
    }
    return true;
  }

  write(addr: number, data: Uint8Array): boolean {
    if (!inUserRange(addr, data.length)) return false;
    // Check every page first so a fault writes nothing.
    for (let a = addr; a < addr + data.length;) {
      const v = this.find(a);
      if (!v || !(v.prot & PROT_WRITE) || (v.backing.cached && !v.shared) || v.pastEof) return false;
      a = v.end;
    }
    let done = 0;
    while (done < data.length) {
      const a = addr + done;
      const v = this.find(a)!;
      const n = Math.min(data.length - done, v.end - a);
      this.mf.write(v.off + (a - v.start), n === data.length ? data : data.subarray(done, done + n));
      done += n;
    }
    return true;
  }

  /**
   * Views of the memory file holding [addr, addr+len), in order, for host I/O
   * straight into (forWrite) or out of workload memory; null if any byte is
   * not accessible so.
   */
  views(addr: number, len: number, forWrite: boolean): Uint8Array[] | null {
    if (!inUserRange(addr, len)) return null;
    const out: Uint8Array[] = [];
    for (let a = addr; a < addr + len;) {
      const v = this.find(a);
      if (!v || v.pastEof) return null;
      if (forWrite ? !(v.prot & PROT_WRITE) || (v.backing.cached && !v.shared) : !(v.prot & (PROT_READ | PROT_EXEC))) return null;
      const n = Math.min(addr + len, v.end) - a;
      this.mf.views(v.off + (a - v.start), n, out);
      a += n;
    }
    return out;
  }

  readCString(addr: number, max: number): string | null | undefined {
    if (!inUserRange(addr, 1)) return null;
    const parts: Uint8Array[] = [];
    let total = 0;
    let a = addr;
    while (total < max) {
      const v = this.find(a);
      if (!v || !(v.prot & (PROT_READ | PROT_EXEC)) || v.pastEof) return null;
      // Scan up to the end of the page: the next page may be unmapped.
      const n = Math.min(max - total, PAGE - (a % PAGE), v.end - a);
      const chunk = new Uint8Array(n);
      this.mf.readInto(v.off + (a - v.start), chunk, 0, n);
      const nul = chunk.indexOf(0);
      if (nul >= 0) {
        parts.push(chunk.subarray(0, nul));
        return Buffer.concat(parts).toString('utf8');
      }
      parts.push(chunk);
      total += n;
      a += n;
    }
    return undefined;
  }

  private scalar = new DataView(new ArrayBuffer(8));
  readU32(addr: number): number | null {
    const b = new Uint8Array(this.scalar.buffer, 0, 4);
    return this.readInto(addr, b) ? this.scalar.getUint32(0, true) : null;
  }
  readU64(addr: number): bigint | null {
    const b = new Uint8Array(this.scalar.buffer, 0, 8);
    return this.readInto(addr, b) ? this.scalar.getBigUint64(0, true) : null;
  }
  writeU32(addr: number, v: number): boolean {
    this.scalar.setUint32(0, v >>> 0, true);
    return this.write(addr, new Uint8Array(this.scalar.buffer, 0, 4));
  }
  writeU64(addr: number, v: bigint): boolean {
    this.scalar.setBigUint64(0, BigInt.asUintN(64, v), true);
    return this.write(addr, new Uint8Array(this.scalar.buffer, 0, 8));
  }

  // ---- host mirror ----
  /** Mirrors v on the host: whole when all its pages are committed, else nothing until populate. */
  private hostMap(v: Vma): void {
    const len = v.end - v.start;
    if (v.pastEof || !(v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) || !this.mf.isCommitted(v.off, len)) this.host.queueUnmap(this.stub, v.start, len);
    else this.host.queueMap(this.stub, v.start, len, hostProt(v), v.off);
  }

  /**
   * The workload touched addr, which the host has not mapped: commits and maps
   * the window around it. False when addr is not in an accessible VMA (the
   * fault is the workload's); throws OutOfMemory when the pages cannot be had.
   */
  populate(addr: number): boolean {
    const v = this.find(addr);
    if (!v || v.pastEof || !(v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC))) return false;
    const size = v.faultSize ?? MIN_FAULT;
    const start = Math.max(v.start, addr - (addr % size));
    const end = Math.min(v.end, start + size);
    this.mf.commit(v.off + (start - v.start), end - start);
    this.host.queueMap(this.stub, start, end - start, hostProt(v), v.off + (start - v.start));
    v.faultSize = Math.min(size * 2, MAX_FAULT);
    return true;
  }

  /**
   * Commits and maps every mapped page of [start, end) (mlock, MAP_POPULATE)
   * without the OOM killer: false when the sandbox's memory cannot hold them.
   */
  populateRange(start: number, end: number): boolean {
    for (const v of this.vmas) {
      const a = Math.max(start, v.start);
      const stop = Math.min(end, v.end);
      if (a >= stop || v.pastEof || !(v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC))) continue;
      const off = v.off + (a - v.start);
      if (!this.mf.tryCommit(off, stop - a) && !(this.mf.reclaim(stop - a) && this.mf.tryCommit(off, stop - a))) return false;
      this.host.queueMap(this.stub, a, stop - a, hostProt(v), off);
    }
    return true;
  }

  /** Sets or clears VM_LOCKED on [addr, addr+len); -ENOMEM when part of it is not mapped. */
  setLocked(addr: number, len: number, locked: boolean): number {
    const end = addr + len;
    if (!inUserRange(addr, len) || !this.covered(addr, end)) return -ENOMEM;
    this.splitAt(addr);
    this.splitAt(end);
    for (const v of this.vmas) if (v.start >= addr && v.end <= end) v.locked = locked;
    return 0;
  }

  /** Bytes of locked mappings within [start, end). */
  lockedBytes(start = 0, end = USER_END): number {
    let n = 0;
    for (const v of this.vmas) if (v.locked) n += Math.max(0, Math.min(end, v.end) - Math.max(start, v.start));
    return n;
  }

  /** Total bytes mapped (mlockall's check against RLIMIT_MEMLOCK). */
  mappedBytes(): number {
    let n = 0;
    for (const v of this.vmas) n += v.end - v.start;
    return n;
  }

  /** mlockall(MCL_FUTURE): mappings made from now on are locked (the syscall layer populates them). */
  lockFuture = false;

  /** Bytes committed in this address space's mappings (its resident set, for the OOM killer and /proc). */
  committedBytes(): number {
    let n = 0;
    for (const v of this.vmas) if (!v.pastEof) n += this.mf.committedIn(v.off, v.end - v.start);
    return n;
  }

  // ---- changing the layout ----
  /** Splits the VMA containing addr so that a VMA starts at addr. */
  private splitAt(addr: number): void {
    const i = this.indexOf(addr);
    if (i < 0) return;
    const v = this.vmas[i]!;
    if (v.start === addr) return;
    const tail: Vma = { ...v, start: addr, off: v.off + (addr - v.start), fileOffset: v.fileOffset + (addr - v.start) };
    v.backing.ref();
    v.end = addr;
    this.vmas.splice(i + 1, 0, tail);
  }

  /** Removes [start, end) from the list, dropping its pages; the caller updates the host. */
  private remove(start: number, end: number): void {
    this.splitAt(start);
    this.splitAt(end);
    const keep: Vma[] = [];
    for (const v of this.vmas) {
      if (v.start >= start && v.end <= end) {
        // A private anonymous backing is ours alone: free these pages now.
        if (!v.backing.cached && !v.shared && v.backing.refs > 1) this.mf.punch(v.off, v.end - v.start);
        v.backing.unref();
      } else keep.push(v);
    }
    this.vmas = keep;
  }

  private insert(v: Vma): void {
    let i = 0;
    while (i < this.vmas.length && this.vmas[i]!.start < v.start) i++;
    this.vmas.splice(i, 0, v);
  }

  private isFree(start: number, end: number): boolean {
    if (start < MMAP_MIN_ADDR || end > USER_END || start >= end) return false;
    for (const v of this.vmas) if (v.start < end && v.end > start) return false;
    return true;
  }

  /** A free range of len bytes, searching down from the mmap top. */
  private findGap(len: number): number {
    let top = MMAP_TOP;
    for (let i = this.vmas.length - 1; i >= 0; i--) {
      const v = this.vmas[i]!;
      if (v.start >= top) continue;
      if (v.end <= top - len) return top - len;
      top = Math.min(top, v.start);
    }
    return top - len >= MMAP_MIN_ADDR ? top - len : -ENOMEM;
  }

  /** Places a new mapping of fresh anonymous memory, a page-cache file, or a copy of one. */
  mmap(addr: number, len: number, prot: number, flags: number, file: FileMapping | null): number {
    const type = flags & MAP_TYPE;
    if (len === 0 || (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE)) return -EINVAL;
    if (addr % PAGE !== 0 && flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) return -EINVAL;
    if (file && file.offset % PAGE !== 0) return -EINVAL;
    len = pageUp(len);
    if (len > USER_END) return -ENOMEM;
    const shared = type !== MAP_PRIVATE;
    let start: number;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
      if (addr < MMAP_MIN_ADDR || addr + len > USER_END) return flags & MAP_FIXED ? -EINVAL : -ENOMEM;
      if (!this.isFree(addr, addr + len)) {
        if (!(flags & MAP_FIXED)) return -EEXIST;
        this.remove(addr, addr + len);
      }
      start = addr;
    } else {
      const hint = pageDown(addr);
      start = hint && this.isFree(hint, hint + len) ? hint : this.findGap(len);
      if (start < 0) return start;
    }
    // Whole pages past the end of the file fault with SIGBUS, as in Linux.
    const filePages = file ? Math.max(0, pageUp(file.cache.size) - file.offset) : len;
    if (filePages < len) {
      const tail: Vma = { start: start + filePages, end: start + len, prot, shared, backing: PAST_EOF.ref(), off: 0, name: file!.name, fileOffset: file!.offset + filePages, pastEof: true };
      this.insert(tail);
      this.hostMap(tail);
    }
    const mapped = Math.min(len, filePages);
    if (!file) {
      const v = this.makeVma(start, len, prot, shared, null);
      this.insert(v);
      this.hostMap(v);
    }
    // A file's pages may lie in several runs of the memory file: one VMA each.
    for (let done = 0; file && done < mapped;) {
      const run = file.cache.run(file.offset + done);
      const n = Math.min(mapped - done, run.len);
      const v = this.makeFileVma(start + done, n, prot, shared, run, file, file.offset + done);
      this.insert(v);
      this.hostMap(v);
      done += n;
    }
    return start;
  }

  private makeVma(start: number, len: number, prot: number, shared: boolean, name: string | null): Vma {
    const backing = new Backing(this.mf, this.mf.allocate(len), len, false).ref();
    // A mapping no bigger than a first fault would map is committed (and mapped) now, when
    // that fits: it saves the fault, and its pages would be committed together anyway.
    if (len <= MIN_FAULT) this.mf.tryCommit(backing.off, len);
    return { start, end: start + len, prot, shared, backing, off: backing.off, name: name ?? '', fileOffset: 0 };
  }

  /** A VMA over len bytes of a file at fileOffset, whose pages are run. */
  private makeFileVma(start: number, len: number, prot: number, shared: boolean, run: PageRun, file: FileMapping, fileOffset: number): Vma {
    // Read-only (or shared) views of the file use its pages themselves; anything else is a private copy.
    if (shared || !(prot & PROT_WRITE)) {
      return { start, end: start + len, prot, shared, backing: run.backing.ref(), off: run.at, name: file.name, fileOffset };
    }
    const v = this.makeVma(start, len, prot, false, file.name);
    v.fileOffset = fileOffset;
    const avail = Math.max(0, Math.min(len, file.cache.size - fileOffset));
    try {
      if (avail > 0) this.mf.copyResident(run.at, v.off, pageUp(avail));
      // Bytes past the end of the file in its last page read as zero.
      const tail = avail % PAGE;
      if (tail) this.mf.write(v.off + avail, new Uint8Array(PAGE - tail));
    } catch (e) {
      v.backing.unref();
      throw e;
    }
    return v;
  }

  munmap(addr: number, len: number): number {
    if (addr % PAGE !== 0 || len === 0) return -EINVAL;
    len = pageUp(len);
    if (addr + len > USER_END) return -EINVAL;
    this.remove(addr, addr + len);
    this.host.queueUnmap(this.stub, addr, len);
    return 0;
  }

  /** Whether every page of [addr, end) is mapped. */
  covered(addr: number, end: number): boolean {
    for (let a = addr; a < end;) {
      const v = this.find(a);
      if (!v) return false;
      a = v.end;
    }
    return true;
  }

  mprotect(addr: number, len: number, prot: number): number {
    if (addr % PAGE !== 0) return -EINVAL;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) return -EINVAL;
    len = pageUp(len);
    const end = addr + len;
    if (!this.covered(addr, end)) return -ENOMEM;
    this.splitAt(addr);
    this.splitAt(end);
    for (let i = 0; i < this.vmas.length; i++) {
      const v = this.vmas[i]!;
      if (v.start < addr || v.end > end) continue;
      v.prot = prot;
      if (v.backing.cached && !v.shared && prot & PROT_WRITE && !v.pastEof) {
        // First write permission on a page-cache mapping: take a private copy.
        const len = v.end - v.start;
        const copy = new Backing(this.mf, this.mf.allocate(len), len, false).ref();
        try {
          this.mf.copyResident(v.off, copy.off, len);
        } catch (e) {
          copy.unref();
          throw e;
        }
        v.backing.unref();
        v.backing = copy;
        v.off = copy.off;
      }
      // Mapped again rather than mprotected: a lazily mapped VMA has holes on the host.
      this.hostMap(v);
    }
    return 0;
  }

  /** Sets the program break; returns the new break (the old one when the request fails). */
  setBrk(want: number): number {
    if (want < this.brkStart) return this.brk;
    const oldEnd = pageUp(this.brk);
    const newEnd = pageUp(want);
    if (newEnd > oldEnd) {
      if (!this.isFree(oldEnd, newEnd)) return this.brk;
      const v = this.makeVma(oldEnd, newEnd - oldEnd, PROT_READ | PROT_WRITE, false, '[heap]');
      this.insert(v);
      this.hostMap(v);
    } else if (newEnd < oldEnd) {
      this.remove(newEnd, oldEnd);
      this.host.queueUnmap(this.stub, newEnd, oldEnd - newEnd);
    }
    this.brk = want;
    return want;
  }

  mremap(oldAddr: number, oldLen: number, newLen: number, flags: number, newAddr: number): number {
    if (oldAddr % PAGE !== 0 || newLen === 0 || flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) return -EINVAL;
    if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
    oldLen = pageUp(oldLen);
    newLen = pageUp(newLen);
    if (oldLen === 0) return -EINVAL;
    // The old range must be mapped throughout (Linux's single merged VMA may be several here).
    for (let a = oldAddr; a < oldAddr + oldLen;) {
      const v = this.find(a);
      if (!v) return -EFAULT;
      a = v.end;
    }
    if (!(flags & MREMAP_FIXED)) {
      if (newLen <= oldLen) {
        if (newLen < oldLen) this.munmap(oldAddr + newLen, oldLen - newLen);
        return oldAddr;
      }
      if (this.isFree(oldAddr + oldLen, oldAddr + newLen) || oldAddr + oldLen === oldAddr + newLen) {
        this.growInPlace(oldAddr, oldLen, newLen);
        return oldAddr;
      }
      if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
    }
    let dest: number;
    if (flags & MREMAP_FIXED) {
      if (newAddr % PAGE !== 0 || newAddr < MMAP_MIN_ADDR || newAddr + newLen > USER_END) return -EINVAL;
      if (newAddr < oldAddr + oldLen && oldAddr < newAddr + newLen) return -EINVAL;
      this.munmap(newAddr, newLen);
      dest = newAddr;
    } else {
      dest = this.findGap(newLen);
      if (dest < 0) return dest;
    }
    // Move: the pages stay where they are in the memory file; only the addresses change.
    this.splitAt(oldAddr);
    this.splitAt(oldAddr + oldLen);
    const moving = this.vmas.filter((m) => m.start >= oldAddr && m.end <= oldAddr + oldLen);
    this.vmas = this.vmas.filter((m) => !moving.includes(m));
    this.host.queueUnmap(this.stub, oldAddr, oldLen);
    const keep = Math.min(oldLen, newLen);
    for (const m of moving) {
      const rel = m.start - oldAddr;
      if (rel >= keep) { m.backing.unref(); continue; }
      m.start = dest + rel;
      m.end = dest + Math.min(rel + (m.end - (oldAddr + rel)), keep);
      this.insert(m);
      this.hostMap(m);
    }
    if (newLen > oldLen) this.growInPlace(dest, oldLen, newLen);
    return dest;
  }

  /** Extends the mapping ending at addr+oldLen with fresh pages of the same kind. */
  private growInPlace(addr: number, oldLen: number, newLen: number): void {
    const last = this.find(addr + oldLen - PAGE)!;
    const v = this.makeVma(addr + oldLen, newLen - oldLen, last.prot, last.shared, last.name);
    this.insert(v);
    this.hostMap(v);
  }

  madvise(addr: number, len: number, advice: number): number {
    if (addr % PAGE !== 0 || !KNOWN_ADVICE.has(advice)) return -EINVAL;
    if (advice !== MADV_DONTNEED && advice !== MADV_FREE) return 0;
    len = pageUp(len);
    for (let a = addr; a < addr + len;) {
      const v = this.find(a);
      if (!v) return -ENOMEM;
      const end = Math.min(v.end, addr + len);
      // Private anonymous memory reads back as zeros after DONTNEED; its pages
      // stop counting, so the host must not reach them until touched again.
      if (!v.shared && !v.backing.cached) {
        this.mf.punch(v.off + (a - v.start), end - a);
        this.host.queueUnmap(this.stub, a, end - a);
      }
      a = end;
    }
    return 0;
  }

  /**
   * The stack for a new image: [top - size, top), readable and writable.
   * size (RLIMIT_STACK) is kept between 128 KiB and what fits above the mmap area.
   */
  mapStack(size = STACK_SIZE): { top: number; bottom: number } {
    const top = USER_END - PAGE;
    size = Math.min(Math.max(pageUp(size), MIN_STACK_SIZE), top - MMAP_TOP - PAGE);
    const bottom = top - size;
    const v = this.makeVma(bottom, size, PROT_READ | PROT_WRITE, false, '[stack]');
    this.insert(v);
    this.hostMap(v);
    return { top, bottom };
  }

  /** A copy for a forked child whose stub is child. */
  fork(child: Context): AddressSpace {
    const as = new AddressSpace(this.mf, this.cache, this.host, child);
    as.brkStart = this.brkStart;
    as.brk = this.brk;
    for (const v of this.vmas) {
      let nv: Vma;
      if (v.shared || v.backing.cached || v.pastEof) {
        // Locks are not inherited by fork.
        nv = { ...v, backing: v.backing.ref(), locked: false };
      } else {
        const len = v.end - v.start;
        const backing = new Backing(this.mf, this.mf.allocate(len), len, false).ref();
        as.vmas.push({ ...v, backing, off: backing.off });
        try {
          this.mf.copyResident(v.off, backing.off, len);
        } catch (e) {
          // Out of memory: the copy so far goes back (the caller drops the child's stub).
          as.clear();
          throw e;
        }
        nv = { ...as.vmas.pop()!, locked: false };
      }
      as.vmas.push(nv);
      as.hostMap(nv);
    }
    return as;
  }

  /** A process stops using this address space; the last one frees it. */
  release(): void {
    if (--this.users === 0) this.clear();
  }

  /** Unmaps everything (exec and exit). */
  clear(): void {
    for (const v of this.vmas) v.backing.unref();
    this.vmas = [];
    this.brk = this.brkStart = 0;
  }

  /** Unmaps everything from the stub too, for a new image. */
  reset(): void {
    this.clear();
    this.host.queueUnmap(this.stub, 0, USER_END);
  }
}
