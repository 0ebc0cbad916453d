// Bindings for the KVM platform: /dev/kvm ioctls (linux/kvm.h, x86-64), the
// vCPU's shared kvm_run page, and the thread-directed timer signal that cuts
// a KVM_RUN short so a CPU-bound guest never holds the Sentry's only thread.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

// ioctl numbers: _IO/_IOR/_IOW/_IOWR(KVMIO = 0xAE, nr, size).
const io = (nr: number): number => 0xae00 | nr;
const ioc = (dir: number, nr: number, size: number): number => ((dir << 30) | (size << 16) | 0xae00 | nr) >>> 0;
const W = 1;
const R = 2;
export const KVM_GET_API_VERSION = io(0x00);
export const KVM_CREATE_VM = io(0x01);
export const KVM_CHECK_EXTENSION = io(0x03);
export const KVM_GET_VCPU_MMAP_SIZE = io(0x04);
export const KVM_GET_SUPPORTED_CPUID = ioc(R | W, 0x05, 8);
export const KVM_CREATE_VCPU = io(0x41);
export const KVM_SET_USER_MEMORY_REGION = ioc(W, 0x46, 32);
export const KVM_RUN = io(0x80);
export const KVM_GET_REGS = ioc(R, 0x81, 144);
export const KVM_SET_REGS = ioc(W, 0x82, 144);
export const KVM_GET_SREGS = ioc(R, 0x83, 312);
export const KVM_SET_SREGS = ioc(W, 0x84, 312);
export const KVM_SET_MSRS = ioc(W, 0x89, 8);
export const KVM_SET_SIGNAL_MASK = ioc(W, 0x8b, 4);
export const KVM_SET_CPUID2 = ioc(W, 0x90, 8);
export const KVM_GET_XSAVE = ioc(R, 0xa4, 4096);
export const KVM_SET_XSAVE = ioc(W, 0xa5, 4096);
export const KVM_GET_XCRS = ioc(R, 0xa6, 392);
export const KVM_SET_XCRS = ioc(W, 0xa7, 392);

/** kvm_run.exit_reason values. */
export const KVM_EXIT = {
  UNKNOWN: 0, EXCEPTION: 1, IO: 2, HYPERCALL: 3, DEBUG: 4, HLT: 5, MMIO: 6, IRQ_WINDOW_OPEN: 7, SHUTDOWN: 8,
  FAIL_ENTRY: 9, INTR: 10, INTERNAL_ERROR: 17,
} as const;

export const errno = (): number => koffi.errno();

const O_RDWR = 2;
const O_CLOEXEC = 0x80000;
const openFn = libc.func('int open(const char *path, int flags)') as (path: string, flags: number) => number;
/** Opens /dev/kvm (or another path) read-write; -1 with errno() on failure. */
export const openKvm = (path = '/dev/kvm'): number => openFn(path, O_RDWR | O_CLOEXEC);

/** ioctl with an integer argument (or none). */
export const ioctl = libc.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as (
  fd: number, req: number, arg: number) => number;
/** ioctl whose argument points to a buffer. */
export const ioctlBuf = libc.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as (
  fd: number, req: number, arg: ArrayBufferView) => number;
export const close = libc.func('int close(int fd)') as (fd: number) => number;

const madvise = libc.func('int madvise(uintptr_t addr, size_t len, int advice)') as (addr: bigint, len: number, advice: number) => number;
const MADV_DONTNEED = 4;
const MADV_POPULATE_WRITE = 23;
/** Faults [addr, addr+len) of the caller's mapping in, writable, so the host holds the pages; false on failure (Linux < 5.14: EINVAL). */
export const populate = (addr: bigint, len: number): boolean => madvise(addr, len, MADV_POPULATE_WRITE) === 0;
/** Unmaps [addr, addr+len) of the caller's shared mapping (its pages stay in the file; a touch maps them again). */
export const dropMapping = (addr: bigint, len: number): boolean => madvise(addr, len, MADV_DONTNEED) === 0;

const CLOCK_THREAD_CPUTIME_ID = 3;
const clockGettime = libc.func('int clock_gettime(int clock, int64_t *ts)') as (clock: number, ts: BigInt64Array) => number;
const cpuTs = new BigInt64Array(2);
/** The CPU time the calling thread has had (ns), guest time in KVM_RUN included: what a busy host does not inflate. */
export function threadCpuNs(): bigint {
  clockGettime(CLOCK_THREAD_CPUTIME_ID, cpuTs);
  return cpuTs[0]! * 1_000_000_000n + cpuTs[1]!;
}

