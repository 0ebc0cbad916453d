// The gofer-backed filesystem: inodes whose contents live on the host and
// reach the Sentry only through the Gofer's 9P2000.L (sentry/fsgofer/client.ts).
//
// Each inode holds one walked (unopened) fid, plus lazily opened fids for
// reading and writing. Inodes are cached by qid.path so hard links and
// repeated lookups share one inode. As the overlay's lower layer the tree is
// read-only and never changes, so attributes, listings and link targets are
// cached; used directly (overlay off) attributes are fetched on every stat
// and mutations go through the Gofer (which answers EROFS if it allows none).
// The Gofer never follows symlinks: the VFS resolves them.
import { EINVAL, EIO, EPERM, EROFS } from '../../src/abi/errno';
import type { Attr, DirEntry, GoferClient } from '../fsgofer/client';
import {
  SETATTR_ATIME, SETATTR_ATIME_SET, SETATTR_CTIME, SETATTR_GID, SETATTR_MODE, SETATTR_MTIME, SETATTR_MTIME_SET,
  SETATTR_SIZE, SETATTR_UID,
} from '../fsgofer/client';
import type { Task } from '../kernel/task';
import type { MappableFile, ReadResult, Stat } from './file';
import { Inode, type DirEnt, type FileSystem, type Owner, type SetAttr, type StatFS } from './inode';
import {
  AT_REMOVEDIR, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY, S_IFMT, S_IFREG, V9FS_MAGIC,
} from './linuxconst';
import { newDevNumber } from './memfs';

/** Bytes asked per Treaddir. */
const READDIR_CHUNK = 64 * 1024;

export class GoferFS implements FileSystem {
  readonly dev = newDevNumber();
  readonly cacheDentries = true;
  /** Inodes by qid.path. */
  readonly inodes = new Map<bigint, GoferInode>();

  /**
   * @param asLower the tree is the overlay's lower layer: read-only and
   *   unchanging, so everything read may be cached.
   */
  constructor(readonly client: GoferClient, readonly asLower: boolean) {}

  get readonly(): boolean { return this.asLower; }

  /** Attaches to the Gofer's root and returns the root inode, or -errno. */
  static attach(client: GoferClient, asLower: boolean): GoferInode | number {
    const fs = new GoferFS(client, asLower);
    const fid = client.attach('/');
    if (fid < 0) return fid;
    const attr = client.getattr(fid);
    if (typeof attr === 'number') { client.clunk(fid); return attr; }
    const ino = new GoferInode(fs, fid, attr);
    fs.inodes.set(attr.qid.path, ino);
    fs.rootInode = ino;
    return ino;
  }

  rootInode: GoferInode | null = null;

  statfs(): StatFS {
    const r = this.rootInode ? this.client.statfs(this.rootInode.fid) : -EIO;
    if (typeof r === 'number') {
      return { type: V9FS_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255, frsize: 4096, flags: 0 };
    }
    return {
      type: V9FS_MAGIC, bsize: r.bsize, blocks: r.blocks, bfree: r.bfree, bavail: r.bavail,
      files: r.files, ffree: r.ffree, namelen: r.namelen, frsize: r.bsize, flags: this.readonly ? 1 : 0,
    };
  }

  /** The inode for a freshly walked fid: the cached one (and the fid clunked), or a new one. */
  adopt(fid: number): GoferInode | number {
    const attr = this.client.getattr(fid);
    if (typeof attr === 'number') { this.client.clunk(fid); return attr; }
    const have = this.inodes.get(attr.qid.path);
    if (have) {
      this.client.clunk(fid);
      if (!this.asLower) have.attr = attr;
      return have;
    }
    const ino = new GoferInode(this, fid, attr);
    this.inodes.set(attr.qid.path, ino);
    return ino;
  }
}

export class GoferInode extends Inode {
  readonly ino: bigint;
  readonly type: number;
  private readFid = -1;
  private writeFid = -1;
  private listing: DirEnt[] | null = null;
  private target: string | null = null;

  constructor(readonly fs: GoferFS, readonly fid: number, public attr: Attr) {
    super();
    this.ino = attr.qid.path;
    this.type = attr.mode & S_IFMT;
  }

  private get client(): GoferClient { return this.fs.client; }

