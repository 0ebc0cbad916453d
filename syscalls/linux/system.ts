// Identity and system information: uname, credentials, rlimits, prctl,
// arch_prctl, getrandom, resource usage, CPU affinity.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, EPERM, ESRCH } from '../../src/abi/errno';
import {
  ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS, PR_SET_NAME, PR_GET_NAME, PR_SET_PDEATHSIG, PR_GET_PDEATHSIG,
  PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER,
  PR_GET_CHILD_SUBREAPER, PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_CAP_AMBIENT, GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE, RUSAGE_SELF, RUSAGE_CHILDREN,
  RUSAGE_THREAD, RLIMIT_CPU,
} from '../../src/abi/linux';
import { encodeUtsname, Rlimit, Rusage, Sysinfo, Tms } from '../../src/abi/layout';
import { R } from '../../sentry/platform/regs';
import { processCpu, taskCpu, type CpuTime } from '../../sentry/kernel/cputime';
import { watchCpuLimit } from '../../sentry/kernel/cputimers';
import { CAP_SETPCAP, CAP_SYS_RESOURCE, CAP_LAST_CAP, capable, capsOf } from '../../sentry/kernel/caps';
import { credsRows } from './creds';
import { schedRows } from './sched';
import { syslogRows } from './syslog';
import { randomFillSync } from 'node:crypto';
import { memory, RELEASE, VERSION } from '../../sentry/kernel/machine';

const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
const NS = 1_000_000_000n;
const RLIMIT_COUNT = 16;
const TASK_COMM_LEN = 16;

function uname(t: Task, a: SyscallArgs): number {
  return t.mm.write(a.u64(0), encodeUtsname({
    sysname: 'Linux', nodename: t.kernel.hostname, release: RELEASE, version: VERSION,
    machine: 'x86_64', domainname: '(none)',
  })) ? 0 : -EFAULT;
}

function writeIds(t: Task, addrs: number[], ids: number[]): number {
  for (let i = 0; i < addrs.length; i++) if (!t.mm.writeU32(addrs[i]!, ids[i]!)) return -EFAULT;
  return 0;
}

function getgroups(t: Task, a: SyscallArgs): number {
  const n = a.int(0);
  const g = t.creds.groups;
  if (n < 0) return -EINVAL;
  if (n === 0) return g.length;
  if (n < g.length) return -EINVAL;
  const buf = new Uint8Array(g.length * 4);
  const dv = new DataView(buf.buffer);
  g.forEach((id, i) => dv.setUint32(i * 4, id, true));
  return t.mm.write(a.u64(1), buf) ? g.length : -EFAULT;
}

function archPrctl(t: Task, a: SyscallArgs): number {
  const code = a.int(0);
  const addr = a.u64(1);
  const regs = t.stub.regs;
  switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS:
      if (addr >= 0x8000_0000_0000) return -EPERM;
      regs.set(code === ARCH_SET_FS ? R.fs_base : R.gs_base, addr);
      t.stub.touchRegs();
      return 0;
    case ARCH_GET_FS:
    case ARCH_GET_GS:
      return t.mm.writeU64(addr, regs.big[code === ARCH_GET_FS ? R.fs_base : R.gs_base]!) ? 0 : -EFAULT;
    default:
      return -EINVAL;
  }
}

const PR_CAP_AMBIENT_IS_SET = 1;
const PR_CAP_AMBIENT_RAISE = 2;
const PR_CAP_AMBIENT_LOWER = 3;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** PR_CAP_AMBIENT: an ambient capability must be both permitted and inheritable. */
function capAmbient(t: Task, a: SyscallArgs): number {
  const s = capsOf(t.creds);
  const op = a.u64(1);
  if (op === PR_CAP_AMBIENT_CLEAR_ALL) {
    if (a.u64(2) || a.u64(3) || a.u64(4)) return -EINVAL;
    s.amb = 0n;
    return 0;
  }
  if (a.u64(2) > CAP_LAST_CAP || a.u64(3) || a.u64(4)) return -EINVAL;
  const bit = 1n << BigInt(a.u64(2));
  switch (op) {
    case PR_CAP_AMBIENT_IS_SET: return s.amb & bit ? 1 : 0;
    case PR_CAP_AMBIENT_RAISE:
      if (!(s.prm & bit) || !(s.inh & bit)) return -EPERM;
      s.amb |= bit;
      return 0;
    case PR_CAP_AMBIENT_LOWER:
      s.amb &= ~bit;
      return 0;
    default:
      return -EINVAL;
  }
}

