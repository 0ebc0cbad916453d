// The ptrace platform: workload threads run in stub processes traced with
// PTRACE_SYSEMU, so every syscall the workload makes stops the stub before the
// host kernel executes it (one stop per syscall) and the Sentry answers it.
//
// Outcomes of running a thread (Platform.wait): a syscall stop, a signal the
// host raised in the stub (a fault: SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, or
// one sent from outside), an interruption, or the stub's death. Every ptrace
// request must come from the thread that attached (the Node main thread):
// nothing here is async.
//
// Lock order: none; single-threaded.
import { readFileSync } from 'node:fs';
import * as libc from '../../../src/ffi/libc';
import { Regs, R } from '../regs';
import { ContextDied, type Context, type CpuTimes, type Platform, type Stop } from '../platform';
import type { MemoryFile } from '../../mm/memfile';
import {
  STUB_BASE, STUB_SIZE, TRAMPOLINE, TRAMPOLINE_END, stubElf, STUB_SIGACTION_IGN, BATCH, BATCH_END, BATCH_PAGE,
  BATCH_PAGE_SIZE, BATCH_ENTRY_SIZE,
} from './stub';
import { stubFilter } from './stubfilter';
import { hostPoller } from '../hostpoll';

const PTRACE_POKEUSER = 6;
const PTRACE_CONT = 7;
const PTRACE_GETREGS = 12;
const PTRACE_SETREGS = 13;
const PTRACE_GETFPREGS = 14;
const PTRACE_SETFPREGS = 15;
const PTRACE_SYSEMU = 31;
const PTRACE_GETEVENTMSG = 0x4201;
const PTRACE_GETSIGINFO = 0x4202;
const PTRACE_SEIZE = 0x4206;
const PTRACE_INTERRUPT = 0x4207;
const PTRACE_O_TRACESYSGOOD = 1;
const PTRACE_O_TRACEFORK = 2;
const PTRACE_O_TRACECLONE = 8;
const PTRACE_O_EXITKILL = 0x100000;
const PTRACE_EVENT_FORK = 1;
const PTRACE_EVENT_CLONE = 3;
const PTRACE_EVENT_STOP = 128;
const TICK_NS = 10_000_000n;
const WALL = 0x40000000;
const SIGKILL = 9;
const SIGURG = 23;
const SIGTRAP = 5;
const SIGCHLD = 17;
const EINTR = 4;
const NR_MMAP = 9;
const NR_MUNMAP = 11;
const NR_MPROTECT = 10;
const NR_RT_SIGACTION = 13;
const NR_CLONE = 56;
const NR_PRCTL = 157;
const PR_SET_PDEATHSIG = 1;
const PR_SET_NO_NEW_PRIVS = 38;
const NR_CLOSE_RANGE = 436;
const NR_SECCOMP = 317;
const SECCOMP_SET_MODE_FILTER = 1;
const CLONE_VM = 0x100;
const CLONE_FS = 0x200;
const CLONE_FILES = 0x400;
const CLONE_SIGHAND = 0x800;
const CLONE_THREAD = 0x10000;
const NR_EXIT = 60;
const MAP_SHARED = 0x01;
const MAP_FIXED = 0x10;
const MFD_CLOEXEC = 1;
/** Top of the x86-64 user address space with 4-level paging. */
export const TASK_SIZE = 0x7fff_ffff_f000;
/** The fd number the memory file has inside every stub. */
const STUB_MEMORY_FD = 100;

/** What waitpid observed of a stub thread. */
interface HostStop {
  tid: number;
  kind: 'syscall' | 'signal' | 'exited' | 'killed' | 'event';
  /** Signal for 'signal' and 'killed'; exit code for 'exited'; the event for 'event'. */
  value: number;
}

const status = new Int32Array(1);

function check(r: number, what: string): number {
  if (r < 0) throw new Error(`${what}: errno ${libc.errno()}`);
  return r;
}

