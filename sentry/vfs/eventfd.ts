// eventfd(2): a 64-bit counter as a file. write adds to it, read returns it
// and resets it to zero (or, with EFD_SEMAPHORE, returns 1 and decrements
// it). The counter never exceeds 0xfffffffffffffffe: a write that would pass
// it blocks (EAGAIN with O_NONBLOCK); a read of a zero counter blocks the same
// way. Reads and writes move exactly 8 bytes; shorter buffers are EINVAL.
//
// Wakeups carry Linux's keys: a write notifies POLLIN, a read POLLOUT, so an
// edge-triggered epoll watcher sees one event per relevant change.
import { EAGAIN, EINVAL } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import { anonStat, FileDescription, type ReadResult, type Stat } from './file';
import { O_NONBLOCK, O_RDWR, POLLERR, POLLIN, POLLOUT } from './linuxconst';

/** The largest value the counter may hold. */
export const EVENTFD_MAX = 0xfffffffffffffffen;
/** Device and inode number anonymous-inode files report (they share one inode, as on Linux). */
export const ANON_INODE_DEV = 0x0d;
export const ANON_INODE_INO = 1n;

export class EventFD extends FileDescription {
  private count: bigint;

  constructor(initval: number, readonly semaphore: boolean, nonblock: boolean) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
    this.count = BigInt(initval);
  }

  private get nonblocking(): boolean { return (this.flags & O_NONBLOCK) !== 0; }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    if (len < 8) return -EINVAL;
    if (this.count > 0n) return this.take();
    if (this.nonblocking) return -EAGAIN;
    return t.waitFor(() => this.count > 0n, [this.queue]).then((r) => (r < 0 ? r : this.take()));
  }

  private take(): Uint8Array {
    const v = this.semaphore ? 1n : this.count;
    this.count -= v;
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, v, true);
    this.queue.notify(POLLOUT);
    return out;
  }

  override write(t: Task, data: Uint8Array, offset: number): number | Promise<number> {
    if (data.length < 8) return -EINVAL;
    const v = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
    if (v === 0xffffffffffffffffn) return -EINVAL;
    const fits = () => EVENTFD_MAX - this.count >= v;
    if (fits()) return this.add(v);
    if (this.nonblocking) return -EAGAIN;
    return t.waitFor(fits, [this.queue]).then((r) => (r < 0 ? r : this.add(v)));
  }

  private add(v: bigint): number {
    this.count += v;
    if (v > 0n) this.queue.notify(POLLIN);
    return 8;
  }

  override readiness(): number {
    let r = 0;
    if (this.count > 0n) r |= POLLIN;
    if (this.count < EVENTFD_MAX) r |= POLLOUT;
    // Only eventfd_signal's overflow (in-kernel producers) can reach ULLONG_MAX.
    if (this.count === 0xffffffffffffffffn) r |= POLLERR;
    return r;
  }

  /** Linux's noop_llseek: the offset stays 0. */
  override lseek(t: Task, offset: number, whence: number): number { return this.offset; }

  override stat(t: Task): Stat { return anonStat(0o600, ANON_INODE_INO, ANON_INODE_DEV); }
  override displayName(): string { return 'anon_inode:[eventfd]'; }
}
