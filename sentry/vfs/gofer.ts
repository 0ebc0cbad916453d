// The gofer-backed filesystem: inodes whose contents live on the host and
// reach the Sentry through the Gofer (sentry/fsgofer/client.ts).
//
// Metadata travels over 9P2000.L. File data does not: when the Gofer opens a
// regular file it donates the open host fd with its reply (SCM_RIGHTS, as
// gVisor's lisafs does), and reads and writes are pread/pwrite between that
// fd and the memory file, straight into and out of workload memory. A server
// that donates nothing (diod) gets Tread/Twrite instead.
//
// Each inode holds one walked (unopened) fid, plus lazily opened read and
// write handles (a fid and its donated fd), shared by every open file
// description of the inode and closed once none is open and the inode is
// among the least recently used idle ones, or gone from the host. Inodes are
// cached by qid.path so hard links and repeated lookups share one inode.
//
// Caching follows gVisor's --file-access:
//  - exclusive (and the overlay's read-only lower layer): the sandbox owns
//    the tree. Attributes, dentries, directory listings, link targets and
//    failed lookups are cached, and our own mutations invalidate what they
//    change.
//  - shared: the host may change the tree under us. Every stat fetches
//    attributes, every cached dentry is revalidated by a walk before use, and
//    listings and link targets are read each time.
// The Gofer never follows symlinks: the VFS resolves them.
import { EINVAL, EIO, ENODATA, ENOENT, EPERM, EROFS } from '../../src/abi/errno';
import { Stat as StatLayout } from '../../src/abi/layout';
import * as libc from '../../src/ffi/libc';
import type { Attr, DirEntry, GoferClient } from '../fsgofer/client';
import {
  SETATTR_ATIME, SETATTR_ATIME_SET, SETATTR_CTIME, SETATTR_GID, SETATTR_MODE, SETATTR_MTIME, SETATTR_MTIME_SET,
  SETATTR_SIZE, SETATTR_UID,
} from '../fsgofer/client';
import type { Task } from '../kernel/task';
import type { FileDescription, MappableFile, ReadResult, Stat } from './file';
import type { Location } from './dentry';
import { Inode, type DirEnt, type FileSystem, type Owner, type SetAttr, type StatFS } from './inode';
import {
  AT_REMOVEDIR, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY, S_IFIFO, S_IFMT, S_IFREG,
  S_IFSOCK, V9FS_MAGIC,
} from './linuxconst';
import { newDevNumber } from './memfs';

/** Bytes asked per Treaddir. */
const READDIR_CHUNK = 64 * 1024;
/** Idle inodes (no open description) that keep their open handles, so reopening costs no round trip. */
const IDLE_HANDLES = 128;
/** Failed lookups remembered per directory (exclusive mode). */
const MISSING_MAX = 1024;
const AT_EMPTY_PATH = 0x1000;

/** gVisor's --file-access: whether the sandbox owns the tree or shares it with the host. */
export type FileAccess = 'exclusive' | 'shared';

export class GoferFS implements FileSystem {
  readonly dev = newDevNumber();
  readonly cacheDentries = true;
  /** Inodes by qid.path. */
  readonly inodes = new Map<bigint, GoferInode>();
  /** Everything read may be kept: the tree changes only through us (or never, as a lower layer). */
  readonly exclusive: boolean;
  /** Inodes with open handles and no open description, least recently used first. */
  private readonly idle = new Set<GoferInode>();
  rootInode: GoferInode | null = null;

  /**
   * @param asLower the tree is the overlay's lower layer: read-only and
   *   unchanging, so everything read may be cached.
   */
  constructor(readonly client: GoferClient, readonly asLower: boolean, access: FileAccess = 'exclusive') {
    this.exclusive = asLower || access === 'exclusive';
  }

  get readonly(): boolean { return this.asLower; }

  /** Attaches to the Gofer's root and returns the root inode, or -errno. */
  static attach(client: GoferClient, asLower: boolean, access: FileAccess = 'exclusive'): GoferInode | number {
    const fs = new GoferFS(client, asLower, access);
    const fid = client.attach('/');
    if (fid < 0) return fid;
    const attr = client.getattr(fid);
    if (typeof attr === 'number') { client.clunk(fid); return attr; }
    const ino = new GoferInode(fs, fid, attr);
    fs.inodes.set(attr.qid.path, ino);
    fs.rootInode = ino;
    return ino;
  }

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