function prctl(t: Task, a: SyscallArgs): number {
  const op = a.int(0);
  switch (op) {
    case PR_SET_NAME: {
      const s = t.mm.readCString(a.u64(1), TASK_COMM_LEN - 1);
      if (s === null) return -EFAULT;
      // A longer name is cut to its first TASK_COMM_LEN - 1 bytes.
      const cut = s ?? t.mm.read(a.u64(1), TASK_COMM_LEN - 1);
      if (cut === null) return -EFAULT;
      t.proc.comm = typeof cut === 'string' ? cut : Buffer.from(cut).toString('utf8');
      return 0;
    }
    case PR_GET_NAME: {
      const b = new Uint8Array(TASK_COMM_LEN);
      b.set(Buffer.from(t.proc.comm, 'utf8').subarray(0, TASK_COMM_LEN - 1));
      return t.mm.write(a.u64(1), b) ? 0 : -EFAULT;
    }
    case PR_GET_DUMPABLE: return t.proc.dumpable;
    case PR_SET_DUMPABLE:
      if (a.u64(1) > 1) return -EINVAL;
      t.proc.dumpable = a.u64(1);
      return 0;
    case PR_GET_KEEPCAPS: return capsOf(t.creds).keep ? 1 : 0;
    case PR_SET_KEEPCAPS:
      if (a.u64(1) > 1) return -EINVAL;
      capsOf(t.creds).keep = a.u64(1) === 1;
      return 0;
    case PR_CAPBSET_DROP:
      if (a.u64(1) > CAP_LAST_CAP) return -EINVAL;
      if (!capable(t.creds, CAP_SETPCAP)) return -EPERM;
      capsOf(t.creds).bnd &= ~(1n << BigInt(a.u64(1)));
      return 0;
    case PR_CAP_AMBIENT: return capAmbient(t, a);
    case PR_GET_NO_NEW_PRIVS: return t.noNewPrivs ? 1 : 0;
    case PR_SET_NO_NEW_PRIVS:
      if (a.u64(1) !== 1 || a.u64(2) || a.u64(3) || a.u64(4)) return -EINVAL;
      t.noNewPrivs = true;
      return 0;
    case PR_SET_PDEATHSIG:
      if (a.u64(1) > 64) return -EINVAL;
      t.parentDeathSignal = a.u64(1);
      return 0;
    case PR_SET_CHILD_SUBREAPER:
      t.proc.subreaper = a.u64(1) !== 0;
      return 0;
    case PR_CAPBSET_READ: return a.u64(1) <= CAP_LAST_CAP ? Number((capsOf(t.creds).bnd >> BigInt(a.u64(1))) & 1n) : -EINVAL;
    case PR_GET_PDEATHSIG: return t.mm.writeU32(a.u64(1), t.parentDeathSignal) ? 0 : -EFAULT;
    case PR_GET_CHILD_SUBREAPER: return t.mm.writeU32(a.u64(1), t.proc.subreaper ? 1 : 0) ? 0 : -EFAULT;
    default:
      return -EINVAL;
  }
}

function encodeLimit(v: number): bigint {
  return v >= Number.MAX_SAFE_INTEGER ? RLIM_INFINITY : BigInt(v);
}