function decode(tid: number, s: number): HostStop {
  if ((s & 0x7f) === 0) return { tid, kind: 'exited', value: (s >> 8) & 0xff };
  if ((s & 0xff) !== 0x7f) return { tid, kind: 'killed', value: s & 0x7f };
  const sig = (s >> 8) & 0xff;
  if (sig === (SIGTRAP | 0x80)) return { tid, kind: 'syscall', value: 0 };
  if (s >> 16 !== 0) return { tid, kind: 'event', value: s >> 16 };
  return { tid, kind: 'signal', value: sig };
}

/** Waits for the next stop of tid (or of any traced thread when tid is -1). */
function waitStop(tid: number): HostStop {
  for (;;) {
    const pid = libc.waitpid(tid, status, WALL);
    if (pid > 0) return decode(pid, status[0]!);
    if (libc.errno() !== EINTR) throw new Error(`waitpid(${tid}): errno ${libc.errno()}`);
  }
}

/** One traced host thread. Its registers are the workload thread's while it is stopped. */
export class StubThread implements Context {
  readonly regs = new Regs();
  /** The workload's registers were changed here and must be written back before it runs. */
  private regsDirty = false;
  private readonly scratch = new Regs();
  /** Host signals that arrived while the Sentry was injecting syscalls, for the kernel to deliver. */
  readonly deferredSignals: number[] = [];

  constructor(readonly tid: number) {}

  get id(): number {
    return this.tid;
  }

  /** The host's accounting of the thread from /proc/<tid>/stat (clock ticks), zero if it is gone. */
  cpuTime(): CpuTimes {
    try {
      const stat = readFileSync(`/proc/${this.tid}/stat`, 'latin1');
      // Fields after the parenthesised command name: state is field 3; utime 14, stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { userNs: BigInt(f[11]!) * TICK_NS, sysNs: BigInt(f[12]!) * TICK_NS };
    } catch {
      return { userNs: 0n, sysNs: 0n };
    }
  }

  loadRegs(): void {
    check(libc.ptraceBuf(PTRACE_GETREGS, this.tid, 0, this.regs.buf), 'PTRACE_GETREGS');
    this.regsDirty = false;
  }

  /** Marks regs as changed by the Sentry (signal delivery, execve, sigreturn). */
  touchRegs(): void {
    this.regsDirty = true;
  }

  /** Sets the syscall's return value and resumes the workload until its next syscall or signal. */
  resumeWithResult(value: number): void {
    this.regs.set(R.rax, value);
    if (this.regsDirty) {
      this.storeRegs();
    } else {
      check(libc.ptrace(PTRACE_POKEUSER, this.tid, R.rax * 8, BigInt.asUintN(64, BigInt(value))), 'PTRACE_POKEUSER');
    }
    check(libc.ptrace(PTRACE_SYSEMU, this.tid, 0, 0), 'PTRACE_SYSEMU');
  }

  /** Resumes the workload with its (possibly changed) registers. */
  resume(): void {
    if (this.regsDirty) this.storeRegs();
    check(libc.ptrace(PTRACE_SYSEMU, this.tid, 0, 0), 'PTRACE_SYSEMU');
  }

  private storeRegs(): void {
    check(libc.ptraceBuf(PTRACE_SETREGS, this.tid, 0, this.regs.buf), 'PTRACE_SETREGS');
    this.regsDirty = false;
  }

  /** The thread's x87/SSE state in FXSAVE format (512 bytes). */
  getFpregs(): Uint8Array {
    const fp = new Uint8Array(512);
    check(libc.ptraceBuf(PTRACE_GETFPREGS, this.tid, 0, fp), 'PTRACE_GETFPREGS');
    return fp;
  }

  /** Sets the x87/SSE state; false when the kernel refuses it (reserved MXCSR bits set). */
  setFpregs(fp: Uint8Array): boolean {
    return libc.ptraceBuf(PTRACE_SETFPREGS, this.tid, 0, fp) >= 0;
  }

  /** Reads the siginfo of the current signal stop into buf (128 bytes). */
  getSiginfo(buf: Uint8Array): void {
    check(libc.ptraceBuf(PTRACE_GETSIGINFO, this.tid, 0, buf), 'PTRACE_GETSIGINFO');
  }

