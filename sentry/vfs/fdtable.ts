// The fd table: fd number → (open file description, close-on-exec flag).
// Shared between tasks created with CLONE_FILES; fork() copies it, sharing
// the descriptions (each copy holds its own reference).
import { EBADF, EMFILE } from '../../src/abi/errno';
import type { FileDescription } from './file';
import { releasePosixLocks } from './locks';

interface Entry { file: FileDescription; cloexec: boolean }

/** Linux's default RLIMIT_NOFILE soft limit. */
export const DEFAULT_NOFILE = 1024;
/** Linux's fs.nr_open default: the hard ceiling on any fd number. */
export const NR_OPEN = 1048576;

export class FDTable {
  private entries = new Map<number, Entry>();
  /** RLIMIT_NOFILE soft limit: fds are numbered below it. */
  limit = DEFAULT_NOFILE;
  /** Lowest fd that may be free: a hint for install(). */
  private lowHint = 0;

  get(fd: number): FileDescription | undefined {
    return this.entries.get(fd)?.file;
  }

  /** Installs file at the lowest free fd ≥ minFd; takes over the caller's reference. Returns the fd or -EMFILE. */
  install(file: FileDescription, cloexec: boolean, minFd = 0): number {
    let fd = Math.max(minFd, this.lowHint);
    while (this.entries.has(fd)) fd++;
    if (fd >= this.limit) return -EMFILE;
    this.entries.set(fd, { file, cloexec });
    if (minFd <= this.lowHint) this.lowHint = fd + 1;
    return fd;
  }

  /** dup2 semantics: closes whatever fd referred to, then installs file there (taking over the caller's reference). */
  installAt(fd: number, file: FileDescription, cloexec: boolean): void {
    const old = this.entries.get(fd);
    this.entries.set(fd, { file, cloexec });
    if (old) this.drop(old.file);
  }

  close(fd: number): number {
    const e = this.entries.get(fd);
    if (!e) return -EBADF;
    this.entries.delete(fd);
    if (fd < this.lowHint) this.lowHint = fd;
    this.drop(e.file);
    return 0;
  }

  /** An fd of file is gone from this table: the table's record locks on the file go too (POSIX semantics). */
  private drop(file: FileDescription): void {
    releasePosixLocks(file, this);
    file.decRef();
  }

  getCloexec(fd: number): boolean | undefined {
    return this.entries.get(fd)?.cloexec;
  }

  setCloexec(fd: number, cloexec: boolean): number {
    const e = this.entries.get(fd);
    if (!e) return -EBADF;
    e.cloexec = cloexec;
    return 0;
  }

  /** A copy for fork(): the same descriptions, each with one more reference. */
  fork(): FDTable {
    const t = new FDTable();
    t.limit = this.limit;
    t.lowHint = this.lowHint;
    for (const [fd, e] of this.entries) t.entries.set(fd, { file: e.file.incRef(), cloexec: e.cloexec });
    return t;
  }

  closeOnExec(): void {
    for (const [fd, e] of [...this.entries]) if (e.cloexec) this.close(fd);
  }

  closeAll(): void {
    const all = [...this.entries];
    this.entries.clear();
    this.lowHint = 0;
    for (const [, e] of all) this.drop(e.file);
  }

  /** The open fds in increasing order (for /proc/self/fd and close_range). */
  fds(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  get size(): number { return this.entries.size; }
}
