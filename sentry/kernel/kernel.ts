// The kernel: everything one sandbox shares — processes and tasks, the memory
// file and page cache, the VFS, timers — and the scheduler loop that runs
// them. The loop is single-threaded: it waits for the next stop of any stub
// thread (a syscall, a fault, an interruption, or the waker's timer), answers
// it, and resumes the thread. A syscall that must block is a pending Promise;
// its task stays stopped in the stub until the Promise settles.
import type { VFS } from '../vfs/vfs';
import type { FDTable } from '../vfs/fdtable';
import type { FSContext } from '../vfs/fscontext';
import type { Logger } from '../../src/log';
import { sentryMemoryFile } from '../mm/filedata';
import { PageCache } from '../mm/pagecache';
import { AddressSpace } from '../mm/address-space';
import { ContextDied, type Doorbell, type Platform, type Stop, type Context } from '../platform/platform';
import { createPlatform, type PlatformName } from '../platform/create';
import { R } from '../platform/regs';
import { Task, type Credentials } from './task';
import { Process, SIG_IGN } from './process';
import { Signals, sigbit } from './signals';
import { Timers } from './timers';
import { Futexes } from './futex';
import { PiFutexes, exitRobustList } from './futex_pi';
import { addCpu, taskCpu } from './cputime';
import { Dispatcher } from './dispatch';
import { Vdso } from './vdso';
import { procProvider } from './proc';
import { OomKiller } from './oom';
import { KernelLog } from './kmsg';
import { ramBytes } from './machine';
import { EXITED, KEEP_REGS } from '../../syscalls/table';
import { SIGCHLD, SIGKILL, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SA_NOCLDWAIT, SI_USER } from '../../src/abi/linux';
import { Siginfo } from '../../src/abi/layout';
import { ENOENT, EACCES, ENOTDIR, errnoMessage } from '../../src/abi/errno';

/** A wait status (as wait4 reports it) for a normal exit. */
export const exitedStatus = (code: number): number => (code & 0xff) << 8;
/** A wait status for death by a signal. */
export const signaledStatus = (sig: number): number => sig & 0x7f;

const CLD_EXITED = 1;
const BUS_ADRERR = 2;
const SEGV_MAPERR = 1;
const SEGV_ACCERR = 2;
const CLD_KILLED = 2;
const FAULTS = new Set([SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP]);
const RLIM_INFINITY = Number.MAX_SAFE_INTEGER;

export interface KernelOptions {
  vfs: VFS;
  log: Logger;
  strace: boolean;
  hostname: string;
  /** ptrace unless given. */
  platform?: PlatformName;
  /** AF_INET/AF_INET6 sockets are the host's (sentry/net/hostinet.ts) instead of the Sentry's loopback stack. */
  hostNetwork?: boolean;
  /** The sandbox's memory in bytes (what it may commit; /proc/meminfo's MemTotal); the host's available memory unless given. */
  totalMemory?: number;
}

/** Default rlimits, by RLIMIT_* number. */
export function defaultRlimits(): [number, number][] {
  const l: [number, number][] = Array.from({ length: 16 }, () => [RLIM_INFINITY, RLIM_INFINITY]);
  l[3] = [8 << 20, RLIM_INFINITY]; // STACK
  l[4] = [0, RLIM_INFINITY]; // CORE
  l[6] = [4096, 4096]; // NPROC
  l[7] = [1024, 1048576]; // NOFILE
  l[8] = [8 << 20, 8 << 20]; // MEMLOCK
  l[11] = [4096, 4096]; // SIGPENDING
  l[12] = [819200, 819200]; // MSGQUEUE
  return l;
}

