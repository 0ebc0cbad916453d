// Tiny static ELF executables that the project writes itself, from machine
// code it assembles in TypeScript: the ptrace stub and the Gofer's launcher.
// One PT_LOAD segment, read and execute, holding the headers and the code.

/** An x86-64 ET_EXEC image of `code` placed at `base + codeOffset`, entered at `base + entryOffset`. */
export function tinyElf(base: number, code: Uint8Array, codeOffset: number, entryOffset: number): Uint8Array {
  const img = new Uint8Array(codeOffset + code.length);
  const dv = new DataView(img.buffer);
  // Elf64_Ehdr: ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ET_EXEC, EM_X86_64.
  img.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  dv.setUint16(16, 2, true);
  dv.setUint16(18, 0x3e, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, BigInt(base + entryOffset), true);
  dv.setBigUint64(32, 64n, true); // e_phoff
  dv.setUint16(52, 64, true); // e_ehsize
  dv.setUint16(54, 56, true); // e_phentsize
  dv.setUint16(56, 1, true); // e_phnum
  // Elf64_Phdr: one PT_LOAD, R+X, the whole file at base.
  dv.setUint32(64, 1, true);
  dv.setUint32(68, 5, true);
  dv.setBigUint64(72, 0n, true);
  dv.setBigUint64(80, BigInt(base), true);
  dv.setBigUint64(88, BigInt(base), true);
  dv.setBigUint64(96, BigInt(img.length), true);
  dv.setBigUint64(104, BigInt(img.length), true);
  dv.setBigUint64(112, 0x1000n, true);
  img.set(code, codeOffset);
  return img;
}

/** Headers end here; code may start at or after this offset. */
export const TINY_ELF_HEADERS = 120;

/**
 * A minimal assembler buffer: raw bytes plus 32-bit relative references to
 * labels (jumps, calls, rip-relative operands), resolved by finish().
 */
export class Code {
  private bytes: number[] = [];
  private labels = new Map<string, number>();
  private fixups: { at: number; label: string }[] = [];

  emit(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  /** Little-endian 32- or 64-bit immediate. */
  imm32(v: number): this {
    return this.emit(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  imm64(v: bigint): this {
    for (let i = 0n; i < 8n; i++) this.emit(Number((v >> (8n * i)) & 0xffn));
    return this;
  }

  label(name: string): this {
    this.labels.set(name, this.bytes.length);
    return this;
  }

  /** A label at a position relative to the start of the code (possibly outside it, e.g. a data page before it). */
  labelAt(name: string, pos: number): this {
    this.labels.set(name, pos);
    return this;
  }

  /** Where a label lies, relative to the start of the code (after it is defined). */
  offsetOf(name: string): number {
    const at = this.labels.get(name);
    if (at === undefined) throw new Error(`undefined label ${name}`);
    return at;
  }

  /** A rel32 operand to label, measured from the end of the operand (which ends the instruction). */
  rel32(label: string): this {
    this.fixups.push({ at: this.bytes.length, label });
    return this.imm32(0);
  }

  finish(): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    const dv = new DataView(out.buffer);
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`undefined label ${f.label}`);
      dv.setInt32(f.at, target - (f.at + 4), true);
    }
    return out;
  }
}
