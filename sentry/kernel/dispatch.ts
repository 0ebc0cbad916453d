// Syscall dispatch: decodes the stopped task's registers, runs the handler from
// the one syscall table, prints --strace lines from the same table, and hands
// the result back to the scheduler. Also execve, which every process start
// goes through.
import type { Kernel } from './kernel';
import type { Task } from './task';
import type { SyscallArgs, SyscallRow } from '../../syscalls/types';
import { SYSCALL_TABLE, EXITED, KEEP_REGS } from '../../syscalls/table';
import { formatArg, formatResult } from '../../syscalls/strace';
import { R } from '../platform/regs';
import type { Regs } from '../platform/regs';
import { loadExecutable } from '../loader/elf';
import { AddressSpace } from '../mm/address-space';
import { signaledStatus } from './kernel';
import { ENOEXEC, ELOOP, EACCES, ENOENT, ENOMEM } from '../../src/abi/errno';
import { OutOfMemory } from '../mm/memfile';
import { SIGSYS, SIGKILL, RLIMIT_STACK } from '../../src/abi/linux';
import { getHwcaps } from './hwcap';
import { exitRobustList } from './futex_pi';
import { execCaps } from './caps';

/** Syscalls that SA_RESTART does not restart (signal(7)): they return EINTR. */
const NOT_RESTARTABLE = new Set([
  'nanosleep', 'clock_nanosleep', 'poll', 'ppoll', 'select', 'pselect6', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2',
  'pause', 'rt_sigsuspend', 'rt_sigtimedwait', 'semtimedop', 'io_getevents',
]);
const MAX_INTERPRETER_DEPTH = 4;

class Args implements SyscallArgs {
  regs!: Regs;
  private static readonly order = [R.rdi, R.rsi, R.rdx, R.r10, R.r8, R.r9];
  int(i: number): number { return this.regs.getInt(Args.order[i]!); }
  uint(i: number): number { return this.regs.getU32(Args.order[i]!); }
  u64(i: number): number { return this.regs.get(Args.order[i]!); }
  i64(i: number): number { return this.regs.getSigned(Args.order[i]!); }
  big(i: number): bigint { return this.regs.big[Args.order[i]!]!; }
}

export class Dispatcher {
  private readonly args = new Args();
  private readonly restartable: boolean[];
  private readonly reportedMissing = new Set<number>();

  constructor(private readonly kernel: Kernel, private readonly strace: boolean) {
    this.restartable = SYSCALL_TABLE.map((row) => !NOT_RESTARTABLE.has(row.name));
  }

  /** Handles the syscall t is stopped at. */
  syscall(t: Task): void {
    const nr = t.stub.regs.get(R.orig_rax);
    const row = SYSCALL_TABLE[nr];
    if (!row) {
      this.complete(t, nr, -38);
      return;
    }
    this.args.regs = t.stub.regs;
    // Mapping changes reach the host through this (stopped) thread.
    t.mm.stub = t.stub;
    const entry = this.strace ? this.straceEntry(t, row) : '';
    if (row.support === 'none' && !this.reportedMissing.has(nr)) {
      this.reportedMissing.add(nr);
      this.kernel.log.info({ syscall: row.name, nr }, 'unsupported syscall');
    }
    let r;
    try {
      r = row.handler(t, this.args);
    } catch (e) {
      // Out of workload memory is the workload's problem (ENOMEM), not a bug.
      if (e instanceof OutOfMemory) r = -ENOMEM;
      else {
        this.bug(t, e);
        return;
      }
    }
    if (typeof r === 'number') {
      if (this.strace) this.straceExit(t, entry, row, r);
      this.complete(t, nr, r);
    } else {
      if (this.strace) this.kernel.log.info(`[${t.tid}] ${entry} ...`);
      this.kernel.block(t, r, (v) => {
        if (this.strace) this.straceExit(t, `${row.name}(...) resumed`, row, v);
        this.complete(t, nr, v);
      });
    }
  }

  private complete(t: Task, nr: number, r: number): void {
    if (r === EXITED) return;
    if (r === KEEP_REGS) this.kernel.resume(t);
    else this.kernel.finishSyscall(t, r, this.restartable[nr] ?? true);
  }

  private straceEntry(t: Task, row: SyscallRow): string {
    const parts = row.args.map((fmt, i) => formatArg(t, fmt, this.args, i));
    return `${row.name}(${parts.join(', ')})`;
  }

  private straceExit(t: Task, entry: string, row: SyscallRow, r: number): void {
    this.kernel.log.info(`[${t.tid}] ${entry} = ${formatResult(row, r)}`);
  }