  /**
   * Makes the stub execute one host syscall at the trampoline and returns its
   * raw result (negative errno on failure). The workload's registers are kept
   * in regs and restored before it next runs. onEvent sees ptrace events
   * (fork/clone) the syscall causes.
   */
  hostSyscall(nr: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, onEvent?: (event: number) => void): number {
    this.aimScratch(TRAMPOLINE, nr, a0, a1, a2, a3, a4, a5);
    this.runInjected(TRAMPOLINE_END, onEvent);
    return this.scratch.getSigned(R.rax);
  }

  /**
   * Starts host syscall nr at the trampoline and returns at once; the stop
   * that ends it arrives through waitpid like any other (the waker's wait,
   * the doorbell's pause, a thread's exit). False when ptrace refused.
   */
  startHostSyscall(nr: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0): boolean {
    this.aimScratch(TRAMPOLINE, nr, a0, a1, a2, a3);
    return this.startScratch();
  }

  /**
   * Runs the first count entries of the batch page through the batch routine.
   * Returns how many did not complete (0 on success) and the last result.
   */
  runBatch(count: number): { remaining: number; result: number } {
    this.aimScratch(BATCH, 0, BATCH_PAGE, count);
    this.runInjected(BATCH_END);
    return { remaining: this.scratch.get(R.r13), result: this.scratch.getSigned(R.rax) };
  }

  /**
   * Sets the scratch registers up to run code at rip: the workload's registers
   * with rax and the syscall argument registers (rdi, rsi, rdx, r10, r8, r9)
   * replaced. orig_rax is -1, no syscall being restarted, so that resuming
   * from a signal stop there does not rewind rip.
   */
  private aimScratch(rip: number, rax: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): void {
    const s = this.scratch;
    s.copyFrom(this.regs);
    s.set(R.rip, rip);
    s.set(R.rax, rax);
    s.set(R.orig_rax, -1);
    s.set(R.rdi, a0);
    s.set(R.rsi, a1);
    s.set(R.rdx, a2);
    s.set(R.r10, a3);
    s.set(R.r8, a4);
    s.set(R.r9, a5);
  }

  /** Lets the thread run from the scratch registers (regs are written back before the workload runs again); false when ptrace refused. */
  private startScratch(): boolean {
    if (libc.ptraceBuf(PTRACE_SETREGS, this.tid, 0, this.scratch.buf) < 0) return false;
    this.regsDirty = true;
    return libc.ptrace(PTRACE_CONT, this.tid, 0, 0) >= 0;
  }

  /** Runs the stub from the scratch registers until it traps at endRip; scratch then holds its registers. */
  private runInjected(endRip: number, onEvent?: (event: number) => void): void {
    const s = this.scratch;
    if (!this.startScratch()) throw new Error(`starting stub ${this.tid} at ${s.get(R.rip).toString(16)}: errno ${libc.errno()}`);
    for (;;) {
      const stop = waitStop(this.tid);
      if (stop.kind === 'exited' || stop.kind === 'killed') throw new StubDied(this.tid, stop);
      if (stop.kind === 'event') {
        onEvent?.(stop.value);
      } else if (stop.kind === 'signal') {
        check(libc.ptraceBuf(PTRACE_GETREGS, this.tid, 0, s.buf), 'PTRACE_GETREGS');
        if (stop.value === SIGTRAP && s.get(R.rip) === endRip) return;
        this.deferredSignals.push(stop.value);
      }
      check(libc.ptrace(PTRACE_CONT, this.tid, 0, 0), 'PTRACE_CONT');
    }
  }

  /** Reads the message of the last ptrace event (the new pid for fork and clone). */
  eventMessage(): number {
    const msg = new BigUint64Array(1);
    check(libc.ptraceBuf(PTRACE_GETEVENTMSG, this.tid, 0, msg), 'PTRACE_GETEVENTMSG');
    return Number(msg[0]);
  }

  kill(): void {
    libc.kill(this.tid, SIGKILL);
  }

