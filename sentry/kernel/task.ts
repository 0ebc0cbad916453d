// A task is one workload thread as the Sentry sees it. This file is the
// contract syscall handlers code against; the kernel core fills it in.
import type { UserMemory } from '../mm/usermem';
import type { WaitQueue } from './waiter';
import type { FDTable } from '../vfs/fdtable';
import type { FSContext } from '../vfs/fscontext';
import type { Kernel } from './kernel';

export interface Credentials {
  uid: number; euid: number; suid: number; fsuid: number;
  gid: number; egid: number; sgid: number; fsgid: number;
  groups: number[];
}

/** Outcome of Task.waitFor. */
export const WAIT_READY = 0;

export interface Task {
  readonly tid: number;
  readonly kernel: Kernel;
  /** Thread-group id (the pid userspace sees). */
  readonly pid: number;
  readonly mm: UserMemory;
  /** The fd table; shared between tasks created with CLONE_FILES. */
  fds: FDTable;
  /** root, cwd and umask; shared between tasks created with CLONE_FS. */
  fs: FSContext;
  creds: Credentials;
  /**
   * Blocks until ready() is true, re-checking each time one of queues is
   * notified. Resolves WAIT_READY, -EINTR when a signal must interrupt the
   * call, or -ETIMEDOUT at deadline (CLOCK_MONOTONIC, in ns).
   */
  waitFor(ready: () => boolean, queues: WaitQueue[], deadlineNs?: bigint): Promise<number>;
  /** Reads a path argument: the string, or -EFAULT / -ENAMETOOLONG / -ENOENT (empty). */
  readPath(addr: number): string | number;
  /** Queues a signal for this task's thread group (e.g. SIGPIPE from a pipe write). */
  sendSignal(signo: number): void;
}
