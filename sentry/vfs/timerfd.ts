// timerfd: an interval timer read as a file. A read returns the number of
// expirations since the last read (8 bytes) and blocks while there are none.
import { EAGAIN, EINVAL } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import type { Kernel } from '../kernel/kernel';
import { IntervalTimer } from '../kernel/itimer';
import { anonStat, FileDescription, type ReadResult, type Stat } from './file';
import { O_NONBLOCK, O_RDWR, POLLIN } from './linuxconst';
import { ANON_INODE_DEV, ANON_INODE_INO } from './eventfd';

export class TimerFD extends FileDescription {
  private expirations = 0n;
  readonly timer: IntervalTimer;

  constructor(kernel: Kernel, readonly clock: number, nonblock: boolean) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
    this.timer = new IntervalTimer(kernel, (n) => {
      this.expirations += BigInt(n);
      this.queue.notify(POLLIN);
    });
  }

  /** A new setting discards expirations not yet read. */
  reset(): void {
    this.expirations = 0n;
  }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    if (len < 8) return -EINVAL;
    if (this.expirations > 0n) return this.take();
    if (this.flags & O_NONBLOCK) return -EAGAIN;
    return t.waitFor(() => this.expirations > 0n, [this.queue]).then((r) => (r < 0 ? r : this.take()));
  }

  private take(): Uint8Array {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, this.expirations, true);
    this.expirations = 0n;
    return out;
  }

  override readiness(): number {
    return this.expirations > 0n ? POLLIN : 0;
  }

  protected override release(): void {
    this.timer.disarm();
  }

  override stat(t: Task): Stat { return anonStat(0o600, ANON_INODE_INO, ANON_INODE_DEV); }
  override displayName(): string { return 'anon_inode:[timerfd]'; }
}
