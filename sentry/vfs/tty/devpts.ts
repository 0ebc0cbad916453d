// devpts, mounted at /dev/pts: ptmx (every open makes a new pseudo-terminal)
// and one replica node N per pseudo-terminal whose master is open. Mounted as
// Debian mounts it: replicas are group tty (5), mode 620.
import { ENOENT, ENOSPC, EPERM } from '../../../src/abi/errno';
import { DEVPTS_SUPER_MAGIC } from '../../../src/abi/linux';
import type { Task } from '../../kernel/task';
import type { Location } from '../dentry';
import type { FileDescription, Stat } from '../file';
import { applyAttrs, dtOf, Inode, nowSpec, type DirEnt, type FileSystem, type SetAttr, type StatFS, type TimeSpec } from '../inode';
import { S_IFCHR, S_IFDIR } from '../linuxconst';
import { newDevNumber, newIno } from '../memfs';
import { MasterFD, PTY } from './pty';

/** Linux's new_encode_dev. */
export function makedev(major: number, minor: number): number {
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12);
}

const TTY_GID = 5;
const PTMX_MAJOR = 5;
const PTMX_MINOR = 2;
const REPLICA_MAJOR = 136;
/** Linux's default kernel.pty.max. */
const MAX_PTYS = 4096;

/** A device node's attributes, changeable by chmod/chown/utimensat. */
class NodeAttrs {
  atime: TimeSpec;
  mtime: TimeSpec;
  ctime: TimeSpec;
  constructor(public mode: number, public uid: number, public gid: number) {
    this.atime = this.mtime = this.ctime = nowSpec();
  }

  stat(dev: number, ino: bigint, rdev: number, size = 0): Stat {
    return {
      dev, ino, mode: this.mode, nlink: (this.mode & S_IFDIR) === S_IFDIR ? 2 : 1, uid: this.uid, gid: this.gid, rdev, size,
      blksize: 1024, blocks: 0,
      atimeSec: this.atime[0], atimeNsec: this.atime[1], mtimeSec: this.mtime[0], mtimeNsec: this.mtime[1],
      ctimeSec: this.ctime[0], ctimeNsec: this.ctime[1],
    };
  }

  set(a: SetAttr): number {
    if (a.size !== undefined) return -EPERM;
    applyAttrs(this, a);
    return 0;
  }
}

export class DevPtsFS implements FileSystem {
  readonly dev = newDevNumber();
  readonly readonly = false;
  // Replicas come and go with their masters: names are looked up each time.
  readonly cacheDentries = false;
  readonly ptys = new Map<number, PTY>();
  readonly root = new DevPtsRoot(this);
  readonly ptmx = new PtmxInode(this, 0o666);

  statfs(): StatFS {
    return { type: DEVPTS_SUPER_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255, frsize: 4096, flags: 0 };
  }

  /** A new pseudo-terminal; returns its master. */
  openMaster(t: Task, flags: number, ptmxStat: () => Stat): FileDescription | number {
    let index = 0;
    while (this.ptys.has(index)) index++;
    if (index >= MAX_PTYS) return -ENOSPC;
    const replica = new ReplicaInode(this, index, t.creds.euid);
    const pty = new PTY(index, () => replica, () => { if (this.ptys.get(index) === pty) this.ptys.delete(index); });
    replica.pty = pty;
    this.ptys.set(index, pty);
    return new MasterFD(pty, flags, ptmxStat);
  }
}

class DevPtsRoot extends Inode {
  readonly ino = newIno();
  readonly type = S_IFDIR;
  private readonly attrs = new NodeAttrs(S_IFDIR | 0o755, 0, 0);
  constructor(readonly fs: DevPtsFS) { super(); }

  stat(): Stat { return this.attrs.stat(this.fs.dev, this.ino, 0); }
  override setattr(t: Task | null, a: SetAttr): number { return this.attrs.set(a); }

  override lookup(t: Task | null, name: string): Inode | number {
    if (name === 'ptmx') return this.fs.ptmx;
    if (!/^(0|[1-9][0-9]*)$/.test(name)) return -ENOENT;
    return this.fs.ptys.get(Number(name))?.replicaInode() ?? -ENOENT;
  }

  override iterate(t: Task | null): DirEnt[] | number {
    const out: DirEnt[] = [{ name: 'ptmx', ino: this.fs.ptmx.ino, type: dtOf(S_IFCHR) }];
    for (const [n, pty] of [...this.fs.ptys].sort((a, b) => a[0] - b[0])) {
      out.push({ name: String(n), ino: pty.replicaInode().ino, type: dtOf(S_IFCHR) });
    }
    return out;
  }
}

/** /dev/pts/ptmx and /dev/ptmx: each open is a new pseudo-terminal's master. */
export class PtmxInode extends Inode {
  readonly ino = newIno();
  readonly type = S_IFCHR;
  private readonly attrs: NodeAttrs;
  constructor(readonly fs: FileSystem, mode: number, private readonly pts?: DevPtsFS) {
    super();
    this.attrs = new NodeAttrs(S_IFCHR | mode, 0, 0);
  }

  stat(): Stat { return this.attrs.stat(this.fs.dev, this.ino, makedev(PTMX_MAJOR, PTMX_MINOR)); }
  override setattr(t: Task | null, a: SetAttr): number { return this.attrs.set(a); }
  override prepareWrite(): number { return 0; }
  override truncate(size: number): number { return 0; }

  override open(t: Task, flags: number, loc: Location): FileDescription | number {
    const pts = this.pts ?? (this.fs as DevPtsFS);
    return pts.openMaster(t, flags, () => this.stat());
  }
}

class ReplicaInode extends Inode {
  readonly ino = newIno();
  readonly type = S_IFCHR;
  pty: PTY | null = null;
  private readonly attrs: NodeAttrs;
  constructor(readonly fs: DevPtsFS, readonly index: number, uid: number) {
    super();
    this.attrs = new NodeAttrs(S_IFCHR | 0o620, uid, TTY_GID);
  }

  stat(): Stat { return this.attrs.stat(this.fs.dev, this.ino, makedev(REPLICA_MAJOR + (this.index >> 8), this.index & 0xff)); }
  override setattr(t: Task | null, a: SetAttr): number { return this.attrs.set(a); }
  override prepareWrite(): number { return 0; }
  override truncate(size: number): number { return 0; }

  override open(t: Task, flags: number, loc: Location): FileDescription | number {
    const f = this.pty!.openReplica(t, flags);
    if (typeof f !== 'number') f.loc = loc;
    return f;
  }
}
