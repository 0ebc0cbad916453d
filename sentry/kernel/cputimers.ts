// Timers on a process's CPU clock: ITIMER_VIRTUAL (user time, SIGVTALRM),
// ITIMER_PROF (user and system time, SIGPROF) and RLIMIT_CPU (SIGXCPU at the
// soft limit and every second past it, SIGKILL at the hard limit).
//
// CPU time comes from the host's accounting of the stub threads (cputime.ts),
// which the Sentry can only sample. A process cannot use CPU faster than the
// host has CPUs, so the next sample is due no sooner than the CPU time left
// to the nearest deadline divided by the number of CPUs, in wall time: a
// wall-clock kernel timer samples then, fires what is due, and schedules
// the next sample. Nothing is sampled while no CPU timer is armed.
import { availableParallelism } from 'node:os';
import type { Kernel } from './kernel';
import type { Process } from './process';
import { processCpu } from './cputime';
import { RLIMIT_CPU, SIGKILL, SIGPROF, SIGVTALRM, SIGXCPU, SI_KERNEL } from '../../src/abi/linux';

const NS = 1_000_000_000n;
/** Host CPU-time accounting advances in clock ticks: no point in sampling more often. */
const MIN_SAMPLE_NS = 10_000_000n;
const CPUS = BigInt(Math.max(1, availableParallelism()));
const RLIM_INFINITY = Number.MAX_SAFE_INTEGER;

export type CpuTimerKind = 'virtual' | 'prof';

interface Setting {
  /** The CPU time at which it expires (null: disarmed), and its period. */
  deadline: bigint | null;
  interval: bigint;
}

export class CpuTimers {
  private readonly timers: Record<CpuTimerKind, Setting> = {
    virtual: { deadline: null, interval: 0n },
    prof: { deadline: null, interval: 0n },
  };
  /** The CPU time at which the next SIGXCPU is due under RLIMIT_CPU's soft limit. */
  private xcpuAt: bigint | null = null;
  private cancel: (() => void) | null = null;

  constructor(private readonly kernel: Kernel, private readonly proc: Process) {}

  private now(kind: CpuTimerKind): bigint {
    const c = processCpu(this.proc);
    return kind === 'virtual' ? c.userNs : c.userNs + c.sysNs;
  }

  /** setitimer: expires after valueNs of CPU time (0 disarms) and every intervalNs after; returns the old setting. */
  set(kind: CpuTimerKind, valueNs: bigint, intervalNs: bigint): { value: bigint; interval: bigint } {
    const old = this.get(kind);
    this.timers[kind] = { deadline: valueNs > 0n ? this.now(kind) + valueNs : null, interval: intervalNs };
    this.schedule();
    return old;
  }

  /** getitimer: CPU time left (0 when disarmed) and the period. */
  get(kind: CpuTimerKind): { value: bigint; interval: bigint } {
    const s = this.timers[kind];
    if (s.deadline === null) return { value: 0n, interval: s.interval };
    const left = s.deadline - this.now(kind);
    return { value: left > 0n ? left : 1n, interval: s.interval };
  }

  /** RLIMIT_CPU was set (or inherited): start or stop watching it. */
  limitChanged(): void {
    const soft = this.proc.rlimits[RLIMIT_CPU]![0];
    this.xcpuAt = soft === RLIM_INFINITY ? null : BigInt(soft) * NS;
    this.schedule();
  }

  disarm(): void {
    this.timers.virtual.deadline = this.timers.prof.deadline = null;
    this.xcpuAt = null;
    this.cancel?.();
    this.cancel = null;
  }

  /** Fires whatever is due and samples again when the nearest deadline could next be due. */
  private check(): void {
    this.cancel = null;
    if (this.proc.zombie) return;
    const c = processCpu(this.proc);
    const used = { virtual: c.userNs, prof: c.userNs + c.sysNs };
    const hard = this.proc.rlimits[RLIMIT_CPU]![1];
    if (hard !== RLIM_INFINITY && used.prof >= BigInt(hard) * NS) {
      this.kernel.signals.sendToProcess(this.proc, SIGKILL, { signo: SIGKILL, code: SI_KERNEL, forced: true });
      return;
    }
    if (this.xcpuAt !== null && used.prof >= this.xcpuAt) {
      this.kernel.signals.sendToProcess(this.proc, SIGXCPU, { signo: SIGXCPU, code: SI_KERNEL });
      // Like Linux: the soft limit moves up a second, and so does the next SIGXCPU.
      const lim = this.proc.rlimits[RLIMIT_CPU]!;
      if (lim[0] < lim[1]) lim[0]++;
      this.xcpuAt += NS;
    }
    for (const [kind, sig] of [['virtual', SIGVTALRM], ['prof', SIGPROF]] as const) {
      const s = this.timers[kind];
      if (s.deadline === null || used[kind] < s.deadline) continue;
      this.kernel.signals.sendToProcess(this.proc, sig, { signo: sig, code: SI_KERNEL });
      s.deadline = s.interval > 0n ? (used[kind] - s.deadline >= s.interval ? used[kind] : s.deadline) + s.interval : null;
    }
    this.schedule(used);
  }

  private schedule(used?: Record<CpuTimerKind, bigint>): void {
    this.cancel?.();
    this.cancel = null;
    let soonest: bigint | null = null;
    const consider = (left: bigint) => {
      if (soonest === null || left < soonest) soonest = left;
    };
    const cpu = used ?? { virtual: this.now('virtual'), prof: this.now('prof') };
    for (const kind of ['virtual', 'prof'] as const) {
      const d = this.timers[kind].deadline;
      if (d !== null) consider(d - cpu[kind]);
    }
    if (this.xcpuAt !== null) consider(this.xcpuAt - cpu.prof);
    const hard = this.proc.rlimits[RLIMIT_CPU]![1];
    if (hard !== RLIM_INFINITY) consider(BigInt(hard) * NS - cpu.prof);
    if (soonest === null) return;
    let wait: bigint = soonest / CPUS;
    if (wait < MIN_SAMPLE_NS) wait = MIN_SAMPLE_NS;
    this.cancel = this.kernel.timers.add(this.kernel.monotonicNs() + wait, () => this.check());
  }
}

/** The CPU timers of p, created on first use. */
export function cpuTimers(kernel: Kernel, p: Process): CpuTimers {
  return (p.cpuTimers ??= new CpuTimers(kernel, p));
}

/** Starts watching p's RLIMIT_CPU, if it has one (a new process inherits its parent's limit). */
export function watchCpuLimit(kernel: Kernel, p: Process): void {
  const [soft, hard] = p.rlimits[RLIMIT_CPU]!;
  if (soft !== RLIM_INFINITY || hard !== RLIM_INFINITY || p.cpuTimers) cpuTimers(kernel, p).limitChanged();
}