export class Kernel {
  readonly mf = sentryMemoryFile();
  readonly cache = new PageCache(this.mf);
  readonly platform: Platform;
  readonly signals = new Signals(this);
  readonly timers = new Timers();
  readonly futexes = new Futexes();
  readonly piFutexes = new PiFutexes(this);
  readonly vfs: VFS;
  readonly log: Logger;
  readonly hostname: string;
  readonly hostNetwork: boolean;
  readonly dispatcher: Dispatcher;
  readonly processes = new Map<number, Process>();
  private readonly tasks = new Map<number, Task>();
  private readonly byStub = new Map<number, Task>();
  /** Tasks currently executing in their stubs (not stopped in the Sentry). */
  private readonly running = new Set<Task>();
  private readonly altStacks = new WeakMap<Task, { sp: number; size: number }>();
  private nextPid = 1;
  /** Set (and notified) by whoever rings the doorbell, so a timed sleep ends too. */
  private doorbellCell: Int32Array = new Int32Array(new SharedArrayBuffer(4));
  /** Processes started from outside (runsc exec), parentless, with who takes their wait status. */
  private readonly external = new Map<Process, (status: number) => void>();
  /** Wakeups of blocked tasks not yet given a chance to run. */
  private wakeups = 0;
  /** Blocked syscalls (pending Promises). */
  private blocked = 0;
  private readonly bootNs = process.hrtime.bigint();
  private readonly realtimeBaseNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  readonly vdso = new Vdso(this.mf, this.realtimeBaseNs);
  readonly kmsg = new KernelLog(() => this.uptimeNs());
  readonly oom = new OomKiller(this);
  init: Process | null = null;
  /** runsc's exit code once init has exited. */
  result: number | null = null;
  /** Why the sandbox must end (a component it depends on died), or null. */
  fatal: string | null = null;
  /** Host children that are not stubs (the Gofer) whose exit ends the sandbox, should waitpid reap it. */
  private readonly vital = new Map<number, string>();

  constructor(opts: KernelOptions) {
    this.vfs = opts.vfs;
    this.log = opts.log;
    this.hostname = opts.hostname;
    this.hostNetwork = opts.hostNetwork ?? false;
    this.mf.limit = opts.totalMemory ?? ramBytes();
    this.mf.onFull = (bytes) => this.oom.makeRoom(bytes);
    this.mf.onShrink = () => this.cache.shrink();
    this.platform = createPlatform(opts.platform ?? 'ptrace', this.mf);
    this.dispatcher = new Dispatcher(this, opts.strace);
    this.vfs.setProcProvider(procProvider(this));
  }

  monotonicNs(): bigint {
    return process.hrtime.bigint();
  }

  realtimeNs(): bigint {
    return this.realtimeBaseNs + process.hrtime.bigint();
  }

  uptimeNs(): bigint {
    return process.hrtime.bigint() - this.bootNs;
  }

  /** Called by waiters when they are woken, so the loop lets them run before blocking. */
  noteWakeup(): void {
    this.wakeups++;
  }

  taskByTid(tid: number): Task | undefined {
    return this.tasks.get(tid);
  }

  altStack(t: Task): { sp: number; size: number } | null {
    return this.altStacks.get(t) ?? null;
  }

  setAltStack(t: Task, s: { sp: number; size: number } | null): void {
    if (s) this.altStacks.set(t, s);
    else this.altStacks.delete(t);
  }

  allocPid(): number {
    return this.nextPid++;
  }

  /** The pid handed out last (/proc/loadavg, /proc/stat's processes). */
  lastPid(): number {
    return this.nextPid - 1;
  }

  /**
   * Creates init (pid 1) running the first of paths that can be executed, and
   * runs the sandbox until init exits. Returns runsc's exit code, or a message
   * saying why the program could not be started.
   */
  async run(args: StartArgs): Promise<number | string> {
    return this.startInit(args) ?? this.runLoop();
  }

  /** run's first half: creates init and lets it go; null, or why it could not start. */
  startInit(args: StartArgs): string | null {
    const t = this.startProcess(args, (p) => { this.init = p; });
    if (typeof t === 'string') return t;
    this.resume(t);
    return null;
  }

  /** run's second half: runs the sandbox until init exits; returns runsc's exit code. */
  async runLoop(): Promise<number> {
    await this.loop();
    return this.result ?? 0;
  }

  /**
   * Starts a process with no parent in the sandbox (runsc exec) while the loop
   * runs; exited gets its wait status. Returns its pid, or why it could not start.
   */
  startExternal(args: StartArgs, exited: (status: number) => void): number | string {
    const t = this.startProcess(args, (p) => this.external.set(p, exited));
    if (typeof t === 'string') return t;
    this.resume(t);
    this.wakeups++;
    return t.proc.pid;
  }

  /**
   * Lets a thread outside the loop wake it: that thread sets and notifies
   * cell[0] (which ends a timed sleep) and rings the platform's doorbell
   * (which ends a wait for the workload).
   */
  externalWakeup(cell: Int32Array): Doorbell {
    this.doorbellCell = cell;
    return this.platform.doorbell();
  }

