// The KVM platform: the workload runs in ring 3 of a VM that has no guest
// kernel. The memory file is the guest's physical memory (one memory slot per
// 1 GiB window, guest physical address = file offset), every address space is
// a set of guest page tables the Sentry edits in place, and a tiny ring 0
// (ring0.ts) turns each syscall, exception or preemption into one VM exit
// with the workload's registers in a save area the Sentry reads directly.
//
// One vCPU, run synchronously on the Sentry's thread: contexts take turns on
// it (their FPU state swapped with KVM_GET/SET_XSAVE, CR3 and FS/GS bases
// loaded by ring 0 or the Sentry on the way back to ring 3). A thread-directed
// timer signal that only KVM_RUN lets through ends each time slice, or the
// wait at the kernel's next timer deadline: KVM_RUN returns EINTR with the
// guest's registers synced into the run area, so a context running in ring 3
// is stopped right there and the loop is never held by a CPU-bound workload;
// a vCPU that stays in ring 0 fails its process with a diagnosis instead of
// hanging the sandbox. Ring 0 is judged by the CPU time the vCPU's thread
// had in it, not by the wall clock, which a busy host inflates.
import * as kvm from '../../../src/ffi/kvm';
import * as libc from '../../../src/ffi/libc';
import { Regs, R } from '../regs';
import { type Context, type CpuTimes, type Platform, type Stop } from '../platform';
import { WINDOW_SIZE, type MemoryFile } from '../../mm/memfile';
import { PageTables } from './pagetables';
import {
  buildRing0, kaddr, KERNEL_PAGES, CODE_PAGE, DATA_PAGE, SAVE_OFF, CR3_SLOT, BASES_PENDING, FS_SLOT, GS_SLOT,
  CR2_SLOT, KERNEL_PML4, LANDING_PAGE, DOORBELL_PAGE, KERNEL_CS, KERNEL_DS, USER_CS, USER_DS, TSS_SEL, TSS_ADDR, GDT_ADDR, GDT_LIMIT, IDT_ADDR, IDT_LIMIT,
  SYSCALL_PORT, KERNEL_BASE, type Ring0,
} from './ring0';
import { Siginfo } from '../../../src/abi/layout';
import { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGKILL } from '../../../src/abi/linux';
import { hostPoller } from '../hostpoll';

const PAGE = 4096;
/** How long a context runs before others get the vCPU. */
const SLICE_NS = 10_000_000n;
/** The shortest run: time for ring 0's restore path, which this host emulates. */
const MIN_RUN_NS = 1_000_000n;
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
/**
 * The longest run a vCPU found in ring 0 is given to get out: its runs double
 * from MIN_RUN_NS up to this, so a thread the host hardly schedules still gets
 * the uninterrupted time this host's emulated ring 0 needs to make progress.
 */
const RING0_RUN_NS = 128_000_000n;
/** CPU time a vCPU may spend in ring 0 past a request to stop before its process is failed. */
const WATCHDOG_CPU_NS = 1_000_000_000n;
/** Dead address spaces' page tables kept for new ones. */
const POOLED_TABLES = 8;
/** The real-time signal that ends time slices (glibc keeps 32-34 for itself). */
const SLICE_SIGNAL = 40;
/** MXCSR's place in an FXSAVE image, and the bits of it that may be set (MXCSR_MASK of SSE2 CPUs with DAZ). */
const FXSAVE_MXCSR = 24;
const MXCSR_VALID = 0xffff;
const KVM_API_VERSION = 12;
const KVM_CAP_SYNC_REGS = 74;
const SYNC_X86_REGS = 1;
/** kvm_run offsets: kvm_valid_regs, kvm_dirty_regs, and the synced struct kvm_regs. */
const RUN_VALID_REGS = 288;
const RUN_DIRTY_REGS = 296;
const RUN_SYNC_REGS = 304;
/** A guest physical address beyond every memory slot (the memory file is 2^38 bytes). */
const DOORBELL_GPA = 2 ** 40;
/** The memory slot (and where) dropTranslations makes and deletes. */
const ZAP_SLOT = 32000;
const ZAP_GPA = 2 ** 41;
const EINTR = 4;
const ENOSYS = 38;
const REGS_IN_SAVE = 21;
/** Flags the workload may set (CF PF AF ZF SF TF DF OF AC ID). */
const USER_FLAGS = 0x240dd5;
/** IF and bit 1, always set in ring 3. */
const FORCED_FLAGS = 0x202;
/** struct kvm_regs, in order, as user_regs_struct indexes. */
const KVM_REGS = [R.rax, R.rbx, R.rcx, R.rdx, R.rsi, R.rdi, R.rsp, R.rbp, R.r8, R.r9, R.r10, R.r11, R.r12, R.r13, R.r14, R.r15, R.rip, R.eflags];
const XSTATE_BV = 512;
/** XCR0 bits the workload gets when the CPU has them: x87, SSE, AVX, AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM). */
const XCR0_WANTED = 0xe7n;
const MSR = { STAR: 0xc0000081, LSTAR: 0xc0000082, CSTAR: 0xc0000083, SFMASK: 0xc0000084, FS_BASE: 0xc0000100, GS_BASE: 0xc0000101, KERNEL_GS_BASE: 0xc0000102 };
/** TF DF NT AC cleared on syscall; IF stays, for the landing page runs in ring 3. */
const SFMASK_VALUE = 0x44500n;
const CR0 = { PE: 1n, MP: 2n, ET: 0x10n, NE: 0x20n, WP: 0x10000n, PG: 0x80000000n };
const CR4 = { PAE: 0x20n, OSFXSR: 0x200n, OSXMMEXCPT: 0x400n, OSXSAVE: 0x40000n };
const EFER = { SCE: 1n, LME: 0x100n, LMA: 0x400n, NXE: 0x800n };
const SI_KERNEL = 0x80;
const SEGV_MAPERR = 1;
const SEGV_ACCERR = 2;
const FPE_INTDIV = 1;
const ILL_ILLOPN = 2;
const BUS_ADRALN = 1;
const TRAP_BRKPT = 1;

