// Signal dispositions, masks and returns from handlers.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, EPERM, ENOMEM, EINTR } from '../../src/abi/errno';
import { SIGKILL, SIGSTOP, NSIG, SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK, SS_DISABLE, SS_ONSTACK, MINSIGSTKSZ } from '../../src/abi/linux';
import { KSigaction, StackT } from '../../src/abi/layout';
import { UNBLOCKABLE } from '../../sentry/kernel/signals';
import { KEEP_REGS } from '../table';
import { R } from '../../sentry/platform/regs';

const SIGSET_SIZE = 8;

function rtSigaction(t: Task, a: SyscallArgs): number {
  const sig = a.int(0);
  const act = a.u64(1);
  const old = a.u64(2);
  if (a.u64(3) !== SIGSET_SIZE || sig < 1 || sig > NSIG) return -EINVAL;
  let next = null;
  if (act) {
    if (sig === SIGKILL || sig === SIGSTOP) return -EINVAL;
    const raw = t.mm.read(act, KSigaction.size);
    if (!raw) return -EFAULT;
    const d = KSigaction.decodeBig(raw);
    next = { handler: Number(d.sa_handler), flags: Number(d.sa_flags & 0xffffffffn), restorer: Number(d.sa_restorer), mask: d.sa_mask & ~UNBLOCKABLE };
  }
  if (old) {
    const cur = t.proc.actions[sig]!;
    if (!t.mm.write(old, KSigaction.encode({ sa_handler: cur.handler, sa_flags: cur.flags, sa_restorer: cur.restorer, sa_mask: cur.mask }))) return -EFAULT;
  }
  if (next) {
    t.proc.actions[sig] = next;
    // POSIX: setting a pending signal to be ignored discards it.
    if (t.kernel.signals.ignored(t.proc, sig)) t.kernel.signals.discard(t.proc, sig);
  }
  return 0;
}

function rtSigprocmask(t: Task, a: SyscallArgs): number {
  const how = a.int(0);
  const set = a.u64(1);
  const old = a.u64(2);
  if (a.u64(3) !== SIGSET_SIZE) return -EINVAL;
  let mask: bigint | null = null;
  if (set) {
    mask = t.mm.readU64(set);
    if (mask === null) return -EFAULT;
    if (how !== SIG_BLOCK && how !== SIG_UNBLOCK && how !== SIG_SETMASK) return -EINVAL;
  }
  if (old && !t.mm.writeU64(old, t.sigmask)) return -EFAULT;
  if (mask !== null) {
    if (how === SIG_BLOCK) t.sigmask |= mask;
    else if (how === SIG_UNBLOCK) t.sigmask &= ~mask;
    else t.sigmask = mask;
    t.sigmask &= ~UNBLOCKABLE;
  }
  return 0;
}

function rtSigpending(t: Task, a: SyscallArgs): number {
  if (a.u64(1) > SIGSET_SIZE) return -EINVAL;
  return t.mm.writeU64(a.u64(0), (t.pending | t.proc.pending) & t.sigmask) ? 0 : -EFAULT;
}

function rtSigreturn(t: Task): number {
  t.kernel.signals.sigreturn(t);
  return KEEP_REGS;
}

function sigaltstack(t: Task, a: SyscallArgs): number {
  const ss = a.u64(0);
  const old = a.u64(1);
  const cur = t.kernel.altStack(t);
  const sp = t.stub.regs.get(R.rsp);
  const onStack = cur !== null && sp > cur.sp && sp <= cur.sp + cur.size;
  if (old && !t.mm.write(old, StackT.encode({ ss_sp: cur?.sp ?? 0, ss_size: cur?.size ?? 0, ss_flags: cur ? (onStack ? SS_ONSTACK : 0) : SS_DISABLE }))) return -EFAULT;
  if (ss) {
    const raw = t.mm.read(ss, StackT.size);
    if (!raw) return -EFAULT;
    const d = StackT.decode(raw);
    if (onStack) return -EPERM;
    if (d.ss_flags & ~SS_DISABLE) return -EINVAL;
    if (d.ss_flags & SS_DISABLE) t.kernel.setAltStack(t, null);
    else {
      if (d.ss_size < MINSIGSTKSZ) return -ENOMEM;
      t.kernel.setAltStack(t, { sp: d.ss_sp, size: d.ss_size });
    }
  }
  return 0;
}

/** Waits for a signal; the handler runs before the call returns EINTR. */
function pause(t: Task): Promise<number> {
  return t.waitFor(() => false, []).then(() => -EINTR);
}

function rtSigsuspend(t: Task, a: SyscallArgs): number | Promise<number> {
  if (a.u64(1) !== SIGSET_SIZE) return -EINVAL;
  const mask = t.mm.readU64(a.u64(0));
  if (mask === null) return -EFAULT;
  t.savedMask = t.sigmask;
  t.sigmask = mask & ~UNBLOCKABLE;
  return t.waitFor(() => false, []).then(() => -EINTR);
}

export const signalRows: SyscallRow[] = [
  { nr: SYS.rt_sigaction, name: 'rt_sigaction', handler: rtSigaction, args: ['signal', 'ptr', 'ptr', 'size'], support: 'full' },
  { nr: SYS.rt_sigprocmask, name: 'rt_sigprocmask', handler: rtSigprocmask, args: ['int', 'ptr', 'ptr', 'size'], support: 'full' },
  { nr: SYS.rt_sigpending, name: 'rt_sigpending', handler: rtSigpending, args: ['ptr', 'size'], support: 'full' },
  { nr: SYS.rt_sigreturn, name: 'rt_sigreturn', handler: rtSigreturn, args: [], support: 'full' },
  { nr: SYS.sigaltstack, name: 'sigaltstack', handler: sigaltstack, args: ['ptr', 'ptr'], support: 'full' },
  { nr: SYS.pause, name: 'pause', handler: pause, args: [], support: 'full' },
  { nr: SYS.rt_sigsuspend, name: 'rt_sigsuspend', handler: rtSigsuspend, args: ['ptr', 'size'], support: 'full' },
];