  private startProcess(args: StartArgs, register: (p: Process) => void): Task | string {
    const stub = this.platform.newProcess();
    const mm = new AddressSpace(this.mf, this.cache, this.platform, stub);
    const pid = this.allocPid();
    const proc = new Process(pid, null, args.rlimits ?? defaultRlimits(), this.monotonicNs());
    const t = new Task(pid, this, proc, stub, mm, args.fds, args.fs, args.creds);
    t.noNewPrivs = args.noNewPrivs ?? false;
    this.addTask(t);
    register(proc);
    let r = -ENOENT;
    let denied = false;
    for (const path of args.paths) {
      r = this.dispatcher.exec(t, path, args.argv, args.envp);
      if (r === -EACCES) denied = true;
      if (r !== -ENOENT && r !== -EACCES && r !== -ENOTDIR) break;
    }
    if (r === EXITED) return `exec: ${JSON.stringify(args.argv[0])}: the program could not be loaded`;
    if (r !== KEEP_REGS) {
      this.removeProcessTasks(proc);
      this.processes.delete(proc.pid);
      this.external.delete(proc);
      const name = args.argv[0]!;
      if (r === -ENOENT && args.paths.length > 1 && !denied) return `exec: ${JSON.stringify(name)}: executable file not found in $PATH`;
      return `exec: ${JSON.stringify(name)}: ${errnoMessage(denied ? EACCES : -r)}`;
    }
    return t;
  }

  addTask(t: Task): void {
    this.tasks.set(t.tid, t);
    this.byStub.set(t.stub.id, t);
    t.proc.tasks.add(t);
    this.processes.set(t.proc.pid, t.proc);
  }

  /**
   * Ends one thread of a process that has others (exit(2)); the last thread's
   * exit ends the process with status.
   */
  exitTask(t: Task, status: number): void {
    const p = t.proc;
    if (p.tasks.size <= 1) {
      this.exitProcess(p, status);
      return;
    }
    exitRobustList(t);
    p.cpu = addCpu(p.cpu, taskCpu(t));
    t.exited = true;
    this.running.delete(t);
    this.platform.discard(t.stub);
    this.byStub.delete(t.stub.id);
    this.tasks.delete(t.tid);
    p.tasks.delete(t);
    t.stub.exitThread();
    t.interrupt();
  }

  /** Makes t its process's only thread, with the process's pid as its tid (execve from a threaded process). */
  becomeSoleThread(t: Task): void {
    const p = t.proc;
    for (const o of [...p.tasks]) {
      if (o === t) continue;
      exitRobustList(o);
      o.exited = true;
      this.running.delete(o);
      this.platform.discard(o.stub);
      this.byStub.delete(o.stub.id);
      this.tasks.delete(o.tid);
      p.tasks.delete(o);
      o.interrupt();
    }
    if (t.tid !== p.pid) {
      this.tasks.delete(t.tid);
      t.tid = p.pid;
      this.tasks.set(t.tid, t);
    }
  }

  /** Moves t to a new stub (exec out of a shared address space); the old host task dies. */
  replaceStub(t: Task, stub: Context): void {
    this.byStub.delete(t.stub.id);
    this.platform.discard(t.stub);
    t.stub.kill();
    t.stub = stub;
    this.byStub.set(stub.id, t);
  }

  /** Resumes a stopped task in its stub, delivering pending signals first. */
  resume(t: Task): void {
    if (t.exited) return;
    if (t.proc.stopSignal) {
      t.proc.parked.add(t);
      return;
    }
    if (this.signals.hasDeliverable(t) && !this.signals.deliver(t, false)) return;
    if (!this.flushMappings(t)) return;
    t.stub.resume();
    this.running.add(t);
  }

  /** Brings the host's mappings up to date before t runs; false if the host refused and the process died. */
  private flushMappings(t: Task): boolean {
    const r = t.mm.flush();
    if (r === 0) return true;
    this.log.warn({ pid: t.pid, errno: -r }, 'the host refused a mapping change');
    this.exitProcess(t.proc, signaledStatus(SIGKILL));
    return false;
  }

  /** Resumes a task after a syscall with its result. */
  finishSyscall(t: Task, result: number, restartable: boolean): void {
    if (t.exited) return;
    if (t.proc.stopSignal) {
      // The process stopped while the call was blocked: its result waits for SIGCONT.
      t.stub.regs.set(R.rax, result);
      t.stub.touchRegs();
      if (restartable) this.signals.restart(t);
      t.proc.parked.add(t);
      return;
    }
    if (this.signals.hasDeliverable(t) || result === -4) {
      t.stub.regs.set(R.rax, result);
      t.stub.touchRegs();
      if (!this.signals.deliver(t, restartable && result === -4)) return;
      if (!this.flushMappings(t)) return;
      t.stub.resume();
    } else {
      if (!this.flushMappings(t)) return;
      t.stub.resumeWithResult(result);
    }
    this.running.add(t);
  }