  /**
   * Ends this host thread alone (a signal would end its whole process): it
   * runs exit at the trampoline. Its death reaches wait() later.
   */
  exitThread(): void {
    if (!this.startHostSyscall(NR_EXIT)) this.kill();
  }

  /** Stops the thread wherever it is running; the stop arrives through wait() as a PTRACE_EVENT_STOP. */
  interrupt(): void {
    libc.ptrace(PTRACE_INTERRUPT, this.tid, 0, 0);
  }
}

/** A stub died while the Sentry was using it (killed from outside, or out of memory). */
class StubDied extends ContextDied {
  constructor(tid: number, stop: HostStop) {
    super(tid, `${stop.kind} ${stop.value}`);
  }
}

const NR_EPOLL_WAIT = 232;
const NR_SETPGID = 109;
const PROT_READ = 1;
const PROT_WRITE = 2;
/** Where the waker keeps the events its epoll_wait returns. */
const WAKER_PAGE = 0x10000;
/** The fd number of the Sentry's host epoll instance inside the waker. */
const WAKER_EPOLL_FD = STUB_MEMORY_FD + 1;
/** sizeof(struct epoll_event) on x86-64 (packed). */
const EPOLL_EVENT_SIZE = 12;
/** Events one wait of the waker returns at most. */
const WAKER_MAX_EVENTS = 64;

/**
 * A stub that waits on the Sentry's behalf in epoll_wait on the host poller's
 * epoll instance (host fds the sandbox uses, and a timerfd at the next timer
 * deadline: hostpoll.ts), so that waiting for the next stop of any workload
 * thread (waitpid) also ends when a host fd may be ready or a timer is due:
 * the waker's wait ends in a stop like any other. It stays in the Sentry's
 * host process group, so the signals a terminal generates reach it too (as
 * signal stops), while workload stubs live in a group of their own.
 */
class Waker {
  /** Whether the waker is inside epoll_wait (false while it is stopped). */
  private armed = false;

  constructor(readonly thread: StubThread, private readonly page: DataView) {}

  /** Starts a wait unless one is under way. */
  arm(): void {
    if (this.armed) return;
    // Resuming with signal 0 also discards a signal the waker stopped for.
    if (!this.thread.startHostSyscall(NR_EPOLL_WAIT, WAKER_EPOLL_FD, WAKER_PAGE, WAKER_MAX_EVENTS, -1)) {
      throw new Error(`arming the waker: errno ${libc.errno()}`);
    }
    this.armed = true;
  }

  /** The loop saw the waker stop: hands what woke it to the host poller. */
  stopped(stop: HostStop): void {
    this.armed = false;
    if (stop.kind === 'exited' || stop.kind === 'killed') throw new StubDied(this.thread.tid, stop);
    const poller = hostPoller();
    if (stop.kind === 'signal' && stop.value !== SIGTRAP) {
      poller.onSignal?.(stop.value);
      return;
    }
    if (stop.kind !== 'signal') return;
    // The wait returned (the int3 after the trampoline's syscall).
    this.thread.loadRegs();
    const n = Math.min(Math.max(this.thread.regs.get(R.rax), 0), WAKER_MAX_EVENTS);
    const events = [];
    for (let i = 0; i < n; i++) {
      const at = i * EPOLL_EVENT_SIZE;
      events.push({ events: this.page.getUint32(at, true), data: this.page.getBigUint64(at + 4, true) });
    }
    poller.dispatch(events);
  }
}

const NR_PAUSE = 34;

/**
 * A stub that waits in pause() so that a thread outside the loop (the
 * sandbox's control-socket watcher) can end the loop's waitpid by signalling
 * it: the signal arrives as a stop of this stub, which the kernel then re-arms.
 */
class Doorbell {
  constructor(readonly thread: StubThread) {}

  /** (Re)starts the wait; a signal that arrived meanwhile stops it again at once. */
  arm(): void {
    // Resuming with signal 0 discards the signal that rang.
    if (!this.thread.startHostSyscall(NR_PAUSE)) throw new Error(`arming the doorbell: errno ${libc.errno()}`);
  }
}

