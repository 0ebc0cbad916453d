// --strace: prints each syscall with its arguments decoded by the formats in
// its table row, and its result (or errno name).
import type { Task } from '../sentry/kernel/task';
import type { ArgFormat, SyscallArgs, SyscallRow } from './types';
import { errnoName } from '../src/abi/errno';
import { signalName } from '../src/abi/linux';

const MAX_STRING = 64;

function quote(s: string): string {
  const q = JSON.stringify(s.length > MAX_STRING ? s.slice(0, MAX_STRING) : s);
  return s.length > MAX_STRING ? `${q}...` : q;
}

export function formatArg(t: Task, fmt: ArgFormat, a: SyscallArgs, i: number): string {
  switch (fmt) {
    case 'int': case 'fd': case 'pid': case 'clockid':
      return String(a.int(i));
    case 'uint': case 'size':
      return String(a.u64(i));
    case 'off':
      return String(a.i64(i));
    case 'mode': {
      const m = a.uint(i);
      return m === 0 ? '0' : `0${m.toString(8)}`;
    }
    case 'signal': {
      const s = a.int(i);
      return s > 0 && s <= 64 ? signalName(s) : String(s);
    }
    case 'str': case 'path': {
      const addr = a.u64(i);
      if (addr === 0) return 'NULL';
      const s = t.mm.readCString(addr, 4096);
      return typeof s === 'string' ? quote(s) : `0x${addr.toString(16)}`;
    }
    case 'hex': case 'oflags': case 'ptr': case 'buf': case 'iov':
      return `0x${a.u64(i).toString(16)}`;
  }
}

export function formatResult(row: SyscallRow, r: number): string {
  if (r < 0 && r >= -4095) return `-1 ${errnoName(-r)}`;
  return row.name === 'mmap' || row.name === 'brk' ? `0x${r.toString(16)}` : String(r);
}