/** /dev/kvm is missing or unusable; the message names the fix. */
export class KvmUnavailable extends Error {}

const EXIT_NAMES = Object.fromEntries(Object.entries(kvm.KVM_EXIT).map(([k, v]) => [v, k]));

/** An address space: its page tables and the contexts that use it. */
class Space {
  users = 0;
  constructor(readonly tables: PageTables) {}
}

/** The contexts of one workload process (they die together on kill). */
class Group {
  readonly members = new Set<KvmContext>();
}

class KvmContext implements Context {
  readonly regs = new Regs();
  /** XSAVE image while another context has the vCPU's FPU. */
  fp: Uint8Array | null;
  readonly siginfo = new Uint8Array(Siginfo.size);
  queued = false;
  interruptRequested = false;
  dead = false;
  userNs = 0n;

  constructor(readonly id: number, private readonly host: KvmPlatform, readonly space: Space, readonly group: Group, fp: Uint8Array) {
    this.fp = fp;
    space.users++;
    group.members.add(this);
  }

  loadRegs(): void {
    // The registers are decoded from the save area at every stop.
  }

  touchRegs(): void {
    // Every run writes the registers back.
  }

  resume(): void {
    this.host.enqueue(this);
  }

  resumeWithResult(value: number): void {
    this.regs.set(R.rax, value);
    this.host.enqueue(this);
  }

  getFpregs(): Uint8Array {
    return this.host.xsaveOf(this).slice(0, 512);
  }

  setFpregs(fp: Uint8Array): boolean {
    // FXRSTOR of reserved MXCSR bits would fault in ring 0: refuse them, as ptrace does.
    if (new DataView(fp.buffer, fp.byteOffset).getUint32(FXSAVE_MXCSR, true) & ~MXCSR_VALID) return false;
    this.host.setFxsave(this, fp);
    return true;
  }

  getSiginfo(buf: Uint8Array): void {
    buf.set(this.siginfo);
  }

  interrupt(): void {
    if (this.queued) this.interruptRequested = true;
  }

  kill(): void {
    for (const c of [...this.group.members]) this.host.destroy(c);
  }

  exitThread(): void {
    this.host.destroy(this);
  }

  cpuTime(): CpuTimes {
    return { userNs: this.userNs, sysNs: 0n };
  }
}

export class KvmPlatform implements Platform {
  readonly name = 'kvm';
  private readonly vm: number;
  private readonly vcpu: number;
  private readonly run: DataView;
  private readonly ring0: Ring0;
  private readonly kernelPdpt: number;
  /** The data page (save area and slots), as the guest sees it. */
  private readonly data: DataView;
  private readonly save: Uint8Array;
  private readonly slots: boolean[] = [];
  private readonly cpuMask = new Uint8Array(128);
  private readonly timer = new kvm.ThreadTimer(SLICE_SIGNAL);
  private armedAt: bigint | null = null;
  private readonly queue: KvmContext[] = [];
  /** The context whose FPU state is in the vCPU. */
  private fpOwner: KvmContext | null = null;
  private cr3 = -1;
  /** Tables of dead address spaces that CR3 may still hold, freed once the vCPU has left them. */
  private retired: PageTables[] = [];
  /**
   * Tables of dead address spaces, emptied, for new ones: freeing tables
   * makes KVM forget every translation (dropTranslations), reusing them
   * whole does not.
   */
  private readonly pooled: PageTables[] = [];
  private fsBase = 0n;
  private gsBase = 0n;
  private nextId = 1;
  private readonly cleanFp: Uint8Array;
  private readonly xsave = new Uint8Array(4096);
  private readonly parked: { regs: Uint8Array; sregs: Uint8Array };
  /** The vCPU waits in ring 0's vector stubs (else in ring 3, after the landing page's out). */
  private inRing0 = true;
  /** struct kvm_regs in the run area (KVM_CAP_SYNC_REGS): read at every exit, written back when marked dirty. */
  private readonly kregs: DataView;
  private readonly sregs = new Uint8Array(312);
  /** Where the landing page's doorbell write is. */
  private readonly landing = kaddr(LANDING_PAGE, 0);
  /** Page tables were freed (or a narrower invalidation failed): every translation KVM holds must go. */
  private shadowsStale = false;
  private readonly tableHooks = {
    onTable: (off: number): void => this.ensureSlots(off, PAGE),
    onStaleFrames: (off: number, len: number): void => {
      if (!this.shadowsStale && !this.forgetFrames(off, len)) this.shadowsStale = true;
    },
    onTablesFreed: (): void => {
      this.shadowsStale = true;
    },
  };
  /** XSAVE components enabled in XCR0. */
  private xcr0 = 3n;
  /** The address space CR3 holds before any context has run. */
  private bootTables: PageTables | null = null;

