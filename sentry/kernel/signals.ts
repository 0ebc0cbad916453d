// Signal generation and delivery. Signals are kept pending per task and per
// process as bitmasks; a task takes delivery each time the Sentry is about to
// resume it: the default action (terminate, ignore), or a handler entered
// through a real rt_sigframe on the workload's stack that rt_sigreturn undoes.
import type { Kernel } from './kernel';
import type { Task } from './task';
import type { Process, SigAction } from './process';
import { WaitQueue } from './waiter';
import { EAGAIN } from '../../src/abi/errno';
import { SIG_DFL, SIG_IGN, defaultAction } from './process';
import { STOP_SIGNALS, groupContinue, groupStop, orphanedGroup } from './jobctl';
import { R } from '../platform/regs';
import {
  SIGKILL, SIGSTOP, SIGCHLD, SIGSEGV, SIGBUS, SIGURG, SIGWINCH, SIGCONT, SIGRTMIN, RLIMIT_SIGPENDING,
  SA_SIGINFO, SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND, SA_RESTORER, POLLIN,
} from '../../src/abi/linux';
import {
  Siginfo, Ucontext, Fpstate, RT_SIGFRAME_UC_OFFSET, RT_SIGFRAME_INFO_OFFSET, RT_SIGFRAME_SIZE, MXCSR_DEFAULT,
} from '../../src/abi/layout';

export const sigbit = (sig: number): bigint => 1n << BigInt(sig - 1);
/** Signals that can be neither blocked, caught nor ignored. */
export const UNBLOCKABLE = sigbit(SIGKILL) | sigbit(SIGSTOP);
const SI_USER = 0;
const FP_SIZE = 512;
/** Red zone below the interrupted rsp that the ABI lets leaf functions use. */
const RED_ZONE = 128;

const IGNORED_BY_DEFAULT = new Set([SIGCHLD, SIGURG, SIGWINCH, SIGCONT]);

/** What the kernel learns when it delivers a signal. */
export interface SigInfo {
  signo: number;
  code: number;
  pid?: number;
  uid?: number;
  status?: number;
  addr?: number;
  /** Raw siginfo bytes: the host's for faults, the sender's for rt_sigqueueinfo. */
  raw?: Uint8Array;
  /** A fault the workload caused (SIGSEGV, SIGBUS, ...), raised by the host. */
  fault?: boolean;
  /**
   * Reaches init even with the default action: sent from outside the
   * sandbox (runsc kill, a host signal to a stub; Linux would let only
   * SIGKILL and SIGSTOP through to a pid namespace's init), or the
   * kernel's own SIGKILL (RLIMIT_CPU).
   */
  forced?: boolean;
}

export class Signals {
  /**
   * The siginfo of each pending instance, by signal: at most one for a
   * standard signal (they do not queue), one per send for a real-time
   * signal, delivered in the order sent. A signal can be pending with no
   * entry: a real-time one sent by kill(2) past RLIMIT_SIGPENDING.
   */
  private readonly queues = new WeakMap<Task | Process, Map<number, SigInfo[]>>();

  /** Per-process queues notified (POLLIN) after a task of the process exits: pidfd readiness. */
  private readonly exitQueues = new WeakMap<Process, WaitQueue>();

  constructor(private readonly kernel: Kernel) {}

  /** The queue notified after a task of p exits (so p may have become a zombie); for pidfds. */
  exitQueue(p: Process): WaitQueue {
    let q = this.exitQueues.get(p);
    if (!q) this.exitQueues.set(p, (q = new WaitQueue()));
    return q;
  }

  /**
   * Called by Task.interrupt for an exited task. The exit is still in
   * progress (the process becomes a zombie after its tasks are removed), so
   * pidfd watchers are notified once it completes: in a microtask, which
   * the loop runs before it next blocks because of the noted wakeup.
   */
  taskExited(t: Task): void {
    const q = this.exitQueues.get(t.proc);
    if (!q) return;
    this.kernel.noteWakeup();
    queueMicrotask(() => q.notify(POLLIN));
  }

