// Reading the host's time stamp counter from the Sentry, to calibrate the
// vDSO's clock: a few bytes of machine code, mapped executable once, that
// read the TSC on either side of a host clock_gettime(CLOCK_MONOTONIC). The
// two TSC reads bound the instant the host clock was read.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const mmapExec = libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)');
const mprotect = libc.func('int mprotect(void *addr, size_t len, int prot)');

const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const NR_CLOCK_GETTIME = 228;
const CLOCK_MONOTONIC = 1;

// void sample(uint64_t out[4]): out = {tsc before, tv_sec, tv_nsec, tsc after}.
const SAMPLE_CODE = [
  0x49, 0x89, 0xf8, // mov r8, rdi
  0x0f, 0xae, 0xe8, // lfence
  0x0f, 0x31, // rdtsc
  0x48, 0xc1, 0xe2, 0x20, // shl rdx, 32
  0x48, 0x09, 0xd0, // or rax, rdx
  0x49, 0x89, 0x00, // mov [r8], rax
  0xb8, NR_CLOCK_GETTIME, 0, 0, 0, // mov eax, clock_gettime
  0xbf, CLOCK_MONOTONIC, 0, 0, 0, // mov edi, CLOCK_MONOTONIC
  0x49, 0x8d, 0x70, 0x08, // lea rsi, [r8+8]
  0x0f, 0x05, // syscall
  0x0f, 0xae, 0xe8, // lfence
  0x0f, 0x31, // rdtsc
  0x48, 0xc1, 0xe2, 0x20, // shl rdx, 32
  0x48, 0x09, 0xd0, // or rax, rdx
  0x49, 0x89, 0x40, 0x18, // mov [r8+24], rax
  0xc3, // ret
];

export interface TscSample {
  /** TSC just before and just after the host clock was read. */
  before: bigint;
  after: bigint;
  /** The host's CLOCK_MONOTONIC, in ns. */
  ns: bigint;
}

let sampler: ((out: BigUint64Array) => void) | null = null;

function makeSampler(): (out: BigUint64Array) => void {
  const page = mmapExec(null, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (koffi.address(page) === 0xffff_ffff_ffff_ffffn) throw new Error(`mmap for the TSC sampler failed: errno ${koffi.errno()}`);
  new Uint8Array(koffi.view(page, 4096)).set(SAMPLE_CODE);
  if (mprotect(page, 4096, PROT_READ | PROT_EXEC) !== 0) throw new Error(`mprotect for the TSC sampler failed: errno ${koffi.errno()}`);
  const proto = koffi.proto('void tsc_sample(uint64_t *out)');
  return koffi.decode(page, proto) as (out: BigUint64Array) => void;
}

/** Reads the TSC and the host's monotonic clock together. */
export function sampleTsc(): TscSample {
  sampler ??= makeSampler();
  const out = new BigUint64Array(4);
  sampler(out);
  return { before: out[0]!, after: out[3]!, ns: out[1]! * 1_000_000_000n + out[2]! };
}