  /** Starts a blocked syscall: the task stays stopped in its stub until the promise settles. */
  block(t: Task, p: Promise<number>, done: (r: number) => void): void {
    this.blocked++;
    p.then(
      (r) => {
        this.blocked--;
        this.wakeups++;
        done(r);
      },
      (e: unknown) => {
        this.blocked--;
        this.wakeups++;
        this.dispatcher.bug(t, e);
      },
    );
  }

  /** A signal was sent to t: if it is executing in its stub, stop it so it can take delivery. */
  interruptRunning(t: Task): void {
    if (this.running.has(t)) t.stub.interrupt();
  }

  /**
   * Ends the sandbox: every process is killed the next time the scheduler
   * looks (never in the middle of a syscall), and runsc exits. Safe to call
   * from anywhere, more than once.
   */
  shutdown(why: string): void {
    if (this.fatal !== null) return;
    this.fatal = why;
    this.log.error({ why }, 'shutting the sandbox down');
  }

  /** Declares a host child (not a stub) whose exit ends the sandbox: `what` names it in the reason. */
  watchVital(pid: number, what: string): void { this.vital.set(pid, what); }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.fatal !== null && this.init && !this.init.zombie) this.exitProcess(this.init, signaledStatus(SIGKILL));
      if (this.result !== null) return;
      if (this.wakeups > 0 || this.blocked > 0 && this.running.size === 0) {
        // Let woken syscalls (Promise continuations) finish before blocking.
        this.wakeups = 0;
        Atomics.store(this.doorbellCell, 0, 0);
        await new Promise<void>((r) => setImmediate(r));
        if (this.wakeups > 0 || this.running.size > 0) continue;
      }
      const now = this.monotonicNs();
      if (this.timers.fireDue(now) > 0) continue;
      const next = this.timers.next();
      if (this.running.size === 0 && next === null && this.blocked === 0) return;
      // Even when nothing runs, wait on the platform (which ends the wait at
      // the deadline, or at a host fd or a host signal through the waker): a stub
      // killed from outside is noticed at once.
      // Running threads may read the vDSO's clock: keep its parameters fresh.
      if (this.running.size > 0) this.vdso.refreshIfDue(now);
      this.onStop(this.platform.wait(this.running.size > 0 ? this.vdso.wakeAt(next) : next));
    }
  }

  /** Handles a context's stop; null when the wait ended otherwise (a timer deadline, a host fd, a host signal, a doorbell). */
  private onStop(stop: Stop | null): void {
    // A rung doorbell: let the event loop hear from whoever rang it.
    if (Atomics.load(this.doorbellCell, 0) !== 0) this.wakeups++;
    if (!stop) return;
    const t = this.byStub.get(stop.id);
    const vital = this.vital.get(stop.id);
    if (vital !== undefined && !t) { this.shutdown(`${vital} (pid ${stop.id}) died: ${stop.kind} ${stop.value}`); return; }
    // Stops of stubs already torn down (their deaths) need nothing.
    if (!t || t.exited) return;
    this.running.delete(t);
    try {
      switch (stop.kind) {
        case 'syscall':
          t.stub.loadRegs();
          this.dispatcher.syscall(t);
          return;
        case 'signal':
          t.stub.loadRegs();
          this.hostSignal(t, stop.value);
          this.resume(t);
          return;
        case 'interrupted':
          t.stub.loadRegs();
          this.resume(t);
          return;
        case 'exited':
        case 'killed':
          this.log.warn({ tid: t.tid, stop }, 'stub died');
          this.exitProcess(t.proc, signaledStatus(SIGKILL));
          return;
      }
    } catch (e) {
      if (e instanceof ContextDied) {
        this.exitProcess(t.proc, signaledStatus(SIGKILL));
        return;
      }
      throw e;
    }
  }

  /** A signal the host raised in a stub: a fault of the workload's, or one sent from outside. */
  private hostSignal(t: Task, sig: number): void {
    if (FAULTS.has(sig)) {
      const raw = new Uint8Array(Siginfo.size);
      t.stub.getSiginfo(raw);
      const addr = Siginfo.get(raw, 'si_addr');
      if (sig === SIGSEGV && Siginfo.get(raw, 'si_code') === SEGV_MAPERR) {
        // A first touch of pages the host maps only once they are committed.
        if (this.oom.fault(t, addr)) return;
        const v = t.mm.find(addr);
        // A touch of file pages past EOF (left unmapped on the host) is SIGBUS.
        if (v?.pastEof) {
          sig = SIGBUS;
          Siginfo.encodeInto(raw, 0, { si_signo: SIGBUS, si_code: BUS_ADRERR });
        } else if (v) {
          // A PROT_NONE mapping, which the host leaves unmapped.
          Siginfo.encodeInto(raw, 0, { si_code: SEGV_ACCERR });
        }
      }
      const act = t.proc.actions[sig]!;
      // A fault cannot be blocked or ignored: that kills the process, as in Linux.
      if (t.sigmask & sigbit(sig) || act.handler === SIG_IGN) {
        t.proc.actions[sig] = { handler: 0, flags: 0, restorer: 0, mask: 0n };
        t.sigmask &= ~sigbit(sig);
      }
      this.signals.sendToTask(t, sig, { signo: sig, code: Siginfo.get(raw, 'si_code'), addr, raw, fault: true });
    } else {
      this.signals.sendToProcess(t.proc, sig, { signo: sig, code: SI_USER, forced: true });
    }
  }

  private removeProcessTasks(p: Process): void {
    for (const t of p.tasks) {
      exitRobustList(t);
      p.cpu = addCpu(p.cpu, taskCpu(t));
      t.exited = true;
      this.running.delete(t);
      this.platform.discard(t.stub);
      t.stub.kill();
      this.byStub.delete(t.stub.id);
      this.tasks.delete(t.tid);
      t.interrupt();
      if (t.vforkParent) {
        t.vforkParent = null;
        p.vforkDone.notify();
      }
    }
  }

  /** Ends a process with a wait status: its tasks die, its resources go, its parent learns. */
  exitProcess(p: Process, status: number): void {
    if (p.zombie) return;
    const tasks = [...p.tasks];
    this.removeProcessTasks(p);
    p.exitStatus = status;
    p.disarmTimers();
    p.exe?.decRef();
    p.exe = null;
    tasks[0]?.mm.release();
    const fdTables = new Set(tasks.map((t) => t.fds));
    for (const fds of fdTables) if (![...this.tasks.values()].some((o) => o.fds === fds)) fds.closeAll();
    p.tasks.clear();
    if (p === this.init) {
      this.result = status & 0x7f ? 128 + (status & 0x7f) : (status >> 8) & 0xff;
      for (const other of this.processes.values()) if (other !== p) this.exitProcess(other, signaledStatus(SIGKILL));
      return;
    }
    // Orphans go to the nearest subreaper ancestor, else init; children that
    // asked for it get their parent-death signal.
    let heir = p.parent;
    while (heir && !heir.subreaper) heir = heir.parent;
    heir = heir && !heir.zombie ? heir : this.init;
    for (const c of p.children) {
      c.parent = heir;
      heir?.children.add(c);
      if (c.zombie) heir?.childEvents.notify();
      for (const ct of c.tasks) if (ct.parentDeathSignal) this.signals.sendToTask(ct, ct.parentDeathSignal);
    }
    p.children.clear();
    const parent = p.parent;
    if (!parent) {
      const exited = this.external.get(p);
      if (exited) {
        this.external.delete(p);
        this.reap(p);
        exited(status);
      }
      return;
    }
    const act = parent.actions[SIGCHLD]!;
    if (act.handler === SIG_IGN || act.flags & SA_NOCLDWAIT) {
      this.reap(p);
      return;
    }
    const killed = status & 0x7f;
    this.signals.sendToProcess(parent, SIGCHLD, {
      signo: SIGCHLD, code: killed ? CLD_KILLED : CLD_EXITED, pid: p.pid, uid: 0, status: killed ? killed : (status >> 8) & 0xff,
    });
    parent.childEvents.notify();
  }

  /** Forgets a zombie whose status has been collected; its CPU time counts for its parent's children. */
  reap(p: Process): void {
    if (p.parent) p.parent.childCpu = addCpu(p.parent.childCpu, addCpu(p.cpu, p.childCpu));
    p.parent?.children.delete(p);
    this.processes.delete(p.pid);
  }
}

export type { Credentials };

export interface StartArgs {
  /** Where to look for the program, in order (execvp's PATH search, done by the caller). */
  paths: string[];
  argv: string[];
  envp: string[];
  fds: FDTable;
  fs: FSContext;
  creds: Credentials;
  /** By RLIMIT_* number; the defaults when absent. */
  rlimits?: [number, number][];
  /** PR_SET_NO_NEW_PRIVS from the start (the spec's noNewPrivileges). */
  noNewPrivs?: boolean;
}
