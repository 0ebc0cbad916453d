// The Sentry's ELF loader: maps an x86-64 executable (static, static-pie or
// dynamic, whose PT_INTERP loader it maps too) into a fresh address space and
// builds the initial stack (argc, argv, envp, auxv) that glibc and musl expect.
import type { AddressSpace } from '../mm/address-space';
import type { PageCache, MappableSource, FilePages } from '../mm/pagecache';
import { PAGE, pageDown, pageUp } from '../mm/memfile';
import { PROT_READ, PROT_WRITE, PROT_EXEC, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS } from '../../src/abi/linux';
import { ENOEXEC, ENOMEM, EINVAL, ELIBBAD } from '../../src/abi/errno';
import { randomBytes } from 'node:crypto';

const PT_LOAD = 1;
const PT_INTERP = 3;
const PT_PHDR = 6;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_X86_64 = 62;
const PHDR_SIZE = 56;
/** Where a position-independent executable goes (Linux's ELF_ET_DYN_BASE). */
const PIE_BASE = 0x5555_5555_4000;

// Auxiliary vector tags (elf.h).
const AT = {
  NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8, ENTRY: 9,
  UID: 11, EUID: 12, GID: 13, EGID: 14, PLATFORM: 15, HWCAP: 16, CLKTCK: 17,
  SECURE: 23, RANDOM: 25, HWCAP2: 26, EXECFN: 31, SYSINFO_EHDR: 33,
} as const;

interface Phdr { type: number; flags: number; offset: number; vaddr: number; filesz: number; memsz: number }

export interface Image {
  entry: number;
  phdrAddr: number;
  phnum: number;
  interpBase: number;
  interpEntry: number;
  brk: number;
  vdso: number;
}

export interface ExecRequest {
  file: MappableSource;
  /** Path shown in /proc/[pid]/maps. */
  name: string;
  argv: string[];
  envp: string[];
  execfn: string;
  creds: { uid: number; euid: number; gid: number; egid: number };
  hwcap: number;
  hwcap2: number;
  /** Opens the PT_INTERP loader, through the sandbox's own filesystem. */
  openInterp(path: string): MappableSource | number;
  /** The stack's size (RLIMIT_STACK). */
  stackSize: number;
  /** Maps the vDSO once the program is in place; returns its address for AT_SYSINFO_EHDR (0: none). */
  mapVdso(): number;
}

function readHeaders(cached: FilePages, src: MappableSource): { type: number; entry: number; phoff: number; phdrs: Phdr[] } | number {
  const head = src.readAt(0, 64);
  if (typeof head === 'number') return head;
  if (head.length < 64 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return -ENOEXEC;
  const dv = new DataView(head.buffer, head.byteOffset, head.length);
  if (head[4] !== 2 || head[5] !== 1) return -ENOEXEC;
  const type = dv.getUint16(16, true);
  if ((type !== ET_EXEC && type !== ET_DYN) || dv.getUint16(18, true) !== EM_X86_64) return -ENOEXEC;
  const entry = Number(dv.getBigUint64(24, true));
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize !== PHDR_SIZE || phnum === 0 || phnum > 512 || phoff + phnum * PHDR_SIZE > cached.size) return -ENOEXEC;
  const raw = src.readAt(phoff, phnum * PHDR_SIZE);
  if (typeof raw === 'number') return raw;
  if (raw.length < phnum * PHDR_SIZE) return -ENOEXEC;
  const pv = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const phdrs: Phdr[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * PHDR_SIZE;
    phdrs.push({
      type: pv.getUint32(o, true),
      flags: pv.getUint32(o + 4, true),
      offset: Number(pv.getBigUint64(o + 8, true)),
      vaddr: Number(pv.getBigUint64(o + 16, true)),
      filesz: Number(pv.getBigUint64(o + 32, true)),
      memsz: Number(pv.getBigUint64(o + 40, true)),
    });
  }
  return { type, entry, phoff, phdrs };
}