  /** Drops pending instances of sig from the process and its threads. */
  discard(p: Process, sig: number): void {
    p.pending &= ~sigbit(sig);
    this.queues.get(p)?.delete(sig);
    for (const t of p.tasks) {
      t.pending &= ~sigbit(sig);
      this.queues.get(t)?.delete(sig);
    }
  }

  ignored(p: Process, sig: number): boolean {
    const a = p.actions[sig]!;
    if (sig === SIGKILL) return false;
    return a.handler === SIG_IGN || (a.handler === SIG_DFL && IGNORED_BY_DEFAULT.has(sig));
  }

  /**
   * Init, like a pid namespace's init in Linux, gets no signal it has not
   * asked for from inside the sandbox: one with the default action is
   * dropped, unless it is a fault of init's own or comes from outside.
   */
  private initIgnores(p: Process, sig: number, info: SigInfo | undefined): boolean {
    return p === this.kernel.init && p.actions[sig]!.handler === SIG_DFL && !info?.fault && !info?.forced;
  }

  /**
   * What sending sig does at once, delivered or not (Linux's
   * prepare_signal): SIGCONT discards pending stops (and continues the
   * process, after it is queued), a stop signal discards a pending SIGCONT,
   * SIGKILL ends a stopped process. False: the signal goes no further.
   */
  private prepare(p: Process, sig: number, info: SigInfo | undefined, blocked: boolean): boolean {
    if (p.zombie || !blocked && this.initIgnores(p, sig, info)) return false;
    if (sig === SIGCONT) for (const s of STOP_SIGNALS) this.discard(p, s);
    else if (STOP_SIGNALS.has(sig)) this.discard(p, SIGCONT);
    else if (sig === SIGKILL && p.stopSignal) {
      this.kernel.exitProcess(p, SIGKILL);
      return false;
    }
    return true;
  }

  /** Signals queued with their siginfo for processes of uid, against RLIMIT_SIGPENDING. */
  private queuedFor(uid: number): number {
    let n = 0;
    for (const p of this.kernel.processes.values()) {
      if (p.zombie) continue;
      const owners: (Task | Process)[] = [p, ...p.tasks];
      if (![...p.tasks].some((t) => t.creds.uid === uid)) continue;
      for (const o of owners) for (const q of this.queues.get(o)?.values() ?? []) n += q.length;
    }
    return n;
  }

  /**
   * Makes sig pending on target with info. A standard signal already
   * pending keeps its first siginfo; a real-time one queues another
   * instance, unless the owner's RLIMIT_SIGPENDING is reached: then
   * rt_sigqueueinfo and timers fail with EAGAIN, while kill(2) sends the
   * signal without its siginfo, as Linux does.
   */
  private enqueue(target: Task | Process, p: Process, info: SigInfo): number {
    const sig = info.signo;
    let m = this.queues.get(target);
    if (!m) this.queues.set(target, (m = new Map()));
    let q = m.get(sig);
    if (!q) m.set(sig, (q = []));
    if (sig < SIGRTMIN) {
      if (!(target.pending & sigbit(sig))) q.splice(0, q.length, info);
    } else {
      const owner = [...p.tasks][0];
      const limit = p.rlimits[RLIMIT_SIGPENDING]![0];
      if (owner && this.queuedFor(owner.creds.uid) >= limit) {
        if (info.code !== SI_USER) return -EAGAIN;
      } else q.push(info);
    }
    target.pending |= sigbit(sig);
    return 0;
  }

  /** Takes the first instance of sig pending on from, clearing the bit when none is left. */
  private unqueue(from: Task | Process, sig: number): SigInfo {
    const q = this.queues.get(from)?.get(sig);
    const info = q?.shift() ?? { signo: sig, code: SI_USER };
    if (!q?.length) from.pending &= ~sigbit(sig);
    return info;
  }

