// The guest's ring 0: not a kernel, just enough machine state that an
// exception in ring 3 saves the workload's
// registers to a fixed save area and leaves the guest with one `out` (a
// KVM_EXIT_IO whose port is the vector). When the Sentry runs the vCPU again,
// it continues at `restore`, which loads whatever user state the Sentry left
// in the save area (and CR3, FS and GS bases when asked) and returns to ring 3
// with iretq.
//
// Syscalls do not come here. This host's KVM is PVM (paravirtual, shadow
// paging, the guest at hardware CPL 3), which runs ring 0 instruction by
// instruction in an emulator (about 1 µs each) and, for a guest that is not a
// PVM kernel, leaves a ring-3 `syscall` in ring 3 at LSTAR. LSTAR is
// therefore the landing page: user-accessible, one `out` that ring 3 may make
// because it runs with IOPL 3, so a syscall is one VM exit with no ring 0
// instruction at all, and the Sentry moves the vCPU back with KVM_SET_REGS.
//
// Pages, mapped at KERNEL_BASE in every address space: code, data (GDT, TSS,
// save area, slots) and IDT, supervisor-only; and the landing page. KERNEL_BASE
// is PML4 slot KERNEL_PML4 of the upper half, not the top 2 GiB: PVM confines
// a guest's supervisor to upper-half slots below 510, so ring 0 addresses its
// data RIP-relative.
//
// The save area is struct user_regs_struct, the layout the ptrace platform
// and the kernel already use: r15 at 0 … rip, cs, eflags, rsp, ss at 16..20,
// which is the order in which the CPU pushes an interrupt frame, so a fault's
// frame lands in place when the interrupt stack (IST1 = &save[21]) is that
// end of the area, and iretq from &save[16] returns to it.
import { Code } from '../../../src/elf/tiny';

export const KERNEL_PML4 = 400;
export const KERNEL_BASE = 0xffff_0000_0000_0000n | (BigInt(KERNEL_PML4) << 39n);
export const CODE_PAGE = 0;
export const DATA_PAGE = 1;
export const IDT_PAGE = 2;
/** The user-accessible page where `syscall` lands: `out SYSCALL_PORT, al`. */
export const LANDING_PAGE = 3;
/** The page after it, backed by no memory: a write there is a KVM_EXIT_MMIO, straight from ring 3. */
export const DOORBELL_PAGE = 4;
export const KERNEL_PAGES = 4;

// Data page layout.
const GDT_OFF = 0x000;
const TSS_OFF = 0x100;
/** struct user_regs_struct; &save[21] must be 16-byte aligned (the CPU aligns the interrupt stack). */
export const SAVE_OFF = 0x808;
/** A new CR3 to load before returning to ring 3 (0: keep), cleared by the guest. */
export const CR3_SLOT = 0xa00;
/** Nonzero: load FS and GS bases from the next slots before returning. */
export const BASES_PENDING = 0xa08;
export const FS_SLOT = 0xa10;
export const GS_SLOT = 0xa18;
/** CR2 of the last page fault. */
export const CR2_SLOT = 0xa20;

/** Segment selectors, as Linux's (user code 0x33 and data 0x2b appear in signal frames). */
export const KERNEL_CS = 0x10;
export const KERNEL_DS = 0x18;
export const USER_CS = 0x33;
export const USER_DS = 0x2b;
export const TSS_SEL = 0x40;
export const GDT_LIMIT = 0x4f;

/** The port the landing page's exit stands for; exceptions use their vector. */
export const SYSCALL_PORT = 0xff;
/** Vectors for which the CPU pushes an error code. */
const ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);
/** Gates ring 3 may use directly (int3, into), as in Linux. */
const USER_GATES = new Set([3, 4]);

export const kaddr = (page: number, off: number): bigint => KERNEL_BASE + BigInt(page * 0x1000 + off);
/** Offset of a data-page byte from the start of the code page (RIP-relative operands). */
const dataAddr = (off: number): number => DATA_PAGE * 0x1000 + off;
const save = (i: number): number => dataAddr(SAVE_OFF + 8 * i);

// push in user_regs_struct order from rdi (index 14) down to r15 (index 0).
const PUSH_GPRS = [
  [0x57], [0x56], [0x52], [0x51], [0x50], [0x41, 0x50], [0x41, 0x51], [0x41, 0x52], [0x41, 0x53],
  [0x53], [0x55], [0x41, 0x54], [0x41, 0x55], [0x41, 0x56], [0x41, 0x57],
].flat();
const POP_GPRS = [
  [0x41, 0x5f], [0x41, 0x5e], [0x41, 0x5d], [0x41, 0x5c], [0x5d], [0x5b], [0x41, 0x5b], [0x41, 0x5a],
  [0x41, 0x59], [0x41, 0x58], [0x58], [0x59], [0x5a], [0x5e], [0x5f],
].flat();

export interface Ring0 {
  /** The three pages' contents. */
  pages: Uint8Array[];
  /** Offsets in the code page. */
  restore: number;
  iretq: number;
  /** Where the vectors' stubs start, by vector. */
  vectors: number[];
}

/** A rel32 operand to an offset from the code page's start (data-page bytes lie past its end). */
function relTo(c: Code, target: number): Code {
  const name = `@${target}`;
  return c.labelAt(name, target).rel32(name);
}

/** mov [rip+disp32], reg: rex, 0x89, modrm with rm=101 (RIP-relative). */
function storeAbs(c: Code, rex: number, reg: number, target: number): void {
  relTo(c.emit(rex, 0x89, 0x05 | (reg << 3)), target);
}

function loadAbs(c: Code, rex: number, reg: number, target: number): void {
  relTo(c.emit(rex, 0x8b, 0x05 | (reg << 3)), target);
}

