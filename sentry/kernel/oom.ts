// The Sentry's OOM killer. The memory file holds the sandbox's pages under a
// limit (sentry/mm/memfile.ts); when a commit would pass it, the kernel first
// drops page cache no mapping uses, then kills the process Linux's
// oom_badness would pick: the most committed memory, moved by
// /proc/[pid]/oom_score_adj in thousandths of the sandbox's memory (-1000:
// never). A fault the workload took is answered at a stop, where the victim
// can die at once and the fault be retried; a copy a syscall makes cannot
// wait for that, so its victim gets SIGKILL and the syscall ENOMEM.
import type { Kernel } from './kernel';
import type { Process } from './process';
import type { Task } from './task';
import { signaledStatus } from './kernel';
import { PAGE, OutOfMemory } from '../mm/memfile';
import { SIGKILL } from '../../src/abi/linux';

export const OOM_SCORE_ADJ_MIN = -1000;
export const OOM_SCORE_ADJ_MAX = 1000;

/** oom_score_adj by process (absent: 0). */
const scoreAdj = new WeakMap<Process, number>();

export function oomScoreAdj(p: Process): number {
  return scoreAdj.get(p) ?? 0;
}

export function setOomScoreAdj(p: Process, v: number): void {
  scoreAdj.set(p, v);
}

/** fork: the child starts with its parent's oom_score_adj, as on Linux. */
export function inheritOomScoreAdj(parent: Process, child: Process): void {
  const v = scoreAdj.get(parent);
  if (v !== undefined) scoreAdj.set(child, v);
}

/** Committed bytes of p's address space (its resident set as the accounting sees it). */
function rssBytes(p: Process): number {
  const t = p.tasks.values().next().value as Task | undefined;
  return t ? t.mm.committedBytes() : 0;
}

export class OomKiller {
  /** The task whose fault is being answered: victims may die at once. */
  private faulting: Task | null = null;
  /** Victims sent SIGKILL that have not died yet: no other is chosen meanwhile. */
  private readonly dying = new Set<Process>();
  /** Processes killed so far (runsc events reports them). */
  kills = 0;

  constructor(private readonly k: Kernel) {}

  /**
   * Linux's oom_badness in pages: committed pages plus oom_score_adj
   * thousandths of the sandbox's pages; null for a process that must not be
   * chosen (oom_score_adj -1000, or already dead).
   */
  badness(p: Process): number | null {
    const adj = oomScoreAdj(p);
    if (adj === OOM_SCORE_ADJ_MIN || p.zombie || p.tasks.size === 0) return null;
    return rssBytes(p) / PAGE + adj * Math.floor(this.totalPages() / 1000);
  }

  /** /proc/[pid]/oom_score: the badness as Linux shows it, (1000 + thousandths of the memory) * 2/3. */
  score(p: Process): number {
    const b = this.badness(p);
    return b === null ? 0 : Math.max(0, Math.trunc(((1000 + Math.trunc((b * 1000) / this.totalPages())) * 2) / 3));
  }

  private totalPages(): number {
    return Math.max(1, Math.floor(this.k.mf.limit / PAGE));
  }

  /** The process with the highest badness; ties go to the younger. */
  private choose(): Process | null {
    let best: Process | null = null;
    let bestPoints = -Infinity;
    for (const p of this.k.processes.values()) {
      const points = this.badness(p);
      if (points !== null && points >= bestPoints) {
        best = p;
        bestPoints = points;
      }
    }
    return best;
  }

  /**
   * Answers a fault of t's at an address the host has not mapped: populates
   * it, killing victims while memory is short. True when answered (t may
   * have been the victim); false when the fault is the workload's own (no
   * accessible mapping there).
   */
  fault(t: Task, addr: number): boolean {
    this.faulting = t;
    // Mapping changes reach the host through this (stopped) thread.
    t.mm.stub = t.stub;
    try {
      return t.mm.populate(addr);
    } catch (e) {
      if (!(e instanceof OutOfMemory)) throw e;
      // Nothing else could be killed: t's process was, or is now.
      if (!t.exited) this.k.exitProcess(t.proc, signaledStatus(SIGKILL));
      return true;
    } finally {
      this.faulting = null;
    }
  }

  /** The memory file's onFull: makes room for bytes more, or says it cannot (false). */
  makeRoom(bytes: number): boolean {
    if (this.k.mf.onShrink?.()) return true;
    for (const p of this.dying) if (p.zombie) this.dying.delete(p);
    const faulting = this.faulting;
    if (!faulting && this.dying.size > 0) return false;
    const victim = this.choose();
    if (!victim) {
      // Nothing may be chosen: the faulting process itself dies, as its fault cannot be answered.
      if (faulting) this.kill(faulting.proc, bytes, true);
      return false;
    }
    this.kill(victim, bytes, faulting !== null);
    return faulting !== null && victim !== faulting.proc;
  }

  private kill(p: Process, bytes: number, now: boolean): void {
    const t = p.tasks.values().next().value as Task | undefined;
    const rss = rssBytes(p);
    const kb = (bytes: number): number => Math.floor(bytes / 1024);
    this.kills++;
    // Linux's line, in the sandbox's kernel log (dmesg) and the Sentry's.
    const line = `Out of memory: Killed process ${p.pid} (${p.comm}) total-vm:${kb(t?.mm.mappedBytes() ?? 0)}kB, anon-rss:${kb(rss)}kB, ` +
      `file-rss:0kB, shmem-rss:0kB, UID:${t?.creds.uid ?? 0} pgtables:0kB oom_score_adj:${oomScoreAdj(p)}`;
    this.k.kmsg.append(3, line);
    this.k.log.warn({ needBytes: bytes, limitBytes: this.k.mf.limit }, line);
    if (now) {
      this.k.exitProcess(p, signaledStatus(SIGKILL));
    } else {
      this.dying.add(p);
      this.k.signals.sendToProcess(p, SIGKILL, { signo: SIGKILL, code: 0x80, forced: true });
    }
  }
}