  /** Sends sig to one thread; 0, or -EAGAIN when a real-time signal could not be queued. */
  sendToTask(t: Task, sig: number, info?: SigInfo): number {
    const blocked = (t.sigmask & sigbit(sig)) !== 0n;
    if (t.exited || !this.prepare(t.proc, sig, info, blocked)) return 0;
    if (!this.ignored(t.proc, sig) || blocked) {
      const r = this.enqueue(t, t.proc, info ?? { signo: sig, code: SI_USER });
      if (r < 0) return r;
      this.wake(t);
      // Even a blocked signal wakes rt_sigtimedwait and signalfd waiters.
      t.signalQueue.notify(POLLIN);
    }
    if (sig === SIGCONT) groupContinue(this.kernel, t.proc);
    return 0;
  }

  /** Sends sig to a process: any of its threads that does not block it takes it. 0 or -EAGAIN, as sendToTask. */
  sendToProcess(p: Process, sig: number, info?: SigInfo): number {
    if (p.zombie || p.tasks.size === 0) return 0;
    const first = [...p.tasks][0]!;
    const blocked = (first.sigmask & sigbit(sig)) !== 0n;
    if (!this.prepare(p, sig, info, blocked)) return 0;
    if (!this.ignored(p, sig) || blocked) {
      const r = this.enqueue(p, p, info ?? { signo: sig, code: SI_USER });
      if (r < 0) return r;
      for (const t of p.tasks) {
        if (!(t.sigmask & sigbit(sig)) || sig === SIGKILL) {
          this.wake(t);
          break;
        }
      }
      // Even a blocked signal wakes rt_sigtimedwait and signalfd waiters, in any thread.
      for (const t of p.tasks) t.signalQueue.notify(POLLIN);
    }
    if (sig === SIGCONT) groupContinue(this.kernel, p);
    return 0;
  }

  private wake(t: Task): void {
    t.interrupt();
    this.kernel.interruptRunning(t);
  }

  private deliverable(t: Task): bigint {
    return (t.pending | t.proc.pending) & ~(t.sigmask & ~UNBLOCKABLE);
  }

  hasDeliverable(t: Task): boolean {
    return this.deliverable(t) !== 0n;
  }

  /** Takes the lowest deliverable signal off the pending sets. */
  private dequeue(t: Task): SigInfo | null {
    const d = this.deliverable(t);
    if (d === 0n) return null;
    let sig = 1;
    while (!(d & sigbit(sig))) sig++;
    return this.unqueue(t.pending & sigbit(sig) ? t : t.proc, sig);
  }

  /**
   * Takes the lowest pending signal in set off t's pending sets, the
   * thread's first and then the process's, whether or not t blocks it; null
   * if none is pending. For rt_sigtimedwait and signalfd reads, which take
   * signals the caller normally keeps blocked.
   */
  take(t: Task, set: bigint): SigInfo | null {
    const from: Task | Process | null = t.pending & set ? t : t.proc.pending & set ? t.proc : null;
    if (!from) return null;
    const d = from.pending & set;
    let sig = 1;
    while (!(d & sigbit(sig))) sig++;
    return this.unqueue(from, sig);
  }

