// A task is one workload thread as the Sentry sees it: the stub thread that
// (platform context) runs it, its process, memory, files and credentials, and its signal state.
// This is the surface syscall handlers code against.
import { WaitQueue } from './waiter';
import type { FDTable } from '../vfs/fdtable';
import type { FSContext } from '../vfs/fscontext';
import type { Kernel } from './kernel';
import type { Process } from './process';
import type { Context } from '../platform/platform';
import type { AddressSpace } from '../mm/address-space';
import type { CapSets } from './caps';
import { EFAULT, ENAMETOOLONG, ENOENT, EINTR, ETIMEDOUT } from '../../src/abi/errno';

export interface Credentials {
  uid: number; euid: number; suid: number; fsuid: number;
  gid: number; egid: number; sgid: number; fsgid: number;
  groups: number[];
  /** Capability sets; created from the ids on first use (sentry/kernel/caps.ts). */
  caps?: CapSets;
}

/** A copy for a new task: clone gives the child its own credentials. */
export function copyCredentials(c: Credentials): Credentials {
  return { ...c, groups: [...c.groups], caps: c.caps && { ...c.caps } };
}

/** Outcome of Task.waitFor when what it waited for is ready. */
export const WAIT_READY = 0;
const PATH_MAX = 4096;

export class Task {
  /** Signals sent to this thread alone (bit n-1 for signal n). */
  pending = 0n;
  sigmask = 0n;
  /** Saved mask to restore after a signal handler started by rt_sigsuspend. */
  savedMask: bigint | null = null;
  /** set_tid_address: cleared and futex-woken when the task exits. */
  clearChildTid = 0;
  /** set_robust_list: the head of the robust futex list walked when the task exits (0: none). */
  robustList = 0;
  /** Wakes the task out of waitFor when a signal arrives. */
  private interruptWait: (() => void) | null = null;
  /** PR_SET_PDEATHSIG: sent to this task when its parent process exits (0: none). */
  parentDeathSignal = 0;
  /** PR_SET_NO_NEW_PRIVS; inherited by children and kept across execve. */
  noNewPrivs = false;
  /**
   * Notified whenever a signal is sent to this task or its process, blocked
   * or not, and when the task exits: rt_sigtimedwait and signalfd wait on it
   * for signals that, being blocked, do not interrupt the task.
   */
  readonly signalQueue = new WaitQueue();
  /** The parent blocked in vfork until this task execs or exits. */
  vforkParent: Task | null = null;
  exited = false;

  constructor(
    public tid: number,
    readonly kernel: Kernel,
    public proc: Process,
    public stub: Context,
    public mm: AddressSpace,
    public fds: FDTable,
    public fs: FSContext,
    public creds: Credentials,
  ) {}

  /** Thread-group id (the pid userspace sees). */
  get pid(): number {
    return this.proc.pid;
  }

  /**
   * Blocks until ready() is true, re-checking each time one of queues is
   * notified. Resolves WAIT_READY, -EINTR when a signal must interrupt the
   * call, or -ETIMEDOUT at deadline (CLOCK_MONOTONIC, in ns).
   */
  async waitFor(ready: () => boolean, queues: WaitQueue[], deadlineNs?: bigint): Promise<number> {
    for (;;) {
      if (ready()) return WAIT_READY;
      if (this.exited || this.kernel.signals.hasDeliverable(this)) return -EINTR;
      if (deadlineNs !== undefined && this.kernel.monotonicNs() >= deadlineNs) return -ETIMEDOUT;
      const cleanups: (() => void)[] = [];
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.kernel.noteWakeup();
          resolve();
        };
        for (const q of queues) cleanups.push(q.subscribe(wake));
        if (deadlineNs !== undefined) cleanups.push(this.kernel.timers.add(deadlineNs, wake));
        this.interruptWait = wake;
      });
      this.interruptWait = null;
      for (const c of cleanups) c();
    }
  }

  /** Wakes a blocked waitFor so it re-checks for signals. */
  interrupt(): void {
    this.interruptWait?.();
    this.signalQueue.notify();
    if (this.exited) this.kernel.signals.taskExited(this);
  }

  /** Reads a path argument: the string, or -EFAULT / -ENAMETOOLONG / -ENOENT (empty). */
  readPath(addr: number): string | number {
    const s = this.mm.readCString(addr, PATH_MAX);
    if (s === null) return -EFAULT;
    if (s === undefined) return -ENAMETOOLONG;
    if (s === '') return -ENOENT;
    return s;
  }

  /** Sends a signal to this thread (e.g. SIGPIPE from a pipe write). */
  sendSignal(signo: number): void {
    this.kernel.signals.sendToTask(this, signo);
  }
}
