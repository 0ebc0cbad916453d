// One address space's x86-64 4-level page tables, kept in pages of the memory
// file (guest physical address = file offset) and edited by the Sentry in
// place: mmap, munmap and mprotect cost no host syscall and no VM exit.
//
// A mapped PROT_NONE page keeps its frame in a non-present entry (marked
// with an available bit), so a later mprotect knows the frame again.
//
// Every first touch of a page is a fault the host handles (a shadow MMU
// here), and the host maps a fault's neighbours with it only when their
// entries are accessed and their frames resident on the host. So a frame the
// host already holds is mapped present, accessed (and dirty when writable:
// else a first write faults again); any other stays lazy, non-present with
// an available bit, until a fault in its aligned group of LAZY_GROUP pages
// makes the platform bring the group's frames in and show them all
// (materialize), as Linux's fault-around does for file pages.
//
// Adding a mapping needs nothing more. The host may hold translations
// derived from older entries (a TLB, or a shadow MMU, which does not see the
// Sentry's writes), which must go before the guest runs again: changing or
// taking away present entries reports their frames to onStaleFrames, by runs
// of consecutive file offsets (translations to those frames must go), and
// freeing tables calls onTablesFreed (every translation must go, for the
// host may keep structures keyed by the freed tables' addresses).
import type { MemoryFile } from '../../mm/memfile';
import { PROT_READ, PROT_WRITE, PROT_EXEC } from '../../../src/abi/linux';

const PAGE = 4096;
const P = 1;
const RW = 2;
const US = 4;
const ACCESSED = 0x20;
const DIRTY = 0x40;
/** An available bit: this entry maps a frame (present or not). */
const MAPPED = 0x200;
/** An available bit: a frame not shown to the guest yet, accessible once materialized. */
const LAZY = 0x400;
/** Pages a fault on a lazy entry materializes together: 256 KiB, aligned. */
export const LAZY_GROUP = 64;
/** NX, bit 63: bit 31 of the high word. */
const NX_HI = 0x8000_0000;
const TABLE_FLAGS = P | RW | US;
const LOW_FLAGS = 0xfff;
/** The frame address bits of an entry's low word. */
const frameLo = (lo: number): number => (lo & ~LOW_FLAGS) >>> 0;
/** User space: the lower half, PML4 entries 0..255. */
const USER_PML4_ENTRIES = 256;

/** A lazy entry's low word made present, accessed and, when writable, dirty. */
const show = (lazy: number): number => ((lazy & ~LAZY) | P | ACCESSED | (lazy & RW ? DIRTY : 0)) >>> 0;

/**
 * An entry's low flag words for prot, shown (present, accessed, dirty when
 * writable) or lazy, and its high word; PROT_NONE has one form, never present.
 */
export function frameFlags(prot: number): { shown: number; lazy: number; hi: number } {
  const rw = prot & PROT_WRITE ? RW : 0;
  const access = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
  const lazy = MAPPED | (access ? LAZY | US | rw : 0);
  return { shown: access ? show(lazy) : lazy, lazy, hi: prot & PROT_EXEC ? 0 : NX_HI };
}

export class PageTables {
  /** File offset of the PML4 (the CR3 value). */
  readonly root: number;
  private readonly views = new Map<number, Uint32Array>();
  /** kernelPdpt: the shared table that maps ring 0's pages, installed as PML4 entry kernelSlot. */
  constructor(
    private readonly mf: MemoryFile, kernelPdpt: number, kernelSlot: number,
    private readonly hooks: { onTable(off: number): void; onStaleFrames(off: number, len: number): void; onTablesFreed(): void },
  ) {
    this.root = this.newTable();
    const pml4 = this.view(this.root);
    pml4[kernelSlot * 2] = (kernelPdpt % 2 ** 32) | TABLE_FLAGS;
    pml4[kernelSlot * 2 + 1] = Math.floor(kernelPdpt / 2 ** 32);
  }

  private newTable(): number {
    const off = this.mf.allocate(PAGE);
    this.hooks.onTable(off);
    this.view(off).fill(0);
    return off;
  }

  private view(off: number): Uint32Array {
    let v = this.views.get(off);
    if (!v) {
      const b = this.mf.viewOf(off, PAGE)!;
      v = new Uint32Array(b.buffer, b.byteOffset, PAGE / 4);
      this.views.set(off, v);
    }
    return v;
  }

  /** The page table (level 1) holding addr's entry, created on the way when create is set. */
  private leaf(addr: number, create: boolean): Uint32Array | null {
    let table = this.view(this.root);
    // Shifts for PML4, PDPT and PD indexes; addr < 2^47 so division is exact.
    for (const shift of [39, 30, 21]) {
      const i = Math.floor(addr / 2 ** shift) % 512;
      let lo = table[i * 2]!;
      if (!(lo & P)) {
        if (!create) return null;
        const off = this.newTable();
        lo = (off % 2 ** 32) | TABLE_FLAGS;
        table[i * 2] = lo;
        table[i * 2 + 1] = Math.floor(off / 2 ** 32);
      }
      table = this.view(frameLo(lo) + table[i * 2 + 1]! * 2 ** 32);
    }
    return table;
  }

  /** Applies fn to every page's entry (as word index into its table) in [addr, addr+len). */
  private each(addr: number, len: number, create: boolean, fn: (pt: Uint32Array, i: number, page: number) => void): void {
    const end = addr + len;
    let a = addr;
    while (a < end) {
      const next = Math.min(end, (Math.floor(a / 0x20_0000) + 1) * 0x20_0000);
      const pt = this.leaf(a, create);
      if (pt) {
        const i0 = Math.floor(a / PAGE) % 512;
        const n = (next - a) / PAGE;
        for (let k = 0; k < n; k++) fn(pt, (i0 + k) * 2, (a - addr) / PAGE + k);
      }
      a = next;
    }
  }