  /**
   * Delivers pending signals to t, which is stopped and about to be resumed.
   * restartable: t is returning -EINTR from a syscall that SA_RESTART may
   * restart. Returns false if t must not run now: its process died, or
   * stopped (job control), which parks t until SIGCONT.
   */
  deliver(t: Task, restartable: boolean): boolean {
    for (;;) {
      const info = this.dequeue(t);
      if (!info) {
        // Interrupted by a signal that needed no handler after all: restart the call transparently.
        if (restartable) this.restart(t);
        return true;
      }
      const sig = info.signo;
      const act = t.proc.actions[sig]!;
      if (act.handler === SIG_IGN && sig !== SIGKILL) continue;
      if (act.handler === SIG_DFL || sig === SIGKILL) {
        if (IGNORED_BY_DEFAULT.has(sig)) continue;
        // Blocked while init's default action applied: dropped now, as Linux does.
        if (this.initIgnores(t.proc, sig, info)) continue;
        if (STOP_SIGNALS.has(sig)) {
          if (sig !== SIGSTOP && orphanedGroup(this.kernel, t.proc)) continue;
          // The interrupted call runs again once the process is continued.
          if (restartable) this.restart(t);
          groupStop(this.kernel, t, sig);
          return false;
        }
        this.kernel.exitProcess(t.proc, sig);
        return false;
      }
      this.handleSyscallRestart(t, act, restartable);
      if (!this.pushFrame(t, sig, act, info)) {
        // The frame could not be written: like Linux, kill with SIGSEGV.
        this.kernel.exitProcess(t.proc, 11);
        return false;
      }
      return true;
    }
  }

  private handleSyscallRestart(t: Task, act: SigAction, restartable: boolean): void {
    // -EINTR from a blocking call: with SA_RESTART it runs again once the handler returns.
    if (restartable && act.flags & SA_RESTART) this.restart(t);
  }

  /** Rewinds a syscall that returned -EINTR so that it executes again. */
  restart(t: Task): void {
    const regs = t.stub.regs;
    if (regs.getSigned(R.rax) !== -4) return;
    regs.set(R.rax, regs.get(R.orig_rax));
    regs.set(R.rip, regs.get(R.rip) - 2);
    t.stub.touchRegs();
  }

  /** Builds an rt_sigframe for sig on the workload's stack and points the registers at the handler. */
  private pushFrame(t: Task, sig: number, act: SigAction, info: SigInfo): boolean {
    const regs = t.stub.regs;
    const fp = t.stub.getFpregs();
    let sp = regs.get(R.rsp);
    const alt = this.kernel.altStack(t);
    const onAlt = alt !== null && act.flags & SA_ONSTACK && !(sp > alt.sp && sp <= alt.sp + alt.size);
    if (onAlt) sp = alt!.sp + alt!.size;
    else sp -= RED_ZONE;
    // The FXSAVE image first (64-byte aligned), then the frame, with rsp ≡ 8 (mod 16) at entry.
    const fpAddr = Math.floor((sp - FP_SIZE) / 64) * 64;
    const frame = Math.floor((fpAddr - RT_SIGFRAME_SIZE) / 16) * 16 - 8;
    const buf = new Uint8Array(RT_SIGFRAME_SIZE);
    const restorer = act.flags & SA_RESTORER ? act.restorer : 0;
    new DataView(buf.buffer).setBigUint64(0, BigInt(restorer), true);
    const uc = RT_SIGFRAME_UC_OFFSET;
    Ucontext.encodeInto(buf, uc, {
      uc_flags: 0,
      uc_stack_sp: alt?.sp ?? 0,
      uc_stack_flags: alt ? (onAlt ? 1 : 0) : 2,
      uc_stack_size: alt?.size ?? 0,
      r8: regs.big[R.r8], r9: regs.big[R.r9], r10: regs.big[R.r10], r11: regs.big[R.r11],
      r12: regs.big[R.r12], r13: regs.big[R.r13], r14: regs.big[R.r14], r15: regs.big[R.r15],
      rdi: regs.big[R.rdi], rsi: regs.big[R.rsi], rbp: regs.big[R.rbp], rbx: regs.big[R.rbx],
      rdx: regs.big[R.rdx], rax: regs.big[R.rax], rcx: regs.big[R.rcx], rsp: regs.big[R.rsp],
      rip: regs.big[R.rip], eflags: regs.big[R.eflags],
      cs: regs.get(R.cs), ss: regs.get(R.ss),
      trapno: info.raw && (sig === SIGSEGV || sig === SIGBUS) ? 14 : 0,
      cr2: info.addr ?? 0,
      fpstate: fpAddr,
      uc_sigmask: t.savedMask ?? t.sigmask,
    });
    if (info.raw) buf.set(info.raw, RT_SIGFRAME_INFO_OFFSET);
    else {
      Siginfo.encodeInto(buf, RT_SIGFRAME_INFO_OFFSET, {
        si_signo: sig, si_code: info.code,
        ...(info.pid !== undefined ? { si_pid: info.pid, si_uid: info.uid ?? 0 } : {}),
        ...(info.status !== undefined ? { si_status: info.status } : {}),
        ...(info.addr !== undefined ? { si_addr: info.addr } : {}),
      });
    }
    if (!t.mm.write(fpAddr, fp) || !t.mm.write(frame, buf)) return false;
    t.sigmask |= act.mask | (act.flags & SA_NODEFER ? 0n : sigbit(sig));
    t.sigmask &= ~UNBLOCKABLE;
    t.savedMask = null;
    if (act.flags & SA_RESETHAND) t.proc.actions[sig] = defaultAction();
    regs.set(R.rsp, frame);
    regs.set(R.rip, act.handler);
    regs.set(R.rdi, sig);
    regs.set(R.rsi, act.flags & SA_SIGINFO ? frame + RT_SIGFRAME_INFO_OFFSET : 0);
    regs.set(R.rdx, act.flags & SA_SIGINFO ? frame + uc : 0);
    regs.set(R.rax, 0);
    // Clear the direction flag and trap flag as the kernel does on handler entry.
    regs.set(R.eflags, regs.get(R.eflags) & ~0x10500);
    t.stub.touchRegs();
    // The handler starts with a clean FPU state.
    const clean = new Uint8Array(FP_SIZE);
    Fpstate.encodeInto(clean, 0, { cwd: 0x37f, mxcsr: MXCSR_DEFAULT, mxcsr_mask: Fpstate.get(fp, 'mxcsr_mask') });
    t.stub.setFpregs(clean);
    return true;
  }

