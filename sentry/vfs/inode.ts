// Inodes: the objects filesystems implement. The VFS (vfs.ts) resolves
// names to inodes and checks permissions and types before calling the
// mutating methods here, so an implementation checks only what depends on
// its own state (existence, emptiness, read-only-ness).
//
// Every method has a default that answers as Linux does for an inode that
// lacks the ability (ENOTDIR for directory operations on non-directories,
// EPERM for mutations a filesystem does not support, ...).
import { EINVAL, ENOENT, ENOTDIR, ENXIO, EOPNOTSUPP, EPERM, EROFS } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import type { Location } from './dentry';
import type { FileDescription, MappableFile, ReadResult, Stat } from './file';
import { DirFD, RegularFD } from './inodefd';
import {
  DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN, O_ACCMODE, O_NONBLOCK, O_RDONLY, O_WRONLY,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
} from './linuxconst';
import { Pipe, PipeFD } from './pipe';

export interface Owner { uid: number; gid: number }

export interface DirEnt { name: string; ino: bigint; type: number }

export interface StatFS {
  type: number; bsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; namelen: number; frsize: number; flags: number;
}

export interface FileSystem {
  /** st_dev of every inode. */
  readonly dev: number;
  /** Mutations fail with EROFS. */
  readonly readonly: boolean;
  /** Whether the VFS may cache dentries for this filesystem's names. */
  readonly cacheDentries: boolean;
  statfs(): StatFS;
  /** Whether the cached dentry `name` → `cached` in `dir` may still be used (filesystems shared with the host); absent: always. */
  revalidate?(t: Task | null, dir: Inode, name: string, cached: Inode): boolean;
}

/** A timestamp to set: [sec, nsec]. */
export type TimeSpec = [number, number];

export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: TimeSpec;
  mtime?: TimeSpec;
  /** Set by the VFS whenever it changes anything else. */
  ctime?: TimeSpec;
}

/** The mode, owner and times of an inode that keeps them in memory. */
export interface KeptAttrs { mode: number; uid: number; gid: number; atime: TimeSpec; mtime: TimeSpec; ctime: TimeSpec }

/** Applies a's permission bits, owner and times to attributes kept in memory; ctime is a's or now. Size is the caller's. */
export function applyAttrs(k: KeptAttrs, a: SetAttr): void {
  if (a.mode !== undefined) k.mode = (k.mode & ~0o7777) | (a.mode & 0o7777);
  if (a.uid !== undefined) k.uid = a.uid;
  if (a.gid !== undefined) k.gid = a.gid;
  if (a.atime) k.atime = a.atime;
  if (a.mtime) k.mtime = a.mtime;
  k.ctime = a.ctime ?? nowSpec();
}

export function nowSpec(): TimeSpec {
  const ns = process.hrtime.bigint(); // monotonic: only used as a tiebreak below
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6 + Number(ns % 1000000n)];
}

export function dtOf(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return DT_REG;
    case S_IFDIR: return DT_DIR;
    case S_IFLNK: return DT_LNK;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    case S_IFIFO: return DT_FIFO;
    case S_IFSOCK: return DT_SOCK;
    default: return DT_UNKNOWN;
  }
}

export abstract class Inode {
  abstract readonly fs: FileSystem;
  /** st_ino. */
  abstract readonly ino: bigint;
  /** S_IFMT bits; fixed for the inode's life. */
  abstract readonly type: number;
  abstract stat(): Stat;

  /** The pipe shared by every opener of a FIFO inode. */
  private fifo: Pipe | undefined;

  get isDir(): boolean { return this.type === S_IFDIR; }
  get isSymlink(): boolean { return this.type === S_IFLNK; }
  get isRegular(): boolean { return this.type === S_IFREG; }

  private notDir(): number { return this.isDir ? -EPERM : -ENOTDIR; }
  protected ro(): number { return this.fs.readonly ? -EROFS : this.notDir(); }

