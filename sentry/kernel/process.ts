// A process (thread group) as userspace sees it: a pid in the sandbox's own
// pid namespace, a parent, children to wait for, signal dispositions, and an
// exit status once it is a zombie.
import { WaitQueue } from './waiter';
import type { Task } from './task';
import type { FileDescription } from '../vfs/file';
import type { IntervalTimer } from './itimer';
import type { CpuTimers } from './cputimers';
import { zeroCpu, type CpuTime } from './cputime';
import { NSIG } from '../../src/abi/linux';

export interface SigAction {
  /** SIG_DFL (0), SIG_IGN (1) or a handler address. */
  handler: number;
  flags: number;
  restorer: number;
  mask: bigint;
}

export const SIG_DFL = 0;
export const SIG_IGN = 1;

export const defaultAction = (): SigAction => ({ handler: SIG_DFL, flags: 0, restorer: 0, mask: 0n });

export class Process {
  readonly tasks = new Set<Task>();
  readonly children = new Set<Process>();
  /** Signal dispositions, by signal number (index 0 unused). */
  actions: SigAction[] = Array.from({ length: NSIG + 1 }, defaultAction);
  /** Signals sent to the process as a whole, as a bitmask (bit n-1 for signal n). */
  pending = 0n;
  /** wait4 status word once the process has exited. */
  exitStatus: number | null = null;
  /** The signal that stopped the process (job control), 0 while it runs. */
  stopSignal = 0;
  /** A stop or continue not yet reported by wait4/waitid (WUNTRACED, WCONTINUED). */
  jobReport: 'stopped' | 'continued' | null = null;
  /** Threads held stopped until the process is continued. */
  readonly parked = new Set<Task>();
  /** Notified when a child changes state, for wait4/waitid. */
  readonly childEvents = new WaitQueue();
  /** Notified when the process exits or execs, for a parent blocked in vfork. */
  readonly vforkDone = new WaitQueue();
  pgid: number;
  sid: number;
  /** Signal the parent gets when this process exits (clone's CSIGNAL bits). */
  exitSignal = 17;
  /** Name for /proc/[pid]/comm and PR_GET_NAME: the basename of the executable. */
  comm = '';
  /** CPU time of threads that have exited, and of reaped children (getrusage, times, wait4). */
  cpu: CpuTime = zeroCpu();
  childCpu: CpuTime = zeroCpu();
  /** PR_SET_DUMPABLE: 1 normally; 0 after a change of effective ids, until the next execve. */
  dumpable = 1;
  /** PR_SET_CHILD_SUBREAPER: orphaned descendants are reparented here rather than to init. */
  subreaper = false;
  /** setitimer(ITIMER_REAL) and alarm; created on first use. */
  itimerReal: IntervalTimer | null = null;
  /** ITIMER_VIRTUAL, ITIMER_PROF and RLIMIT_CPU; created on first use. */
  cpuTimers: CpuTimers | null = null;
  /** timer_create's timers, by id. */
  readonly posixTimers = new Map<number, IntervalTimer>();
  /** The executable (/proc/[pid]/exe) and the argv and envp it was started with. */
  exe: FileDescription | null = null;
  argv: string[] = [];
  envp: string[] = [];
  /** RLIMIT_* soft and hard values, by resource number. */
  rlimits: [number, number][];
  /** Host CPU time already used by tasks that are gone, in ns. */
  startTimeNs: bigint;

  constructor(readonly pid: number, public parent: Process | null, rlimits: [number, number][], now: bigint) {
    this.pgid = parent ? parent.pgid : pid;
    this.sid = parent ? parent.sid : pid;
    this.rlimits = rlimits.map(([s, h]) => [s, h]);
    this.startTimeNs = now;
  }

  get zombie(): boolean {
    return this.exitStatus !== null;
  }

  /** Stops every timer of the process (it exited or exec'd a new image keeps none). */
  disarmTimers(): void {
    this.itimerReal?.disarm();
    this.cpuTimers?.disarm();
    for (const timer of this.posixTimers.values()) timer.disarm();
    this.posixTimers.clear();
  }

  /** Dispositions for a child created by fork: copied. */
  forkActions(): SigAction[] {
    return this.actions.map((a) => ({ ...a }));
  }

  /** execve resets handled signals to their default action; ignored ones stay ignored. */
  resetActionsForExec(): void {
    for (let i = 1; i < this.actions.length; i++) {
      const a = this.actions[i]!;
      if (a.handler !== SIG_IGN) this.actions[i] = defaultAction();
      else a.flags = 0;
    }
  }
}
