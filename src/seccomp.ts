// Seccomp-BPF programs as bytes: a tiny assembler with named jump targets,
// shared by the Gofer's deny list, the Sentry's allow list and the stubs'
// instruction-pointer filter. Layout of what a filter reads (struct
// seccomp_data): nr at 0, arch at 4, instruction_pointer at 8, args[i] at
// 16 + 8i (little-endian, so the low half of each 64-bit value comes first).

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
/** Have the kernel log (audit) every action but ALLOW. */
export const SECCOMP_FILTER_FLAG_LOG = 2;

export const DATA_NR = 0;
export const DATA_ARCH = 4;
export const DATA_IP_LO = 8;
export const DATA_IP_HI = 12;
/** Offset of the low (hi = false) or high 32 bits of syscall argument i. */
export const dataArg = (i: number, hi = false): number => 16 + 8 * i + (hi ? 4 : 0);

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

/** A jump target: a label, or null for the next instruction. */
type Target = string | null;

interface Ins { code: number; jt: Target; jf: Target; k: number }

export class Bpf {
  private readonly ins: Ins[] = [];
  private readonly labels = new Map<string, number>();

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`bpf label ${name} defined twice`);
    this.labels.set(name, this.ins.length);
    return this;
  }

  /** Loads the 32-bit word at offset of struct seccomp_data. */
  load(offset: number): this {
    return this.push(LD_W_ABS, null, null, offset);
  }

  jeq(k: number, jt: Target, jf: Target = null): this { return this.push(JEQ_K, jt, jf, k); }
  jge(k: number, jt: Target, jf: Target = null): this { return this.push(JGE_K, jt, jf, k); }
  /** Jumps to jt when any bit of k is set in the loaded word. */
  jset(k: number, jt: Target, jf: Target = null): this { return this.push(JSET_K, jt, jf, k); }
  ret(action: number): this { return this.push(RET_K, null, null, action); }

  /** The program as struct sock_filter bytes. */
  assemble(): Uint8Array {
    const b = new Uint8Array(this.ins.length * 8);
    const dv = new DataView(b.buffer);
    this.ins.forEach((x, i) => {
      dv.setUint16(i * 8, x.code, true);
      dv.setUint8(i * 8 + 2, this.offset(i, x.jt));
      dv.setUint8(i * 8 + 3, this.offset(i, x.jf));
      dv.setUint32(i * 8 + 4, x.k >>> 0, true);
    });
    return b;
  }

  private push(code: number, jt: Target, jf: Target, k: number): this {
    this.ins.push({ code, jt, jf, k });
    return this;
  }

  private offset(at: number, t: Target): number {
    if (t === null) return 0;
    const to = this.labels.get(t);
    if (to === undefined) throw new Error(`bpf label ${t} undefined`);
    const d = to - at - 1;
    if (d < 0 || d > 255) throw new Error(`bpf jump to ${t} out of range (${d})`);
    return d;
  }
}
