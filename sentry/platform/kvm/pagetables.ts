// One address space's x86-64 4-level page tables, kept in pages of the memory
// file (guest physical address = file offset) and edited by the Sentry in
// place: mmap, munmap and mprotect cost no host syscall and no VM exit.
//
// A mapped PROT_NONE page keeps its frame in a non-present entry (marked
// with an available bit), so a later mprotect knows the frame again.
//
// Adding a mapping needs nothing more. Taking one away or narrowing it, and
// freeing tables, calls onStale: the host may hold translations derived from
// the old entries (a TLB, or a shadow MMU, which does not see the Sentry's
// writes) and must drop them before the guest runs again.
import type { MemoryFile } from '../../mm/memfile';
import { PROT_READ, PROT_WRITE, PROT_EXEC } from '../../../src/abi/linux';

const PAGE = 4096;
const P = 1;
const RW = 2;
const US = 4;
/** An available bit: this entry maps a frame (present or not). */
const MAPPED = 0x200;
/** NX, bit 63: bit 31 of the high word. */
const NX_HI = 0x8000_0000;
const TABLE_FLAGS = P | RW | US;
const LOW_FLAGS = 0xfff;
/** The frame address bits of an entry's low word. */
const frameLo = (lo: number): number => (lo & ~LOW_FLAGS) >>> 0;
/** User space: the lower half, PML4 entries 0..255. */
const USER_PML4_ENTRIES = 256;

export const frameFlags = (prot: number): { lo: number; hi: number } => ({
  lo: MAPPED | (prot & (PROT_READ | PROT_WRITE | PROT_EXEC) ? P | US : 0) | (prot & PROT_WRITE ? RW : 0),
  hi: prot & PROT_EXEC ? 0 : NX_HI,
});

export class PageTables {
  /** File offset of the PML4 (the CR3 value). */
  readonly root: number;
  private readonly views = new Map<number, Uint32Array>();
  /** kernelPdpt: the shared table that maps ring 0's pages, installed as PML4 entry kernelSlot. */
  constructor(
    private readonly mf: MemoryFile, kernelPdpt: number, kernelSlot: number,
    private readonly hooks: { onTable(off: number): void; onStale(): void },
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

  map(addr: number, len: number, prot: number, off: number): void {
    const { lo, hi } = frameFlags(prot);
    this.each(addr, len, true, (pt, i, page) => {
      if (pt[i]! & P) this.hooks.onStale();
      const frame = off + page * PAGE;
      pt[i] = (frame % 2 ** 32) | lo;
      pt[i + 1] = Math.floor(frame / 2 ** 32) | hi;
    });
  }

  unmap(addr: number, len: number): void {
    if (addr === 0 && len >= USER_PML4_ENTRIES * 2 ** 39 - 2 ** 32) {
      this.clearUser();
      return;
    }
    this.each(addr, len, false, (pt, i) => {
      if (pt[i]! & P) this.hooks.onStale();
      pt[i] = 0;
      pt[i + 1] = 0;
    });
  }

  protect(addr: number, len: number, prot: number): void {
    const { lo, hi } = frameFlags(prot);
    this.each(addr, len, false, (pt, i) => {
      const cur = pt[i]!;
      if (!(cur & MAPPED)) return;
      if (cur & P) this.hooks.onStale();
      pt[i] = (cur & ~LOW_FLAGS) | lo;
      pt[i + 1] = (pt[i + 1]! & ~NX_HI) | hi;
    });
  }

  /** Drops every user mapping and the tables that held them. */
  private clearUser(): void {
    const pml4 = this.view(this.root);
    for (let i = 0; i < USER_PML4_ENTRIES; i++) {
      if (!(pml4[i * 2]! & P)) continue;
      this.freeTree(this.entryTarget(pml4, i), 3);
      pml4[i * 2] = 0;
      pml4[i * 2 + 1] = 0;
    }
    this.hooks.onStale();
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

  /** Frees every table (the address space is gone). */
  destroy(): void {
    this.clearUser();
    this.views.delete(this.root);
    this.mf.release(this.root, PAGE);
  }
}
