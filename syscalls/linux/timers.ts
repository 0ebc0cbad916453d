// Interval timers: alarm, setitimer/getitimer (ITIMER_REAL; VIRTUAL and PROF on the CPU clock), POSIX timers
// (timer_create & co., SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE) and timerfd.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task } from '../../sentry/kernel/task';
import { IntervalTimer } from '../../sentry/kernel/itimer';
import { cpuTimers } from '../../sentry/kernel/cputimers';
import { TimerFD } from '../../sentry/vfs/timerfd';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, EAGAIN, EBADF } from '../../src/abi/errno';
import {
  SIGALRM, NSIG, ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF, SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID, TIMER_ABSTIME, TFD_TIMER_ABSTIME,
  TFD_TIMER_CANCEL_ON_SET, O_CLOEXEC, O_NONBLOCK,
} from '../../src/abi/linux';
import { Itimerval, Itimerspec, Siginfo } from '../../src/abi/layout';

const NS = 1_000_000_000n;
const SI_TIMER = -2;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
const TIMER_CLOCKS = new Set([CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME]);
const SIGEVENT_SIZE = 64;
const MAX_POSIX_TIMERS = 4096;

function realTimer(t: Task): IntervalTimer {
  const p = t.proc;
  return (p.itimerReal ??= new IntervalTimer(t.kernel, () => t.kernel.signals.sendToProcess(p, SIGALRM)));
}

function alarm(t: Task, a: SyscallArgs): number {
  const old = realTimer(t).set(BigInt(a.uint(0)) * NS, 0n);
  // Round up: a pending alarm never reports 0 seconds left.
  return old.value === 0n ? 0 : Number((old.value + NS - 1n) / NS);
}

const encodeVal = (v: { value: bigint; interval: bigint }) => Itimerval.encode({
  it_value_sec: v.value / NS, it_value_usec: (v.value % NS + 999n) / 1000n,
  it_interval_sec: v.interval / NS, it_interval_usec: (v.interval % NS) / 1000n,
});

/** The timer setitimer's which names: ITIMER_REAL on the wall clock, VIRTUAL and PROF on the CPU clock. */
function itimer(t: Task, which: number): { set(v: bigint, i: bigint): { value: bigint; interval: bigint }; get(): { value: bigint; interval: bigint } } | null {
  if (which === ITIMER_REAL) return realTimer(t);
  const kind = which === ITIMER_VIRTUAL ? 'virtual' : which === ITIMER_PROF ? 'prof' : null;
  if (!kind) return null;
  const timers = cpuTimers(t.kernel, t.proc);
  return { set: (v, i) => timers.set(kind, v, i), get: () => timers.get(kind) };
}

function getitimer(t: Task, a: SyscallArgs): number {
  const timer = itimer(t, a.int(0));
  if (!timer) return -EINVAL;
  return t.mm.write(a.u64(1), encodeVal(timer.get())) ? 0 : -EFAULT;
}

function setitimer(t: Task, a: SyscallArgs): number {
  const timer = itimer(t, a.int(0));
  if (!timer) return -EINVAL;
  let value = 0n;
  let interval = 0n;
  if (a.u64(1)) {
    const raw = t.mm.read(a.u64(1), Itimerval.size);
    if (!raw) return -EFAULT;
    const v = Itimerval.decodeBig(raw);
    for (const us of [v.it_value_usec, v.it_interval_usec]) if (us < 0n || us >= 1_000_000n) return -EINVAL;
    if (v.it_value_sec < 0n || v.it_interval_sec < 0n) return -EINVAL;
    value = v.it_value_sec * NS + v.it_value_usec * 1000n;
    interval = v.it_interval_sec * NS + v.it_interval_usec * 1000n;
  }
  const old = timer.set(value, interval);
  if (a.u64(2) && !t.mm.write(a.u64(2), encodeVal(old))) return -EFAULT;
  return 0;
}