export function buildRing0(): Ring0 {
  const c = new Code();
  // restore: apply a pending CR3, then pending FS/GS bases, then the frame.
  c.label('restore');
  loadAbs(c, 0x48, 0, dataAddr(CR3_SLOT)); // mov rax, [cr3 slot]
  c.emit(0x48, 0x85, 0xc0); // test rax, rax
  c.emit(0x0f, 0x84).rel32('bases'); // jz bases
  c.emit(0x0f, 0x22, 0xd8); // mov cr3, rax
  c.emit(0x31, 0xc0); // xor eax, eax
  storeAbs(c, 0x48, 0, dataAddr(CR3_SLOT));
  c.label('bases');
  loadAbs(c, 0x48, 0, dataAddr(BASES_PENDING));
  c.emit(0x48, 0x85, 0xc0);
  c.emit(0x0f, 0x84).rel32('frame');
  for (const [msr, slot] of [[0xc0000100, FS_SLOT], [0xc0000101, GS_SLOT]] as const) {
    c.emit(0xb9).imm32(msr); // mov ecx, msr
    relTo(c.emit(0x8b, 0x05), dataAddr(slot)); // mov eax, [slot]
    relTo(c.emit(0x8b, 0x15), dataAddr(slot + 4)); // mov edx, [slot+4]
    c.emit(0x0f, 0x30); // wrmsr
  }
  c.emit(0x31, 0xc0);
  storeAbs(c, 0x48, 0, dataAddr(BASES_PENDING));
  c.label('frame');
  relTo(c.emit(0x48, 0x8d, 0x25), save(0)); // lea rsp, [save]
  c.emit(...POP_GPRS);
  c.emit(0x48, 0x83, 0xc4, 0x08); // add rsp, 8 (orig_rax)
  c.label('iretq');
  c.emit(0x48, 0xcf);

  const vectorCount = 32;
  for (let v = 0; v < vectorCount; v++) {
    c.label(`v${v}`);
    if (!ERROR_CODE.has(v)) c.emit(0x6a, 0x00); // push 0 where the CPU pushes no error code
    c.emit(...PUSH_GPRS);
    if (v === 14) {
      c.emit(0x0f, 0x20, 0xd0); // mov rax, cr2
      storeAbs(c, 0x48, 0, dataAddr(CR2_SLOT));
    }
    c.emit(0xe6, v);
    c.emit(0xe9).rel32('restore');
  }
  const code = c.finish();
  if (code.length > 0x1000) throw new Error('ring 0 code exceeds its page');

  const codePage = new Uint8Array(0x1000);
  codePage.set(code);
  const data = new Uint8Array(0x1000);
  const dv = new DataView(data.buffer);
  // GDT: null, -, kernel code, kernel data, user code32, user data, user code64, -, TSS.
  const gdt: [number, bigint][] = [
    [KERNEL_CS, 0x00af9b000000ffffn], [KERNEL_DS, 0x00cf93000000ffffn], [0x20, 0x00cffb000000ffffn],
    [USER_DS & ~3, 0x00cff3000000ffffn], [USER_CS & ~3, 0x00affb000000ffffn],
  ];
  for (const [sel, d] of gdt) dv.setBigUint64(GDT_OFF + sel, d, true);
  const tss = kaddr(DATA_PAGE, TSS_OFF);
  const tssLimit = 103n;
  dv.setBigUint64(GDT_OFF + TSS_SEL, tssLimit | ((tss & 0xffffffn) << 16n) | (0x89n << 40n) | (((tss >> 24n) & 0xffn) << 56n), true);
  dv.setBigUint64(GDT_OFF + TSS_SEL + 8, (tss >> 32n) & 0xffffffffn, true);
  // TSS: RSP0 and IST1 both at the end of the save area's frame.
  const frameTop = kaddr(DATA_PAGE, SAVE_OFF + 21 * 8);
  if (frameTop % 16n !== 0n) throw new Error('save area misaligned');
  dv.setBigUint64(TSS_OFF + 4, frameTop, true);
  dv.setBigUint64(TSS_OFF + 36, frameTop, true);
  dv.setUint16(TSS_OFF + 102, 104, true); // no I/O bitmap
  // IDT: interrupt gates on IST1.
  const idt = new Uint8Array(0x1000);
  const iv = new DataView(idt.buffer);
  for (let v = 0; v < vectorCount; v++) {
    const target = kaddr(CODE_PAGE, c.offsetOf(`v${v}`));
    const at = v * 16;
    iv.setUint16(at, Number(target & 0xffffn), true);
    iv.setUint16(at + 2, KERNEL_CS, true);
    iv.setUint8(at + 4, 1); // IST1
    iv.setUint8(at + 5, USER_GATES.has(v) ? 0xee : 0x8e);
    iv.setUint16(at + 6, Number((target >> 16n) & 0xffffn), true);
    iv.setUint32(at + 8, Number((target >> 32n) & 0xffffffffn), true);
  }
  const landing = new Uint8Array(0x1000);
  // mov [rip + to the doorbell page], al; hlt (never reached: the Sentry moves rip)
  landing.set([0x88, 0x05, 0xfa, 0x0f, 0x00, 0x00, 0xf4]);
  return {
    pages: [codePage, data, idt, landing],
    restore: c.offsetOf('restore'),
    iretq: c.offsetOf('iretq'),
    vectors: Array.from({ length: vectorCount }, (_, v) => c.offsetOf(`v${v}`)),
  };
}

export const TSS_ADDR = kaddr(DATA_PAGE, TSS_OFF);
export const GDT_ADDR = kaddr(DATA_PAGE, GDT_OFF);
export const IDT_ADDR = kaddr(IDT_PAGE, 0);
export const IDT_LIMIT = 0xfff;
