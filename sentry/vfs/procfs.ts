// procfs: a synthetic filesystem whose nodes are generated, per reading task,
// by callbacks. The kernel core installs a ProcProvider (vfs.setProcProvider)
// for /proc/[pid]/..., /proc/meminfo and the like; the framework itself
// answers /proc/self and /proc/thread-self, and until a provider is installed
// a default one serves /proc/self's fd/, cwd, root and /proc/mounts from what
// the VFS knows. Dentries here are never cached: every lookup asks again.
import { EACCES, EINVAL, ENOENT } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import type { Location, Mount } from './dentry';
import { FileDescription, type ReadResult, type Stat } from './file';
import { dtOf, Inode, nowSpec, type DirEnt, type FileSystem, type StatFS } from './inode';
import { O_ACCMODE, O_RDONLY, PROC_SUPER_MAGIC, S_IFDIR, S_IFLNK, S_IFREG } from './linuxconst';
import { newDevNumber, newIno } from './memfs';
import { pathOf } from './path';
import type { VFS } from './vfs';

export interface ProcDir {
  kind: 'dir';
  /** Permission bits (default 0o555). */
  mode?: number;
  /** Owner (default root). */
  uid?: number;
  gid?: number;
  list(t: Task): string[];
  lookup(t: Task, name: string): ProcNode | null;
}

export interface ProcFile {
  kind: 'file';
  /** Permission bits (default 0o444). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** The whole contents, generated when the file is opened. */
  read(t: Task): string | Uint8Array;
  /** Handles a write (e.g. /proc/self/oom_score_adj): bytes consumed or -errno. Absent: EACCES at open. */
  write?(t: Task, data: Uint8Array): number;
}

export interface ProcSymlink {
  kind: 'symlink';
  uid?: number;
  gid?: number;
  readlink(t: Task): string | number;
  /** For magic links (/proc/[pid]/fd/N, cwd, exe): where following leads, instead of the text. */
  follow?(t: Task): Location | FileDescription | null;
}

export type ProcNode = ProcDir | ProcFile | ProcSymlink;

export interface ProcProvider {
  /** Entries of /proc besides 'self' and 'thread-self' (which the framework answers). */
  root: ProcDir;
  /** What /proc/self names (default: the caller's pid). */
  self?(t: Task): string;
}

/** A /proc/[pid]/fd directory over a task's fd table: magic links to the open files. */
export function fdDir(target: (t: Task) => Task | null): ProcDir {
  return {
    kind: 'dir',
    mode: 0o500,
    list: (t) => target(t)?.fds.fds().map(String) ?? [],
    lookup: (t, name) => {
      const tt = target(t);
      if (!tt || !/^\d+$/.test(name)) return null;
      const f = tt.fds.get(Number(name));
      if (!f) return null;
      const file = f;
      return { kind: 'symlink', readlink: () => file.displayName(), follow: () => file };
    },
  };
}

/** Where m is mounted, as an absolute path. */
function mountPath(m: Mount): string {
  return m.mountpoint && m.parent ? pathOf({ mnt: m.parent, d: m.mountpoint }) ?? '/' : '/';
}

/** What /proc/mounts shows for the VFS's mounts. */
export function mountsText(vfs: VFS): string {
  return vfs.mounts.map((m) => `${m.fsType} ${mountPath(m)} ${m.fsType} ${m.options} 0 0\n`).join('');
}

/** A mount's id in mountinfo and fdinfo: its place in the mount table, from 1. */
export function mountId(vfs: VFS, m: Mount): number {
  return vfs.mounts.indexOf(m) + 1;
}

/** /proc/[pid]/mountinfo: ids, parent ids, st_dev, root, mountpoint, options, type and source. */
export function mountinfoText(vfs: VFS): string {
  return vfs.mounts.map((m) => {
    const dev = m.root.inode.fs.dev;
    const parent = m.parent ? mountId(vfs, m.parent) : 0;
    const super_ = m.options.split(',').includes('ro') ? 'ro' : 'rw';
    return `${mountId(vfs, m)} ${parent} ${dev >> 8}:${dev & 0xff} / ${mountPath(m)} ${m.options} - ${m.fsType} ${m.fsType} ${super_}\n`;
  }).join('');
}

/** The provider used until the kernel core installs one: the caller's own /proc/[pid] only. */
export function defaultProvider(vfs: VFS): ProcProvider {
  const mounts: ProcFile = { kind: 'file', read: () => mountsText(vfs) };
  const pidDir = (pid: number): ProcDir => ({
    kind: 'dir',
    list: () => ['fd', 'cwd', 'root', 'mounts'],
    lookup: (t, name) => {
      if (t.pid !== pid) return null;
      switch (name) {
        case 'fd': return fdDir((c) => c);
        case 'cwd': return { kind: 'symlink', readlink: (c) => pathOf(c.fs.cwd, c.fs.root) ?? '/', follow: (c) => c.fs.cwd };
        case 'root': return { kind: 'symlink', readlink: () => '/', follow: (c) => c.fs.root };
        case 'mounts': return mounts;
        default: return null;
      }
    },
  });
  return {
    root: {
      kind: 'dir',
      list: (t) => [String(t.pid), 'mounts'],
      lookup: (t, name) => (name === String(t.pid) ? pidDir(t.pid) : name === 'mounts' ? mounts : null),
    },
  };
}

