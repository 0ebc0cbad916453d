// syslog(2) (glibc's klogctl), as dmesg uses it: the Sentry's kernel log
// (sentry/kernel/kmsg.ts). Reading it needs CAP_SYSLOG, as on a host with
// kernel.dmesg_restrict=1 (Debian's default).
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EFAULT, EINVAL, EPERM } from '../../src/abi/errno';
import { CAP_SYS_ADMIN, CAP_SYSLOG, capable } from '../../sentry/kernel/caps';

const SYSLOG_ACTION_CLOSE = 0;
const SYSLOG_ACTION_OPEN = 1;
const SYSLOG_ACTION_READ = 2;
const SYSLOG_ACTION_READ_ALL = 3;
const SYSLOG_ACTION_READ_CLEAR = 4;
const SYSLOG_ACTION_CLEAR = 5;
const SYSLOG_ACTION_CONSOLE_LEVEL = 8;
const SYSLOG_ACTION_SIZE_UNREAD = 9;
const SYSLOG_ACTION_SIZE_BUFFER = 10;

function syslog(t: Task, a: SyscallArgs): number {
  const type = a.int(0);
  const buf = a.u64(1);
  const len = a.int(2);
  if (type < SYSLOG_ACTION_CLOSE || type > SYSLOG_ACTION_SIZE_BUFFER) return -EINVAL;
  if (type !== SYSLOG_ACTION_CLOSE && type !== SYSLOG_ACTION_OPEN && !capable(t.creds, CAP_SYSLOG) && !capable(t.creds, CAP_SYS_ADMIN)) return -EPERM;
  const log = t.kernel.kmsg;
  switch (type) {
    case SYSLOG_ACTION_READ_ALL:
    case SYSLOG_ACTION_READ_CLEAR: {
      if (len < 0) return -EINVAL;
      if (len === 0) return 0;
      if (!buf) return -EINVAL;
      const text = Buffer.from(log.tail(len));
      if (!t.mm.write(buf, text)) return -EFAULT;
      if (type === SYSLOG_ACTION_READ_CLEAR) log.clear();
      return text.length;
    }
    case SYSLOG_ACTION_READ: {
      if (!buf || len < 0) return -EINVAL;
      if (len === 0) return 0;
      const text = Buffer.from(log.takeUnread(len));
      return t.mm.write(buf, text) ? text.length : -EFAULT;
    }
    case SYSLOG_ACTION_CLEAR:
      log.clear();
      return 0;
    case SYSLOG_ACTION_CONSOLE_LEVEL:
      return len < 1 || len > 8 ? -EINVAL : 0;
    case SYSLOG_ACTION_SIZE_UNREAD:
      return log.unreadBytes();
    case SYSLOG_ACTION_SIZE_BUFFER:
      return log.capacity;
    // CLOSE, OPEN, CONSOLE_OFF (6), CONSOLE_ON (7): nothing to do (the sandbox has no console).
    default:
      return 0;
  }
}

export const syslogRows: SyscallRow[] = [
  { nr: SYS.syslog, name: 'syslog', handler: syslog, args: ['int', 'ptr', 'int'], support: 'partial', note: 'The Sentry\'s kernel log (OOM kills). SYSLOG_ACTION_READ does not wait for a record: with none unread it returns 0. The console actions do nothing.' },
];
