// signalfd(2): pending signals read as a file. A read takes pending signals
// in the file's mask off the reading task's pending sets (its own, then its
// process's) and returns one 128-byte signalfd_siginfo per signal; it blocks
// while none is pending (EAGAIN with O_NONBLOCK). The signals are normally
// blocked, so they are never delivered otherwise.
//
// Readiness is POLLIN while a signal in the mask is pending for the owner:
// the task that created the file or last read it. readiness() has no task
// argument, so a thread or forked child that polls a signalfd it did not
// create sees the owner's thread-directed signals (process-wide ones are
// shared within a process either way) until it reads once.
import { EAGAIN, EINVAL } from '../../src/abi/errno';
import { SignalfdSiginfo, Siginfo } from '../../src/abi/layout';
import type { Task } from '../kernel/task';
import type { SigInfo } from '../kernel/signals';
import { anonStat, FileDescription, type ReadResult, type Stat } from './file';
import { O_NONBLOCK, O_RDWR, POLLIN } from './linuxconst';
import { ANON_INODE_DEV, ANON_INODE_INO } from './eventfd';

const SIGCHLD = 17;
const SIGPOLL = 29;
const FAULT_SIGNALS = new Set([4 /* SIGILL */, 5 /* SIGTRAP */, 7 /* SIGBUS */, 8 /* SIGFPE */, 11 /* SIGSEGV */]);
const SI_TIMER = -2;
const SI_SIGIO = -5;
const SIGINFO_SIZE = 128;

/** The 128-byte siginfo_t for a signal: the sender's own bytes when it supplied them, else encoded from info. */
export function encodeSiginfo(info: SigInfo): Uint8Array {
  if (info.raw) return info.raw.slice(0, SIGINFO_SIZE);
  const buf = new Uint8Array(SIGINFO_SIZE);
  Siginfo.encodeInto(buf, 0, {
    si_signo: info.signo, si_code: info.code,
    ...(info.pid !== undefined ? { si_pid: info.pid, si_uid: info.uid ?? 0 } : {}),
    ...(info.status !== undefined ? { si_status: info.status } : {}),
    ...(info.addr !== undefined ? { si_addr: info.addr } : {}),
  });
  return buf;
}

/** A signalfd_siginfo record, filled per the siginfo's layout as Linux's signalfd_copyinfo does. */
export function signalfdRecord(info: SigInfo): Uint8Array {
  const si = encodeSiginfo(info);
  const dv = new DataView(si.buffer, si.byteOffset, SIGINFO_SIZE);
  const sig = info.signo;
  const code = dv.getInt32(8, true);
  const out = new Uint8Array(SignalfdSiginfo.size);
  const base = { ssi_signo: sig, ssi_errno: dv.getInt32(4, true), ssi_code: code };
  const pidUid = { ssi_pid: dv.getUint32(16, true), ssi_uid: dv.getUint32(20, true) };
  const value = { ssi_int: dv.getInt32(24, true), ssi_ptr: dv.getBigUint64(24, true) };
  if (code > 0 && sig === SIGCHLD) {
    SignalfdSiginfo.encodeInto(out, 0, {
      ...base, ...pidUid, ssi_status: dv.getInt32(24, true), ssi_utime: dv.getBigUint64(32, true), ssi_stime: dv.getBigUint64(40, true),
    });
  } else if (code > 0 && FAULT_SIGNALS.has(sig)) {
    SignalfdSiginfo.encodeInto(out, 0, { ...base, ssi_addr: dv.getBigUint64(16, true), ssi_addr_lsb: dv.getUint16(24, true) });
  } else if ((code > 0 && sig === SIGPOLL) || code === SI_SIGIO) {
    SignalfdSiginfo.encodeInto(out, 0, { ...base, ssi_band: Number(dv.getBigUint64(16, true) & 0xffffffffn), ssi_fd: dv.getInt32(24, true) });
  } else if (code === SI_TIMER) {
    SignalfdSiginfo.encodeInto(out, 0, { ...base, ssi_tid: dv.getUint32(16, true), ssi_overrun: dv.getUint32(20, true), ...value });
  } else if (code < 0) {
    SignalfdSiginfo.encodeInto(out, 0, { ...base, ...pidUid, ...value });
  } else {
    SignalfdSiginfo.encodeInto(out, 0, { ...base, ...pidUid });
  }
  return out;
}

export class SignalFD extends FileDescription {
  private owner!: Task;
  private unwatch: () => void = () => {};

  constructor(owner: Task, public mask: bigint, nonblock: boolean) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
    this.setOwner(owner);
  }

  private setOwner(t: Task): void {
    if (this.owner === t) return;
    this.unwatch();
    this.owner = t;
    this.unwatch = t.signalQueue.watch(() => this.queue.notify(POLLIN));
  }

  /** signalfd on an existing signalfd: a new mask. */
  setMask(mask: bigint): void {
    this.mask = mask;
    this.queue.notify(POLLIN);
  }

  private pendingFor(t: Task): boolean {
    return ((t.pending | t.proc.pending) & this.mask) !== 0n;
  }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    if (len < SignalfdSiginfo.size) return -EINVAL;
    this.setOwner(t);
    const max = Math.floor(len / SignalfdSiginfo.size);
    if (this.pendingFor(t)) return this.takeUpTo(t, max);
    if (this.flags & O_NONBLOCK) return -EAGAIN;
    return t.waitFor(() => this.pendingFor(t), [t.signalQueue]).then((r) => (r < 0 ? r : this.takeUpTo(t, max)));
  }

  private takeUpTo(t: Task, max: number): Uint8Array {
    const recs: Uint8Array[] = [];
    while (recs.length < max) {
      const info = t.kernel.signals.take(t, this.mask);
      if (!info) break;
      recs.push(signalfdRecord(info));
    }
    const out = new Uint8Array(recs.length * SignalfdSiginfo.size);
    recs.forEach((r, i) => out.set(r, i * SignalfdSiginfo.size));
    return out;
  }

  override readiness(): number {
    return this.pendingFor(this.owner) ? POLLIN : 0;
  }

  protected override release(): void {
    this.unwatch();
  }

  override stat(t: Task): Stat { return anonStat(0o600, ANON_INODE_INO, ANON_INODE_DEV); }
  override displayName(): string { return 'anon_inode:[signalfd]'; }
}
