// inotify(7): watches on inodes and the events the VFS raises for changes
// made inside the sandbox. The VFS and the file descriptions call the
// notification functions below; they cost one check when nobody watches.
//
// Which watchers see what, as in Linux: an event on a file (access, modify,
// attrib, open, close) goes to the file's watchers and, with the file's name,
// to its directory's watchers; a name event (create, delete, moved from/to)
// goes to the directory's watchers only; delete-self and move-self go to the
// inode's own watchers, and a deleted inode's watches end with IN_IGNORED.
import { EAGAIN, EEXIST, EFAULT, EINVAL } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import type { Dentry } from './dentry';
import { anonStat, FileDescription, type ReadResult, type Stat } from './file';
import type { Inode } from './inode';
import { FIONREAD, O_NONBLOCK, O_RDONLY, POLLIN } from './linuxconst';
import { ANON_INODE_DEV, ANON_INODE_INO } from './eventfd';

export const IN_ACCESS = 0x1;
export const IN_MODIFY = 0x2;
export const IN_ATTRIB = 0x4;
export const IN_CLOSE_WRITE = 0x8;
export const IN_CLOSE_NOWRITE = 0x10;
export const IN_OPEN = 0x20;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_IGNORED = 0x8000;
export const IN_ALL_EVENTS = 0xfff;
export const IN_ONLYDIR = 0x01000000;
export const IN_DONT_FOLLOW = 0x02000000;
export const IN_EXCL_UNLINK = 0x04000000;
export const IN_MASK_CREATE = 0x10000000;
export const IN_MASK_ADD = 0x20000000;
export const IN_ISDIR = 0x40000000;
export const IN_ONESHOT = 0x80000000;

/** Events a read returns at most, as /proc/sys/fs/inotify/max_queued_events. */
const MAX_QUEUED = 16384;
const IN_Q_OVERFLOW = 0x4000;
/** struct inotify_event header: wd, mask, cookie, len. */
const EVENT_HEADER = 16;

interface Watch { inotify: InotifyFD; wd: number; inode: Inode; mask: number }
interface Event { wd: number; mask: number; cookie: number; name: string }

const watchesOf = new WeakMap<Inode, Set<Watch>>();
/** Watches alive anywhere: 0 makes every notification free. */
let liveWatches = 0;
let nextCookie = 1;

function deliver(inode: Inode, mask: number, name: string, cookie: number): void {
  const ws = watchesOf.get(inode);
  if (!ws) return;
  for (const w of [...ws]) {
    if (!(w.mask & mask & IN_ALL_EVENTS) && !(mask & IN_IGNORED)) continue;
    w.inotify.queueEvent({ wd: w.wd, mask, cookie, name });
    if (w.mask & IN_ONESHOT) w.inotify.removeWatch(w);
  }
}

const dirBit = (inode: Inode): number => (inode.isDir ? IN_ISDIR : 0);

/** An event on the file d names: to its watchers, and with its name to its directory's. */
export function fileEvent(d: Dentry | undefined, mask: number): void {
  if (liveWatches === 0 || !d) return;
  const m = mask | dirBit(d.inode);
  if (d.parent && !d.dead) deliver(d.parent.inode, m, d.name, 0);
  deliver(d.inode, m, '', 0);
}

/** A name was created in dir. */
export function created(dir: Inode, name: string, child: Inode): void {
  if (liveWatches === 0) return;
  deliver(dir, IN_CREATE | dirBit(child), name, 0);
}

/** link(2) gave inode another name: its link count changed. */
export function linked(inode: Inode): void {
  if (liveWatches !== 0) deliver(inode, IN_ATTRIB, '', 0);
}

/** A name was removed from dir. */
export function deleted(dir: Inode, name: string, child: Inode): void {
  if (liveWatches === 0) return;
  if (!child.isDir) deliver(child, IN_ATTRIB, '', 0);
  deliver(dir, IN_DELETE | dirBit(child), name, 0);
  unlinked(child);
}

/** child lost a link (unlink, rmdir, or a rename over it); its watches end when none is left. */
export function unlinked(child: Inode): void {
  if (liveWatches === 0 || !(child.isDir || child.stat().nlink === 0)) return;
  deliver(child, IN_DELETE_SELF, '', 0);
  for (const w of [...(watchesOf.get(child) ?? [])]) w.inotify.removeWatch(w);
}