function decodeLimit(v: bigint): number {
  return v >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

function prlimit(t: Task, pid: number, resource: number, newAddr: number, oldAddr: number): number {
  const p = pid === 0 ? t.proc : t.kernel.processes.get(pid);
  if (!p) return -ESRCH;
  if (resource < 0 || resource >= RLIMIT_COUNT) return -EINVAL;
  let next: [number, number] | null = null;
  if (newAddr) {
    const raw = t.mm.read(newAddr, Rlimit.size);
    if (!raw) return -EFAULT;
    const d = Rlimit.decodeBig(raw);
    next = [decodeLimit(d.rlim_cur), decodeLimit(d.rlim_max)];
    if (next[0] > next[1]) return -EINVAL;
    if (next[1] > p.rlimits[resource]![1] && !capable(t.creds, CAP_SYS_RESOURCE)) return -EPERM;
  }
  if (oldAddr) {
    const [cur, max] = p.rlimits[resource]!;
    if (!t.mm.write(oldAddr, Rlimit.encode({ rlim_cur: encodeLimit(cur), rlim_max: encodeLimit(max) }))) return -EFAULT;
  }
  if (next) {
    p.rlimits[resource] = next;
    if (resource === 7) for (const o of p.tasks) o.fds.limit = Math.min(next[0], 1 << 20);
    if (resource === RLIMIT_CPU) watchCpuLimit(t.kernel, p);
  }
  return 0;
}

function getrandom(t: Task, a: SyscallArgs): number {
  const len = Math.min(a.u64(1), 33554431);
  if (a.uint(2) & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) return -EINVAL;
  if ((a.uint(2) & (GRND_RANDOM | GRND_INSECURE)) === (GRND_RANDOM | GRND_INSECURE)) return -EINVAL;
  const buf = new Uint8Array(len);
  randomFillSync(buf);
  return t.mm.write(a.u64(0), buf) ? len : -EFAULT;
}

/** struct rusage for a CPU time (other fields are not tracked and read 0). */
export function encodeRusage(c: CpuTime): Uint8Array {
  return Rusage.encode({
    ru_utime_sec: c.userNs / NS, ru_utime_usec: (c.userNs % NS) / 1000n,
    ru_stime_sec: c.sysNs / NS, ru_stime_usec: (c.sysNs % NS) / 1000n,
  });
}

function getrusage(t: Task, a: SyscallArgs): number {
  const who = a.int(0);
  let c;
  if (who === RUSAGE_SELF) c = processCpu(t.proc);
  else if (who === RUSAGE_CHILDREN) c = t.proc.childCpu;
  else if (who === RUSAGE_THREAD) c = taskCpu(t);
  else return -EINVAL;
  return t.mm.write(a.u64(1), encodeRusage(c)) ? 0 : -EFAULT;
}

const TICK_NS = 10_000_000n;

function times(t: Task, a: SyscallArgs): number {
  const addr = a.u64(0);
  const self = processCpu(t.proc);
  const kids = t.proc.childCpu;
  if (addr && !t.mm.write(addr, Tms.encode({
    tms_utime: self.userNs / TICK_NS, tms_stime: self.sysNs / TICK_NS,
    tms_cutime: kids.userNs / TICK_NS, tms_cstime: kids.sysNs / TICK_NS,
  }))) return -EFAULT;
  return Number(t.kernel.uptimeNs() / TICK_NS);
}

function sysinfo(t: Task, a: SyscallArgs): number {
  const mem = memory(t.kernel);
  return t.mm.write(a.u64(0), Sysinfo.encode({
    uptime: t.kernel.uptimeNs() / 1_000_000_000n, totalram: mem.total, freeram: mem.free,
    procs: t.kernel.processes.size, mem_unit: 1,
  })) ? 0 : -EFAULT;
}

function getcpu(t: Task, a: SyscallArgs): number {
  for (const addr of [a.u64(0), a.u64(1)]) if (addr && !t.mm.writeU32(addr, 0)) return -EFAULT;
  return 0;
}

export const systemRows: SyscallRow[] = [
  { nr: SYS.uname, name: 'uname', handler: uname, args: ['ptr'], support: 'full' },
  { nr: SYS.getuid, name: 'getuid', handler: (t) => t.creds.uid, args: [], support: 'full' },
  { nr: SYS.geteuid, name: 'geteuid', handler: (t) => t.creds.euid, args: [], support: 'full' },
  { nr: SYS.getgid, name: 'getgid', handler: (t) => t.creds.gid, args: [], support: 'full' },
  { nr: SYS.getegid, name: 'getegid', handler: (t) => t.creds.egid, args: [], support: 'full' },
  { nr: SYS.getresuid, name: 'getresuid', handler: (t, a) => writeIds(t, [a.u64(0), a.u64(1), a.u64(2)], [t.creds.uid, t.creds.euid, t.creds.suid]), args: ['ptr', 'ptr', 'ptr'], support: 'full' },
  { nr: SYS.getresgid, name: 'getresgid', handler: (t, a) => writeIds(t, [a.u64(0), a.u64(1), a.u64(2)], [t.creds.gid, t.creds.egid, t.creds.sgid]), args: ['ptr', 'ptr', 'ptr'], support: 'full' },
  { nr: SYS.getgroups, name: 'getgroups', handler: getgroups, args: ['int', 'ptr'], support: 'full' },
  { nr: SYS.arch_prctl, name: 'arch_prctl', handler: archPrctl, args: ['hex', 'ptr'], support: 'partial', note: 'ARCH_SET/GET_FS and _GS only.' },
  { nr: SYS.prctl, name: 'prctl', handler: prctl, args: ['int', 'hex', 'hex', 'hex', 'hex'], support: 'partial', note: 'PR_SET/GET_NAME, PDEATHSIG (sent when the parent process exits), CHILD_SUBREAPER, NO_NEW_PRIVS, DUMPABLE, KEEPCAPS, CAPBSET_READ/DROP, CAP_AMBIENT; other options return EINVAL.' },
  { nr: SYS.prlimit64, name: 'prlimit64', handler: (t, a) => prlimit(t, a.int(0), a.int(1), a.u64(2), a.u64(3)), args: ['pid', 'int', 'ptr', 'ptr'], support: 'partial', note: 'Enforced: RLIMIT_NOFILE, NPROC, AS, STACK (the stack of the next execve), CPU, SIGPENDING; others are stored and reported.' },
  { nr: SYS.getrlimit, name: 'getrlimit', handler: (t, a) => (a.u64(1) === 0 ? -EFAULT : prlimit(t, 0, a.int(0), 0, a.u64(1))), args: ['int', 'ptr'], support: 'full' },
  { nr: SYS.setrlimit, name: 'setrlimit', handler: (t, a) => (a.u64(1) === 0 ? -EFAULT : prlimit(t, 0, a.int(0), a.u64(1), 0)), args: ['int', 'ptr'], support: 'partial', note: 'As prlimit64.' },
  { nr: SYS.getrandom, name: 'getrandom', handler: getrandom, args: ['ptr', 'size', 'hex'], support: 'full' },
  { nr: SYS.getrusage, name: 'getrusage', handler: getrusage, args: ['int', 'ptr'], support: 'partial', note: 'User and system CPU time (the stub threads\' host accounting, 10 ms ticks); other fields read 0.' },
  { nr: SYS.times, name: 'times', handler: times, args: ['ptr'], support: 'partial', note: 'CPU times as getrusage.' },
  { nr: SYS.sysinfo, name: 'sysinfo', handler: sysinfo, args: ['ptr'], support: 'partial', note: 'totalram is the sandbox\'s memory (--total-memory, the container\'s memory limit, else the host\'s); freeram is what it has not committed of it; no swap, no load averages.' },
  { nr: SYS.getcpu, name: 'getcpu', handler: getcpu, args: ['ptr', 'ptr', 'ptr'], support: 'full' },
  ...credsRows,
  ...schedRows,
  ...syslogRows,
];

