// The vDSO image: a tiny ELF shared object, assembled here, that answers
// clock_gettime, gettimeofday, time and getcpu in the workload without a
// trap. It reads the TSC and scales it with parameters the Sentry keeps in a
// data page mapped (read-only) just below the image: a seqlock, a TSC base,
// a multiplier and the clocks' offsets. While the Sentry has not enabled the
// TSC clock, and for clocks it does not handle, each function makes the
// real syscall, which the Sentry answers as usual.
//
// The object has what glibc's, musl's and Go's vDSO parsers read: one PT_LOAD
// and a read-only PT_DYNAMIC, DT_HASH, the dynamic symbol and string tables,
// and symbol versions (LINUX_2.6) in DT_VERSYM/DT_VERDEF. It is linked at 0;
// every address inside it is relative.
import { Code } from '../../src/elf/tiny';

export const VDSO_PAGE = 0x1000;

/** Fields of the data page (byte offsets), written by the Sentry. */
export const VVAR = {
  /** Odd while the Sentry is changing the parameters (u32). */
  seq: 0,
  /** Nonzero when the TSC clock may be used; 0 sends every call to the syscall. */
  enabled: 8,
  tscBase: 16,
  /** ns = nsBase + ((tsc - tscBase) * mult) >> 32. */
  mult: 24,
  nsBase: 32,
  /** Offsets added to the monotonic value: 0 for the monotonic clocks, the wall clock's for the real-time ones. */
  monotonicOffset: 40,
  realtimeOffset: 48,
  /** What getcpu reports (u32 each). */
  cpu: 56,
  node: 60,
} as const;

const NR_GETTIMEOFDAY = 96;
const NR_TIME = 201;
const NR_CLOCK_GETTIME = 228;
const CLOCK_REALTIME = 0;
const CLOCK_REALTIME_COARSE = 5;
/** MONOTONIC, MONOTONIC_RAW, MONOTONIC_COARSE, BOOTTIME: one clock in the Sentry. */
const MONOTONIC_CLOCKS = [1, 4, 6, 7];

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PF_X = 1;
const PF_R = 4;
const DT = { NULL: 0, HASH: 4, STRTAB: 5, SYMTAB: 6, STRSZ: 10, SYMENT: 11, SONAME: 14, VERSYM: 0x6ffffff0, VERDEF: 0x6ffffffc, VERDEFNUM: 0x6ffffffd };
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STT_FUNC = 2;
const SYM_SIZE = 24;
const DYN_SIZE = 16;
const VERDEF_SIZE = 20;
const VERDAUX_SIZE = 8;
const VER_FLG_BASE = 1;
/** Any section index but SHN_UNDEF and SHN_ABS (glibc adds the load address only to section-relative symbols). */
const SHNDX_TEXT = 1;
const SONAME = 'linux-vdso.so.1';
const VERSION = 'LINUX_2.6';

/** The System V ELF symbol hash (DT_HASH, vd_hash). */
export function elfHash(name: string): number {
  let h = 0;
  for (const c of Buffer.from(name, 'latin1')) {
    h = ((h << 4) + c) >>> 0;
    const g = h & 0xf0000000;
    if (g) h ^= g >>> 24;
    h &= ~g >>> 0;
    h >>>= 0;
  }
  return h;
}

