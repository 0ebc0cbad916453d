// What the kernel needs from a platform, the thing that actually runs
// workload instructions: execution contexts (one per workload thread) that
// run until their next syscall, fault or interruption; address spaces made of
// ranges of the memory file; and one wait for the next stop of any context
// that also ends at the kernel's next timer deadline.
//
// A context names its address space: contexts made by newThread and
// newSharingMemory share their parent's, newProcess makes a fresh one, and
// mapping changes are made through any context of the space.
import type { Regs } from './regs';

/** The workload's address space ends here on every platform (the ptrace stub lives above). */
export const USER_END = 0x7fff_0000_0000;

/**
 * How a context stopped: a syscall (registers hold it), a fault or a signal
 * from outside ('signal', value the signal; getSiginfo describes it), an
 * interruption the kernel asked for or the platform's time slice ended, or
 * the context's death ('exited' with a code, 'killed' with a signal).
 */
export type StopKind = 'syscall' | 'signal' | 'interrupted' | 'exited' | 'killed';

export interface Stop {
  /** The id of the context that stopped. */
  id: number;
  kind: StopKind;
  /** Signal for 'signal' and 'killed'; exit code for 'exited'. */
  value: number;
  /** Why the platform killed the context, when it did. */
  detail?: string;
}

export interface CpuTimes {
  userNs: bigint;
  sysNs: bigint;
}

/** One workload thread's execution context. Its registers are valid while it is stopped. */
export interface Context {
  /** Unique among the platform's live contexts; stops carry it. */
  readonly id: number;
  readonly regs: Regs;
  /** Reads the registers of a context that just stopped into regs. */
  loadRegs(): void;
  /** Marks regs as changed by the Sentry, to be used when the context next runs. */
  touchRegs(): void;
  /** Runs the context until its next stop. */
  resume(): void;
  /** Sets the syscall's result (rax) and runs the context. */
  resumeWithResult(value: number): void;
  /** The x87/SSE state in FXSAVE format (512 bytes). */
  getFpregs(): Uint8Array;
  /** Sets the x87/SSE state; false when it is invalid (reserved MXCSR bits set), as Linux refuses it. */
  setFpregs(fp: Uint8Array): boolean;
  /** The siginfo (128 bytes) of the current 'signal' stop. */
  getSiginfo(buf: Uint8Array): void;
  /** Stops the context if it is running; the stop arrives as 'interrupted'. */
  interrupt(): void;
  /** Ends the context and every other context of its process. */
  kill(): void;
  /** Ends this context alone (exit of one thread). */
  exitThread(): void;
  /** CPU time the workload used in this context. */
  cpuTime(): CpuTimes;
}

/** Where to send what, to wake the Sentry's loop from another thread. */
export interface Doorbell {
  tid: number;
  signal: number;
}

export interface Platform {
  /** 'ptrace' or 'kvm'. */
  readonly name: string;
  /** A context in a fresh, empty address space. */
  newProcess(): Context;
  /** A context in parent's address space but another process (CLONE_VM without CLONE_THREAD). */
  newSharingMemory(parent: Context): Context;
  /** A context for a new thread of parent's process. */
  newThread(parent: Context): Context;
  /**
   * Maps [addr, addr+len) of ctx's address space to the memory file at off
   * with PROT_* prot, replacing what was there. Changes may be queued until
   * flush(ctx), which the kernel calls before ctx's process next runs.
   */
  queueMap(ctx: Context, addr: number, len: number, prot: number, off: number): void;
  queueUnmap(ctx: Context, addr: number, len: number): void;
  queueProtect(ctx: Context, addr: number, len: number, prot: number): void;
  /** Forgets changes queued for ctx (its process is being torn down). */
  discard(ctx: Context): void;
  /** Applies ctx's queued changes; 0, or the first failure's negated errno. */
  flush(ctx: Context): number;
  /**
   * Waits for the next stop of any resumed context; null when deadline (a
   * CLOCK_MONOTONIC time in ns) came first. With no deadline and nothing
   * running, waits for something from outside.
   */
  wait(deadline: bigint | null): Stop | null;
  /** Keeps a helper process the Sentry waits on synchronously (the Gofer) near the Sentry. */
  pin(pid: number): void;
  /**
   * A host thread that a thread outside the Sentry's loop signals (tgkill
   * with the signal given) to end the loop's current or next wait() early.
   */
  doorbell(): Doorbell;
  /** Acquires every host resource the platform will need, before the Sentry's seccomp filter forbids it. */
  prepare(): void;
}

/** A context died under the Sentry (killed from outside, out of memory, or its VM failed). */
export class ContextDied extends Error {
  constructor(readonly id: number, why: string) {
    super(`context ${id} died: ${why}`);
  }
}