  /**
   * Shared mode: whether the cached dentry `name` → `cached` in `dir` still
   * names the same file on the host (its attributes are refreshed on the way).
   */
  revalidate(t: Task | null, dir: Inode, name: string, cached: Inode): boolean {
    if (this.exclusive || !(dir instanceof GoferInode) || !(cached instanceof GoferInode)) return true;
    const w = this.client.walkGetattr(dir.fid, name);
    if (typeof w === 'number') { cached.forget(); return false; }
    this.client.clunk(w.fid);
    if (w.attr.qid.path !== cached.ino || (w.attr.mode & S_IFMT) !== cached.type) {
      cached.forget();
      return false;
    }
    cached.attr = w.attr;
    return true;
  }

  /** The inode for a freshly walked fid and its attributes: the cached one (and the fid clunked), or a new one. */
  adopt(fid: number, attr: Attr): GoferInode {
    const have = this.inodes.get(attr.qid.path);
    if (have && (attr.mode & S_IFMT) === have.type) {
      this.client.clunk(fid);
      if (!this.asLower) { have.attr = attr; have.stale = false; }
      return have;
    }
    // A new file, or the host reused a dead file's inode number for another type.
    have?.forget();
    const ino = new GoferInode(this, fid, attr);
    this.inodes.set(attr.qid.path, ino);
    return ino;
  }

  /** An inode's last open description closed: keep its handles for a while. */
  parked(ino: GoferInode): void {
    this.idle.delete(ino);
    this.idle.add(ino);
    if (this.idle.size <= IDLE_HANDLES) return;
    const oldest = this.idle.values().next().value as GoferInode;
    this.idle.delete(oldest);
    oldest.closeHandles();
  }

  /** An inode was opened again (or dropped): not idle. */
  unparked(ino: GoferInode): void { this.idle.delete(ino); }
}

/** An open handle on an inode: a fid opened for reading and/or writing, and the host fd donated with it (-1: none). */
interface Handle { fid: number; fd: number }

const statBuf = new Uint8Array(StatLayout.size);
const statDv = new DataView(statBuf.buffer);
const st64 = (k: Parameters<typeof StatLayout.offset>[0]): number => Number(statDv.getBigUint64(StatLayout.offset(k), true));

/**
 * Moves bufs in order, from file position off on, through io (one transfer
 * of the rest of a buffer at a position: bytes moved, 0 at the end of the
 * file, or -errno). Bytes moved, or -errno when nothing moved.
 */
function transferAll(off: number, bufs: Uint8Array[], io: (rest: Uint8Array, pos: number) => number): number {
  let done = 0;
  for (const b of bufs) {
    for (let at = 0; at < b.length;) {
      const n = io(at === 0 ? b : b.subarray(at), off + done);
      if (n < 0) return done > 0 ? done : n;
      if (n === 0) return done;
      at += n;
      done += n;
    }
  }
  return done;
}

export class GoferInode extends Inode {
  readonly ino: bigint;
  readonly type: number;
  private reader: Handle | null = null;
  private writer: Handle | null = null;
  /** Open descriptions of this inode (regular files). */
  private opens = 0;
  /** Removed on the host (last link gone): dropped once nothing has it open. */
  private gone = false;
  /** Attributes may have changed by our own hand since fetched. */
  stale = false;
  private listing: DirEnt[] | null = null;
  private target: string | null = null;
  /** Names known not to exist (exclusive mode). */
  private readonly missing = new Set<string>();

  constructor(readonly fs: GoferFS, readonly fid: number, public attr: Attr) {
    super();
    this.ino = attr.qid.path;
    this.type = attr.mode & S_IFMT;
  }

  private get client(): GoferClient { return this.fs.client; }

