// A workload thread's registers in the layout of PTRACE_GETREGS (struct
// user_regs_struct), every platform's exchange format, with fast accessors
// that avoid BigInt on the hot path.

/** Index of each register in user_regs_struct (asm/ptrace.h, x86-64). */
export const R = {
  r15: 0, r14: 1, r13: 2, r12: 3, rbp: 4, rbx: 5, r11: 6, r10: 7, r9: 8, r8: 9,
  rax: 10, rcx: 11, rdx: 12, rsi: 13, rdi: 14, orig_rax: 15, rip: 16, cs: 17,
  eflags: 18, rsp: 19, ss: 20, fs_base: 21, gs_base: 22, ds: 23, es: 24, fs: 25, gs: 26,
} as const;
export const NREGS = 27;

/** Syscall argument registers in order. */
export const ARG_REGS = [R.rdi, R.rsi, R.rdx, R.r10, R.r8, R.r9] as const;

export class Regs {
  readonly buf = new Uint8Array(NREGS * 8);
  readonly big = new BigUint64Array(this.buf.buffer);
  private readonly w = new Uint32Array(this.buf.buffer);

  /** Register i as an unsigned number (exact below 2^53). */
  get(i: number): number {
    return this.w[2 * i + 1]! * 0x1_0000_0000 + this.w[2 * i]!;
  }
  /** Register i as a signed 64-bit number (exact within ±2^53). */
  getSigned(i: number): number {
    const hi = this.w[2 * i + 1]! | 0;
    return hi * 0x1_0000_0000 + this.w[2 * i]!;
  }
  /** Low 32 bits of register i, signed. */
  getInt(i: number): number {
    return this.w[2 * i]! | 0;
  }
  getU32(i: number): number {
    return this.w[2 * i]!;
  }
  /** Sets register i from a number in [-2^53, 2^53]; negatives are two's complement. */
  set(i: number, v: number): void {
    if (v >= 0 && v < 0x1_0000_0000) {
      this.w[2 * i] = v;
      this.w[2 * i + 1] = 0;
    } else {
      this.big[i] = BigInt.asUintN(64, BigInt(v));
    }
  }
  copyFrom(o: Regs): void {
    this.buf.set(o.buf);
  }
  clone(): Regs {
    const r = new Regs();
    r.copyFrom(this);
    return r;
  }
}
