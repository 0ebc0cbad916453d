// Clocks and sleeping. CLOCK_MONOTONIC is the host's monotonic clock (the
// Sentry's own hrtime); CLOCK_REALTIME follows the host's wall clock.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, EINTR } from '../../src/abi/errno';
import { TIMER_ABSTIME } from '../../src/abi/linux';
import { Timespec, Timeval } from '../../src/abi/layout';
import { processCpu, taskCpu } from '../../sentry/kernel/cputime';

const NS = 1_000_000_000n;
const CLOCK = {
  REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2, THREAD_CPUTIME_ID: 3, MONOTONIC_RAW: 4,
  REALTIME_COARSE: 5, MONOTONIC_COARSE: 6, BOOTTIME: 7, REALTIME_ALARM: 8, BOOTTIME_ALARM: 9, TAI: 11,
} as const;

/** The value of a clock in ns, or null for an invalid clock id. */
function clockNow(t: Task, id: number): bigint | null {
  switch (id) {
    case CLOCK.REALTIME: case CLOCK.REALTIME_COARSE: case CLOCK.REALTIME_ALARM: case CLOCK.TAI:
      return t.kernel.realtimeNs();
    case CLOCK.MONOTONIC: case CLOCK.MONOTONIC_RAW: case CLOCK.MONOTONIC_COARSE: case CLOCK.BOOTTIME: case CLOCK.BOOTTIME_ALARM:
      return t.kernel.monotonicNs();
    case CLOCK.PROCESS_CPUTIME_ID: {
      const c = processCpu(t.proc);
      return c.userNs + c.sysNs;
    }
    case CLOCK.THREAD_CPUTIME_ID: {
      const c = taskCpu(t);
      return c.userNs + c.sysNs;
    }
    default:
      return null;
  }
}

const encodeTs = (ns: bigint) => Timespec.encode({ tv_sec: ns / NS, tv_nsec: ns % NS });

function clockGettime(t: Task, a: SyscallArgs): number {
  const now = clockNow(t, a.int(0));
  if (now === null) return -EINVAL;
  return t.mm.write(a.u64(1), encodeTs(now)) ? 0 : -EFAULT;
}

function clockGetres(t: Task, a: SyscallArgs): number {
  if (clockNow(t, a.int(0)) === null) return -EINVAL;
  const addr = a.u64(1);
  if (addr === 0) return 0;
  return t.mm.write(addr, encodeTs(1n)) ? 0 : -EFAULT;
}

function gettimeofday(t: Task, a: SyscallArgs): number {
  const tv = a.u64(0);
  const tz = a.u64(1);
  const now = t.kernel.realtimeNs();
  if (tv && !t.mm.write(tv, Timeval.encode({ tv_sec: now / NS, tv_usec: (now % NS) / 1000n }))) return -EFAULT;
  if (tz && !t.mm.write(tz, new Uint8Array(8))) return -EFAULT;
  return 0;
}

function time(t: Task, a: SyscallArgs): number {
  const secs = t.kernel.realtimeNs() / NS;
  const addr = a.u64(0);
  if (addr && !t.mm.writeU64(addr, secs)) return -EFAULT;
  return Number(secs);
}

/** Reads a timespec argument: ns, or -errno. */
function readTimespec(t: Task, addr: number): bigint | number {
  const raw = t.mm.read(addr, Timespec.size);
  if (!raw) return -EFAULT;
  const ts = Timespec.decodeBig(raw);
  if (ts.tv_sec < 0n || ts.tv_nsec < 0n || ts.tv_nsec >= NS) return -EINVAL;
  return ts.tv_sec * NS + ts.tv_nsec;
}

/** Sleeps until the monotonic deadline; on a signal, reports the time left in rem. */
async function sleepUntil(t: Task, deadline: bigint, remAddr: number): Promise<number> {
  const r = await t.waitFor(() => false, [], deadline);
  if (r !== -EINTR) return 0;
  if (remAddr) {
    const left = deadline - t.kernel.monotonicNs();
    t.mm.write(remAddr, encodeTs(left > 0n ? left : 0n));
  }
  return -EINTR;
}

function nanosleep(t: Task, a: SyscallArgs): number | Promise<number> {
  const d = readTimespec(t, a.u64(0));
  if (typeof d === 'number') return d;
  return sleepUntil(t, t.kernel.monotonicNs() + d, a.u64(1));
}

function clockNanosleep(t: Task, a: SyscallArgs): number | Promise<number> {
  const id = a.int(0);
  const flags = a.int(1);
  const now = clockNow(t, id);
  if (now === null || id === CLOCK.THREAD_CPUTIME_ID) return -EINVAL;
  const d = readTimespec(t, a.u64(2));
  if (typeof d === 'number') return d;
  const relative = flags & TIMER_ABSTIME ? d - now : d;
  return sleepUntil(t, t.kernel.monotonicNs() + relative, flags & TIMER_ABSTIME ? 0 : a.u64(3));
}

export const timeRows: SyscallRow[] = [
  { nr: SYS.clock_gettime, name: 'clock_gettime', handler: clockGettime, args: ['clockid', 'ptr'], support: 'partial', note: 'CPU-time clocks count the stub threads\' host CPU time, in 10 ms ticks.' },
  { nr: SYS.clock_getres, name: 'clock_getres', handler: clockGetres, args: ['clockid', 'ptr'], support: 'full' },
  { nr: SYS.gettimeofday, name: 'gettimeofday', handler: gettimeofday, args: ['ptr', 'ptr'], support: 'full' },
  { nr: SYS.time, name: 'time', handler: time, args: ['ptr'], support: 'full' },
  { nr: SYS.nanosleep, name: 'nanosleep', handler: nanosleep, args: ['ptr', 'ptr'], support: 'full' },
  { nr: SYS.clock_nanosleep, name: 'clock_nanosleep', handler: clockNanosleep, args: ['clockid', 'hex', 'ptr', 'ptr'], support: 'full' },
];
