// The one syscall table, keyed by x86-64 syscall number. Dispatch, --strace
// decoding, `runsc syscalls` and docs/compatibility.md all read it. Every
// number has a row: a syscall nobody implemented returns ENOSYS.
import type { SyscallRow } from './types';
import { SYSCALL_NAMES, MAX_SYSCALL } from '../src/abi/sysno';
import { ENOSYS } from '../src/abi/errno';
import { fsRows } from './linux/fs';
import { processRows } from './linux/process';
import { memoryRows } from './linux/memory';
import { signalRows } from './linux/signal';
import { timeRows } from './linux/time';
import { systemRows } from './linux/system';
import { futexRows } from './linux/futex';
import { pollRows } from './linux/poll';
import { timerRows } from './linux/timers';
import { eventfdRows } from './linux/eventfd';
import { epollRows } from './linux/epoll';
import { socketRows } from './linux/socket';
import { signalWaitRows } from './linux/signal_wait';
import { privilegedRows } from './linux/privileged';

/** A handler's result meaning: the task is gone, do not resume it. */
export const EXITED = -0x10001;
/** A handler's result meaning: the handler set all registers; resume as they are. */
export const KEEP_REGS = -0x10000;

function unimplemented(nr: number): SyscallRow {
  return { nr, name: SYSCALL_NAMES[nr] || `syscall_${nr}`, handler: () => -ENOSYS, args: [], support: 'none', note: 'Returns ENOSYS.' };
}

function build(): SyscallRow[] {
  const table: SyscallRow[] = [];
  for (let nr = 0; nr <= MAX_SYSCALL; nr++) table.push(unimplemented(nr));
  for (const row of [...fsRows, ...processRows, ...memoryRows, ...signalRows, ...timeRows, ...systemRows, ...futexRows, ...pollRows, ...timerRows, ...eventfdRows, ...epollRows, ...socketRows, ...signalWaitRows,
    ...privilegedRows]) {
    if (table[row.nr]!.support !== 'none') throw new Error(`syscall ${row.name} has two rows`);
    if (SYSCALL_NAMES[row.nr] !== row.name) throw new Error(`syscall row ${row.name} has number ${row.nr}, which is ${SYSCALL_NAMES[row.nr]}`);
    table[row.nr] = row;
  }
  return table;
}

export const SYSCALL_TABLE: readonly SyscallRow[] = build();