  /** device: the KVM device, /dev/kvm but for tests. */
  constructor(private readonly mf: MemoryFile, device = '/dev/kvm') {
    const sys = kvm.openKvm(device);
    if (sys < 0) {
      const e = kvm.errno();
      throw new KvmUnavailable(e === 2
        ? `${device} does not exist: load KVM (modprobe kvm_intel or kvm_amd, with virtualisation enabled in the firmware or the hypervisor) or use --platform=ptrace`
        : `${device} cannot be opened (errno ${e}): run as root or as a member of the kvm group, or use --platform=ptrace`);
    }
    try {
      const version = kvm.ioctl(sys, kvm.KVM_GET_API_VERSION, 0);
      if (version !== KVM_API_VERSION) throw new KvmUnavailable(`${device} is not a KVM device of API version ${KVM_API_VERSION} (got ${version}): use --platform=ptrace`);
      this.vm = kvm.ioctl(sys, kvm.KVM_CREATE_VM, 0);
      if (this.vm < 0) throw new KvmUnavailable(`KVM_CREATE_VM failed (errno ${kvm.errno()}): the host cannot run VMs here; use --platform=ptrace`);
      const runSize = kvm.ioctl(sys, kvm.KVM_GET_VCPU_MMAP_SIZE, 0);
      this.vcpu = this.check(kvm.ioctl(this.vm, kvm.KVM_CREATE_VCPU, 0), 'KVM_CREATE_VCPU');
      const run = kvm.mapRun(this.vcpu, runSize);
      if (!run) throw new KvmUnavailable(`mapping the vCPU's run area failed (errno ${kvm.errno()})`);
      this.run = new DataView(run);
      if ((kvm.ioctl(this.vm, kvm.KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & SYNC_X86_REGS) === 0) {
        throw new KvmUnavailable('KVM lacks KVM_CAP_SYNC_REGS: use --platform=ptrace');
      }
      this.run.setBigUint64(RUN_VALID_REGS, BigInt(SYNC_X86_REGS), true);
      this.kregs = new DataView(run, RUN_SYNC_REGS, 144);
      this.setCpuid(sys);
    } finally {
      kvm.close(sys);
    }
    // Ring 0's three pages and the tables that map them, shared by every address space.
    this.ring0 = buildRing0();
    const base = mf.allocate((KERNEL_PAGES + 3) * PAGE);
    this.ensureSlots(base, (KERNEL_PAGES + 3) * PAGE);
    this.ring0.pages.forEach((p, i) => mf.write(base + i * PAGE, p));
    const pdpt = base + KERNEL_PAGES * PAGE;
    const pd = pdpt + PAGE;
    const pt = pd + PAGE;
    const entry = (off: number, flags: bigint): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(off) | flags]).buffer);
    const NX = 1n << 63n;
    mf.write(pdpt, new Uint8Array(PAGE));
    mf.write(pd, new Uint8Array(PAGE));
    mf.write(pt, new Uint8Array(PAGE));
    // KERNEL_BASE = PML4 KERNEL_PML4, PDPT 0, PD 0, PT 0..2.
    mf.write(pdpt, entry(pd, 7n));
    mf.write(pd, entry(pt, 7n));
    mf.write(pt + CODE_PAGE * 8, entry(base + CODE_PAGE * PAGE, 1n));
    mf.write(pt + DATA_PAGE * 8, entry(base + DATA_PAGE * PAGE, 3n | NX));
    mf.write(pt + 2 * 8, entry(base + 2 * PAGE, 1n | NX));
    mf.write(pt + LANDING_PAGE * 8, entry(base + LANDING_PAGE * PAGE, 5n));
    mf.write(pt + DOORBELL_PAGE * 8, entry(DOORBELL_GPA, 7n | NX));
    this.kernelPdpt = pdpt;
    const dataView = mf.viewOf(base + DATA_PAGE * PAGE, PAGE)!;
    this.data = new DataView(dataView.buffer, dataView.byteOffset, PAGE);
    this.save = dataView.subarray(SAVE_OFF, SAVE_OFF + REGS_IN_SAVE * 8);

    this.parked = this.initVcpu();
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_GET_XSAVE, this.xsave), 'KVM_GET_XSAVE');
    this.cleanFp = this.xsave.slice();
    // The slice signal, blocked otherwise, ends KVM_RUN; so does any signal the thread does not block.
    const mask = new Uint8Array(12);
    new DataView(mask.buffer).setUint32(0, 8, true);
    mask.set(this.timer.runMask(), 4);
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_SIGNAL_MASK, mask), 'KVM_SET_SIGNAL_MASK');

    const cpu = Math.max(0, libc.schedGetcpu());
    this.cpuMask[cpu >> 3] = 1 << (cpu & 7);
  }

  private check(r: number, what: string): number {
    if (r < 0) throw new KvmUnavailable(`${what} failed (errno ${kvm.errno()}): use --platform=ptrace`);
    return r;
  }

  /** The guest gets the CPUID KVM supports here, and XCR0 for every state component the workload may use. */
  private setCpuid(sys: number): void {
    const max = 256;
    const buf = new Uint8Array(8 + 40 * max);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, max, true);
    this.check(kvm.ioctlBuf(sys, kvm.KVM_GET_SUPPORTED_CPUID, buf), 'KVM_GET_SUPPORTED_CPUID');
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_CPUID2, buf), 'KVM_SET_CPUID2');
    const n = dv.getUint32(0, true);
    let xcr0 = 3n;
    for (let i = 0; i < n; i++) {
      const at = 8 + 40 * i;
      if (dv.getUint32(at, true) === 0xd && dv.getUint32(at + 4, true) === 0) {
        xcr0 = (BigInt(dv.getUint32(at + 12, true)) | (BigInt(dv.getUint32(at + 24, true)) << 32n)) & XCR0_WANTED;
      }
    }
    this.xcr0 = xcr0 | 3n;
  }

  /** Long mode, paging, the syscall MSRs and XCR0; the vCPU parked at ring 0's restore. Returns that state. */
  private initVcpu(): { regs: Uint8Array; sregs: Uint8Array } {
    const sregs = new Uint8Array(312);
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_GET_SREGS, sregs), 'KVM_GET_SREGS');
    const s = new DataView(sregs.buffer);
    // struct kvm_segment: base, limit, selector, type, present, dpl, db, s, l, g, avl, unusable (24 bytes).
    const seg = (i: number, base: bigint, limit: number, sel: number, type: number, dpl: number, db: number, code: number, l: number, g: number, unusable = 0): void => {
      const at = i * 24;
      s.setBigUint64(at, base, true);
      s.setUint32(at + 8, limit, true);
      s.setUint16(at + 12, sel, true);
      sregs.set([type, 1, dpl, db, code, l, g, 0, unusable, 0], at + 14);
    };
    // Order in kvm_sregs: cs ds es fs gs ss tr ldt.
    seg(0, 0n, 0xffffffff, KERNEL_CS, 11, 0, 0, 1, 1, 1);
    for (const i of [1, 2, 3, 4]) seg(i, 0n, 0xffffffff, 0, 3, 0, 1, 1, 0, 1, 1);
    seg(5, 0n, 0xffffffff, KERNEL_DS, 3, 0, 1, 1, 0, 1);
    seg(6, TSS_ADDR, 103, TSS_SEL, 11, 0, 0, 0, 0, 0);
    seg(7, 0n, 0, 0, 2, 0, 0, 0, 0, 0, 1);
    s.setBigUint64(192, GDT_ADDR, true);
    s.setUint16(200, GDT_LIMIT, true);
    s.setBigUint64(208, IDT_ADDR, true);
    s.setUint16(216, IDT_LIMIT, true);
    s.setBigUint64(224, CR0.PE | CR0.MP | CR0.ET | CR0.NE | CR0.WP | CR0.PG, true);
    // cr3 stays as it is: ring 0 loads an address space's before each return to ring 3.
    s.setBigUint64(248, CR4.PAE | CR4.OSFXSR | CR4.OSXMMEXCPT | CR4.OSXSAVE, true);
    s.setBigUint64(264, EFER.SCE | EFER.LME | EFER.LMA | EFER.NXE, true);
    sregs.fill(0, 280, 312); // no pending interrupt
    // A first address space for the kernel pages to be reachable at all.
    this.bootTables = new PageTables(this.mf, this.kernelPdpt, KERNEL_PML4, this.tableHooks);
    s.setBigUint64(240, BigInt(this.bootTables.root), true);
    this.cr3 = this.bootTables.root;
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_SREGS, sregs), 'KVM_SET_SREGS');

    const msrs: [number, bigint][] = [
      [MSR.STAR, BigInt(KERNEL_CS) << 32n | 0x23n << 48n], [MSR.LSTAR, kaddr(LANDING_PAGE, 0)],
      [MSR.CSTAR, 0n], [MSR.SFMASK, SFMASK_VALUE], [MSR.FS_BASE, 0n], [MSR.GS_BASE, 0n], [MSR.KERNEL_GS_BASE, 0n],
    ];
    const mb = new DataView(new ArrayBuffer(8 + 16 * msrs.length));
    mb.setUint32(0, msrs.length, true);
    msrs.forEach(([index, value], i) => {
      mb.setUint32(8 + 16 * i, index, true);
      mb.setBigUint64(16 + 16 * i, value, true);
    });
    const set = kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_MSRS, new Uint8Array(mb.buffer));
    if (set !== msrs.length) throw new KvmUnavailable(`KVM_SET_MSRS set ${set} of ${msrs.length} MSRs: use --platform=ptrace`);

    const xcrs = new DataView(new ArrayBuffer(392));
    xcrs.setUint32(0, 1, true);
    xcrs.setUint32(8, 0, true);
    xcrs.setBigUint64(16, this.xcr0, true);
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_XCRS, new Uint8Array(xcrs.buffer)), 'KVM_SET_XCRS');

    const regs = new DataView(new ArrayBuffer(144));
    regs.setBigUint64(128, kaddr(CODE_PAGE, this.ring0.restore), true); // rip
    regs.setBigUint64(136, 2n, true); // rflags
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_REGS, new Uint8Array(regs.buffer)), 'KVM_SET_REGS');
    return { regs: new Uint8Array(regs.buffer), sregs };
  }

  /** Registers the memory slots (1 GiB windows of the memory file) that [off, off+len) lies in. */
  private ensureSlots(off: number, len: number): void {
    const last = Math.floor((off + len - 1) / WINDOW_SIZE);
    for (let i = Math.floor(off / WINDOW_SIZE); i <= last; i++) {
      if (this.slots[i]) continue;
      const r = new DataView(new ArrayBuffer(32));
      r.setUint32(0, i, true);
      r.setBigUint64(8, BigInt(i) * BigInt(WINDOW_SIZE), true);
      r.setBigUint64(16, BigInt(WINDOW_SIZE), true);
      r.setBigUint64(24, this.mf.windowAddress(i), true);
      if (kvm.ioctlBuf(this.vm, kvm.KVM_SET_USER_MEMORY_REGION, new Uint8Array(r.buffer)) < 0) {
        throw new Error(`KVM_SET_USER_MEMORY_REGION for window ${i}: errno ${kvm.errno()}`);
      }
      this.slots[i] = true;
    }
  }

  // ---- contexts ----
  private newContext(space: Space, group: Group, fp: Uint8Array): KvmContext {
    return new KvmContext(this.nextId++, this, space, group, fp);
  }

  newProcess(): Context {
    const tables = this.pooled.pop() ?? new PageTables(this.mf, this.kernelPdpt, KERNEL_PML4, this.tableHooks);
    return this.newContext(new Space(tables), new Group(), this.cleanFp.slice());
  }

  newSharingMemory(parent: Context): Context {
    const p = parent as KvmContext;
    return this.newContext(p.space, new Group(), this.xsaveOf(p).slice());
  }

  newThread(parent: Context): Context {
    const p = parent as KvmContext;
    return this.newContext(p.space, p.group, this.xsaveOf(p).slice());
  }

  enqueue(c: KvmContext): void {
    if (c.dead || c.queued) return;
    c.queued = true;
    this.queue.push(c);
  }

  destroy(c: KvmContext): void {
    if (c.dead) return;
    c.dead = true;
    c.group.members.delete(c);
    if (c.queued) {
      c.queued = false;
      this.queue.splice(this.queue.indexOf(c), 1);
    }
    if (this.fpOwner === c) this.fpOwner = null;
    if (--c.space.users === 0) {
      const tables = c.space.tables;
      if (this.pooled.length < POOLED_TABLES) {
        tables.clearUser();
        this.pooled.push(tables);
      } else if (this.cr3 === tables.root) {
        // The vCPU still runs on the current tables until ring 0 loads the next ones.
        this.retired.push(tables);
      } else {
        tables.destroy();
      }
    }
  }

  /** c's XSAVE image (from the vCPU if c's state is there). */
  xsaveOf(c: KvmContext): Uint8Array {
    if (this.fpOwner === c) {
      this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_GET_XSAVE, this.xsave), 'KVM_GET_XSAVE');
      return this.xsave;
    }
    return c.fp!;
  }

  setFxsave(c: KvmContext, fx: Uint8Array): void {
    const img = this.xsaveOf(c);
    img.set(fx.subarray(0, 512));
    // The x87 and SSE components are now in use: restore them from the image.
    img[XSTATE_BV] = img[XSTATE_BV]! | 3;
    if (this.fpOwner === c) this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_XSAVE, img), 'KVM_SET_XSAVE');
  }

  // ---- address spaces ----
  queueMap(ctx: Context, addr: number, len: number, prot: number, off: number): void {
    this.ensureSlots(off, len);
    (ctx as KvmContext).space.tables.map(addr, len, prot, off, this.residency(off, len));
  }

  /**
   * Makes KVM drop its translations to the frames [off, off+len): dropping
   * the Sentry's own mapping of them (their contents stay in the memory file)
   * notifies KVM, which forgets every translation derived from it, in any
   * address space; the guest's next touch maps them afresh from its page
   * tables. False when that fails.
   */
  private forgetFrames(off: number, len: number): boolean {
    for (let done = 0; done < len;) {
      const i = Math.floor((off + done) / WINDOW_SIZE);
      const n = Math.min(len - done, (i + 1) * WINDOW_SIZE - (off + done));
      if (!kvm.dropMapping(this.mf.windowAddress(i) + BigInt(off + done - i * WINDOW_SIZE), n)) return false;
      done += n;
    }
    return true;
  }

  /** mincore's answer for the memory file's [off, off+len) (bit 0 of each page's byte: resident), or null when it fails. */
  private residency(off: number, len: number): Uint8Array | null {
    const vec = new Uint8Array(Math.ceil(len / PAGE));
    for (let done = 0; done < len;) {
      const i = Math.floor((off + done) / WINDOW_SIZE);
      const n = Math.min(len - done, (i + 1) * WINDOW_SIZE - (off + done));
      const at = this.mf.windowAddress(i) + BigInt(off + done - i * WINDOW_SIZE);
      if (libc.mincore(at, n, vec.subarray(done / PAGE)) < 0) return null;
      done += n;
    }
    return vec;
  }

  /**
   * A not-present fault on a lazy page: its group is shown to the guest and
   * its frames brought in on the host, so that the host maps them with this
   * fault's retry and its neighbours' (see pagetables.ts). False when the
   * page is not lazy: the fault is the workload's.
   */
  private materialize(c: KvmContext, addr: number): boolean {
    const frames = addr < 2 ** 47 ? c.space.tables.materialize(addr) : null;
    if (!frames) return false;
    // One madvise per run of consecutive frames within a window.
    for (let i = 0; i < frames.length;) {
      const w = Math.floor(frames[i]! / WINDOW_SIZE);
      let j = i + 1;
      while (j < frames.length && frames[j] === frames[j - 1]! + PAGE && Math.floor(frames[j]! / WINDOW_SIZE) === w) j++;
      kvm.populate(this.mf.windowAddress(w) + BigInt(frames[i]! - w * WINDOW_SIZE), (j - i) * PAGE);
      i = j;
    }
    return true;
  }

  queueUnmap(ctx: Context, addr: number, len: number): void {
    (ctx as KvmContext).space.tables.unmap(addr, len);
  }

  queueProtect(ctx: Context, addr: number, len: number, prot: number): void {
    (ctx as KvmContext).space.tables.protect(addr, len, prot);
  }

  discard(): void {
    // Page tables change in place: nothing is queued.
  }

  flush(): number {
    return 0;
  }

  pin(pid: number): void {
    libc.schedSetaffinity(pid, this.cpuMask.length, this.cpuMask);
  }

  /** The VM and its vCPU are made by the constructor: nothing is left to acquire. */
  prepare(): void {}

  /** The slice signal, sent to this thread, ends KVM_RUN or the idle wait early, as a slice's end does. */
  doorbell(): { tid: number; signal: number } {
    return { tid: libc.gettid(), signal: SLICE_SIGNAL };
  }

  // ---- running ----
  wait(deadline: bigint | null): Stop | null {
    const now = process.hrtime.bigint();
    const c = this.queue.shift();
    if (!c) {
      // Nothing to run: wait for a host fd until the deadline (or a while, for the kernel to look again).
      hostPoller().waitHere(deadline === null ? 50_000_000n : deadline > now ? deadline - now : 0n);
      return null;
    }
    hostPoller().checkIfDue(now);
    c.queued = false;
    if (c.interruptRequested) {
      c.interruptRequested = false;
      return { id: c.id, kind: 'interrupted', value: 0 };
    }
    this.load(c);
    return this.runUntilStop(c, deadline);
  }

  /**
   * Puts c on the vCPU: its FPU state, and its registers, address space and
   * FS/GS bases either through ring 0's restore (when the vCPU is parked
   * there, after an exception) or straight into the vCPU (after a syscall,
   * when it is parked in ring 3).
   */
  private load(c: KvmContext): void {
    if (this.fpOwner !== c) {
      if (this.fpOwner) {
        this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_GET_XSAVE, this.xsave), 'KVM_GET_XSAVE');
        this.fpOwner.fp = this.xsave.slice();
      }
      this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_XSAVE, c.fp!), 'KVM_SET_XSAVE');
      c.fp = null;
      this.fpOwner = c;
    }
    const r = c.regs;
    r.set(R.cs, USER_CS);
    r.set(R.ss, USER_DS);
    r.set(R.eflags, (r.get(R.eflags) & USER_FLAGS) | FORCED_FLAGS);
    const tables = c.space.tables;
    const fs = r.big[R.fs_base]!;
    const gs = r.big[R.gs_base]!;
    if (this.shadowsStale) this.dropTranslations();
    const newSpace = this.cr3 !== tables.root;
    const newBases = fs !== this.fsBase || gs !== this.gsBase;
    if (this.inRing0) {
      this.save.set(r.buf.subarray(0, REGS_IN_SAVE * 8));
      if (newSpace) this.data.setBigUint64(CR3_SLOT, BigInt(tables.root), true);
      if (newBases) {
        this.data.setBigUint64(FS_SLOT, fs, true);
        this.data.setBigUint64(GS_SLOT, gs, true);
        this.data.setBigUint64(BASES_PENDING, 1n, true);
      }
    } else {
      for (let i = 0; i < KVM_REGS.length; i++) this.kregs.setBigUint64(8 * i, r.big[KVM_REGS[i]!]!, true);
      this.run.setBigUint64(RUN_DIRTY_REGS, BigInt(SYNC_X86_REGS), true);
      if (newSpace || newBases) this.setSpaceAndBases(tables, fs, gs);
    }
    this.cr3 = tables.root;
    this.fsBase = fs;
    this.gsBase = gs;
  }

  /**
   * Makes KVM forget every translation it derived from the guest page tables,
   * for freed tables (forgetFrames does for changed entries). A shadow MMU
   * (PVM here) write-protects the tables against the guest's own writes, not
   * the Sentry's, and a CR3 load or TLB flush keeps shadow pages it believes
   * current, also those of freed tables, which a table reusing their pages
   * would find; deleting a memory slot zaps them all. A one-page slot beyond
   * guest memory is made and deleted for that.
   */
  private dropTranslations(): void {
    const r = new DataView(new ArrayBuffer(32));
    r.setUint32(0, ZAP_SLOT, true);
    r.setBigUint64(8, BigInt(ZAP_GPA), true);
    r.setBigUint64(16, BigInt(PAGE), true);
    r.setBigUint64(24, this.mf.windowAddress(0), true);
    this.check(kvm.ioctlBuf(this.vm, kvm.KVM_SET_USER_MEMORY_REGION, new Uint8Array(r.buffer)), 'KVM_SET_USER_MEMORY_REGION');
    r.setBigUint64(16, 0n, true);
    this.check(kvm.ioctlBuf(this.vm, kvm.KVM_SET_USER_MEMORY_REGION, new Uint8Array(r.buffer)), 'KVM_SET_USER_MEMORY_REGION');
    this.shadowsStale = false;
  }

  /** Loads CR3 and the FS/GS bases of a vCPU parked in ring 3. */
  private setSpaceAndBases(tables: PageTables, fs: bigint, gs: bigint): void {
    const sregs = this.sregs;
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_GET_SREGS, sregs), 'KVM_GET_SREGS');
    const s = new DataView(sregs.buffer);
    s.setBigUint64(3 * 24, fs, true);
    s.setBigUint64(4 * 24, gs, true);
    s.setBigUint64(240, BigInt(tables.root), true);
    this.check(kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_SREGS, sregs), 'KVM_SET_SREGS');
  }

  private runUntilStop(c: KvmContext, deadline: bigint | null): Stop {
    /** The thread's CPU time when the vCPU was first found in ring 0 past a request to stop (null: not so far). */
    let ring0Since: bigint | null = null;
    let minRun = MIN_RUN_NS;
    for (;;) {
      const start = process.hrtime.bigint();
      // Never less than minRun: ring 0 is emulated here and must get out before the signal.
      const want = deadline !== null && deadline < start + SLICE_NS ? max(deadline, start + minRun) : start + max(SLICE_NS, minRun);
      if (this.armedAt === null || this.armedAt > want || this.armedAt <= start || ring0Since !== null) {
        this.timer.arm(want);
        this.armedAt = want;
      }
      const r = kvm.ioctl(this.vcpu, kvm.KVM_RUN, 0);
      const end = process.hrtime.bigint();
      c.userNs += end - start;
      const reason = this.run.getUint32(8, true);
      if (r < 0 && kvm.errno() !== EINTR) return this.fail(c, `KVM_RUN failed: errno ${kvm.errno()}`);
      if (r < 0 || reason === kvm.KVM_EXIT.INTR) {
        if (this.timer.take()) this.armedAt = null;
        const stopWanted = this.queue.length > 0 || (deadline !== null && end >= deadline);
        // Stop the context when another one or the kernel's timers are due,
        // once it is in ring 3 outside the landing page (the registers in the
        // run area are then all of its state).
        if (!this.inGuestKernel()) {
          if (stopWanted) return this.preempted(c);
          ring0Since = null;
          minRun = MIN_RUN_NS;
          continue;
        }
        // Ring 0 only passes through, stop wanted or not. A signal that came
        // while the host ran something else ends the run before ring 0 did
        // anything: the next run is longer, and only CPU time the thread
        // really had counts towards the watchdog.
        const cpu = kvm.threadCpuNs();
        if (ring0Since === null) ring0Since = cpu;
        else if (cpu - ring0Since > WATCHDOG_CPU_NS) return this.fail(c, 'the vCPU stayed in ring 0 for a second of CPU time');
        if (stopWanted) minRun = minRun * 2n < RING0_RUN_NS ? minRun * 2n : RING0_RUN_NS;
        continue;
      }
      switch (reason) {
        case kvm.KVM_EXIT.IO:
        case kvm.KVM_EXIT.MMIO: {
          this.run.setUint8(0, 0);
          // Ring 0 went through restore, so CR3 no longer holds retired tables.
          if (this.retired.length > 0) this.freeRetired();
          const port = reason === kvm.KVM_EXIT.IO ? this.run.getUint16(34, true)
            : this.run.getBigUint64(32, true) === BigInt(DOORBELL_GPA) ? SYSCALL_PORT : -1;
          const stop = this.decode(c, port);
          if (stop) return stop;
          // Handled here (a lazy page made present): ring 0 retries the access.
          continue;
        }
        default:
          return this.fail(c, `unexpected VM exit ${EXIT_NAMES[reason] ?? reason}${reason === kvm.KVM_EXIT.FAIL_ENTRY ? ` (reason ${this.run.getBigUint64(32, true)})` : ''}`);
      }
    }
  }

  private freeRetired(): void {
    for (const t of this.retired) t.destroy();
    this.retired = [];
  }

  /** The vCPU is in ring 0's code or the landing page (from the registers synced at the last exit). */
  private inGuestKernel(): boolean {
    const rip = this.kregs.getBigUint64(128, true);
    return rip >= KERNEL_BASE;
  }

  /** c was stopped in ring 3 by the slice signal: its registers are those synced into the run area. */
  private preempted(c: KvmContext): Stop {
    const r = c.regs;
    for (let i = 0; i < KVM_REGS.length; i++) r.big[KVM_REGS[i]!] = this.kregs.getBigUint64(8 * i, true);
    r.set(R.orig_rax, -1);
    this.inRing0 = false;
    return { id: c.id, kind: 'interrupted', value: 0 };
  }

  /** The vCPU failed running c: its process dies with the diagnosis, and the vCPU is parked again for the others. */
  private fail(c: KvmContext, why: string): Stop {
    kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_SREGS, this.parked.sregs);
    kvm.ioctlBuf(this.vcpu, kvm.KVM_SET_REGS, this.parked.regs);
    this.run.setBigUint64(RUN_DIRTY_REGS, 0n, true);
    this.run.setUint8(0, 0);
    this.inRing0 = true;
    this.cr3 = -1;
    this.freeRetired();
    this.fsBase = this.gsBase = -1n;
    return { id: c.id, kind: 'killed', value: SIGKILL, detail: `${why} (last user rip 0x${c.regs.get(R.rip).toString(16)})` };
  }

  /** Reads c's registers and says what the exit through port meant; null if the platform handled it itself. */
  private decode(c: KvmContext, port: number): Stop | null {
    const r = c.regs;
    const rip = this.kregs.getBigUint64(128, true);
    const codePage = kaddr(CODE_PAGE, 0);
    if (rip >= codePage && rip < codePage + BigInt(PAGE)) {
      this.inRing0 = true;
      return this.decodeRing0(c, port);
    }
    this.inRing0 = false;
    for (let i = 0; i < KVM_REGS.length; i++) r.big[KVM_REGS[i]!] = this.kregs.getBigUint64(8 * i, true);
    r.set(R.eflags, r.get(R.eflags));
    if (port === SYSCALL_PORT && rip >= this.landing && rip < this.landing + 16n) {
      // syscall left the return address in rcx and the flags in r11.
      r.set(R.rip, r.get(R.rcx));
      r.set(R.eflags, r.get(R.r11));
      r.set(R.orig_rax, r.get(R.rax));
      r.set(R.rax, -ENOSYS);
      return { id: c.id, kind: 'syscall', value: 0 };
    }
    // The workload rang the doorbell itself: a #GP on Linux.
    r.set(R.orig_rax, -1);
    return this.fault(c, SIGSEGV, SI_KERNEL, 0);
  }

  /** An exit from ring 0's vector stubs: the registers are in the save area; null if the platform handled it. */
  private decodeRing0(c: KvmContext, port: number): Stop | null {
    const r = c.regs;
    const userCs = (this.data.getUint32(SAVE_OFF + R.cs * 8, true) & 3) === 3;
    if (!userCs) {
      // A fault in ring 0 can only be iretq refusing the frame the Sentry
      // wrote (a non-canonical rip, say): c's registers are still the Sentry's.
      const at = this.data.getBigUint64(SAVE_OFF + R.rip * 8, true);
      if (at !== kaddr(CODE_PAGE, this.ring0.iretq)) return this.fail(c, `ring 0 took vector ${port} at 0x${at.toString(16)}`);
      return this.fault(c, SIGSEGV, SI_KERNEL, 0);
    }
    r.buf.set(this.save);
    r.set(R.eflags, r.get(R.eflags));
    const error = r.get(R.orig_rax);
    r.set(R.orig_rax, -1);
    const rip = r.get(R.rip);
    switch (port) {
      case 0: return this.fault(c, SIGFPE, FPE_INTDIV, rip);
      case 1:
      case 3: return this.fault(c, SIGTRAP, port === 3 ? SI_KERNEL : TRAP_BRKPT, 0);
      case 6: return this.fault(c, SIGILL, ILL_ILLOPN, rip);
      case 14: {
        const cr2 = Number(this.data.getBigUint64(CR2_SLOT, true));
        if (!(error & 1) && this.materialize(c, cr2)) return null;
        return this.fault(c, SIGSEGV, error & 1 ? SEGV_ACCERR : SEGV_MAPERR, cr2);
      }
      case 16:
      case 19: return this.fault(c, SIGFPE, 0, rip);
      case 12:
      case 17: return this.fault(c, SIGBUS, BUS_ADRALN, 0);
      case 4: case 5: case 10: case 11: case 13: return this.fault(c, SIGSEGV, SI_KERNEL, 0);
      default: return this.fail(c, `exception ${port} in ring 3`);
    }
  }

  private fault(c: KvmContext, sig: number, code: number, addr: number): Stop {
    c.siginfo.fill(0);
    Siginfo.encodeInto(c.siginfo, 0, { si_signo: sig, si_code: code, si_addr: addr });
    return { id: c.id, kind: 'signal', value: sig };
  }
}