/** Owns the stub processes of one sandbox. */
export class PtracePlatform implements Platform {
  readonly name = 'ptrace';
  private template: StubThread | null = null;
  private readonly cpuMask: Uint8Array;
  private waker: Waker | null = null;
  private bell: Doorbell | null = null;

  /** BATCH_PAGE_SIZE bytes of the memory file that every stub sees read-only at BATCH_PAGE. */
  private readonly batchOff: number;
  private readonly batch: DataView;
  private batchLen = 0;
  /** The stub whose process the queued batch entries are for. */
  private batchOwner: StubThread | null = null;

  /** Every stub holds the memory file as STUB_MEMORY_FD so the Sentry can map workload memory into it. */
  constructor(private readonly mf: MemoryFile) {
    this.batchOff = mf.allocate(BATCH_PAGE_SIZE);
    const batchPage = mf.viewOf(this.batchOff, BATCH_PAGE_SIZE)!;
    this.batch = new DataView(batchPage.buffer, batchPage.byteOffset, BATCH_PAGE_SIZE);
    // Cross-CPU wakeups cost ~100 µs in these VMs: keep the tracer thread and
    // every stub on one CPU.
    const cpu = Math.max(0, libc.schedGetcpu());
    this.cpuMask = new Uint8Array(128);
    this.cpuMask[cpu >> 3] = 1 << (cpu & 7);
    libc.schedSetaffinity(0, this.cpuMask.length, this.cpuMask);
  }

  /**
   * A fresh stub process for a new address space: empty but for the stub
   * page. It is forked from a pristine template stub, which costs one
   * injected syscall instead of a process spawn.
   */
  newProcess(): StubThread {
    this.prepare();
    const template = this.template!;
    const t = PtracePlatform.cloneStub(template, SIGCHLD);
    // The template's parent is the Sentry; this one's is the template.
    t.hostSyscall(NR_PRCTL, PR_SET_PDEATHSIG, SIGKILL);
    return t;
  }

  /** Spawns the template stub and the waker now, while the Sentry may still start processes (before its seccomp filter). */
  prepare(): void {
    this.template ??= this.spawnTemplate();
  }

  /** A new host task in the same address space as parent's (for CLONE_VM children). */
  newSharingMemory(parent: StubThread): StubThread {
    return PtracePlatform.cloneStub(parent, CLONE_VM | SIGCHLD);
  }

  /** A new host thread in parent's stub process (for a workload thread). */
  newThread(parent: StubThread): StubThread {
    return PtracePlatform.cloneStub(parent, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD);
  }

  /** Has parent clone itself with flags; the child is traced from its first instruction. */
  private static cloneStub(parent: StubThread, flags: number): StubThread {
    let child = -1;
    const r = parent.hostSyscall(NR_CLONE, flags, 0, 0, 0, 0, 0, (event) => {
      if (event === PTRACE_EVENT_FORK || event === PTRACE_EVENT_CLONE) child = parent.eventMessage();
    });
    if (r < 0 || child < 0) throw new Error(`stub clone failed: ${r}`);
    const stop = waitStop(child);
    if (stop.kind !== 'event' || stop.value !== PTRACE_EVENT_STOP) throw new Error(`unexpected first stop of stub ${child}: ${stop.kind} ${stop.value}`);
    const t = new StubThread(child);
    t.loadRegs();
    return t;
  }

  /**
   * Keeps a helper process the Sentry waits on synchronously (the Gofer) on
   * the Sentry's CPU, where handing the CPU back and forth is cheap.
   */
  pin(pid: number): void {
    libc.schedSetaffinity(pid, this.cpuMask.length, this.cpuMask);
  }

  doorbell(): { tid: number; signal: number } {
    if (!this.bell) {
      this.bell = new Doorbell(this.newProcess());
      this.bell.arm();
    }
    return { tid: this.bell.thread.tid, signal: SIGURG };
  }

