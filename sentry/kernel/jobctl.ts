// Job control: group stops and continues. A stop signal whose action is the
// default (SIGSTOP always; SIGTSTP, SIGTTIN and SIGTTOU unless the process
// group is orphaned) stops every thread of the process: the thread that took
// it, threads running in the stub (interrupted), and threads blocked in a
// syscall once it completes. A stopped thread is parked: it stays stopped in
// its stub, neither running nor blocked, until SIGCONT (or SIGKILL) arrives.
// The parent learns of both changes through SIGCHLD (CLD_STOPPED,
// CLD_CONTINUED; not with SA_NOCLDSTOP) and wait4/waitid (WUNTRACED,
// WCONTINUED), each reported once.
import type { Kernel } from './kernel';
import type { Task } from './task';
import type { Process } from './process';
import { SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SA_NOCLDSTOP, CLD_STOPPED, CLD_CONTINUED } from '../../src/abi/linux';

export const STOP_SIGNALS: ReadonlySet<number> = new Set([SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]);

/**
 * Is p's process group orphaned: does no member have a parent in another
 * group of the same session? Terminal stop signals to such a group are
 * discarded, since nobody would be left to continue it.
 */
export function orphanedGroup(kernel: Kernel, p: Process): boolean {
  for (const q of kernel.processes.values()) {
    if (q.pgid !== p.pgid || q.zombie) continue;
    const parent = q.parent;
    if (parent && parent.pgid !== q.pgid && parent.sid === q.sid) return false;
  }
  return true;
}

/** Stops every thread of p (sig is the stop signal that did it); t, the thread that took the signal, parks now. */
export function groupStop(kernel: Kernel, t: Task, sig: number): void {
  const p = t.proc;
  if (p.stopSignal === 0) {
    p.stopSignal = sig;
    p.jobReport = 'stopped';
    for (const o of p.tasks) if (o !== t) kernel.interruptRunning(o);
    notifyParent(kernel, p, CLD_STOPPED, sig);
  }
  p.parked.add(t);
}

/** SIGCONT was sent to p: a stopped p runs again, its parked threads first taking pending signals. */
export function groupContinue(kernel: Kernel, p: Process): void {
  if (p.stopSignal === 0) return;
  p.stopSignal = 0;
  p.jobReport = 'continued';
  const parked = [...p.parked];
  p.parked.clear();
  notifyParent(kernel, p, CLD_CONTINUED, SIGCONT);
  // The threads run once the sender's syscall is done, as they would on
  // Linux: a signal that then ends the process reaches the parent after
  // the SIGCHLD for the continue has been taken.
  kernel.noteWakeup();
  queueMicrotask(() => {
    for (const t of parked) kernel.resume(t);
  });
}

function notifyParent(kernel: Kernel, p: Process, code: number, status: number): void {
  const parent = p.parent;
  if (!parent || parent.zombie) return;
  if (!(parent.actions[SIGCHLD]!.flags & SA_NOCLDSTOP)) {
    kernel.signals.sendToProcess(parent, SIGCHLD, { signo: SIGCHLD, code, pid: p.pid, uid: 0, status });
  }
  parent.childEvents.notify();
}
