// epoll(7): an interest list of (fd, file description) pairs and a ready
// list, built on the same readiness()/queue contract poll(2) uses.
//
// Each interest watches its file's wait queue (WaitQueue.watch). A wakeup
// (filtered by its key, as Linux's ep_poll_callback does) puts the interest on
// the ready list and notifies the epoll's own queue, which wakes epoll_wait
// callers and anyone polling the epoll fd (nested epoll, poll, select).
// Collecting events follows ep_send_events: each ready interest is polled
// again; a level-triggered one that is still ready goes back on the list, an
// edge-triggered one waits for the next wakeup, a one-shot one is disabled
// until EPOLL_CTL_MOD re-arms it.
//
// Interests are keyed by (fd number, description), hold no reference on the
// description (as Linux), and are dropped when the description is released
// (FileDescription.onRelease).
import { EEXIST, EINVAL, ELOOP, ENOENT } from '../../src/abi/errno';
import {
  EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLLERR, EPOLLET, EPOLLEXCLUSIVE, EPOLLHUP, EPOLLIN,
  EPOLLONESHOT, EPOLLOUT, EPOLLRDNORM, EPOLLWAKEUP, EPOLLWRNORM,
} from '../../src/abi/linux';
import type { Task } from '../kernel/task';
import { ANON_INODE_DEV, ANON_INODE_INO } from './eventfd';
import { anonStat, FileDescription, type Stat } from './file';
import { O_RDWR, POLLIN } from './linuxconst';

/** Flags that are not events (include/uapi/linux/eventpoll.h's EP_PRIVATE_BITS). */
const EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/** What EPOLLEXCLUSIVE may be combined with. */
const EPOLLEXCLUSIVE_OK_BITS = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/** Linux's EPOLL_MAX_NESTS: how deep epoll instances may watch each other. */
export const EPOLL_MAX_NESTS = 4;

/** A file's readiness with the *NORM bits that follow POLLIN/POLLOUT. */
function pollBits(r: number): number {
  if (r & EPOLLIN) r |= EPOLLRDNORM;
  if (r & EPOLLOUT) r |= EPOLLWRNORM;
  return r;
}

interface Interest {
  readonly fd: number;
  readonly file: FileDescription;
  /** Watched events plus EPOLLERR|EPOLLHUP and the private flags; only private flags once a one-shot fired. */
  events: number;
  data: bigint;
  /** Cancels the watch on file.queue. */
  unsubscribe: (() => void) | null;
  cancelRelease: () => void;
}

/** One event epoll_wait reports. */
export interface EpollEventOut { events: number; data: bigint }

export class EpollFD extends FileDescription {
  private readonly interests = new Map<FileDescription, Map<number, Interest>>();
  /** The ready list, in Linux's order (a Set keeps insertion order). */
  private readonly ready = new Set<Interest>();

  constructor() {
    super(O_RDWR);
  }

  private find(file: FileDescription, fd: number): Interest | undefined {
    return this.interests.get(file)?.get(fd);
  }

  /** EPOLL_CTL_*: the caller checked the fds, that the target is pollable and not this epoll. */
  ctl(op: number, fd: number, file: FileDescription, events: number, data: bigint): number {
    if (op !== EPOLL_CTL_DEL && (events & EPOLLEXCLUSIVE) !== 0) {
      if (op === EPOLL_CTL_MOD) return -EINVAL;
      if (op === EPOLL_CTL_ADD && (file instanceof EpollFD || (events & ~EPOLLEXCLUSIVE_OK_BITS) !== 0)) return -EINVAL;
    }
    if (op === EPOLL_CTL_ADD && file instanceof EpollFD && file.reaches(this, 0)) return -ELOOP;
    const it = this.find(file, fd);
    switch (op) {
      case EPOLL_CTL_ADD:
        if (it) return -EEXIST;
        this.insert(fd, file, events | EPOLLERR | EPOLLHUP, data);
        return 0;
      case EPOLL_CTL_DEL:
        if (!it) return -ENOENT;
        this.remove(it);
        return 0;
      case EPOLL_CTL_MOD:
        if (!it) return -ENOENT;
        if (it.events & EPOLLEXCLUSIVE) return -EINVAL;
        it.events = events | EPOLLERR | EPOLLHUP;
        it.data = data;
        this.queueIfReady(it);
        return 0;
      default:
        return -EINVAL;
    }
  }

  /** ep_loop_check: whether this epoll's tree (below it) holds target, or nests deeper than EPOLL_MAX_NESTS. */
  private reaches(target: EpollFD, depth: number): boolean {
    for (const file of this.interests.keys()) {
      if (!(file instanceof EpollFD)) continue;
      if (file === target || depth > EPOLL_MAX_NESTS || file.reaches(target, depth + 1)) return true;
    }
    return false;
  }

  private insert(fd: number, file: FileDescription, events: number, data: bigint): void {
    const it: Interest = { fd, file, events, data, unsubscribe: null, cancelRelease: () => {} };
    let byFd = this.interests.get(file);
    if (!byFd) this.interests.set(file, (byFd = new Map()));
    byFd.set(fd, it);
    it.cancelRelease = file.onRelease(() => this.remove(it));
    this.subscribe(it);
    this.queueIfReady(it);
  }

  private remove(it: Interest): void {
    it.unsubscribe?.();
    it.unsubscribe = null;
    it.cancelRelease();
    this.ready.delete(it);
    const byFd = this.interests.get(it.file);
    byFd?.delete(it.fd);
    if (byFd?.size === 0) this.interests.delete(it.file);
  }

  private subscribe(it: Interest): void {
    it.unsubscribe = it.file.queue.watch((key) => this.wake(it, key));
  }

  /** ep_poll_callback: a wakeup on the file's queue. */
  private wake(it: Interest, key: number): void {
    if ((it.events & ~EP_PRIVATE_BITS) === 0) return; // a fired one-shot
    if (key !== 0 && (pollBits(key) & it.events) === 0) return;
    if (!this.ready.has(it)) this.ready.add(it);
    this.queue.notify(POLLIN);
  }

  private queueIfReady(it: Interest): void {
    if (this.poll(it) !== 0 && !this.ready.has(it)) {
      this.ready.add(it);
      this.queue.notify(POLLIN);
    }
  }

  private poll(it: Interest): number {
    return pollBits(it.file.readiness()) & it.events;
  }

  /** ep_send_events: up to max events, consuming edge-triggered and one-shot ones. */
  collect(max: number): EpollEventOut[] {
    const out: EpollEventOut[] = [];
    const requeue: Interest[] = [];
    for (const it of [...this.ready]) {
      if (out.length >= max) break;
      this.ready.delete(it);
      const r = this.poll(it);
      if (r === 0) continue;
      out.push({ events: r, data: it.data });
      if (it.events & EPOLLONESHOT) it.events &= EP_PRIVATE_BITS;
      else if ((it.events & EPOLLET) === 0) requeue.push(it);
    }
    for (const it of requeue) this.ready.add(it);
    return out;
  }

  /** Readable when some interest on the ready list has events (ep_eventpoll_poll); drops the others. */
  override readiness(): number {
    for (const it of [...this.ready]) {
      if (this.poll(it) !== 0) return POLLIN;
      this.ready.delete(it);
    }
    return 0;
  }

  protected override release(): void {
    for (const byFd of [...this.interests.values()]) for (const it of [...byFd.values()]) this.remove(it);
  }

  override stat(t: Task): Stat { return anonStat(0o600, ANON_INODE_INO, ANON_INODE_DEV); }
  override displayName(): string { return 'anon_inode:[eventpoll]'; }
}
