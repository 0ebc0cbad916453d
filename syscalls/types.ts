// The shape of one row of the syscall table and of a handler's arguments.
// A handler decodes its arguments at the top, then returns the result or a
// negated errno (or a Promise of one when the call may block). It throws only
// for bugs: the dispatcher logs a thrown exception as a Sentry bug and kills
// the offending task with SIGSYS rather than take the Sentry down.
import type { Task } from '../sentry/kernel/task';

/** How --strace prints one argument. */
export type ArgFormat =
  | 'int' | 'uint' | 'hex' | 'fd' | 'ptr' | 'str' | 'size' | 'off' | 'mode' | 'oflags' | 'signal'
  | 'buf' | 'path' | 'iov' | 'clockid' | 'pid';

export type SupportLevel = 'full' | 'partial' | 'none';

/** A syscall result: a non-negative value, or -errno. */
export type SysResult = number | Promise<number>;

export interface SyscallArgs {
  /** Argument i (0-5) as a signed 32-bit int (int, fd, pid). */
  int(i: number): number;
  /** Argument i as an unsigned 32-bit int (flags, mode). */
  uint(i: number): number;
  /** Argument i as an unsigned 64-bit value, as a number (pointers, sizes); loses precision above 2^53. */
  u64(i: number): number;
  /** Argument i as a signed 64-bit value, as a number (offsets); loses precision beyond ±2^53. */
  i64(i: number): number;
  /** Argument i exactly. */
  big(i: number): bigint;
}

export type Handler = (t: Task, a: SyscallArgs) => SysResult;

export interface SyscallRow {
  nr: number;
  name: string;
  handler: Handler;
  args: ArgFormat[];
  support: SupportLevel;
  /** What is partial or missing; shown on the compatibility page. */
  note?: string;
}
