// wait4 and waitid: collecting a child's change of state. A child reports
// its exit (once, when it is reaped, unless WNOWAIT), and with WUNTRACED
// (WSTOPPED) and WCONTINUED its job-control stop and continue, each once.
// __WCLONE picks the children whose exit signal is not SIGCHLD, __WALL all.
import type { SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import type { Process } from '../../sentry/kernel/process';
import { PidFD } from '../../sentry/vfs/pidfd';
import { EINVAL, ECHILD, EFAULT, EBADF } from '../../src/abi/errno';
import {
  WNOHANG, WUNTRACED, WCONTINUED, WEXITED, WNOWAIT, WSTOPPED, __WALL, __WCLONE, __WNOTHREAD,
  P_ALL, P_PID, P_PGID, P_PIDFD, SIGCHLD, SIGCONT, CLD_EXITED, CLD_KILLED, CLD_STOPPED, CLD_CONTINUED,
} from '../../src/abi/linux';
import { Siginfo } from '../../src/abi/layout';
import { encodeRusage } from './system';
import { addCpu } from '../../sentry/kernel/cputime';

/** One child's state change: siginfo's si_code and si_status, and wait4's status word. */
interface Report {
  child: Process;
  code: number;
  status: number;
  wstatus: number;
}

/** The change of c that options ask for, if it has one to report. */
function reportOf(c: Process, options: number): Report | null {
  if (c.zombie) {
    if (!(options & WEXITED)) return null;
    const st = c.exitStatus!;
    const killed = st & 0x7f;
    return { child: c, code: killed ? CLD_KILLED : CLD_EXITED, status: killed || (st >> 8) & 0xff, wstatus: st };
  }
  if (c.jobReport === 'stopped' && c.stopSignal && options & WSTOPPED) {
    return { child: c, code: CLD_STOPPED, status: c.stopSignal, wstatus: (c.stopSignal << 8) | 0x7f };
  }
  if (c.jobReport === 'continued' && options & WCONTINUED) return { child: c, code: CLD_CONTINUED, status: SIGCONT, wstatus: 0xffff };
  return null;
}

/** Children of a thread that __WCLONE/__WALL let wait for. */
const kindMatches = (c: Process, options: number): boolean =>
  (options & __WALL) !== 0 || (c.exitSignal !== SIGCHLD) === ((options & __WCLONE) !== 0);

/**
 * Finds a child that want() picks with a change options ask for and hands
 * it to take (which returns the syscall's result or -errno); blocks until
 * there is one unless WNOHANG. Resolves null for WNOHANG with nothing yet.
 */
function waitChild(t: Task, want: (c: Process) => boolean, options: number, take: (r: Report) => number): number | null | Promise<number> {
  const collect = (): number | null => {
    let any = false;
    for (const c of t.proc.children) {
      if (!want(c) || !kindMatches(c, options)) continue;
      any = true;
      const r = reportOf(c, options);
      if (!r) continue;
      const res = take(r);
      if (res < 0 || options & WNOWAIT) return res;
      if (c.zombie) t.kernel.reap(c);
      else c.jobReport = null;
      return res;
    }
    return any ? null : -ECHILD;
  };
  const now = collect();
  if (now !== null) return now;
  if (options & WNOHANG) return null;
  let result = 0;
  return t.waitFor(() => {
    const r = collect();
    if (r === null) return false;
    result = r;
    return true;
  }, [t.proc.childEvents]).then((w) => (w < 0 ? w : result));
}

export function wait4(t: Task, a: SyscallArgs): number | Promise<number> {
  const pid = a.int(0);
  const statusAddr = a.u64(1);
  const options = a.int(2);
  const rusageAddr = a.u64(3);
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD)) return -EINVAL;
  const p = t.proc;
  const want = (c: Process): boolean =>
    pid > 0 ? c.pid === pid : pid === 0 ? c.pgid === p.pgid : pid === -1 ? true : c.pgid === -pid;
  const r = waitChild(t, want, options | WEXITED, (rep) => {
    if (statusAddr && !t.mm.writeU32(statusAddr, rep.wstatus)) return -EFAULT;
    const c = rep.child;
    if (rusageAddr && !t.mm.write(rusageAddr, encodeRusage(addCpu(c.cpu, c.childCpu)))) return -EFAULT;
    return c.pid;
  });
  return r ?? 0;
}

export function waitid(t: Task, a: SyscallArgs): number | Promise<number> {
  const idtype = a.int(0);
  const id = a.int(1);
  const infoAddr = a.u64(2);
  const options = a.int(3);
  if (options & ~(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WALL | __WCLONE | __WNOTHREAD)) return -EINVAL;
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return -EINVAL;
  const p = t.proc;
  let want: (c: Process) => boolean;
  switch (idtype) {
    case P_ALL: want = () => true; break;
    case P_PID: want = (c) => c.pid === id; break;
    case P_PGID: want = (c) => c.pgid === (id || p.pgid); break;
    case P_PIDFD: {
      const f = t.fds.get(id);
      if (!f || !(f instanceof PidFD)) return -EBADF;
      want = (c) => c === f.proc;
      break;
    }
    default: return -EINVAL;
  }
  const r = waitChild(t, want, options, (rep) => {
    if (infoAddr && !t.mm.write(infoAddr, Siginfo.encode({
      si_signo: SIGCHLD, si_code: rep.code, si_pid: rep.child.pid, si_uid: 0, si_status: rep.status,
    }))) return -EFAULT;
    return 0;
  });
  if (r !== null) return r;
  if (infoAddr && !t.mm.write(infoAddr, new Uint8Array(Siginfo.size))) return -EFAULT;
  return 0;
}