/** Machine code of the four functions; data references are rip-relative to a page at dataPos (relative to the code). */
function assemble(dataPos: number): { code: Uint8Array; symbols: { name: string; at: number; size: number }[] } {
  const c = new Code();
  for (const [k, v] of Object.entries(VVAR)) c.labelAt(k, dataPos + v);
  const rip = (label: string) => c.rel32(label);

  // now: rax = the clock's value in ns, r10 pointing at its offset field;
  // rax = -1 if the TSC clock is disabled. Clobbers rcx, rdx, r8.
  c.label('now');
  c.emit(0x8b, 0x0d); rip('seq'); // mov ecx, [seq]
  c.emit(0xf6, 0xc1, 0x01); // test cl, 1
  c.emit(0x0f, 0x84); rip('stable'); // jz stable
  c.emit(0xf3, 0x90); // pause
  c.emit(0xe9); rip('now'); // jmp now
  c.label('stable');
  c.emit(0x4c, 0x8b, 0x05); rip('enabled'); // mov r8, [enabled]
  c.emit(0x4d, 0x85, 0xc0); // test r8, r8
  c.emit(0x0f, 0x84); rip('disabled'); // jz disabled
  c.emit(0x0f, 0xae, 0xe8); // lfence
  c.emit(0x0f, 0x31); // rdtsc
  c.emit(0x48, 0xc1, 0xe2, 0x20); // shl rdx, 32
  c.emit(0x48, 0x09, 0xd0); // or rax, rdx
  c.emit(0x48, 0x2b, 0x05); rip('tscBase'); // sub rax, [tscBase]
  c.emit(0x0f, 0x83); rip('scale'); // jae scale
  c.emit(0x31, 0xc0); // xor eax, eax: a TSC behind the base counts as the base
  c.label('scale');
  c.emit(0x48, 0xf7, 0x25); rip('mult'); // mul qword [mult]
  c.emit(0x48, 0x0f, 0xac, 0xd0, 0x20); // shrd rax, rdx, 32
  c.emit(0x48, 0x03, 0x05); rip('nsBase'); // add rax, [nsBase]
  c.emit(0x49, 0x03, 0x02); // add rax, [r10]
  c.emit(0x3b, 0x0d); rip('seq'); // cmp ecx, [seq]
  c.emit(0x0f, 0x85); rip('now'); // jne now: the parameters changed while we read them
  c.emit(0xc3); // ret
  c.label('disabled');
  c.emit(0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff); // mov rax, -1
  c.emit(0xc3);

  // Splits rax (ns) into rax = seconds and rdx = ns.
  const divBy = (divisor: number) => {
    c.emit(0xb9).imm32(divisor); // mov ecx, divisor
    c.emit(0x31, 0xd2); // xor edx, edx
    c.emit(0x48, 0xf7, 0xf1); // div rcx
  };
  const callNow = (offsetField: string, fallback: string) => {
    c.emit(0x4c, 0x8d, 0x15); rip(offsetField); // lea r10, [offsetField]
    c.emit(0xe8); rip('now'); // call now
    c.emit(0x48, 0x85, 0xc0); // test rax, rax
    c.emit(0x0f, 0x88); rip(fallback); // js fallback
  };
  const syscall = (nr: number) => c.emit(0xb8).imm32(nr).emit(0x0f, 0x05, 0xc3); // mov eax, nr; syscall; ret

  // int clock_gettime(clockid_t edi, struct timespec *rsi)
  c.label('clock_gettime');
  c.emit(0x83, 0xff, CLOCK_REALTIME); c.emit(0x0f, 0x84); rip('cg_realtime'); // cmp edi, REALTIME; je
  c.emit(0x83, 0xff, CLOCK_REALTIME_COARSE); c.emit(0x0f, 0x84); rip('cg_realtime');
  for (const id of MONOTONIC_CLOCKS) {
    c.emit(0x83, 0xff, id); c.emit(0x0f, 0x84); rip('cg_monotonic');
  }
  c.emit(0xe9); rip('cg_syscall'); // any other clock: the Sentry answers
  c.label('cg_realtime');
  c.emit(0x4c, 0x8d, 0x15); rip('realtimeOffset'); // lea r10, [realtimeOffset]
  c.emit(0xe9); rip('cg_read');
  c.label('cg_monotonic');
  c.emit(0x4c, 0x8d, 0x15); rip('monotonicOffset');
  c.label('cg_read');
  c.emit(0xe8); rip('now');
  c.emit(0x48, 0x85, 0xc0); c.emit(0x0f, 0x88); rip('cg_syscall'); // test rax, rax; js
  divBy(1_000_000_000);
  c.emit(0x48, 0x89, 0x06); // mov [rsi], rax
  c.emit(0x48, 0x89, 0x56, 0x08); // mov [rsi+8], rdx
  c.emit(0x31, 0xc0, 0xc3); // xor eax, eax; ret
  c.label('cg_syscall');
  syscall(NR_CLOCK_GETTIME);
  c.label('clock_gettime_end');

  // int gettimeofday(struct timeval *rdi, struct timezone *rsi)
  c.label('gettimeofday');
  c.emit(0x48, 0x85, 0xff); c.emit(0x0f, 0x84); rip('gtod_tz'); // test rdi, rdi; jz
  callNow('realtimeOffset', 'gtod_syscall');
  divBy(1000);
  divBy(1_000_000);
  c.emit(0x48, 0x89, 0x07); // mov [rdi], rax
  c.emit(0x48, 0x89, 0x57, 0x08); // mov [rdi+8], rdx
  c.label('gtod_tz');
  c.emit(0x48, 0x85, 0xf6); c.emit(0x0f, 0x84); rip('gtod_done'); // test rsi, rsi; jz
  c.emit(0x48, 0xc7, 0x06, 0, 0, 0, 0); // mov qword [rsi], 0: UTC, no DST
  c.label('gtod_done');
  c.emit(0x31, 0xc0, 0xc3);
  c.label('gtod_syscall');
  syscall(NR_GETTIMEOFDAY);
  c.label('gettimeofday_end');

  // time_t time(time_t *rdi)
  c.label('time');
  callNow('realtimeOffset', 'time_syscall');
  divBy(1_000_000_000);
  c.emit(0x48, 0x85, 0xff); c.emit(0x0f, 0x84); rip('time_done'); // test rdi, rdi; jz
  c.emit(0x48, 0x89, 0x07); // mov [rdi], rax
  c.label('time_done');
  c.emit(0xc3);
  c.label('time_syscall');
  syscall(NR_TIME);
  c.label('time_end');

  // int getcpu(unsigned *rdi, unsigned *rsi, void *cache)
  c.label('getcpu');
  c.emit(0x48, 0x85, 0xff); c.emit(0x0f, 0x84); rip('getcpu_node');
  c.emit(0x8b, 0x05); rip('cpu'); // mov eax, [cpu]
  c.emit(0x89, 0x07); // mov [rdi], eax
  c.label('getcpu_node');
  c.emit(0x48, 0x85, 0xf6); c.emit(0x0f, 0x84); rip('getcpu_done');
  c.emit(0x8b, 0x05); rip('node');
  c.emit(0x89, 0x06); // mov [rsi], eax
  c.label('getcpu_done');
  c.emit(0x31, 0xc0, 0xc3);
  c.label('getcpu_end');

  const fn = (name: string) => ({ at: c.offsetOf(name), size: c.offsetOf(`${name}_end`) - c.offsetOf(name) });
  const symbols = ['clock_gettime', 'gettimeofday', 'time', 'getcpu'].map((name) => ({ name, ...fn(name) }));
  return { code: c.finish(), symbols };
}

