// The stubs' own seccomp filter: a host syscall is allowed only when it is
// issued from one of the two syscall instructions of the stub's code page
// (the trampoline and the batch routine), which only the Sentry makes a stub
// run. Anything else kills the stub's whole process.
//
// This does not interfere with interception: on x86-64 the ptrace
// syscall-entry stop comes before seccomp, and a syscall stopped under
// PTRACE_SYSEMU skips seccomp altogether (Linux 4.8, "x86/ptrace: run seccomp
// after ptrace"). So the filter judges only syscalls that run while a stub is
// resumed with PTRACE_CONT — the Sentry's injected ones — and, should tracing
// ever be lost, every syscall the workload makes: those come from workload
// code, never from the stub page, and kill it.
import {
  AUDIT_ARCH_X86_64, Bpf, DATA_ARCH, DATA_IP_HI, DATA_IP_LO, SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS,
} from '../../../src/seccomp';
import { BATCH_SYSCALL_END, TRAMPOLINE } from './stub';

/** rip as seccomp sees it: just past the syscall instruction. */
export const STUB_SYSCALL_SITES = [TRAMPOLINE + 2, BATCH_SYSCALL_END];

export function stubFilter(): Uint8Array {
  const hi = Math.floor(TRAMPOLINE / 2 ** 32);
  if (STUB_SYSCALL_SITES.some((ip) => Math.floor(ip / 2 ** 32) !== hi)) throw new Error('stub syscall sites straddle 4 GiB');
  const p = new Bpf()
    .load(DATA_ARCH).jeq(AUDIT_ARCH_X86_64, null, 'kill')
    .load(DATA_IP_HI).jeq(hi, null, 'kill')
    .load(DATA_IP_LO);
  for (const ip of STUB_SYSCALL_SITES) p.jeq(ip >>> 0, 'allow');
  return p.label('kill').ret(SECCOMP_RET_KILL_PROCESS).label('allow').ret(SECCOMP_RET_ALLOW).assemble();
}
