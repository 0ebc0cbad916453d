// Readiness of host fds, for a Sentry whose loop blocks in waitpid: one host
// epoll instance holds every host fd the sandbox uses (edge-triggered, for
// as long as the sandbox holds it) and a timerfd set to the next timer
// deadline. The kernel's waker stub sleeps in epoll_wait on it, so the loop's
// waitpid returns when a host fd may have become ready, a timer is due, or
// the host terminal sends a signal (which stops the waker). The loop then
// notifies the fds' wait queues: nothing polls on a timer.
//
// Edge-triggered interests never spin the waker on a ready fd nobody reads;
// they cannot lose a wakeup either, since every waiter checks readiness
// before it waits and the Sentry is single-threaded.
import * as libc from '../../src/ffi/libc';
import { EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLLET, EPOLLIN, EPOLLOUT, EPOLLRDHUP, TFD_CLOEXEC, TFD_TIMER_ABSTIME } from '../../src/abi/linux';
import type { WaitQueue } from '../kernel/waiter';

const CLOCK_MONOTONIC = 1;
/** The timerfd's epoll data; host fds get 1, 2, ... */
const TIMER_ID = 0n;
const NS = 1_000_000_000n;

function epollEvent(events: number, data: bigint): Uint8Array {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, events >>> 0, true);
  dv.setBigUint64(4, data, true);
  return b;
}

export class HostPoller {
  readonly epfd: number;
  private readonly timerfd: number;
  private readonly queues = new Map<bigint, WaitQueue>();
  private nextId = 1n;
  /** The deadline the timerfd is set to (null: disarmed). */
  private deadline: bigint | null = null;
  /** Receives signals the host sent the Sentry's process group (a terminal's ^C, SIGWINCH). */
  onSignal: ((sig: number) => void) | null = null;

  constructor() {
    this.epfd = libc.epollCreate1(EPOLL_CLOEXEC);
    if (this.epfd < 0) throw new Error(`epoll_create1: errno ${libc.errno()}`);
    this.timerfd = libc.timerfdCreate(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (this.timerfd < 0) throw new Error(`timerfd_create: errno ${libc.errno()}`);
    if (libc.epollCtl(this.epfd, EPOLL_CTL_ADD, this.timerfd, epollEvent(EPOLLIN | EPOLLET, TIMER_ID)) < 0) {
      throw new Error(`epoll_ctl(timerfd): errno ${libc.errno()}`);
    }
  }

  /**
   * Notifies queue whenever hostFd may have become readable or writable.
   * Returns the function that stops it, or null when the host cannot poll
   * the fd (regular files and directories, which are always ready).
   */
  register(hostFd: number, queue: WaitQueue): (() => void) | null {
    const id = this.nextId++;
    if (libc.epollCtl(this.epfd, EPOLL_CTL_ADD, hostFd, epollEvent(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, id)) < 0) return null;
    this.queues.set(id, queue);
    return () => {
      this.queues.delete(id);
      libc.epollCtl(this.epfd, EPOLL_CTL_DEL, hostFd, null);
    };
  }

  /** Whether the waker has anything to wait for besides stub stops. */
  get needed(): boolean {
    return this.queues.size > 0 || this.deadline !== null || this.onSignal !== null;
  }

  /** Makes the timerfd fire at deadline (CLOCK_MONOTONIC ns), or never. */
  setDeadline(deadline: bigint | null): void {
    if (deadline === this.deadline) return;
    this.deadline = deadline;
    const spec = new Uint8Array(32);
    const dv = new DataView(spec.buffer);
    // A zero it_value disarms; an already-passed absolute deadline fires at once.
    const at = deadline === null ? 0n : deadline > 0n ? deadline : 1n;
    dv.setBigInt64(16, at / NS, true);
    dv.setBigInt64(24, at % NS, true);
    if (libc.timerfdSettime(this.timerfd, TFD_TIMER_ABSTIME, spec, null) < 0) {
      throw new Error(`timerfd_settime: errno ${libc.errno()}`);
    }
  }

  private lastCheck = 0n;

  /**
   * For a platform without a waker stub (kvm): waits in this thread up to
   * timeoutNs for host fds or the timerfd, and delivers what came.
   */
  waitHere(timeoutNs: bigint): void {
    this.lastCheck = process.hrtime.bigint();
    const buf = new Uint8Array(MAX_EVENTS * EPOLL_EVENT_SIZE);
    const ms = timeoutNs <= 0n ? 0 : Number((timeoutNs + 999_999n) / 1_000_000n);
    const n = libc.epollWait(this.epfd, buf, MAX_EVENTS, ms);
    if (n <= 0) return;
    const dv = new DataView(buf.buffer);
    const events = [];
    for (let i = 0; i < n; i++) events.push({ events: dv.getUint32(i * EPOLL_EVENT_SIZE, true), data: dv.getBigUint64(i * EPOLL_EVENT_SIZE + 4, true) });
    this.dispatch(events);
  }

  /** waitHere(0) at most every BUSY_CHECK_NS: host fds stay live while workload threads keep the platform busy. */
  checkIfDue(now: bigint): void {
    if (this.queues.size > 0 && now - this.lastCheck >= BUSY_CHECK_NS) this.waitHere(0n);
  }

  /** Delivers the events the waker's epoll_wait returned. */
  dispatch(events: { events: number; data: bigint }[]): void {
    for (const e of events) {
      if (e.data === TIMER_ID) {
        // The loop fires due timers itself; the timerfd must be set again for the next one.
        this.deadline = null;
        continue;
      }
      this.queues.get(e.data)?.notify();
    }
  }
}

/** How often a platform without a waker checks host fds while workload threads keep it busy. */
const BUSY_CHECK_NS = 1_000_000n;
const MAX_EVENTS = 64;
const EPOLL_EVENT_SIZE = 12;

let poller: HostPoller | null = null;

/** The process's host poller (one Sentry per process), made on first use. */
export function hostPoller(): HostPoller {
  return (poller ??= new HostPoller());
}