/** Reads an itimerspec: the initial value (relative, or absolute on clock with abs) and the period. */
function readItimerspec(t: Task, addr: number, clock: number, abs: boolean): { value: bigint; interval: bigint } | number {
  const raw = t.mm.read(addr, Itimerspec.size);
  if (!raw) return -EFAULT;
  const v = Itimerspec.decodeBig(raw);
  for (const ns of [v.it_value_nsec, v.it_interval_nsec]) if (ns < 0n || ns >= NS) return -EINVAL;
  if (v.it_value_sec < 0n || v.it_interval_sec < 0n) return -EINVAL;
  let value = v.it_value_sec * NS + v.it_value_nsec;
  if (abs && value > 0n) {
    const now = clock === CLOCK_REALTIME ? t.kernel.realtimeNs() : t.kernel.monotonicNs();
    // Already past: expire at once.
    value = value > now ? value - now : 1n;
  }
  return { value, interval: v.it_interval_sec * NS + v.it_interval_nsec };
}

const encodeSpec = (v: { value: bigint; interval: bigint }) => Itimerspec.encode({
  it_value_sec: v.value / NS, it_value_nsec: v.value % NS, it_interval_sec: v.interval / NS, it_interval_nsec: v.interval % NS,
});

function timerCreate(t: Task, a: SyscallArgs): number {
  const clock = a.int(0);
  if (!TIMER_CLOCKS.has(clock)) return -EINVAL;
  const p = t.proc;
  let signo = SIGALRM;
  let notify = SIGEV_SIGNAL;
  let value = 0n;
  let target: Task | undefined;
  if (a.u64(1)) {
    const raw = t.mm.read(a.u64(1), SIGEVENT_SIZE);
    if (!raw) return -EFAULT;
    const dv = new DataView(raw.buffer);
    value = dv.getBigUint64(0, true);
    signo = dv.getInt32(8, true);
    notify = dv.getInt32(12, true);
    if (notify === SIGEV_THREAD_ID) {
      target = t.kernel.taskByTid(dv.getInt32(16, true));
      if (!target || target.proc !== p) return -EINVAL;
    } else if (notify !== SIGEV_SIGNAL && notify !== SIGEV_NONE) {
      return -EINVAL;
    }
    if (notify !== SIGEV_NONE && (signo < 1 || signo > NSIG)) return -EINVAL;
  }
  let id = 0;
  while (p.posixTimers.has(id)) id++;
  if (id >= MAX_POSIX_TIMERS) return -EAGAIN;
  const timer = new IntervalTimer(t.kernel, (n) => {
    if (notify === SIGEV_NONE) return;
    const raw = Siginfo.encode({ si_signo: signo, si_code: SI_TIMER, si_timerid: id, si_overrun: n - 1, si_value: value });
    const info = { signo, code: SI_TIMER, raw };
    if (target && !target.exited) t.kernel.signals.sendToTask(target, signo, info);
    else t.kernel.signals.sendToProcess(p, signo, info);
  });
  if (!t.mm.writeU32(a.u64(2), id)) return -EFAULT;
  p.posixTimers.set(id, timer);
  timerClocks.set(timer, clock);
  return 0;
}

/** The clock each POSIX timer measures, for absolute settings. */
const timerClocks = new WeakMap<IntervalTimer, number>();

function timerSettime(t: Task, a: SyscallArgs): number {
  const timer = t.proc.posixTimers.get(a.int(0));
  if (!timer) return -EINVAL;
  if (a.int(1) & ~TIMER_ABSTIME) return -EINVAL;
  const spec = readItimerspec(t, a.u64(2), timerClocks.get(timer) ?? CLOCK_MONOTONIC, (a.int(1) & TIMER_ABSTIME) !== 0);
  if (typeof spec === 'number') return spec;
  const old = timer.set(spec.value, spec.interval);
  if (a.u64(3) && !t.mm.write(a.u64(3), encodeSpec(old))) return -EFAULT;
  return 0;
}

function timerGettime(t: Task, a: SyscallArgs): number {
  const timer = t.proc.posixTimers.get(a.int(0));
  if (!timer) return -EINVAL;
  return t.mm.write(a.u64(1), encodeSpec(timer.get())) ? 0 : -EFAULT;
}