/** Builds the vDSO's ELF image (one page), to be mapped right after the data page. */
export function vdsoImage(): { image: Uint8Array; symbols: Map<string, number> } {
  // Layout: headers, hash, symbols, strings, versions, dynamic section, code.
  const ehdr = 64;
  const phnum = 2;
  const hashAt = ehdr + phnum * 56;
  // Each function under its __vdso_ name (what the C libraries look up) and a weak plain alias.
  const names = ['clock_gettime', 'gettimeofday', 'time', 'getcpu'];
  const nsyms = 1 + names.length * 2;
  const hashSize = 4 * (2 + 1 + nsyms);
  const symAt = align(hashAt + hashSize, 8);
  const strs: string[] = ['', SONAME, VERSION];
  for (const n of names) strs.push(`__vdso_${n}`, n);
  const strOff = new Map<string, number>();
  let strSize = 0;
  for (const s of strs) {
    strOff.set(s, strSize);
    strSize += Buffer.byteLength(s) + 1;
  }
  const strAt = symAt + nsyms * SYM_SIZE;
  const versymAt = align(strAt + strSize, 2);
  const verdefAt = align(versymAt + 2 * nsyms, 4);
  const verdefSize = 2 * (VERDEF_SIZE + VERDAUX_SIZE);
  const dynAt = align(verdefAt + verdefSize, 8);
  const dyn: [number, number][] = [
    [DT.HASH, hashAt], [DT.STRTAB, strAt], [DT.SYMTAB, symAt], [DT.STRSZ, strSize], [DT.SYMENT, SYM_SIZE],
    [DT.SONAME, strOff.get(SONAME)!], [DT.VERSYM, versymAt], [DT.VERDEF, verdefAt], [DT.VERDEFNUM, 2], [DT.NULL, 0],
  ];
  const codeAt = align(dynAt + dyn.length * DYN_SIZE, 16);
  const { code, symbols } = assemble(-VDSO_PAGE - codeAt);
  const size = codeAt + code.length;
  if (size > VDSO_PAGE) throw new Error('the vDSO outgrew its page');

  const img = new Uint8Array(VDSO_PAGE);
  const dv = new DataView(img.buffer);
  const u16 = (at: number, v: number) => dv.setUint16(at, v, true);
  const u32 = (at: number, v: number) => dv.setUint32(at, v, true);
  const u64 = (at: number, v: number) => dv.setBigUint64(at, BigInt(v), true);
  // Elf64_Ehdr: ET_DYN, EM_X86_64, no section headers.
  img.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  u16(16, 3); u16(18, 0x3e); u32(20, 1);
  u64(32, ehdr); u16(52, ehdr); u16(54, 56); u16(56, phnum); u16(58, 64);
  const phdr = (i: number, type: number, flags: number, off: number, len: number) => {
    const at = ehdr + i * 56;
    u32(at, type); u32(at + 4, flags);
    u64(at + 8, off); u64(at + 16, off); u64(at + 24, off);
    u64(at + 32, len); u64(at + 40, len); u64(at + 48, type === PT_LOAD ? VDSO_PAGE : 8);
  };
  phdr(0, PT_LOAD, PF_R | PF_X, 0, size);
  phdr(1, PT_DYNAMIC, PF_R, dynAt, dyn.length * DYN_SIZE);
  // DT_HASH: one bucket chaining every symbol.
  u32(hashAt, 1); u32(hashAt + 4, nsyms); u32(hashAt + 8, 1);
  for (let i = 1; i < nsyms; i++) u32(hashAt + 12 + 4 * i, i + 1 < nsyms ? i + 1 : 0);
  const addrs = new Map<string, number>();
  names.forEach((n, k) => {
    const s = symbols[k]!;
    for (const [j, name, bind] of [[1 + 2 * k, `__vdso_${n}`, STB_GLOBAL], [2 + 2 * k, n, STB_WEAK]] as const) {
      const at = symAt + j * SYM_SIZE;
      u32(at, strOff.get(name)!);
      img[at + 4] = (bind << 4) | STT_FUNC;
      u16(at + 6, SHNDX_TEXT);
      u64(at + 8, codeAt + s.at);
      u64(at + 16, s.size);
      u16(versymAt + 2 * j, 2);
      addrs.set(name, codeAt + s.at);
    }
  });
  for (const s of strs) img.set(Buffer.from(s), strAt + strOff.get(s)!);
  // Version 1 names the object itself; version 2 is LINUX_2.6, which every symbol has.
  [SONAME, VERSION].forEach((name, i) => {
    const at = verdefAt + i * (VERDEF_SIZE + VERDAUX_SIZE);
    u16(at, 1); u16(at + 2, i === 0 ? VER_FLG_BASE : 0); u16(at + 4, i + 1); u16(at + 6, 1);
    u32(at + 8, elfHash(name)); u32(at + 12, VERDEF_SIZE); u32(at + 16, i === 0 ? VERDEF_SIZE + VERDAUX_SIZE : 0);
    u32(at + VERDEF_SIZE, strOff.get(name)!); u32(at + VERDEF_SIZE + 4, 0);
  });
  dyn.forEach(([tag, val], i) => { u64(dynAt + i * DYN_SIZE, tag); u64(dynAt + i * DYN_SIZE + 8, val); });
  img.set(code, codeAt);
  return { image: img, symbols: addrs };
}

const align = (x: number, a: number): number => Math.ceil(x / a) * a;