  /**
   * Queues a mapping change for t's process. Changes reach the host in one
   * batch (one stop instead of one per syscall) when flush(t) runs, which the
   * kernel does before t's process next runs. Changes for another process
   * flush the pending ones first, so they never mix.
   */
  queueMap(t: StubThread, addr: number, len: number, prot: number, off: number): void {
    this.enqueue(t, [NR_MMAP, addr, len, prot, MAP_SHARED | MAP_FIXED, STUB_MEMORY_FD, off]);
  }

  queueUnmap(t: StubThread, addr: number, len: number): void {
    this.enqueue(t, [NR_MUNMAP, addr, len]);
  }

  queueProtect(t: StubThread, addr: number, len: number, prot: number): void {
    this.enqueue(t, [NR_MPROTECT, addr, len, prot]);
  }

  /** Forgets changes queued for t (its process is being torn down). */
  discard(t: StubThread): void {
    if (this.batchOwner !== t) return;
    this.batchOwner = null;
    this.batchLen = 0;
  }

  /** Runs t's queued changes; returns 0, or the first failure's negated errno. */
  flush(t: StubThread): number {
    if (this.batchOwner !== t) return 0;
    const n = this.batchLen;
    this.batchLen = 0;
    this.batchOwner = null;
    const r = t.runBatch(n);
    return r.remaining === 0 ? 0 : r.result;
  }

  private enqueue(t: StubThread, call: number[]): void {
    if (this.batchOwner !== t || this.batchLen * BATCH_ENTRY_SIZE >= BATCH_PAGE_SIZE) {
      const failed = this.batchOwner ? this.flush(this.batchOwner) : 0;
      if (failed < 0) throw new Error(`host mapping change failed: ${failed}`);
    }
    this.batchOwner = t;
    const at = this.batchLen++ * BATCH_ENTRY_SIZE;
    for (let i = 0; i < 7; i++) this.batch.setBigInt64(at + 8 * i, BigInt(call[i] ?? 0), true);
  }

  /** Waits for the next stop of any stub thread, or for the waker's (a host fd, a host signal, deadline). */
  wait(deadline: bigint | null): Stop | null {
    const poller = hostPoller();
    poller.setDeadline(deadline);
    if (poller.needed) this.waker!.arm();
    const stop = waitStop(-1);
    if (this.waker && stop.tid === this.waker.thread.tid) {
      this.waker.stopped(stop);
      return null;
    }
    if (this.bell && stop.tid === this.bell.thread.tid) {
      this.bell.arm();
      return null;
    }
    // Events other than the interruption arrive only while the Sentry injects syscalls.
    if (stop.kind === 'event') return { id: stop.tid, kind: 'interrupted', value: 0 };
    return { id: stop.tid, kind: stop.kind, value: stop.value };
  }

