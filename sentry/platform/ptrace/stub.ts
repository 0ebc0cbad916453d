// The stub: the host process that lends its address space and registers to a
// workload process. It is a tiny static ELF that the Sentry writes itself
// (no compiler, nothing on disk): one page of code at STUB_BASE holding a spin
// loop (where a fresh stub waits to be seized) and the trampoline
// `syscall; int3`, the only place from which the Sentry has the stub make host
// syscalls. Everything else in the stub's address space belongs to the
// workload and is mapped from the Sentry's memory file.
import { tinyElf } from '../../../src/elf/tiny';
import { USER_END } from '../platform';

/** Where the stub's code page lives, just above the workload's address space. */
export const STUB_BASE = USER_END;
export const STUB_SIZE = 0x1000;
const ENTRY_OFFSET = 0x80;
const TRAMPOLINE_OFFSET = 0x100;
/** Address of `syscall; int3`. */
export const TRAMPOLINE = STUB_BASE + TRAMPOLINE_OFFSET;
/** rip after the trampoline's int3 has trapped. */
export const TRAMPOLINE_END = TRAMPOLINE + 3;
const SIGACTION_IGN_OFFSET = 0x180;
const BATCH_OFFSET = 0x200;
/** Address of the batch routine: runs rsi syscalls described at rdi, stopping at the first error. */
export const BATCH = STUB_BASE + BATCH_OFFSET;
/** rip just after the batch routine's syscall instruction. */
export const BATCH_SYSCALL_END = BATCH + 0x2f;
/** rip after the batch routine's int3 has trapped. */
export const BATCH_END = BATCH + 0x41;
/** Read-only page(s) from which the batch routine takes its syscalls: {nr, a0..a5, unused} per 64 bytes. */
export const BATCH_PAGE = STUB_BASE + 0x1000;
export const BATCH_PAGE_SIZE = 0x4000;
export const BATCH_ENTRY_SIZE = 64;
/** The stub's part of the address space: code page and batch pages. */
export const STUB_SPAN = 0x1000 + BATCH_PAGE_SIZE;
/** A kernel struct sigaction {SIG_IGN, 0, 0, 0} in the stub's image, for rt_sigaction. */
export const STUB_SIGACTION_IGN = STUB_BASE + SIGACTION_IGN_OFFSET;

/** Builds the stub's ELF image. */
export function stubElf(): Uint8Array {
  const img = new Uint8Array(0x280);
  const dv = new DataView(img.buffer);
  img.set([0xeb, 0xfe], ENTRY_OFFSET); // 1: jmp 1b
  img.set([0x0f, 0x05, 0xcc], TRAMPOLINE_OFFSET); // syscall; int3
  dv.setBigUint64(SIGACTION_IGN_OFFSET, 1n, true);
  // The batch routine: r12 walks the entries, r13 counts down; the kernel preserves both.
  img.set([
    0x49, 0x89, 0xfc, // mov r12, rdi
    0x49, 0x89, 0xf5, // mov r13, rsi
    0x4d, 0x85, 0xed, // loop: test r13, r13
    0x74, 0x35, // jz done
    0x49, 0x8b, 0x04, 0x24, // mov rax, [r12]
    0x49, 0x8b, 0x7c, 0x24, 0x08, // mov rdi, [r12+8]
    0x49, 0x8b, 0x74, 0x24, 0x10, // mov rsi, [r12+16]
    0x49, 0x8b, 0x54, 0x24, 0x18, // mov rdx, [r12+24]
    0x4d, 0x8b, 0x54, 0x24, 0x20, // mov r10, [r12+32]
    0x4d, 0x8b, 0x44, 0x24, 0x28, // mov r8, [r12+40]
    0x4d, 0x8b, 0x4c, 0x24, 0x30, // mov r9, [r12+48]
    0x0f, 0x05, // syscall
    0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, // cmp rax, -4095
    0x73, 0x09, // jae done (an error)
    0x49, 0x83, 0xc4, 0x40, // add r12, 64
    0x49, 0xff, 0xcd, // dec r13
    0xeb, 0xc6, // jmp loop
    0xcc, // done: int3
  ], BATCH_OFFSET);
  // The code region starts after the ELF headers; everything before it is headers.
  return tinyElf(STUB_BASE, img.subarray(ENTRY_OFFSET), ENTRY_OFFSET, ENTRY_OFFSET);
}