  // ---- directories ----
  lookup(t: Task | null, name: string): Inode | number { return this.isDir ? -ENOENT : -ENOTDIR; }
  /** The entries, without '.' and '..'. */
  iterate(t: Task | null): DirEnt[] | number { return -ENOTDIR; }
  create(t: Task | null, name: string, mode: number, owner: Owner): Inode | number { return this.ro(); }
  mkdir(t: Task | null, name: string, mode: number, owner: Owner): Inode | number { return this.ro(); }
  symlink(t: Task | null, name: string, target: string, owner: Owner): Inode | number { return this.ro(); }
  mknod(t: Task | null, name: string, mode: number, rdev: number, owner: Owner): Inode | number { return this.ro(); }
  link(t: Task | null, name: string, target: Inode): number { return this.ro(); }
  unlink(t: Task | null, name: string, child: Inode): number { return this.ro(); }
  rmdir(t: Task | null, name: string, child: Inode): number { return this.ro(); }
  /** Moves child from this/oldName to newDir/newName, replacing `replaced` (already type-checked) if not null. */
  rename(t: Task | null, oldName: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | null): number {
    return this.ro();
  }

  // ---- symlinks ----
  readlink(t: Task | null): string | number { return -EINVAL; }
  /** For /proc/[pid]/fd/N-style links: where following the link leads, instead of its text. */
  magic(t: Task): Location | FileDescription | null { return null; }

  // ---- data ----
  readAt(off: number, len: number): ReadResult { return -EINVAL; }
  writeAt(off: number, data: Uint8Array): number { return this.fs.readonly ? -EROFS : -EINVAL; }
  /** The data lives in a host file the Sentry reads and writes itself: readInto/writeFrom serve it. */
  get hostData(): boolean { return false; }
  /**
   * Reads from `off` into `dst` (views of the memory file: workload memory),
   * filling them in order and stopping at EOF: bytes read, -errno, or null
   * when this inode's data is not on the host (use readAt).
   */
  readInto(off: number, dst: Uint8Array[]): number | null { return null; }
  /** Writes `src` (views of workload memory) in order at `off`: bytes written, -errno, or null as readInto. */
  writeFrom(off: number, src: Uint8Array[]): number | null { return null; }
  size(): number { return this.stat().size; }
  truncate(size: number): number { return this.fs.readonly ? -EROFS : -EINVAL; }
  setattr(t: Task | null, a: SetAttr): number { return this.fs.readonly ? -EROFS : -EPERM; }
  fsync(): number { return 0; }
  mappable(): MappableFile | null { return null; }
  // ---- extended attributes (the syscall layer checked the caller may use the namespace) ----
  getxattr(name: string): Uint8Array | number { return -EOPNOTSUPP; }
  setxattr(name: string, value: Uint8Array, flags: number): number { return -EOPNOTSUPP; }
  listxattr(): string[] { return []; }
  removexattr(name: string): number { return -EOPNOTSUPP; }

  /** Called by open(2) with O_TRUNC or for writing, before open(); lets a layered filesystem copy up. */
  prepareWrite(): number { return this.fs.readonly ? -EROFS : 0; }

  /** Opens the inode; the VFS has checked permissions and O_DIRECTORY. */
  open(t: Task, flags: number, loc: Location): FileDescription | number {
    switch (this.type) {
      case S_IFREG: return new RegularFD(this, flags, loc);
      case S_IFDIR: return new DirFD(this, flags, loc);
      case S_IFIFO: {
        this.fifo ??= new Pipe();
        // A non-blocking writer with no reader would never be read (fifo(7)).
        if ((flags & O_ACCMODE) === O_WRONLY && flags & O_NONBLOCK && this.fifo.readers === 0) return -ENXIO;
        if ((flags & O_ACCMODE) === O_RDONLY && this.fifo.writers === 0) this.fifo.hadWriter = false;
        const fd = new PipeFD(this.fifo, flags, () => this.stat());
        fd.loc = loc;
        return fd;
      }
      default: return -ENXIO;
    }
  }
}