  private refresh(): Attr {
    if (!this.fs.asLower) {
      const a = this.client.getattr(this.fid);
      if (typeof a !== 'number') this.attr = a;
    }
    return this.attr;
  }

  stat(): Stat {
    const a = this.refresh();
    return {
      dev: this.fs.dev, ino: this.ino, mode: a.mode, nlink: a.nlink, uid: a.uid, gid: a.gid, rdev: a.rdev,
      size: a.size, blksize: a.blksize || 4096, blocks: a.blocks,
      atimeSec: a.atimeSec, atimeNsec: a.atimeNsec, mtimeSec: a.mtimeSec, mtimeNsec: a.mtimeNsec,
      ctimeSec: a.ctimeSec, ctimeNsec: a.ctimeNsec,
    };
  }

  override size(): number { return this.refresh().size; }

  // ---- directories ----

  override lookup(t: Task | null, name: string): Inode | number {
    if (!this.isDir) return super.lookup(t, name);
    const w = this.client.walk(this.fid, [name]);
    if (typeof w === 'number') return w;
    return this.fs.adopt(w.fid);
  }

  override iterate(t: Task | null): DirEnt[] | number {
    if (!this.isDir) return super.iterate(t);
    if (this.listing) return this.listing;
    const w = this.client.walk(this.fid, []);
    if (typeof w === 'number') return w;
    const o = this.client.lopen(w.fid, O_RDONLY | O_DIRECTORY);
    if (typeof o === 'number') { this.client.clunk(w.fid); return o; }
    const out: DirEnt[] = [];
    let off = 0n;
    for (;;) {
      const ents: DirEntry[] | number = this.client.readdir(w.fid, off, READDIR_CHUNK);
      if (typeof ents === 'number') { this.client.clunk(w.fid); return ents; }
      if (ents.length === 0) break;
      for (const e of ents) {
        if (e.name !== '.' && e.name !== '..') out.push({ name: e.name, ino: e.qid.path, type: e.type });
        off = e.offset;
      }
    }
    this.client.clunk(w.fid);
    if (this.fs.asLower) this.listing = out;
    return out;
  }

  /** After a mutation: the child name's fresh inode. */
  private walkNew(name: string): Inode | number {
    const w = this.client.walk(this.fid, [name]);
    if (typeof w === 'number') return w;
    return this.fs.adopt(w.fid);
  }

  override create(t: Task | null, name: string, mode: number, owner: Owner): Inode | number {
    if (this.fs.readonly) return -EROFS;
    const c = this.client.walk(this.fid, []);
    if (typeof c === 'number') return c;
    const r = this.client.lcreate(c.fid, name, O_RDWR | O_CREAT | O_EXCL, mode & 0o7777, owner.gid);
    if (typeof r === 'number') { this.client.clunk(c.fid); return r; }
    const ino = this.walkNew(name);
    if (typeof ino === 'number') { this.client.clunk(c.fid); return ino; }
    const g = ino as GoferInode;
    // The created fid is open read-write: keep it for data.
    if (g.readFid < 0 && g.writeFid < 0) { g.readFid = c.fid; g.writeFid = c.fid; } else this.client.clunk(c.fid);
    return ino;
  }

  override mkdir(t: Task | null, name: string, mode: number, owner: Owner): Inode | number {
    if (this.fs.readonly) return -EROFS;
    const r = this.client.mkdir(this.fid, name, mode & 0o7777, owner.gid);
    if (typeof r === 'number') return r;
    return this.walkNew(name);
  }

  override symlink(t: Task | null, name: string, target: string, owner: Owner): Inode | number {
    if (this.fs.readonly) return -EROFS;
    const r = this.client.symlink(this.fid, name, target, owner.gid);
    if (typeof r === 'number') return r;
    return this.walkNew(name);
  }

  override mknod(t: Task | null, name: string, mode: number, rdev: number, owner: Owner): Inode | number {
    if (this.fs.readonly) return -EROFS;
    if ((mode & S_IFMT) !== S_IFREG) return -EPERM;
    const r = this.client.mknod(this.fid, name, mode, (rdev >> 8) & 0xfff, rdev & 0xff, owner.gid);
    if (typeof r === 'number') return r;
    return this.walkNew(name);
  }