function timerDelete(t: Task, a: SyscallArgs): number {
  const timer = t.proc.posixTimers.get(a.int(0));
  if (!timer) return -EINVAL;
  timer.disarm();
  t.proc.posixTimers.delete(a.int(0));
  return 0;
}

function timerfdCreate(t: Task, a: SyscallArgs): number {
  const clock = a.int(0);
  const flags = a.int(1);
  if (!TIMER_CLOCKS.has(clock)) return -EINVAL;
  if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -EINVAL;
  return t.fds.install(new TimerFD(t.kernel, clock, (flags & O_NONBLOCK) !== 0), (flags & O_CLOEXEC) !== 0);
}

function timerfdOf(t: Task, fd: number): TimerFD | number {
  const f = t.fds.get(fd);
  if (!f) return -EBADF;
  return f instanceof TimerFD ? f : -EINVAL;
}

function timerfdSettime(t: Task, a: SyscallArgs): number {
  const f = timerfdOf(t, a.int(0));
  if (typeof f === 'number') return f;
  const flags = a.int(1);
  if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) return -EINVAL;
  const spec = readItimerspec(t, a.u64(2), f.clock, (flags & TFD_TIMER_ABSTIME) !== 0);
  if (typeof spec === 'number') return spec;
  f.reset();
  const old = f.timer.set(spec.value, spec.interval);
  if (a.u64(3) && !t.mm.write(a.u64(3), encodeSpec(old))) return -EFAULT;
  return 0;
}

function timerfdGettime(t: Task, a: SyscallArgs): number {
  const f = timerfdOf(t, a.int(0));
  if (typeof f === 'number') return f;
  return t.mm.write(a.u64(1), encodeSpec(f.timer.get())) ? 0 : -EFAULT;
}

export const timerRows: SyscallRow[] = [
  { nr: SYS.alarm, name: 'alarm', handler: alarm, args: ['uint'], support: 'full' },
  { nr: SYS.getitimer, name: 'getitimer', handler: getitimer, args: ['int', 'ptr'], support: 'partial', note: 'ITIMER_REAL only; ITIMER_VIRTUAL and ITIMER_PROF return EINVAL.' },
  { nr: SYS.setitimer, name: 'setitimer', handler: setitimer, args: ['int', 'ptr', 'ptr'], support: 'partial', note: 'ITIMER_REAL only; ITIMER_VIRTUAL and ITIMER_PROF return EINVAL.' },
  { nr: SYS.timer_create, name: 'timer_create', handler: timerCreate, args: ['clockid', 'ptr', 'ptr'], support: 'partial', note: 'CLOCK_REALTIME, CLOCK_MONOTONIC and CLOCK_BOOTTIME; SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE.' },
  { nr: SYS.timer_settime, name: 'timer_settime', handler: timerSettime, args: ['int', 'hex', 'ptr', 'ptr'], support: 'full' },
  { nr: SYS.timer_gettime, name: 'timer_gettime', handler: timerGettime, args: ['int', 'ptr'], support: 'full' },
  { nr: SYS.timer_getoverrun, name: 'timer_getoverrun', handler: (t, a) => (t.proc.posixTimers.has(a.int(0)) ? 0 : -EINVAL), args: ['int'], support: 'partial', note: 'Overruns are reported in the signal\'s si_overrun; this returns 0.' },
  { nr: SYS.timer_delete, name: 'timer_delete', handler: timerDelete, args: ['int'], support: 'full' },
  { nr: SYS.timerfd_create, name: 'timerfd_create', handler: timerfdCreate, args: ['clockid', 'hex'], support: 'full' },
  { nr: SYS.timerfd_settime, name: 'timerfd_settime', handler: timerfdSettime, args: ['fd', 'hex', 'ptr', 'ptr'], support: 'partial', note: 'TFD_TIMER_CANCEL_ON_SET is accepted; clock changes never happen in the sandbox.' },
  { nr: SYS.timerfd_gettime, name: 'timerfd_gettime', handler: timerfdGettime, args: ['fd', 'ptr'], support: 'full' },
];