  /** Current attributes: cached unless shared mode or changed by us; from the donated fd when there is one (no round trip). */
  private refresh(): Attr {
    if (this.gone || (this.fs.exclusive && !this.stale)) return this.attr;
    const h = this.writer ?? this.reader;
    if (h && h.fd >= 0 && libc.fstatat(h.fd, '', statBuf, AT_EMPTY_PATH) === 0) {
      const a = this.attr;
      a.mode = statDv.getUint32(StatLayout.offset('st_mode'), true);
      a.nlink = st64('st_nlink');
      a.uid = statDv.getUint32(StatLayout.offset('st_uid'), true);
      a.gid = statDv.getUint32(StatLayout.offset('st_gid'), true);
      a.size = st64('st_size'); a.blksize = st64('st_blksize'); a.blocks = st64('st_blocks');
      a.atimeSec = st64('st_atime'); a.atimeNsec = st64('st_atime_nsec');
      a.mtimeSec = st64('st_mtime'); a.mtimeNsec = st64('st_mtime_nsec');
      a.ctimeSec = st64('st_ctime'); a.ctimeNsec = st64('st_ctime_nsec');
    } else {
      const a = this.client.getattr(this.fid);
      if (typeof a !== 'number') this.attr = a;
    }
    this.stale = false;
    return this.attr;
  }

  stat(): Stat {
    const a = this.refresh();
    return {
      dev: this.fs.dev, ino: this.ino, mode: a.mode, nlink: this.gone ? 0 : a.nlink, uid: a.uid, gid: a.gid, rdev: a.rdev,
      size: a.size, blksize: a.blksize || 4096, blocks: a.blocks,
      atimeSec: a.atimeSec, atimeNsec: a.atimeNsec, mtimeSec: a.mtimeSec, mtimeNsec: a.mtimeNsec,
      ctimeSec: a.ctimeSec, ctimeNsec: a.ctimeNsec,
    };
  }

  override size(): number { return this.refresh().size; }

  // ---- life cycle ----

  override open(t: Task, flags: number, loc: Location): FileDescription | number {
    const f = super.open(t, flags, loc);
    if (typeof f === 'number' || !this.isRegular) return f;
    if (this.opens++ === 0) this.fs.unparked(this);
    f.onRelease(() => {
      if (--this.opens > 0) return;
      if (this.gone) this.drop(); else this.fs.parked(this);
    });
    return f;
  }

  /** Closes the open handles (the walked fid stays). */
  closeHandles(): void {
    for (const h of this.reader === this.writer ? [this.reader] : [this.reader, this.writer]) {
      if (!h) continue;
      if (h.fd >= 0) libc.close(h.fd);
      this.client.clunk(h.fid);
    }
    this.reader = this.writer = null;
  }

  /** Releases everything this inode holds on the Gofer: it names nothing anymore. */
  private drop(): void {
    this.fs.unparked(this);
    this.closeHandles();
    this.client.clunk(this.fid);
  }

  /** No longer the inode of its qid.path (removed on the host, or replaced): released once not open. */
  forget(): void {
    if (this.gone) return;
    this.gone = true;
    if (this.fs.inodes.get(this.ino) === this) this.fs.inodes.delete(this.ino);
    if (this.opens === 0 && this !== this.fs.rootInode) this.drop();
  }

  /** One of our links was removed: the inode goes with its last one. */
  private unlinked(): void {
    if (this.isDir || this.refresh().nlink <= 1) this.forget();
    else this.stale = true;
  }

  /** This directory's entries changed by our hand. */
  private changed(name: string): void {
    this.listing = null;
    this.stale = true;
    this.missing.delete(name);
  }

  // ---- directories ----

  override lookup(t: Task | null, name: string): Inode | number {
    if (!this.isDir) return super.lookup(t, name);
    if (this.gone) return -ENOENT;
    if (this.fs.exclusive && this.missing.has(name)) return -ENOENT;
    const w = this.client.walkGetattr(this.fid, name);
    if (typeof w === 'number') {
      if (w === -ENOENT && this.fs.exclusive) {
        if (this.missing.size >= MISSING_MAX) this.missing.clear();
        this.missing.add(name);
      }
      return w;
    }
    return this.fs.adopt(w.fid, w.attr);
  }

  override iterate(t: Task | null): DirEnt[] | number {
    if (!this.isDir) return super.iterate(t);
    if (this.listing) return this.listing;
    const w = this.client.walk(this.fid, []);
    if (typeof w === 'number') return w;
    const o = this.client.lopen(w.fid, O_RDONLY | O_DIRECTORY);
    if (typeof o === 'number') { this.client.clunk(w.fid); return o; }
    if (o.hostFd >= 0) libc.close(o.hostFd);
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
    if (this.fs.exclusive) this.listing = out;
    return out;
  }

