// The overlay: a read-only lower tree (the gofer's) under a writable
// in-memory upper tree (memfs), so the workload can write anywhere while the
// host is never modified.
//
// An OverlayInode has an upper inode, a lower inode, or both (a directory
// present in both layers is merged). Writing to something that exists only
// below first copies it up (its parent directories first). Removing a name
// that exists below records a whiteout in the parent, which hides the lower
// name from lookups and readdir. A directory made where a lower name was
// whited out has no lower layer: it is opaque. OverlayInodes are cached in
// their parent and never evicted, so this state lives in them (no whiteout
// files in the upper layer). Renaming a directory that has a lower layer is
// EXDEV, as in Linux's overlayfs without redirect_dir: mv then copies.
import { EEXIST, ENODATA, ENOENT, ENOTEMPTY, EPERM, EXDEV } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import type { MappableFile, ReadResult, Stat } from './file';
import { dtOf, Inode, type DirEnt, type FileSystem, type Owner, type SetAttr, type StatFS } from './inode';
import { OVERLAYFS_SUPER_MAGIC, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './linuxconst';
import { MemFS, MemInode, newDevNumber, xattrNameError } from './memfs';

/** Bytes copied per read during copy-up. */
const COPY_CHUNK = 1 << 20;

export class OverlayFS implements FileSystem {
  readonly dev = newDevNumber();
  readonly readonly = false;
  readonly cacheDentries = true;
  readonly upperFS = new MemFS();
  readonly root: OverlayInode;

  constructor(lowerRoot: Inode) {
    const st = lowerRoot.stat();
    const upper = new MemInode(this.upperFS, S_IFDIR | (st.mode & 0o7777), { uid: st.uid, gid: st.gid });
    this.root = new OverlayInode(this, null, '', upper, lowerRoot);
  }

  statfs(): StatFS {
    const s = this.upperFS.statfs();
    return { ...s, type: OVERLAYFS_SUPER_MAGIC };
  }
}

export class OverlayInode extends Inode {
  readonly ino: bigint;
  readonly type: number;
  /** Children looked up or made so far. */
  private readonly cache = new Map<string, OverlayInode>();
  /** Lower names hidden by unlink/rename. */
  private readonly whiteouts = new Set<string>();

  constructor(
    readonly fs: OverlayFS,
    private parent: OverlayInode | null,
    private name: string,
    public upper: Inode | null,
    public lower: Inode | null,
  ) {
    super();
    const any = (upper ?? lower)!;
    // Keep the lower inode number across copy-up, as overlayfs does with xino.
    this.ino = (lower ?? upper)!.ino;
    this.type = any.type;
  }

  /** The layer reads go to. */
  private get top(): Inode { return (this.upper ?? this.lower)!; }
  /** Open descriptions, passed on to the upper inode (which frees its data when unlinked and closed). */
  private opens = 0;

  override opened(): void {
    this.opens++;
    this.upper?.opened();
  }

  override closed(): void {
    this.opens--;
    this.upper?.closed();
  }

  stat(): Stat {
    const s = this.top.stat();
    return { ...s, dev: this.fs.dev, ino: this.ino };
  }

  override size(): number { return this.top.size(); }

  // ---- copy-up ----

  /** Gives this inode an upper layer (copying its parents first); 0 or -errno. */
  copyUp(truncate = false): number {
    if (this.upper) return 0;
    const p = this.parent;
    if (!p) return -EPERM; // the root always has an upper layer
    const r = p.copyUp();
    if (r < 0) return r;
    const pu = p.upper as MemInode;
    const lower = this.lower!;
    const st = lower.stat();
    const owner = { uid: st.uid, gid: st.gid };
    let made: Inode | number;
    switch (st.mode & S_IFMT) {
      case S_IFDIR: made = pu.mkdir(null, this.name, st.mode & 0o7777, owner); break;
      case S_IFLNK: {
        const target = lower.readlink(null);
        if (typeof target === 'number') return target;
        made = pu.symlink(null, this.name, target, owner);
        break;
      }
      case S_IFREG: {
        made = pu.create(null, this.name, st.mode & 0o7777, owner);
        if (typeof made === 'number') return made;
        if (!truncate) {
          for (let off = 0; off < st.size;) {
            const chunk = lower.readAt(off, Math.min(COPY_CHUNK, st.size - off));
            if (typeof chunk === 'number') { pu.remove(this.name); return chunk; }
            if (chunk.length === 0) break;
            const w = made.writeAt(off, chunk);
            if (w < 0) { pu.remove(this.name); return w; }
            off += chunk.length;
          }
        }
        break;
      }
      default: made = pu.mknod(null, this.name, st.mode, st.rdev, owner); break;
    }
    if (typeof made === 'number') return made;
    made.setattr(null, {
      mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
      atime: [st.atimeSec, st.atimeNsec], mtime: [st.mtimeSec, st.mtimeNsec], ctime: [st.ctimeSec, st.ctimeNsec],
    });
    this.upper = made;
    for (let i = 0; i < this.opens; i++) made.opened();
    return 0;
  }

  override prepareWrite(): number { return this.copyUp(); }

  // ---- directories ----

  override lookup(t: Task | null, name: string): Inode | number {
    if (!this.isDir) return super.lookup(t, name);
    const c = this.cache.get(name);
    if (c) return c;
    let up: Inode | null = null;
    if (this.upper) {
      const u = this.upper.lookup(t, name);
      if (typeof u !== 'number') up = u;
      else if (u !== -ENOENT) return u;
    }
    let low: Inode | null = null;
    if (this.lower && !this.whiteouts.has(name) && (!up || up.isDir)) {
      const l = this.lower.lookup(t, name);
      if (typeof l !== 'number') low = l;
      else if (l !== -ENOENT) return l;
    }
    if (up && low && !(up.isDir && low.isDir)) low = null;
    if (!up && !low) return -ENOENT;
    const ino = new OverlayInode(this.fs, this, name, up, low);
    this.cache.set(name, ino);
    return ino;
  }

  override iterate(t: Task | null): DirEnt[] | number {
    if (!this.isDir) return super.iterate(t);
    const seen = new Map<string, DirEnt>();
    if (this.lower) {
      const l = this.lower.iterate(t);
      if (typeof l === 'number') return l;
      for (const e of l) if (!this.whiteouts.has(e.name)) seen.set(e.name, e);
    }
    if (this.upper) {
      const u = this.upper.iterate(t);
      if (typeof u === 'number') return u;
      for (const e of u) {
        const below = seen.get(e.name);
        seen.set(e.name, below && below.type === e.type ? { ...e, ino: below.ino } : e);
      }
    }
    // Names made after a whiteout keep their own inode numbers; cached children know theirs.
    return [...seen.values()].map((e) => {
      const c = this.cache.get(e.name);
      return c ? { name: e.name, ino: c.ino, type: dtOf(c.type) } : e;
    });
  }

  /** Adds a child made in the upper layer. */
  private made(name: string, r: Inode | number): Inode | number {
    if (typeof r === 'number') return r;
    this.whiteouts.delete(name);
    const ino = new OverlayInode(this.fs, this, name, r, null);
    this.cache.set(name, ino);
    return ino;
  }

  private beforeCreate(t: Task | null, name: string): number {
    const r = this.copyUp();
    if (r < 0) return r;
    const have = this.lookup(t, name);
    if (typeof have !== 'number') return -EEXIST;
    return 0;
  }

  override create(t: Task | null, name: string, mode: number, owner: Owner): Inode | number {
    const r = this.beforeCreate(t, name);
    if (r < 0) return r;
    return this.made(name, this.upper!.create(t, name, mode, owner));
  }

  override mkdir(t: Task | null, name: string, mode: number, owner: Owner): Inode | number {
    const r = this.beforeCreate(t, name);
    if (r < 0) return r;
    return this.made(name, this.upper!.mkdir(t, name, mode, owner));
  }

  override symlink(t: Task | null, name: string, target: string, owner: Owner): Inode | number {
    const r = this.beforeCreate(t, name);
    if (r < 0) return r;
    return this.made(name, this.upper!.symlink(t, name, target, owner));
  }

  override mknod(t: Task | null, name: string, mode: number, rdev: number, owner: Owner): Inode | number {
    const r = this.beforeCreate(t, name);
    if (r < 0) return r;
    return this.made(name, this.upper!.mknod(t, name, mode, rdev, owner));
  }

  override link(t: Task | null, name: string, target: Inode): number {
    if (!(target instanceof OverlayInode) || target.fs !== this.fs) return -EXDEV;
    const r = this.beforeCreate(t, name);
    if (r < 0) return r;
    const c = target.copyUp();
    if (c < 0) return c;
    const l = this.upper!.link(t, name, target.upper!);
    if (l < 0) return l;
    this.whiteouts.delete(name);
    // Both names now lead to the same overlay inode.
    this.cache.set(name, target);
    return 0;
  }

  /** Removes name from both layers (whiting out the lower one). */
  private removeName(name: string, child: OverlayInode): number {
    const r = this.copyUp();
    if (r < 0) return r;
    if (child.upper && this.upper!.lookup(null, name) === child.upper) {
      const u = (this.upper as MemInode).remove(name);
      if (u < 0) return u;
    }
    if (this.lower) {
      const l = this.lower.lookup(null, name);
      if (typeof l !== 'number') this.whiteouts.add(name);
    }
    this.cache.delete(name);
    return 0;
  }

  override unlink(t: Task | null, name: string, child: Inode): number {
    if (!(child instanceof OverlayInode)) return -EPERM;
    return this.removeName(name, child);
  }

  override rmdir(t: Task | null, name: string, child: Inode): number {
    if (!(child instanceof OverlayInode)) return -EPERM;
    const ents = child.iterate(t);
    if (typeof ents === 'number') return ents;
    if (ents.length > 0) return -ENOTEMPTY;
    return this.removeName(name, child);
  }

  override rename(t: Task | null, oldName: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | null): number {
    if (!(child instanceof OverlayInode) || !(newDir instanceof OverlayInode)) return -EXDEV;
    if (child.isDir && child.lower) return -EXDEV;
    if (replaced instanceof OverlayInode && replaced.isDir) {
      const ents = replaced.iterate(t);
      if (typeof ents === 'number') return ents;
      if (ents.length > 0) return -ENOTEMPTY;
    }
    let r = this.copyUp();
    if (r < 0) return r;
    r = newDir.copyUp();
    if (r < 0) return r;
    r = child.copyUp();
    if (r < 0) return r;
    if (replaced instanceof OverlayInode) {
      r = newDir.removeName(newName, replaced);
      if (r < 0) return r;
    }
    r = this.upper!.rename(t, oldName, child.upper!, newDir.upper!, newName, null);
    if (r < 0) return r;
    // Hide a lower name the move uncovered.
    if (this.lower && typeof this.lower.lookup(null, oldName) !== 'number') this.whiteouts.add(oldName);
    this.cache.delete(oldName);
    newDir.whiteouts.delete(newName);
    newDir.cache.set(newName, child);
    child.parent = newDir;
    child.name = newName;
    return 0;
  }

  // ---- symlinks and data ----

  override readlink(t: Task | null): string | number { return this.top.readlink(t); }
  override readAt(off: number, len: number): ReadResult { return this.top.readAt(off, len); }
  override get hostData(): boolean { return this.top.hostData; }
  override readInto(off: number, dst: Uint8Array[]): number | null { return this.top.readInto(off, dst); }

  override writeAt(off: number, data: Uint8Array): number {
    const r = this.copyUp();
    if (r < 0) return r;
    return this.upper!.writeAt(off, data);
  }

  override truncate(size: number): number {
    const r = this.copyUp(size === 0);
    if (r < 0) return r;
    return this.upper!.truncate(size);
  }

  override setattr(t: Task | null, a: SetAttr): number {
    const r = this.copyUp(a.size === 0);
    if (r < 0) return r;
    return this.upper!.setattr(t, a);
  }

  override mappable(): MappableFile | null { return this.top.mappable(); }
  override fsync(): number { return 0; }

  // ---- extended attributes: stored in the upper layer (the gofer's tree has none) ----
  override getxattr(name: string): Uint8Array | number {
    if (this.upper) return this.upper.getxattr(name);
    const bad = xattrNameError(name, this.type);
    return bad < 0 ? bad : -ENODATA;
  }

  override setxattr(name: string, value: Uint8Array, flags: number): number {
    const r = this.copyUp();
    if (r < 0) return r;
    return this.upper!.setxattr(name, value, flags);
  }

  override listxattr(): string[] { return this.upper?.listxattr() ?? []; }

  override removexattr(name: string): number {
    const r = this.copyUp();
    if (r < 0) return r;
    return this.upper!.removexattr(name);
  }
}