  private spawnTemplate(): StubThread {
    const image = stubElf();
    const imageFd = check(libc.memfdCreate('runsc-stub', MFD_CLOEXEC), 'memfd_create');
    try {
      if (libc.write(imageFd, image, image.length) !== image.length) throw new Error('writing the stub image failed');
      const actions = new Uint8Array(libc.POSIX_SPAWN_FILE_ACTIONS_SIZE);
      libc.posixSpawnFileActionsInit(actions);
      libc.posixSpawnFileActionsAddDup2(actions, this.mf.fd, STUB_MEMORY_FD);
      libc.posixSpawnFileActionsAddDup2(actions, hostPoller().epfd, WAKER_EPOLL_FD);
      const pid = new Int32Array(1);
      const path = `/proc/self/fd/${imageFd}`;
      const err = libc.posixSpawn(pid, path, actions, null, ['runsc-stub', null], [null]);
      libc.posixSpawnFileActionsDestroy(actions);
      if (err !== 0) throw new Error(`posix_spawn of the stub failed: errno ${err}`);
      const tid = pid[0]!;
      check(libc.schedSetaffinity(tid, this.cpuMask.length, this.cpuMask), 'sched_setaffinity');
      check(libc.ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL), 'PTRACE_SEIZE');
      check(libc.ptrace(PTRACE_INTERRUPT, tid, 0, 0), 'PTRACE_INTERRUPT');
      const stop = waitStop(tid);
      if (stop.kind !== 'event' || stop.value !== PTRACE_EVENT_STOP) throw new Error(`unexpected first stop of the stub: ${stop.kind} ${stop.value}`);
      const t = new StubThread(tid);
      t.loadRegs();
      t.hostSyscall(NR_PRCTL, PR_SET_PDEATHSIG, SIGKILL);
      // Forked stubs are reaped by the host kernel as soon as the Sentry has seen them exit.
      t.hostSyscall(NR_RT_SIGACTION, SIGCHLD, STUB_SIGACTION_IGN, 0, 8);
      // Leave nothing of the host's making (stack, vdso) in the address space.
      t.hostSyscall(NR_MUNMAP, 0, STUB_BASE);
      t.hostSyscall(NR_MUNMAP, STUB_BASE + STUB_SIZE, TASK_SIZE - STUB_BASE - STUB_SIZE);
      // Every stub forked from here shares the read-only batch page.
      const r = t.hostSyscall(NR_MMAP, BATCH_PAGE, BATCH_PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, STUB_MEMORY_FD, this.batchOff);
      if (r !== BATCH_PAGE) throw new Error(`mapping the batch page failed: ${r}`);
      this.waker = this.newWaker(t);
      // Workload stubs keep out of the host terminal's foreground group: the
      // signals typed at it go to the Sentry's group (the waker), and the
      // Sentry sends them to the sandbox's own foreground group.
      t.hostSyscall(NR_SETPGID, 0, 0);
      this.trap(t, STUB_MEMORY_FD);
      return t;
    } finally {
      libc.close(imageFd);
    }
  }

  /**
   * The waker: forked from the template before it is sealed, so it still
   * holds the host poller's epoll instance, with its page of the memory file
   * for the events.
   */
  private newWaker(template: StubThread): Waker {
    const pageOff = this.mf.allocate(0x1000);
    const t = PtracePlatform.cloneStub(template, SIGCHLD);
    t.hostSyscall(NR_PRCTL, PR_SET_PDEATHSIG, SIGKILL);
    const r = t.hostSyscall(NR_MMAP, WAKER_PAGE, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, STUB_MEMORY_FD, pageOff);
    if (r !== WAKER_PAGE) throw new Error(`mapping the waker's page failed: ${r}`);
    this.trap(t, WAKER_EPOLL_FD);
    const page = this.mf.viewOf(pageOff, 0x1000)!;
    return new Waker(t, new DataView(page.buffer, page.byteOffset, page.byteLength));
  }

  /**
   * Seals a stub (the template, and so every stub forked from it; the
   * waker): no host fd above lastFd and none below the memory file
   * (posix_spawn passed on the Sentry's unmarked ones, stdio included),
   * no_new_privs, and the stub filter (stubfilter.ts), which the Sentry
   * hands over through the batch page before any batch uses it.
   */
  private trap(t: StubThread, lastFd: number): void {
    if (this.batchLen !== 0) throw new Error('the batch page is in use');
    const ok = (r: number, what: string): void => {
      if (r < 0) throw new Error(`${what} in the stub failed: errno ${-r}`);
    };
    ok(t.hostSyscall(NR_CLOSE_RANGE, 0, STUB_MEMORY_FD - 1, 0), 'close_range');
    ok(t.hostSyscall(NR_CLOSE_RANGE, lastFd + 1, 0xffff_ffff, 0), 'close_range');
    ok(t.hostSyscall(NR_PRCTL, PR_SET_NO_NEW_PRIVS, 1), 'PR_SET_NO_NEW_PRIVS');
    const prog = stubFilter();
    const FILTER_AT = 64;
    new Uint8Array(this.batch.buffer, this.batch.byteOffset + FILTER_AT, prog.length).set(prog);
    this.batch.setUint16(0, prog.length / 8, true); // struct sock_fprog {u16 len; sock_filter *filter}
    this.batch.setBigUint64(8, BigInt(BATCH_PAGE + FILTER_AT), true);
    ok(t.hostSyscall(NR_SECCOMP, SECCOMP_SET_MODE_FILTER, 0, BATCH_PAGE), 'seccomp');
  }
}

