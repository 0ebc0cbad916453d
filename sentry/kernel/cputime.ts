// CPU time the workload used, as the platform accounts each task's context
// (the host's accounting of a ptrace stub thread; time in the guest for KVM).
// The Sentry's work on its behalf is not counted, as gVisor's ptrace platform
// does not either.
import type { Task } from './task';
import type { Process } from './process';

export interface CpuTime {
  userNs: bigint;
  sysNs: bigint;
}

export const zeroCpu = (): CpuTime => ({ userNs: 0n, sysNs: 0n });

/** The user and system time of the task's platform context. */
export function taskCpu(t: Task): CpuTime {
  return t.stub.cpuTime();
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
