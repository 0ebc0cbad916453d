// CPU time the workload used: the host's own accounting of each task's stub
// thread (the workload's instructions run there; the Sentry's work on its
// behalf is not counted, as gVisor's ptrace platform does not either).
import { readFileSync } from 'node:fs';
import type { Task } from './task';
import type { Process } from './process';

export interface CpuTime {
  userNs: bigint;
  sysNs: bigint;
}

const TICK_NS = 10_000_000n;
export const zeroCpu = (): CpuTime => ({ userNs: 0n, sysNs: 0n });

/** A stub thread's user and system time from /proc/<tid>/stat (clock ticks), zero if it is gone. */
export function taskCpu(t: Task): CpuTime {
  try {
    const stat = readFileSync(`/proc/${t.stub.tid}/stat`, 'latin1');
    // Fields after the parenthesised command name: state is field 3; utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { userNs: BigInt(f[11]!) * TICK_NS, sysNs: BigInt(f[12]!) * TICK_NS };
  } catch {
    return zeroCpu();
  }
}

export function addCpu(a: CpuTime, b: CpuTime): CpuTime {
  return { userNs: a.userNs + b.userNs, sysNs: a.sysNs + b.sysNs };
}

/** A process's CPU time: its live threads' and its exited threads'. */
export function processCpu(p: Process): CpuTime {
  let sum = p.cpu;
  for (const t of p.tasks) sum = addCpu(sum, taskCpu(t));
  return sum;
}