/** Maps one ELF object; returns its load bias, entry, phdr address and end of its highest segment. */
function mapObject(as: AddressSpace, cache: PageCache, src: MappableSource, name: string, isMain: boolean):
  { bias: number; entry: number; phdrAddr: number; phnum: number; end: number; interp: string | null } | number {
  const cached = cache.get(src);
  if (typeof cached === 'number') return cached;
  const h = readHeaders(cached, src);
  if (typeof h === 'number') return h;
  const loads = h.phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) return -ENOEXEC;
  for (const p of loads) {
    if (p.filesz > p.memsz || p.offset % PAGE !== p.vaddr % PAGE || p.offset + p.filesz > cached.size) return -ENOEXEC;
  }
  let interp: string | null = null;
  const ip = h.phdrs.find((p) => p.type === PT_INTERP);
  if (ip) {
    if (ip.filesz < 2 || ip.filesz > 4096 || ip.offset + ip.filesz > cached.size) return -ENOEXEC;
    const raw = src.readAt(ip.offset, ip.filesz);
    if (typeof raw === 'number') return raw;
    const nul = raw.indexOf(0);
    interp = Buffer.from(raw.subarray(0, nul < 0 ? raw.length : nul)).toString('utf8');
  }
  const lo = pageDown(loads[0]!.vaddr);
  const hi = Math.max(...loads.map((p) => p.vaddr + p.memsz));
  const span = pageUp(hi) - lo;
  let bias = 0;
  if (h.type === ET_DYN) {
    // Reserve the whole span first so the segments land at fixed offsets from each other.
    const want = isMain ? PIE_BASE : 0;
    const r = as.mmap(want, span, 0, MAP_PRIVATE | MAP_ANONYMOUS, null);
    if (r < 0) return r;
    bias = r - lo;
  }
  for (const p of loads) {
    const prot = (p.flags & 4 ? PROT_READ : 0) | (p.flags & 2 ? PROT_WRITE : 0) | (p.flags & 1 ? PROT_EXEC : 0);
    const start = pageDown(bias + p.vaddr);
    const fileStart = pageDown(p.offset);
    const fileEnd = bias + p.vaddr + p.filesz;
    const fileMapEnd = pageUp(fileEnd);
    if (p.filesz > 0) {
      const r = as.mmap(start, fileMapEnd - start, prot, MAP_PRIVATE | MAP_FIXED, { cache: cached, offset: fileStart, name });
      if (r < 0) return r;
      // The rest of the last file page belongs to .bss: zero it.
      if (p.memsz > p.filesz && fileEnd < fileMapEnd && prot & PROT_WRITE) {
        if (!as.write(fileEnd, new Uint8Array(fileMapEnd - fileEnd))) return -EINVAL;
      }
    }
    const memEnd = pageUp(bias + p.vaddr + p.memsz);
    const anonStart = p.filesz > 0 ? fileMapEnd : start;
    if (memEnd > anonStart) {
      const r = as.mmap(anonStart, memEnd - anonStart, prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, null);
      if (r < 0) return r;
    }
  }
  // AT_PHDR: PT_PHDR if present, else the headers inside the first segment.
  const pp = h.phdrs.find((p) => p.type === PT_PHDR);
  const first = loads.find((p) => p.offset <= h.phoff && h.phoff < p.offset + p.filesz);
  const phdrAddr = pp ? bias + pp.vaddr : first ? bias + first.vaddr + (h.phoff - first.offset) : 0;
  return { bias, entry: bias + h.entry, phdrAddr, phnum: h.phdrs.length, end: pageUp(bias + hi), interp };
}

/** Loads req into as (which must be empty) and returns the entry point and initial stack pointer. */
export function loadExecutable(as: AddressSpace, cache: PageCache, req: ExecRequest): { entry: number; sp: number } | number {
  const main = mapObject(as, cache, req.file, req.name, true);
  if (typeof main === 'number') return main;
  let entry = main.entry;
  let interpBase = 0;
  if (main.interp !== null) {
    const isrc = req.openInterp(main.interp);
    if (typeof isrc === 'number') return isrc;
    const interp = mapObject(as, cache, isrc, main.interp, false);
    if (typeof interp === 'number') return interp === -ENOEXEC ? -ELIBBAD : interp;
    if (interp.interp !== null) return -ELIBBAD;
    entry = interp.entry;
    interpBase = interp.bias;
  }
  as.brkStart = as.brk = main.end;
  const stack = as.mapStack(req.stackSize);
  const vdso = req.mapVdso();
  const sp = buildStack(as, stack.top, req, {
    entry: main.entry, phdrAddr: main.phdrAddr, phnum: main.phnum, interpBase, interpEntry: entry, brk: main.end, vdso,
  });
  if (sp < 0) return sp;
  return { entry, sp };
}

/** Writes strings, auxv, envp, argv and argc below top; returns the initial rsp. */
function buildStack(as: AddressSpace, top: number, req: ExecRequest, img: Image): number {
  const enc = (s: string) => Buffer.from(s + '\0', 'utf8');
  const strings: Buffer[] = [];
  let p = top;
  const place = (b: Uint8Array): number => {
    p -= b.length;
    strings.push(Buffer.from(b));
    if (!as.write(p, b)) throw new RangeError('stack overflow while building the initial stack');
    return p;
  };
  try {
    const execfn = place(enc(req.execfn));
    const envAddrs = req.envp.map((e) => place(enc(e))).reverse();
    const argAddrs = req.argv.map((a) => place(enc(a))).reverse();
    envAddrs.reverse();
    argAddrs.reverse();
    const platform = place(enc('x86_64'));
    p = Math.floor(p / 16) * 16;
    const random = place(randomBytes(16));
    const auxv: [number, number][] = [
      [AT.PHDR, img.phdrAddr], [AT.PHENT, PHDR_SIZE], [AT.PHNUM, img.phnum], [AT.PAGESZ, PAGE],
      [AT.BASE, img.interpBase], [AT.FLAGS, 0], [AT.ENTRY, img.entry],
      [AT.UID, req.creds.uid], [AT.EUID, req.creds.euid], [AT.GID, req.creds.gid], [AT.EGID, req.creds.egid],
      [AT.SECURE, 0], [AT.HWCAP, req.hwcap], [AT.HWCAP2, req.hwcap2], [AT.CLKTCK, 100],
      [AT.RANDOM, random], [AT.EXECFN, execfn], [AT.PLATFORM, platform],
      ...(img.vdso ? [[AT.SYSINFO_EHDR, img.vdso] as [number, number]] : []), [AT.NULL, 0],
    ];
    const words = 1 + argAddrs.length + 1 + envAddrs.length + 1 + auxv.length * 2;
    p = Math.floor((p - words * 8) / 16) * 16;
    const table = new BigUint64Array(words);
    let i = 0;
    table[i++] = BigInt(req.argv.length);
    for (const a of argAddrs) table[i++] = BigInt(a);
    table[i++] = 0n;
    for (const e of envAddrs) table[i++] = BigInt(e);
    table[i++] = 0n;
    for (const [k, v] of auxv) {
      table[i++] = BigInt(k);
      table[i++] = BigInt(v);
    }
    if (!as.write(p, new Uint8Array(table.buffer))) return -ENOMEM;
    return p;
  } catch (e) {
    if (e instanceof RangeError) return -ENOMEM;
    throw e;
  }
}
