// epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait,
// epoll_pwait2 over sentry/vfs/epoll.ts. Waiting uses Task.waitFor on the
// epoll's queue.
import { EBADF, EFAULT, EINVAL, EPERM, ETIMEDOUT } from '../../src/abi/errno';
import { EPOLL_CLOEXEC, EPOLL_CTL_DEL } from '../../src/abi/linux';
import { EpollEvent } from '../../src/abi/layout';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import { EpollFD } from '../../sentry/vfs/epoll';
import { S_IFDIR, S_IFREG } from '../../sentry/vfs/linuxconst';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { fileOf } from './fs_util';
import { timespecDeadline, withMask } from './poll';

/** EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event). */
const EP_MAX_EVENTS = Math.floor(0x7fffffff / EpollEvent.size);

function createEpoll(t: Task, cloexec: boolean): number {
  const f = new EpollFD();
  const fd = t.fds.install(f, cloexec);
  if (fd < 0) f.decRef();
  return fd;
}

function epollCtl(t: Task, a: SyscallArgs): SysResult {
  const epfd = a.int(0), op = a.int(1), fd = a.int(2), evAddr = a.u64(3);
  let events = 0, data = 0n;
  if (op !== EPOLL_CTL_DEL) {
    const raw = t.mm.read(evAddr, EpollEvent.size);
    if (!raw) return -EFAULT;
    const ev = EpollEvent.decodeBig(raw);
    events = Number(ev.events);
    data = ev.data;
  }
  const ep = fileOf(t, epfd);
  if (!ep) return -EBADF;
  const target = fileOf(t, fd);
  if (!target) return -EBADF;
  // Regular files and directories have no poll method on Linux: EPERM.
  const type = target.isPath ? S_IFREG : target.fileType(t);
  if (type === S_IFREG || type === S_IFDIR) return -EPERM;
  if (ep === target || !(ep instanceof EpollFD)) return -EINVAL;
  return ep.ctl(op, fd, target, events, data);
}

/** Waits for events on epfd and copies them out; undo() restores a temporary signal mask. */
function doWait(t: Task, epfd: number, addr: number, max: number, deadline: bigint | undefined, undo: () => void): SysResult {
  const fail = (e: number) => { undo(); return e; };
  if (max <= 0 || max > EP_MAX_EVENTS) return fail(-EINVAL);
  const ep = fileOf(t, epfd);
  if (!ep) return fail(-EBADF);
  if (!(ep instanceof EpollFD)) return fail(-EINVAL);
  const copyOut = (evs: { events: number; data: bigint }[]): number => {
    const buf = new Uint8Array(evs.length * EpollEvent.size);
    evs.forEach((e, i) => EpollEvent.encodeInto(buf, i * EpollEvent.size, { events: e.events, data: e.data }));
    return t.mm.write(addr, buf) ? evs.length : -EFAULT;
  };
  const now = ep.collect(max);
  if (now.length > 0 || (deadline !== undefined && t.kernel.monotonicNs() >= deadline)) return fail(copyOut(now));
  // The description stays alive while we wait, even if the fd is closed.
  ep.incRef();
  return (async () => {
    try {
      let got: { events: number; data: bigint }[] = [];
      const r = await t.waitFor(() => (got = ep.collect(max)).length > 0, [ep.queue], deadline);
      if (r === 0) return copyOut(got);
      return r === -ETIMEDOUT ? 0 : r;
    } finally {
      ep.decRef();
      undo();
    }
  })();
}

function msDeadline(t: Task, ms: number): bigint | undefined {
  return ms < 0 ? undefined : t.kernel.monotonicNs() + BigInt(ms) * 1_000_000n;
}

function epollWait(t: Task, a: SyscallArgs): SysResult {
  return doWait(t, a.int(0), a.u64(1), a.int(2), msDeadline(t, a.int(3)), () => {});
}

function epollPwait(t: Task, a: SyscallArgs): SysResult {
  const undo = withMask(t, a.u64(4), a.u64(5));
  if (typeof undo === 'number') return undo;
  return doWait(t, a.int(0), a.u64(1), a.int(2), msDeadline(t, a.int(3)), undo);
}

function epollPwait2(t: Task, a: SyscallArgs): SysResult {
  const deadline = timespecDeadline(t, a.u64(3));
  if (typeof deadline === 'number') return deadline;
  const undo = withMask(t, a.u64(4), a.u64(5));
  if (typeof undo === 'number') return undo;
  return doWait(t, a.int(0), a.u64(1), a.int(2), deadline, undo);
}

export const epollRows: SyscallRow[] = [
  {
    nr: SYS.epoll_create, name: 'epoll_create', args: ['int'], support: 'full',
    handler: (t, a) => (a.int(0) <= 0 ? -EINVAL : createEpoll(t, false)),
  },
  {
    nr: SYS.epoll_create1, name: 'epoll_create1', args: ['hex'], support: 'full',
    handler: (t, a) => ((a.uint(0) & ~EPOLL_CLOEXEC) !== 0 ? -EINVAL : createEpoll(t, (a.uint(0) & EPOLL_CLOEXEC) !== 0)),
  },
  {
    nr: SYS.epoll_ctl, name: 'epoll_ctl', handler: epollCtl, args: ['fd', 'int', 'fd', 'ptr'], support: 'partial',
    note: 'Level- and edge-triggered, EPOLLONESHOT, EPOLLRDHUP, nested epoll with ELOOP checks. ' +
      'EPOLLEXCLUSIVE is validated but wakes every waiter; EPOLLWAKEUP is ignored; no max_user_watches limit.',
  },
  {
    nr: SYS.epoll_wait, name: 'epoll_wait', handler: epollWait, args: ['fd', 'ptr', 'int', 'int'], support: 'partial',
    note: 'Interests on host fds (stdio) are re-checked every 10 ms while waiting.',
  },
  {
    nr: SYS.epoll_pwait, name: 'epoll_pwait', handler: epollPwait, args: ['fd', 'ptr', 'int', 'int', 'ptr', 'size'],
    support: 'partial', note: 'As epoll_wait.',
  },
  {
    nr: SYS.epoll_pwait2, name: 'epoll_pwait2', handler: epollPwait2, args: ['fd', 'ptr', 'int', 'ptr', 'ptr', 'size'],
    support: 'partial', note: 'As epoll_wait.',
  },
];