  /** After a mutation that made `name`: its fresh inode. */
  private made(name: string): GoferInode | number {
    this.changed(name);
    const w = this.client.walkGetattr(this.fid, name);
    if (typeof w === 'number') return w;
    return this.fs.adopt(w.fid, w.attr);
  }

  override create(t: Task | null, name: string, mode: number, owner: Owner): Inode | number {
    if (this.fs.readonly) return -EROFS;
    const r = this.client.createWalk(this.fid, name, O_RDWR | O_CREAT | O_EXCL, mode & 0o7777, owner.gid);
    if (typeof r === 'number') return r;
    this.changed(name);
    const ino = this.fs.adopt(r.fid, r.attr);
    // The created fid is open read-write: keep it as both handles.
    if (!ino.reader && !ino.writer) {
      ino.reader = ino.writer = { fid: r.open.fid, fd: r.open.hostFd };
    } else {
      if (r.open.hostFd >= 0) libc.close(r.open.hostFd);
      this.client.clunk(r.open.fid);
    }
    return ino;
  }

  override mkdir(t: Task | null, name: string, mode: number, owner: Owner): Inode | number {
    if (this.fs.readonly) return -EROFS;
    const r = this.client.mkdir(this.fid, name, mode & 0o7777, owner.gid);
    if (typeof r === 'number') return r;
    return this.made(name);
  }

  override symlink(t: Task | null, name: string, target: string, owner: Owner): Inode | number {
    if (this.fs.readonly) return -EROFS;
    const r = this.client.symlink(this.fid, name, target, owner.gid);
    if (typeof r === 'number') return r;
    return this.made(name);
  }

  override mknod(t: Task | null, name: string, mode: number, rdev: number, owner: Owner): Inode | number {
    if (this.fs.readonly) return -EROFS;
    const fmt = mode & S_IFMT;
    // Device nodes never reach the host: the Sentry has its own /dev.
    if (fmt !== S_IFREG && fmt !== S_IFIFO && fmt !== S_IFSOCK) return -EPERM;
    const r = this.client.mknod(this.fid, name, mode, (rdev >> 8) & 0xfff, rdev & 0xff, owner.gid);
    if (typeof r === 'number') return r;
    return this.made(name);
  }

  override link(t: Task | null, name: string, target: Inode): number {
    if (this.fs.readonly) return -EROFS;
    if (!(target instanceof GoferInode) || target.fs !== this.fs) return -EPERM;
    const r = this.client.link(this.fid, target.fid, name);
    if (r === 0) { this.changed(name); target.stale = true; }
    return r;
  }

  override unlink(t: Task | null, name: string, child: Inode): number {
    if (this.fs.readonly) return -EROFS;
    const r = this.client.unlinkat(this.fid, name, 0);
    if (r === 0) { this.changed(name); if (child instanceof GoferInode) child.unlinked(); }
    return r;
  }

  override rmdir(t: Task | null, name: string, child: Inode): number {
    if (this.fs.readonly) return -EROFS;
    const r = this.client.unlinkat(this.fid, name, AT_REMOVEDIR);
    if (r === 0) { this.changed(name); if (child instanceof GoferInode) child.unlinked(); }
    return r;
  }

  override rename(t: Task | null, oldName: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | null): number {
    if (this.fs.readonly) return -EROFS;
    if (!(newDir instanceof GoferInode) || newDir.fs !== this.fs) return -EPERM;
    const r = this.client.renameat(this.fid, oldName, newDir.fid, newName);
    if (r !== 0) return r;
    this.changed(oldName);
    newDir.changed(newName);
    if (child instanceof GoferInode) child.stale = true; // ctime, and a directory's ".."
    if (replaced instanceof GoferInode && replaced !== child) replaced.unlinked();
    return 0;
  }

  // ---- symlinks ----

  override readlink(t: Task | null): string | number {
    if (!this.isSymlink) return -EINVAL;
    if (this.target !== null) return this.target;
    const r = this.client.readlink(this.fid);
    if (typeof r === 'number') return r;
    if (this.fs.exclusive) this.target = r;
    return r;
  }

  // ---- data ----