/** A rename: moved-from and moved-to share a cookie; the moved inode sees move-self. */
export function moved(from: Inode, oldName: string, to: Inode, newName: string, child: Inode): void {
  if (liveWatches === 0) return;
  const cookie = nextCookie++;
  deliver(from, IN_MOVED_FROM | dirBit(child), oldName, cookie);
  deliver(to, IN_MOVED_TO | dirBit(child), newName, cookie);
  deliver(child, IN_MOVE_SELF, '', 0);
}

export class InotifyFD extends FileDescription {
  private readonly events: Event[] = [];
  private readonly watches = new Map<number, Watch>();
  private nextWd = 1;

  constructor(nonblock: boolean) {
    super(O_RDONLY | (nonblock ? O_NONBLOCK : 0));
  }

  queueEvent(e: Event): void {
    const last = this.events[this.events.length - 1];
    // Linux merges an event identical to the one still last in the queue.
    if (last && last.wd === e.wd && last.mask === e.mask && last.cookie === e.cookie && last.name === e.name) return;
    if (this.events.length >= MAX_QUEUED) {
      if (last?.mask !== IN_Q_OVERFLOW) this.events.push({ wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: '' });
    } else {
      this.events.push(e);
    }
    this.queue.notify(POLLIN);
  }

  /** inotify_add_watch: the watch descriptor, or -errno. */
  addWatch(inode: Inode, mask: number): number {
    let ws = watchesOf.get(inode);
    const existing = ws && [...ws].find((w) => w.inotify === this);
    if (existing) {
      if (mask & IN_MASK_CREATE) return -EEXIST;
      existing.mask = mask & IN_MASK_ADD ? existing.mask | mask : mask;
      return existing.wd;
    }
    if (!ws) { ws = new Set(); watchesOf.set(inode, ws); }
    const w: Watch = { inotify: this, wd: this.nextWd++, inode, mask };
    ws.add(w);
    this.watches.set(w.wd, w);
    liveWatches++;
    return w.wd;
  }

  /** Ends a watch with IN_IGNORED. */
  removeWatch(w: Watch): void {
    if (!this.watches.delete(w.wd)) return;
    watchesOf.get(w.inode)?.delete(w);
    liveWatches--;
    this.queueEvent({ wd: w.wd, mask: IN_IGNORED, cookie: 0, name: '' });
  }

  /** inotify_rm_watch: 0 or -EINVAL. */
  rmWatch(wd: number): number {
    const w = this.watches.get(wd);
    if (!w) return -EINVAL;
    this.removeWatch(w);
    return 0;
  }

  private static size(e: Event): number {
    // The name is NUL-padded to a multiple of the header's size.
    const n = Buffer.byteLength(e.name);
    return EVENT_HEADER + (n === 0 ? 0 : Math.ceil((n + 1) / EVENT_HEADER) * EVENT_HEADER);
  }

  private take(len: number): ReadResult {
    const first = this.events[0]!;
    if (InotifyFD.size(first) > len) return -EINVAL;
    const parts: Uint8Array[] = [];
    let used = 0;
    while (this.events.length > 0 && used + InotifyFD.size(this.events[0]!) <= len) {
      const e = this.events.shift()!;
      const b = new Uint8Array(InotifyFD.size(e));
      const dv = new DataView(b.buffer);
      dv.setInt32(0, e.wd, true);
      dv.setUint32(4, e.mask >>> 0, true);
      dv.setUint32(8, e.cookie, true);
      dv.setUint32(12, b.length - EVENT_HEADER, true);
      b.set(Buffer.from(e.name, 'utf8'), EVENT_HEADER);
      parts.push(b);
      used += b.length;
    }
    return Buffer.concat(parts);
  }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    if (this.events.length > 0) return this.take(len);
    if (this.flags & O_NONBLOCK) return -EAGAIN;
    return t.waitFor(() => this.events.length > 0, [this.queue]).then((r) => (r < 0 ? r : this.take(len)));
  }

  override readiness(): number { return this.events.length > 0 ? POLLIN : 0; }

  override ioctl(t: Task, cmd: number, argAddr: number): number {
    if (cmd !== FIONREAD) return super.ioctl(t, cmd, argAddr) as number;
    const n = this.events.reduce((s, e) => s + InotifyFD.size(e), 0);
    return t.mm.writeU32(argAddr, n) ? 0 : -EFAULT;
  }

  protected override release(): void {
    for (const w of this.watches.values()) {
      watchesOf.get(w.inode)?.delete(w);
      liveWatches--;
    }
    this.watches.clear();
  }

  override stat(t: Task): Stat { return anonStat(0o600, ANON_INODE_INO, ANON_INODE_DEV); }
  override displayName(): string { return 'anon_inode:inotify'; }
}