  /** resident[page]: bit 0 set when the host holds that frame (mincore's answer), or null when none is known to. */
  map(addr: number, len: number, prot: number, off: number, resident: Uint8Array | null): void {
    const { shown, lazy, hi } = frameFlags(prot);
    const stale = this.staleRuns();
    this.each(addr, len, true, (pt, i, page) => {
      if (pt[i]! & P) stale.add(this.entryTarget(pt, i / 2));
      const frame = off + page * PAGE;
      pt[i] = (frame % 2 ** 32) | (resident && resident[page]! & 1 ? shown : lazy);
      pt[i + 1] = Math.floor(frame / 2 ** 32) | hi;
    });
    stale.end();
  }

  /** Collects frames into runs of consecutive offsets for onStaleFrames. */
  private staleRuns(): { add(frame: number): void; end(): void } {
    let start = 0;
    let len = 0;
    const end = (): void => {
      if (len > 0) this.hooks.onStaleFrames(start, len);
      len = 0;
    };
    return {
      add: (frame) => {
        if (len > 0 && frame === start + len) {
          len += PAGE;
          return;
        }
        end();
        start = frame;
        len = PAGE;
      },
      end,
    };
  }

  /**
   * Shows the guest the lazy entries of the group holding addr (present,
   * accessed, dirty when writable) and returns their frames' file offsets,
   * which the caller must make resident on the host; null when addr's entry
   * is not lazy (the fault is the workload's).
   */
  materialize(addr: number): number[] | null {
    const pt = this.leaf(addr, false);
    const at = Math.floor(addr / PAGE) % 512;
    if (!pt || !(pt[at * 2]! & LAZY)) return null;
    const frames: number[] = [];
    const first = at - (at % LAZY_GROUP);
    for (let k = first; k < first + LAZY_GROUP; k++) {
      const lo = pt[k * 2]!;
      if (!(lo & LAZY)) continue;
      pt[k * 2] = show(lo);
      frames.push(this.entryTarget(pt, k));
    }
    return frames;
  }

  unmap(addr: number, len: number): void {
    // All of user space (exec): one walk over the tables there are.
    if (addr === 0 && len >= USER_PML4_ENTRIES * 2 ** 39 - 2 ** 32) {
      this.clearUser();
      return;
    }
    const stale = this.staleRuns();
    this.each(addr, len, false, (pt, i) => {
      if (pt[i]! & P) stale.add(this.entryTarget(pt, i / 2));
      pt[i] = 0;
      pt[i + 1] = 0;
    });
    stale.end();
  }

  /** An accessible entry keeps its state: shown stays shown (accessed, dirty when writable), lazy stays lazy. */
  protect(addr: number, len: number, prot: number): void {
    const { shown, lazy, hi } = frameFlags(prot);
    const stale = this.staleRuns();
    this.each(addr, len, false, (pt, i) => {
      const cur = pt[i]!;
      if (!(cur & MAPPED)) return;
      if (cur & P) stale.add(this.entryTarget(pt, i / 2));
      pt[i] = ((cur & ~LOW_FLAGS) | (cur & P ? shown : lazy)) >>> 0;
      pt[i + 1] = (pt[i + 1]! & ~NX_HI) | hi;
    });
    stale.end();
  }

  /**
   * Drops every user mapping but keeps the tables, which stay tables of this
   * address space at the same places: the host's structures keyed by them
   * stay right, and no flush of everything is needed (exec, a pooled reuse).
   */
  clearUser(): void {
    const stale = this.staleRuns();
    const clear = (off: number, level: number): void => {
      const t = this.view(off);
      for (let i = 0; i < 512; i++) {
        const lo = t[i * 2]!;
        if (level > 1) {
          if (lo & P) clear(this.entryTarget(t, i), level - 1);
          continue;
        }
        if (lo & P) stale.add(this.entryTarget(t, i));
        t[i * 2] = 0;
        t[i * 2 + 1] = 0;
      }
    };
    const pml4 = this.view(this.root);
    for (let i = 0; i < USER_PML4_ENTRIES; i++) if (pml4[i * 2]! & P) clear(this.entryTarget(pml4, i), 3);
    stale.end();
  }

  private entryTarget(t: Uint32Array, i: number): number {
    return frameLo(t[i * 2]!) + (t[i * 2 + 1]! & 0x7fff_ffff) * 2 ** 32;
  }

  /** Frees a table of the given level (3 PDPT, 2 PD, 1 PT) and the tables under it. */
  private freeTree(off: number, level: number): void {
    if (level > 1) {
      const t = this.view(off);
      for (let i = 0; i < 512; i++) if (t[i * 2]! & P) this.freeTree(this.entryTarget(t, i), level - 1);
    }
    this.views.delete(off);
    this.mf.release(off, PAGE);
  }

  /** Frees every table (the address space is gone): the host must then forget every translation. */
  destroy(): void {
    const pml4 = this.view(this.root);
    for (let i = 0; i < USER_PML4_ENTRIES; i++) if (pml4[i * 2]! & P) this.freeTree(this.entryTarget(pml4, i), 3);
    this.views.delete(this.root);
    this.mf.release(this.root, PAGE);
    this.hooks.onTablesFreed();
  }
}
