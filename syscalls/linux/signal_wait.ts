// Taking signals synchronously and sending them with a payload:
// rt_sigtimedwait, rt_sigqueueinfo/rt_tgsigqueueinfo, signalfd/signalfd4
// (sentry/vfs/signalfd.ts) and pidfds (pidfd_open, pidfd_send_signal;
// sentry/vfs/pidfd.ts).
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import type { Process } from '../../sentry/kernel/process';
import { UNBLOCKABLE, type SigInfo } from '../../sentry/kernel/signals';
import { SignalFD, encodeSiginfo } from '../../sentry/vfs/signalfd';
import { PidFD } from '../../sentry/vfs/pidfd';
import { timespecDeadline } from './poll';
import { SYS } from '../../src/abi/sysno';
import { EAGAIN, EBADF, EFAULT, EINVAL, EPERM, ESRCH, ETIMEDOUT } from '../../src/abi/errno';
import { NSIG, O_NONBLOCK, SFD_CLOEXEC, SFD_NONBLOCK, SI_TKILL } from '../../src/abi/linux';
import { Siginfo } from '../../src/abi/layout';

const SIGSET_SIZE = 8;
const SIGINFO_SIZE = 128;
const SI_USER = 0;
const PIDFD_NONBLOCK = O_NONBLOCK;

function rtSigtimedwait(t: Task, a: SyscallArgs): number | Promise<number> {
  if (a.u64(3) !== SIGSET_SIZE) return -EINVAL;
  const raw = t.mm.readU64(a.u64(0));
  if (raw === null) return -EFAULT;
  const set = raw & ~UNBLOCKABLE;
  const infoAddr = a.u64(1);
  const deadline = timespecDeadline(t, a.u64(2));
  if (typeof deadline === 'number') return deadline;
  const finish = (info: SigInfo): number => {
    if (infoAddr && !t.mm.write(infoAddr, encodeSiginfo(info))) return -EFAULT;
    return info.signo;
  };
  let got = t.kernel.signals.take(t, set);
  if (got) return finish(got);
  return t.waitFor(() => (got = t.kernel.signals.take(t, set)) !== null, [t.signalQueue], deadline).then((r) => {
    if (got) return finish(got);
    return r === -ETIMEDOUT ? -EAGAIN : r;
  });
}

/** Reads a caller's siginfo for sig; enforces Linux's rule that others may not forge kernel or kill(2) codes. */
function userSiginfo(t: Task, addr: number, sig: number, self: boolean): SigInfo | number {
  const raw = t.mm.read(addr, SIGINFO_SIZE);
  if (!raw) return -EFAULT;
  const code = Siginfo.get(raw, 'si_code') as number;
  if ((code >= 0 || code === SI_TKILL) && !self) return -EPERM;
  const bytes = raw.slice();
  Siginfo.encodeInto(bytes, 0, { si_signo: sig });
  return { signo: sig, code, pid: Siginfo.get(raw, 'si_pid') as number, uid: Siginfo.get(raw, 'si_uid') as number, raw: bytes };
}

function liveProcess(t: Task, pid: number): Process | undefined {
  const p = pid > 0 ? t.kernel.processes.get(pid) : undefined;
  return p && !p.zombie ? p : undefined;
}

function rtSigqueueinfo(t: Task, a: SyscallArgs): number {
  const pid = a.int(0);
  const sig = a.int(1);
  const info = userSiginfo(t, a.u64(2), sig, pid === t.pid);
  if (typeof info === 'number') return info;
  if (sig < 0 || sig > NSIG) return -EINVAL;
  const p = liveProcess(t, pid);
  if (!p) return -ESRCH;
  return sig === 0 ? 0 : t.kernel.signals.sendToProcess(p, sig, info);
}

function rtTgsigqueueinfo(t: Task, a: SyscallArgs): number {
  const tgid = a.int(0);
  const tid = a.int(1);
  const sig = a.int(2);
  if (tgid <= 0 || tid <= 0) return -EINVAL;
  const info = userSiginfo(t, a.u64(3), sig, tid === t.tid);
  if (typeof info === 'number') return info;
  if (sig < 0 || sig > NSIG) return -EINVAL;
  const target = t.kernel.taskByTid(tid);
  if (!target || target.pid !== tgid || target.exited) return -ESRCH;
  return sig === 0 ? 0 : t.kernel.signals.sendToTask(target, sig, info);
}

