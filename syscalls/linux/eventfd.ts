// eventfd, eventfd2: counters as files (sentry/vfs/eventfd.ts).
import { EINVAL } from '../../src/abi/errno';
import { EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE } from '../../src/abi/linux';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import { EventFD } from '../../sentry/vfs/eventfd';
import type { SyscallRow } from '../types';

function doEventfd(t: Task, initval: number, flags: number): number {
  if ((flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)) !== 0) return -EINVAL;
  const f = new EventFD(initval, (flags & EFD_SEMAPHORE) !== 0, (flags & EFD_NONBLOCK) !== 0);
  const fd = t.fds.install(f, (flags & EFD_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

export const eventfdRows: SyscallRow[] = [
  {
    nr: SYS.eventfd, name: 'eventfd', handler: (t, a) => doEventfd(t, a.uint(0), 0), args: ['uint'], support: 'full',
  },
  {
    nr: SYS.eventfd2, name: 'eventfd2', handler: (t, a) => doEventfd(t, a.uint(0), a.uint(1)), args: ['uint', 'hex'],
    support: 'full', note: 'EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC.',
  },
];