  /** The read or write handle, opened on first use. */
  private handle(write: boolean): Handle | number {
    const have = write ? this.writer : this.reader;
    if (have) return have;
    const w = this.client.walk(this.fid, []);
    if (typeof w === 'number') return w;
    const o = this.client.lopen(w.fid, write ? O_WRONLY : O_RDONLY);
    if (typeof o === 'number') { this.client.clunk(w.fid); return o; }
    const h = { fid: w.fid, fd: o.hostFd };
    if (write) this.writer = h; else this.reader = h;
    return h;
  }

  override get hostData(): boolean { return this.isRegular; }

  /** Reads into `dst` in order from `off`; stops at EOF. Bytes read or -errno. */
  override readInto(off: number, dst: Uint8Array[]): number {
    if (!this.isRegular) return -EINVAL;
    const h = this.handle(false);
    if (typeof h === 'number') return h;
    return transferAll(off, dst, (d, pos) => {
      if (h.fd >= 0) {
        const n = libc.pread(h.fd, d, d.length, pos);
        return n < 0 ? -libc.errno() : n;
      }
      const r = this.client.read(h.fid, pos, d.length);
      if (typeof r === 'number') return r;
      d.set(r);
      return r.length;
    });
  }

  /** Writes `src` in order at `off`. Bytes written or -errno. */
  override writeFrom(off: number, src: Uint8Array[]): number {
    if (this.fs.readonly) return -EROFS;
    if (!this.isRegular) return -EINVAL;
    const h = this.handle(true);
    if (typeof h === 'number') return h;
    this.stale = true; // size and times
    return transferAll(off, src, (s, pos) => {
      if (h.fd >= 0) {
        const n = libc.pwrite(h.fd, s, s.length, pos);
        return n < 0 ? -libc.errno() : n;
      }
      return this.client.write(h.fid, pos, s);
    });
  }

  override readAt(off: number, len: number): ReadResult {
    if (!this.isRegular) return super.readAt(off, len);
    // Never allocate more than the file holds: callers may ask for far more.
    const n = Math.max(0, Math.min(len, this.size() - off));
    const buf = new Uint8Array(n);
    if (n === 0) return buf;
    const r = this.readInto(off, [buf]);
    if (r < 0) return r;
    return r === n ? buf : buf.subarray(0, r);
  }

  override writeAt(off: number, data: Uint8Array): number {
    if (this.fs.readonly) return -EROFS;
    if (!this.isRegular) return super.writeAt(off, data);
    return this.writeFrom(off, [data]);
  }

  override truncate(size: number): number {
    if (this.fs.readonly) return -EROFS;
    this.stale = true;
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
    this.stale = true;
    return this.client.setattr(this.fid, s);
  }

  override prepareWrite(): number { return this.fs.readonly ? -EROFS : 0; }

  // ---- extended attributes: user.* through to the host (the Gofer refuses other namespaces) ----

  /** user.* attributes live on regular files and directories only (Linux's xattr_permission). */
  private noUserXattrs(name: string): boolean {
    return name.startsWith('user.') && !this.isRegular && !this.isDir;
  }

  override getxattr(name: string): Uint8Array | number {
    if (this.noUserXattrs(name)) return -ENODATA;
    return this.client.xattrGet(this.fid, name);
  }

  override setxattr(name: string, value: Uint8Array, flags: number): number {
    if (this.fs.readonly) return -EROFS;
    if (this.noUserXattrs(name)) return -EPERM;
    // An empty value on the wire means "remove": an empty attribute is not representable.
    if (value.length === 0) return -EINVAL;
    this.stale = true; // ctime
    return this.client.xattrSet(this.fid, name, value, flags);
  }

  override listxattr(): string[] {
    const r = this.client.xattrGet(this.fid, '');
    if (typeof r === 'number') return [];
    return Buffer.from(r).toString('utf8').split('\0').filter((n) => n !== '');
  }

  override removexattr(name: string): number {
    if (this.fs.readonly) return -EROFS;
    if (this.noUserXattrs(name)) return -EPERM;
    this.stale = true;
    return this.client.xattrSet(this.fid, name, new Uint8Array(0), 0);
  }

  override fsync(): number {
    if (!this.writer) return 0;
    return this.client.fsync(this.writer.fid);
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
      readInto: (off, dst) => this.readInto(off, dst),
    };
  }
}
