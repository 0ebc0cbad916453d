// Open file descriptions: what an fd points to. One description is shared by
// every fd that dup(2) or fork(2) made from it (they share the offset and the
// status flags), and is released when the last fd closes it (decRef).
//
// The base class answers every operation as Linux answers it for a file that
// does not support it, so a subclass overrides only what it implements.
// Every method returns its result or a negated errno; those that may block
// return a Promise and block only through Task.waitFor.
import type { MappableSource } from '../mm/pagecache';
import { EINVAL, ENOTDIR, ENOTTY, ESPIPE } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import { WaitQueue } from '../kernel/waiter';
import {
  O_ACCMODE, O_NOCTTY, O_PATH, O_RDONLY, O_RDWR, O_WRONLY, POLLIN, POLLOUT, S_IFMT, SETFL_MASK,
} from './linuxconst';
import type { Location } from './dentry';

/** The attributes stat(2), fstat(2) and statx(2) report; the syscall layer encodes them. */
export interface Stat {
  dev: number;
  ino: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeSec: number; atimeNsec: number;
  mtimeSec: number; mtimeNsec: number;
  ctimeSec: number; ctimeNsec: number;
}

/** What mmap(2) of a file maps. */
/** What a file offers to mmap: equal cacheKeys mean equal contents, or its pages are in the memory file already. */
export interface MappableFile extends MappableSource {
  readAt(off: number, len: number): Uint8Array;
  /** Reads straight into `dst` (memory-file pages): bytes read or -errno; files on the host offer it. */
  readInto?(off: number, dst: Uint8Array[]): number | null;
  /** A memfd seal forbids writable shared mappings. */
  writeSealed?(): boolean;
}

export type ReadResult = Uint8Array | number;

/** A Stat for objects that live nowhere (pipes, anonymous files). */
export function anonStat(mode: number, ino: bigint, dev: number): Stat {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  const ns = (now % 1000) * 1e6;
  return {
    dev, ino, mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096, blocks: 0,
    atimeSec: s, atimeNsec: ns, mtimeSec: s, mtimeNsec: ns, ctimeSec: s, ctimeNsec: ns,
  };
}

export abstract class FileDescription {
  /** Status flags: the access mode plus O_APPEND, O_NONBLOCK, ... (as F_GETFL reports them). */
  flags: number;
  /** The file offset, shared by all fds of this description. */
  offset = 0;
  /** Where the file was opened from, for fchdir, openat(dirfd, ...) and /proc/self/fd; undefined for anonymous files. */
  loc: Location | undefined;
  /** Notified whenever readiness() may have changed. */
  queue = new WaitQueue();
  private refs = 1;
  /** Called once when the description is released (epoll drops its interests). */
  private releaseHooks: Set<() => void> | undefined;

  constructor(flags: number, loc?: Location) {
    this.flags = flags & ~O_NOCTTY;
    this.loc = loc;
  }

  incRef(): this { this.refs++; return this; }
  decRef(): void {
    if (this.refs <= 0) throw new Error('FileDescription: decRef below zero');
    if (--this.refs === 0) {
      const hooks = this.releaseHooks;
      this.releaseHooks = undefined;
      if (hooks) for (const h of hooks) h();
      this.release();
    }
  }
  /** Runs hook when the last reference goes away; returns a function that cancels it. */
  onRelease(hook: () => void): () => void {
    (this.releaseHooks ??= new Set()).add(hook);
    return () => { this.releaseHooks?.delete(hook); };
  }
  get refCount(): number { return this.refs; }

  /** Called once, when the last reference goes away. */
  protected release(): void { /* nothing to free by default */ }

  /** Completes open(2) once the description exists: 0, -errno, or a Promise of one (a FIFO waits for its other end). */
  opened(t: Task): number | Promise<number> { return 0; }

  get isPath(): boolean { return (this.flags & O_PATH) !== 0; }
  get readable(): boolean {
    const m = this.flags & O_ACCMODE;
    return !this.isPath && (m === O_RDONLY || m === O_RDWR);
  }
  get writable(): boolean {
    const m = this.flags & O_ACCMODE;
    return !this.isPath && (m === O_WRONLY || m === O_RDWR);
  }

  /** F_SETFL: changes only the flags Linux lets it change. */
  setStatusFlags(flags: number): number {
    this.flags = (this.flags & ~SETFL_MASK) | (flags & SETFL_MASK);
    return 0;
  }

  /** Reads up to len bytes at offset, or at (and advancing) the description's offset when offset is -1. */
  read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> { return -EINVAL; }
  /** Writes data at offset, or at the description's offset (or the end with O_APPEND) when offset is -1. */
  write(t: Task, data: Uint8Array, offset: number): number | Promise<number> { return -EINVAL; }
  /**
   * read(2) straight into workload memory at addr (host-backed files: no copy
   * through the Sentry's heap): bytes read or -errno; null when this file
   * cannot, and read() serves instead.
   */
  readToUser(t: Task, addr: number, len: number, offset: number): number | null { return null; }
  /** write(2) straight out of workload memory; null as readToUser. */
  writeFromUser(t: Task, addr: number, len: number, offset: number): number | null { return null; }
  /** Whether pread/pwrite work (false: they fail with ESPIPE). */
  get positional(): boolean { return false; }
  /** Returns the new offset. */
  lseek(t: Task, offset: number, whence: number): number { return -ESPIPE; }
  abstract stat(t: Task): Stat;
  /** Encoded linux_dirent64 records totalling at most maxBytes; empty at the end; -EINVAL if one record does not fit. */
  getdents(t: Task, maxBytes: number): Uint8Array | number { return -ENOTDIR; }
  ioctl(t: Task, cmd: number, argAddr: number): number | Promise<number> { return -ENOTTY; }
  truncate(t: Task, size: number): number { return -EINVAL; }
  fsync(t: Task): number { return -EINVAL; }
  /** What mmap maps, or null (mmap fails with ENODEV). */
  mappable(): MappableFile | null { return null; }
  /** POLLIN/POLLOUT/... bits that hold now; regular files are always ready. */
  readiness(): number { return POLLIN | POLLOUT; }
  /** The file's type bits (S_IFMT) without asking the backing store when possible. */
  fileType(t: Task): number { return this.stat(t).mode & S_IFMT; }
  /** What readlink(/proc/self/fd/N) shows. */
  displayName(): string { return 'anon_inode:[unknown]'; }
  /** Opening this file again through /proc/self/fd/N: by default the same description. */
  reopen(t: Task, flags: number): FileDescription | number { return this.incRef(); }
}