  /** A handler threw: a Sentry bug. The process dies with SIGSYS; the sandbox lives on. */
  bug(t: Task, e: unknown): void {
    this.kernel.log.error({ tid: t.tid, err: e instanceof Error ? e.stack : String(e) }, 'sentry bug in syscall handler');
    this.kernel.exitProcess(t.proc, signaledStatus(SIGSYS));
  }

  /**
   * execve: replaces t's image with the program at path. Returns -errno while
   * the old image is intact; once it is gone a failure kills the process.
   * On success t's registers start the new image (KEEP_REGS).
   */
  exec(t: Task, path: string, argv: string[], envp: string[], depth = 0): number {
    const file = this.kernel.vfs.openExecutable(t, path);
    if (typeof file === 'number') return file;
    const src = file.mappable();
    if (!src) {
      file.decRef();
      return -EACCES;
    }
    const head = src.readAt(0, 256);
    if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) {
      // "#!interpreter [arg]": run the interpreter with the script's path.
      if (depth >= MAX_INTERPRETER_DEPTH) return -ELOOP;
      const nl = head.indexOf(0x0a);
      const line = Buffer.from(head.subarray(2, nl < 0 ? head.length : nl)).toString('utf8').trim();
      if (!line) return -ENOEXEC;
      const sp = line.search(/[ \t]/);
      const interp = sp < 0 ? line : line.slice(0, sp);
      const arg = sp < 0 ? '' : line.slice(sp).trim();
      const newArgv = [interp, ...(arg ? [arg] : []), path, ...argv.slice(1)];
      file.decRef();
      return this.exec(t, interp, newArgv, envp, depth + 1);
    }
    if (head.length < 4 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
      file.decRef();
      return -ENOEXEC;
    }
    // The point of no return: the old image goes (and with it the locks on
    // the thread's robust list). An address space shared with another
    // process (vfork) stays with it; this one gets a new stub.
    exitRobustList(t);
    if (t.mm.users > 1 || t.proc.tasks.size > 1) {
      // Other threads die with the old image: a fresh stub process, and the
      // old one (all its host threads) is killed.
      const threaded = t.proc.tasks.size > 1;
      this.kernel.becomeSoleThread(t);
      const stub = this.kernel.platform.newProcess();
      this.kernel.replaceStub(t, stub);
      if (threaded && t.mm.users === 1) t.mm.clear();
      else t.mm.users--;
      t.mm = new AddressSpace(this.kernel.mf, this.kernel.cache, this.kernel.platform, stub);
    } else {
      t.mm.reset();
    }
    const hw = getHwcaps();
    const r = loadExecutable(t.mm, this.kernel.cache, {
      file: src, name: path, argv, envp, execfn: path,
      creds: { uid: t.creds.uid, euid: t.creds.euid, gid: t.creds.gid, egid: t.creds.egid },
      hwcap: hw.hwcap, hwcap2: hw.hwcap2,
      openInterp: (p) => {
        const f = this.kernel.vfs.openExecutable(t, p);
        if (typeof f === 'number') return f;
        const m = f.mappable();
        f.decRef();
        return m ?? -ENOENT;
      },
      stackSize: t.proc.rlimits[RLIMIT_STACK]![0],
      mapVdso: () => this.kernel.vdso.map(t.mm),
    });
    if (typeof r === 'number') {
      file.decRef();
      this.kernel.log.warn({ path, errno: -r }, 'execve failed after the old image was released');
      this.kernel.exitProcess(t.proc, signaledStatus(SIGKILL));
      return EXITED;
    }
    const regs = t.stub.regs;
    const keep = [R.cs, R.ss, R.ds, R.es, R.fs, R.gs].map((i) => [i, regs.big[i]!] as const);
    regs.big.fill(0n);
    for (const [i, v] of keep) regs.big[i] = v;
    regs.set(R.rip, r.entry);
    regs.set(R.rsp, r.sp);
    regs.set(R.eflags, 0x202);
    regs.set(R.orig_rax, -1);
    t.stub.touchRegs();
    t.fds.closeOnExec();
    t.proc.resetActionsForExec();
    t.proc.dumpable = 1;
    execCaps(t.creds);
    // POSIX timers do not survive execve (setitimer's do).
    for (const timer of t.proc.posixTimers.values()) timer.disarm();
    t.proc.posixTimers.clear();
    t.proc.comm = path.slice(path.lastIndexOf('/') + 1).slice(0, 15);
    t.proc.exe?.decRef();
    t.proc.exe = file;
    t.proc.argv = argv;
    t.proc.envp = envp;
    this.kernel.setAltStack(t, null);
    if (t.vforkParent) {
      t.vforkParent = null;
      t.proc.vforkDone.notify();
    }
    return KEEP_REGS;
  }
}