function doSignalfd(t: Task, fd: number, maskAddr: number, size: number, flags: number): number {
  if (size !== SIGSET_SIZE || flags & ~(SFD_CLOEXEC | SFD_NONBLOCK)) return -EINVAL;
  const raw = t.mm.readU64(maskAddr);
  if (raw === null) return -EFAULT;
  const mask = raw & ~UNBLOCKABLE;
  if (fd !== -1) {
    const f = t.fds.get(fd);
    if (!f) return -EBADF;
    if (!(f instanceof SignalFD)) return -EINVAL;
    f.setMask(mask);
    return fd;
  }
  const f = new SignalFD(t, mask, (flags & SFD_NONBLOCK) !== 0);
  const r = t.fds.install(f, (flags & SFD_CLOEXEC) !== 0);
  if (r < 0) f.decRef();
  return r;
}

function pidfdOpen(t: Task, a: SyscallArgs): number {
  const pid = a.int(0);
  const flags = a.uint(1);
  if (flags & ~PIDFD_NONBLOCK || pid <= 0) return -EINVAL;
  const p = t.kernel.processes.get(pid);
  if (!p) {
    // A thread that is not its group's leader: Linux wants the thread-group id.
    return t.kernel.taskByTid(pid) ? -EINVAL : -ESRCH;
  }
  const f = new PidFD(t.kernel.signals, p, (flags & PIDFD_NONBLOCK) !== 0);
  const r = t.fds.install(f, true);
  if (r < 0) f.decRef();
  return r;
}

function pidfdSendSignal(t: Task, a: SyscallArgs): number {
  const f = t.fds.get(a.int(0));
  const sig = a.int(1);
  const infoAddr = a.u64(2);
  if (a.uint(3) !== 0) return -EINVAL;
  if (!f) return -EBADF;
  if (!(f instanceof PidFD)) return -EBADF;
  if (sig < 0 || sig > NSIG) return -EINVAL;
  const p = f.proc;
  if (p.zombie) return -ESRCH;
  let info: SigInfo = { signo: sig, code: SI_USER, pid: t.pid, uid: t.creds.uid };
  if (infoAddr) {
    const raw = t.mm.read(infoAddr, SIGINFO_SIZE);
    if (!raw) return -EFAULT;
    if (Siginfo.get(raw, 'si_signo') !== sig) return -EINVAL;
    const u = userSiginfo(t, infoAddr, sig, p === t.proc);
    if (typeof u === 'number') return u;
    info = u;
  }
  return sig === 0 ? 0 : t.kernel.signals.sendToProcess(p, sig, info);
}

export const signalWaitRows: SyscallRow[] = [
  {
    nr: SYS.rt_sigtimedwait, name: 'rt_sigtimedwait', handler: rtSigtimedwait, args: ['ptr', 'ptr', 'ptr', 'size'], support: 'full',
  },
  {
    nr: SYS.rt_sigqueueinfo, name: 'rt_sigqueueinfo', handler: rtSigqueueinfo, args: ['pid', 'signal', 'ptr'], support: 'partial',
    note: 'The caller\'s siginfo is delivered as given; no uid permission check.',
  },
  {
    nr: SYS.rt_tgsigqueueinfo, name: 'rt_tgsigqueueinfo', handler: rtTgsigqueueinfo, args: ['pid', 'pid', 'signal', 'ptr'], support: 'partial',
    note: 'As rt_sigqueueinfo.',
  },
  {
    nr: SYS.signalfd, name: 'signalfd', handler: (t, a) => doSignalfd(t, a.int(0), a.u64(1), a.u64(2), 0), args: ['fd', 'ptr', 'size'],
    support: 'partial', note: 'As signalfd4.',
  },
  {
    nr: SYS.signalfd4, name: 'signalfd4', handler: (t, a) => doSignalfd(t, a.int(0), a.u64(1), a.u64(2), a.uint(3)), args: ['fd', 'ptr', 'size', 'hex'],
    support: 'partial',
    note: 'SFD_NONBLOCK, SFD_CLOEXEC, mask updates. poll/epoll readiness follows the task that created or last read the file, not the poller.',
  },
  {
    nr: SYS.pidfd_open, name: 'pidfd_open', handler: pidfdOpen, args: ['pid', 'hex'], support: 'partial',
    note: 'PIDFD_NONBLOCK; POLLIN once the process exited. PIDFD_THREAD and waitid(P_PIDFD) are not implemented.',
  },
  {
    nr: SYS.pidfd_send_signal, name: 'pidfd_send_signal', handler: pidfdSendSignal, args: ['fd', 'signal', 'ptr', 'hex'], support: 'full',
  },
];
