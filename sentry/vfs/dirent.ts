// Encoding linux_dirent64 records (layout in src/abi/layout.ts).
import { Dirent64, DIRENT64_NAME_OFFSET, dirent64RecLen } from '../../src/abi/layout';

const enc = new TextEncoder();

export function direntSize(name: string): number {
  return dirent64RecLen(Buffer.byteLength(name));
}

export function encodeDirent(ino: bigint, off: number, type: number, name: string): Uint8Array {
  const nameBytes = enc.encode(name);
  const size = dirent64RecLen(nameBytes.length);
  const out = new Uint8Array(size);
  Dirent64.encodeInto(out, 0, { d_ino: BigInt.asUintN(64, ino), d_off: off, d_reclen: size, d_type: type });
  out.set(nameBytes, DIRENT64_NAME_OFFSET);
  return out;
}