const mmapFn = libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)') as (
  addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
/** Maps a vCPU's kvm_run area (shared, read-write); null on failure. */
export function mapRun(vcpuFd: number, size: number): ArrayBuffer | null {
  const p = mmapFn(null, size, 3, 1, vcpuFd, 0);
  if ((koffi.address(p) as bigint) === MAP_FAILED) return null;
  return koffi.view(p as never, size) as ArrayBuffer;
}

// ---- the preemption signal ----
const SIG_BLOCK = 0;
const SIGEV_THREAD_ID = 4;
const CLOCK_MONOTONIC = 1;
const TIMER_ABSTIME = 1;
const gettid = libc.func('int gettid()') as () => number;
const sigprocmask = libc.func('int pthread_sigmask(int how, const uint8_t *set, uint8_t *old)') as (
  how: number, set: Uint8Array, old: Uint8Array | null) => number;
const sigtimedwait = libc.func('int sigtimedwait(const uint8_t *set, uint8_t *info, const int64_t *timeout)') as (
  set: Uint8Array, info: Uint8Array | null, timeout: BigInt64Array | null) => number;
const timerCreate = libc.func('int timer_create(int clock, void *sevp, _Out_ void **timer)') as (
  clock: number, sevp: Uint8Array, timer: unknown[]) => number;
const timerSettime = libc.func('int timer_settime(void *timer, int flags, const int64_t *value, int64_t *old)') as (
  timer: unknown, flags: number, value: BigInt64Array, old: null) => number;

/** A glibc sigset_t (128 bytes) holding one signal. */
function sigset(sig: number): Uint8Array {
  const s = new Uint8Array(128);
  s[(sig - 1) >> 3] = 1 << ((sig - 1) & 7);
  return s;
}

/**
 * A CLOCK_MONOTONIC timer that sends sig to the calling thread, which keeps
 * sig blocked: it only interrupts KVM_RUN (where the vCPU's signal mask lets
 * it through) and is then taken with take().
 */
export class ThreadTimer {
  private readonly timer: unknown;
  private readonly set: Uint8Array;
  private readonly value = new BigInt64Array(4);
  private readonly zero = new BigInt64Array(2);

  constructor(readonly sig: number) {
    this.set = sigset(sig);
    if (sigprocmask(SIG_BLOCK, this.set, null) !== 0) throw new Error(`pthread_sigmask: errno ${errno()}`);
    const sev = new DataView(new ArrayBuffer(64));
    sev.setInt32(8, sig, true); // sigev_signo
    sev.setInt32(12, SIGEV_THREAD_ID, true); // sigev_notify
    sev.setInt32(16, gettid(), true); // _sigev_un._tid
    const out: unknown[] = [null];
    if (timerCreate(CLOCK_MONOTONIC, new Uint8Array(sev.buffer), out) !== 0) throw new Error(`timer_create: errno ${errno()}`);
    this.timer = out[0];
  }

  /** Fires once at deadline (CLOCK_MONOTONIC ns); 0n disarms. */
  arm(deadline: bigint): void {
    this.value[2] = deadline / 1_000_000_000n;
    this.value[3] = deadline % 1_000_000_000n;
    timerSettime(this.timer, TIMER_ABSTIME, this.value, null);
  }

  /** Takes a pending signal if there is one; true if there was. */
  take(): boolean {
    return sigtimedwait(this.set, null, this.zero) === this.sig;
  }

  /**
   * The signal mask for KVM_RUN (KVM_SET_SIGNAL_MASK: 8 bytes, the kernel's
   * sigset): the thread's own mask without sig, so that sig and whatever the
   * thread lets through end KVM_RUN, and signals it blocks stay pending.
   */
  runMask(): Uint8Array {
    const cur = new Uint8Array(128);
    if (sigprocmask(SIG_BLOCK, new Uint8Array(128), cur) !== 0) throw new Error(`pthread_sigmask: errno ${errno()}`);
    const mask = cur.slice(0, 8);
    mask[(this.sig - 1) >> 3]! &= ~(1 << ((this.sig - 1) & 7));
    return mask;
  }
}
