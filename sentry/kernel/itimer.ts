// Interval timers (setitimer, timer_create, timerfd): a deadline on the
// monotonic clock plus an optional period, driven by the kernel's timer list.
// Expirations that pass while a periodic timer is not serviced are counted as
// overruns, as Linux does.
import type { Kernel } from './kernel';

export class IntervalTimer {
  private cancel: (() => void) | null = null;
  private deadline: bigint | null = null;
  private interval = 0n;

  /** fire receives how many periods elapsed (1 + overruns). */
  constructor(private readonly kernel: Kernel, private readonly fire: (expirations: number) => void) {}

  /** Arms the timer to expire valueNs from now (0 disarms) and every intervalNs after; returns the old setting. */
  set(valueNs: bigint, intervalNs: bigint): { value: bigint; interval: bigint } {
    const old = this.get();
    this.cancel?.();
    this.cancel = null;
    this.deadline = null;
    this.interval = intervalNs;
    if (valueNs > 0n) this.arm(this.kernel.monotonicNs() + valueNs);
    return old;
  }

  /** Time left until the next expiration (0 when disarmed) and the period. */
  get(): { value: bigint; interval: bigint } {
    if (this.deadline === null) return { value: 0n, interval: this.interval };
    const left = this.deadline - this.kernel.monotonicNs();
    return { value: left > 0n ? left : 1n, interval: this.interval };
  }

  disarm(): void {
    this.set(0n, 0n);
  }

  private arm(deadline: bigint): void {
    this.deadline = deadline;
    this.cancel = this.kernel.timers.add(deadline, () => this.expire());
  }

  private expire(): void {
    const due = this.deadline!;
    this.cancel = null;
    this.deadline = null;
    let n = 1;
    if (this.interval > 0n) {
      const late = this.kernel.monotonicNs() - due;
      if (late > 0n) n += Number(late / this.interval);
      this.arm(due + BigInt(n) * this.interval);
    }
    this.fire(n);
  }
}