  override link(t: Task | null, name: string, target: Inode): number {
    if (this.fs.readonly) return -EROFS;
    if (!(target instanceof GoferInode) || target.fs !== this.fs) return -EPERM;
    return this.client.link(this.fid, target.fid, name);
  }

  override unlink(t: Task | null, name: string, child: Inode): number {
    if (this.fs.readonly) return -EROFS;
    return this.client.unlinkat(this.fid, name, 0);
  }

  override rmdir(t: Task | null, name: string, child: Inode): number {
    if (this.fs.readonly) return -EROFS;
    return this.client.unlinkat(this.fid, name, AT_REMOVEDIR);
  }

  override rename(t: Task | null, oldName: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | null): number {
    if (this.fs.readonly) return -EROFS;
    if (!(newDir instanceof GoferInode) || newDir.fs !== this.fs) return -EPERM;
    return this.client.renameat(this.fid, oldName, newDir.fid, newName);
  }

  // ---- symlinks ----

  override readlink(t: Task | null): string | number {
    if (!this.isSymlink) return -EINVAL;
    if (this.target !== null) return this.target;
    const r = this.client.readlink(this.fid);
    if (typeof r === 'number') return r;
    if (this.fs.asLower) this.target = r;
    return r;
  }

  // ---- data ----

  private openFid(write: boolean): number {
    if (write) {
      if (this.writeFid >= 0) return this.writeFid;
    } else {
      if (this.readFid >= 0) return this.readFid;
    }
    const w = this.client.walk(this.fid, []);
    if (typeof w === 'number') return w;
    const o = this.client.lopen(w.fid, write ? O_WRONLY : O_RDONLY);
    if (typeof o === 'number') { this.client.clunk(w.fid); return o; }
    if (write) this.writeFid = w.fid; else this.readFid = w.fid;
    return w.fid;
  }

  override readAt(off: number, len: number): ReadResult {
    if (!this.isRegular) return super.readAt(off, len);
    if (len === 0) return new Uint8Array(0);
    const fid = this.openFid(false);
    if (fid < 0) return fid;
    return this.client.read(fid, off, len);
  }

  override writeAt(off: number, data: Uint8Array): number {
    if (this.fs.readonly) return -EROFS;
    if (!this.isRegular) return super.writeAt(off, data);
    const fid = this.openFid(true);
    if (fid < 0) return fid;
    return this.client.write(fid, off, data);
  }

  override truncate(size: number): number {
    if (this.fs.readonly) return -EROFS;
    return this.client.setattr(this.fid, { valid: SETATTR_SIZE, size });
  }

  override setattr(t: Task | null, a: SetAttr): number {
    if (this.fs.readonly) return -EROFS;
    let valid = 0;
    const s: Parameters<GoferClient['setattr']>[1] = { valid: 0 };
    if (a.mode !== undefined) { valid |= SETATTR_MODE; s.mode = a.mode; }
    if (a.uid !== undefined) { valid |= SETATTR_UID; s.uid = a.uid; }
    if (a.gid !== undefined) { valid |= SETATTR_GID; s.gid = a.gid; }
    if (a.size !== undefined) { valid |= SETATTR_SIZE; s.size = a.size; }
    if (a.atime) { valid |= SETATTR_ATIME | SETATTR_ATIME_SET; s.atimeSec = a.atime[0]; s.atimeNsec = a.atime[1]; }
    if (a.mtime) { valid |= SETATTR_MTIME | SETATTR_MTIME_SET; s.mtimeSec = a.mtime[0]; s.mtimeNsec = a.mtime[1]; }
    if (a.ctime) valid |= SETATTR_CTIME;
    s.valid = valid;
    return this.client.setattr(this.fid, s);
  }

  override prepareWrite(): number { return this.fs.readonly ? -EROFS : 0; }

  override fsync(): number {
    if (this.writeFid < 0) return 0;
    return this.client.fsync(this.writeFid);
  }

  override mappable(): MappableFile | null {
    if (!this.isRegular) return null;
    const a = this.refresh();
    return {
      cacheKey: `gofer:${this.fs.dev}:${this.ino}:${a.mtimeSec}.${a.mtimeNsec}:${a.size}`,
      size: () => this.attr.size,
      readAt: (off, len) => {
        const r = this.readAt(off, len);
        return typeof r === 'number' ? new Uint8Array(0) : r;
      },
    };
  }
}