class ProcFSInfo implements FileSystem {
  readonly dev = newDevNumber();
  readonly readonly = false;
  readonly cacheDentries = false;
  /** Stable inode numbers by path. */
  private readonly inos = new Map<string, bigint>();
  statfs(): StatFS {
    return { type: PROC_SUPER_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255, frsize: 4096, flags: 0 };
  }
  inoFor(path: string): bigint {
    let i = this.inos.get(path);
    if (i === undefined) { i = newIno(); this.inos.set(path, i); }
    return i;
  }
}

class ProcInode extends Inode {
  readonly ino: bigint;
  readonly type: number;
  constructor(readonly fs: ProcFSInfo, readonly node: ProcNode, readonly path: string) {
    super();
    this.ino = fs.inoFor(path);
    this.type = node.kind === 'dir' ? S_IFDIR : node.kind === 'file' ? S_IFREG : S_IFLNK;
  }

  stat(): Stat {
    const n = this.node;
    const perm = n.kind === 'dir' ? n.mode ?? 0o555 : n.kind === 'file' ? n.mode ?? 0o444 : 0o777;
    const [s, ns] = nowSpec();
    return {
      dev: this.fs.dev, ino: this.ino, mode: this.type | perm, nlink: n.kind === 'dir' ? 2 : 1,
      uid: n.uid ?? 0, gid: n.gid ?? 0, rdev: 0, size: 0, blksize: 4096, blocks: 0,
      atimeSec: s, atimeNsec: ns, mtimeSec: s, mtimeNsec: ns, ctimeSec: s, ctimeNsec: ns,
    };
  }

  override lookup(t: Task | null, name: string): Inode | number {
    if (this.node.kind !== 'dir') return super.lookup(t, name);
    if (!t) return -ENOENT;
    const c = this.node.lookup(t, name);
    return c ? new ProcInode(this.fs, c, `${this.path}/${name}`) : -ENOENT;
  }

  override iterate(t: Task | null): DirEnt[] | number {
    if (this.node.kind !== 'dir') return super.iterate(t);
    if (!t) return [];
    const out: DirEnt[] = [];
    for (const name of this.node.list(t)) {
      const c = this.lookup(t, name);
      if (typeof c !== 'number') out.push({ name, ino: c.ino, type: dtOf(c.type) });
    }
    return out;
  }

  override readlink(t: Task | null): string | number {
    if (this.node.kind !== 'symlink') return -EINVAL;
    if (!t) return -ENOENT;
    return this.node.readlink(t);
  }

  override magic(t: Task): Location | FileDescription | null {
    return this.node.kind === 'symlink' ? this.node.follow?.(t) ?? null : null;
  }

  override prepareWrite(): number { return 0; }
  override truncate(size: number): number { return 0; }

  override open(t: Task, flags: number, loc: Location): FileDescription | number {
    const n = this.node;
    if (n.kind !== 'file') return super.open(t, flags, loc);
    if ((flags & O_ACCMODE) !== O_RDONLY && !n.write) return -EACCES;
    const data = n.read(t);
    return new ProcFileFD(this, typeof data === 'string' ? new TextEncoder().encode(data) : data, flags, loc);
  }
}

/** An open /proc file: its contents as generated at open. */
class ProcFileFD extends FileDescription {
  constructor(readonly inode: ProcInode, private readonly data: Uint8Array, flags: number, loc: Location) {
    super(flags, loc);
  }
  override get positional(): boolean { return true; }
  override read(t: Task, len: number, offset: number): ReadResult {
    const pos = offset < 0 ? this.offset : offset;
    const out = this.data.slice(pos, pos + len);
    if (offset < 0) this.offset = pos + out.length;
    return out;
  }
  override write(t: Task, data: Uint8Array, offset: number): number {
    const n = this.inode.node;
    return n.kind === 'file' && n.write ? n.write(t, data) : -EINVAL;
  }
  override lseek(t: Task, off: number, whence: number): number {
    const base = whence === 0 ? 0 : whence === 1 ? this.offset : whence === 2 ? this.data.length : -1;
    if (base < 0 || base + off < 0) return -EINVAL;
    this.offset = base + off;
    return this.offset;
  }
  override stat(t: Task): Stat { return this.inode.stat(); }
  override fsync(t: Task): number { return 0; }
  override displayName(): string { return `/proc${this.inode.path}`; }
}

export class ProcFS {
  readonly fs = new ProcFSInfo();
  readonly root: Inode;
  provider: ProcProvider;

  constructor(vfs: VFS) {
    this.provider = defaultProvider(vfs);
    const rootNode: ProcDir = {
      kind: 'dir',
      list: (t) => ['self', 'thread-self', ...this.provider.root.list(t)],
      lookup: (t, name) => {
        if (name === 'self') return { kind: 'symlink', readlink: (c) => this.provider.self?.(c) ?? String(c.pid) };
        if (name === 'thread-self') return { kind: 'symlink', readlink: (c) => `${c.pid}/task/${c.tid}` };
        return this.provider.root.lookup(t, name);
      },
    };
    this.root = new ProcInode(this.fs, rootNode, '');
  }
}