  /** rt_sigreturn: restores the registers, FPU state and mask saved in the frame at rsp-8. */
  sigreturn(t: Task): number {
    const regs = t.stub.regs;
    const frame = regs.get(R.rsp) - 8;
    const buf = t.mm.read(frame, RT_SIGFRAME_SIZE);
    if (!buf) {
      this.kernel.exitProcess(t.proc, 11);
      return 0;
    }
    const u = Ucontext.decodeBig(buf, RT_SIGFRAME_UC_OFFSET);
    const set = (r: number, v: bigint) => { regs.big[r] = v; };
    set(R.r8, u.r8); set(R.r9, u.r9); set(R.r10, u.r10); set(R.r11, u.r11);
    set(R.r12, u.r12); set(R.r13, u.r13); set(R.r14, u.r14); set(R.r15, u.r15);
    set(R.rdi, u.rdi); set(R.rsi, u.rsi); set(R.rbp, u.rbp); set(R.rbx, u.rbx);
    set(R.rdx, u.rdx); set(R.rax, u.rax); set(R.rcx, u.rcx); set(R.rsp, u.rsp); set(R.rip, u.rip);
    // Only the flags userspace may change (AC, OF, DF, TF, SF, ZF, AF, PF, CF, RF).
    const FIX = 0x40dd5n;
    regs.big[R.eflags] = (regs.big[R.eflags]! & ~FIX) | (u.eflags & FIX);
    regs.set(R.orig_rax, -1);
    t.sigmask = u.uc_sigmask & ~UNBLOCKABLE;
    if (u.fpstate !== 0n) {
      // An unreadable or invalid FPU state is a bad frame: SIGSEGV, as in Linux.
      const fp = t.mm.read(Number(u.fpstate), FP_SIZE);
      if (!fp || !t.stub.setFpregs(fp)) {
        this.kernel.exitProcess(t.proc, 11);
        return 0;
      }
    }
    t.stub.touchRegs();
    return regs.getSigned(R.rax);
  }
}
