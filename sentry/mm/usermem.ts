// What a syscall handler may do with the workload's memory. Every access is
// checked against the task's mappings: an address that is not mapped with the
// needed permission yields null/false, which the handler returns as EFAULT.
export interface UserMemory {
  /** Copies len bytes in from the workload; null if any byte is unreadable. */
  read(addr: number, len: number): Uint8Array | null;
  /** Copies data out to the workload; false if any byte is unwritable. */
  write(addr: number, data: Uint8Array): boolean;
  /** Reads a NUL-terminated string of at most max bytes (without the NUL): the string,
   *  null on a fault, or undefined when no NUL was found within max bytes. */
  readCString(addr: number, max: number): string | null | undefined;
  readU32(addr: number): number | null;
  readU64(addr: number): bigint | null;
  writeU32(addr: number, v: number): boolean;
  writeU64(addr: number, v: bigint): boolean;
}
