// An in-memory filesystem (tmpfs): the overlay's upper layer, /dev/shm,
// memfd_create's files and the skeleton of devfs. Regular files keep their
// data in the memory file (sentry/mm/filedata.ts), so MAP_SHARED mappings and
// read/write see the same pages. Nothing here touches the host.
import { E2BIG, EEXIST, EFBIG, EINVAL, ENODATA, ENOENT, ENOTEMPTY, EOPNOTSUPP, EPERM, ERANGE } from '../../src/abi/errno';
import { FileData } from '../mm/filedata';
import { PAGE } from '../mm/memfile';
import { ramBytes } from '../kernel/machine';
import type { Task } from '../kernel/task';
import type { MappableFile, ReadResult, Stat } from './file';
import { applyAttrs, dtOf, Inode, nowSpec, type DirEnt, type FileSystem, type Owner, type SetAttr, type StatFS, type TimeSpec } from './inode';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, TMPFS_MAGIC } from './linuxconst';

/** In-memory files grow to at most this size. */
const MAX_MEM_FILE = 2 ** 31;

let nextDev = 0x100;
/** A fresh anonymous device number (st_dev) for a Sentry-internal filesystem. */
export function newDevNumber(): number { return nextDev++; }

let nextIno = 1n << 40n;
/** A fresh inode number, above any gofer qid.path a small host tree produces. */
export function newIno(): bigint { return nextIno++; }

export class MemFS implements FileSystem {
  readonly dev = newDevNumber();
  readonly cacheDentries = true;
  constructor(public readonly = false, readonly magic = TMPFS_MAGIC) {}

  /** Inodes alive (linked) in this filesystem. */
  inodes = 0;
  /** The data of every regular file, to count the pages in use. */
  private readonly files = new Set<WeakRef<FileData>>();

  /** Linux's defaults: half the RAM, and as many inodes as half its pages. */
  statfs(): StatFS {
    const blocks = Math.floor(ramBytes() / 2 / PAGE);
    let used = 0;
    for (const ref of this.files) {
      const d = ref.deref();
      if (d) used += d.residentBytes() / PAGE;
      else this.files.delete(ref);
    }
    const free = Math.max(0, blocks - used);
    return {
      type: this.magic, bsize: PAGE, blocks, bfree: free, bavail: free,
      files: blocks, ffree: Math.max(0, blocks - this.inodes), namelen: 255, frsize: PAGE, flags: 0,
    };
  }

  /** A new file's data, counted in statfs. */
  newData(): FileData {
    const d = new FileData();
    this.files.add(new WeakRef(d));
    return d;
  }

  newDir(mode: number, owner: Owner): MemInode {
    return new MemInode(this, S_IFDIR | (mode & 0o7777), owner);
  }
}

/** Extended attribute namespaces tmpfs stores (user.* as on Linux 6.6+, trusted.* for root). */
const XATTR_PREFIXES = ['user.', 'trusted.'];
const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;
/** setxattr flags. */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

/** 0 if tmpfs stores attributes of this name on an inode of this type, else -errno. */
export function xattrNameError(name: string, type: number): number {
  if (name.length === 0 || name.length > XATTR_NAME_MAX) return -ERANGE;
  if (!XATTR_PREFIXES.some((p) => name.startsWith(p) && name.length > p.length)) return -EOPNOTSUPP;
  // Linux allows user.* only on regular files and directories.
  if (name.startsWith('user.') && type !== S_IFREG && type !== S_IFDIR) return -EPERM;
  return 0;
}

/** memfd seals (F_ADD_SEALS). */
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const F_SEAL_FUTURE_WRITE = 0x10;
export const F_SEAL_EXEC = 0x20;

export class MemInode extends Inode {
  readonly ino: bigint;
  readonly type: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  rdev = 0;
  atime: TimeSpec;
  mtime: TimeSpec;
  ctime: TimeSpec;
  /** Directory entries (directories only). */
  readonly children: Map<string, Inode> | null;
  /** File contents (regular files only), in the memory file. */
  private data: FileData | null = null;
  /** Symlink target. */
  target = '';
  /** Extended attributes by full name. */
  private xattrs: Map<string, Uint8Array> | null = null;
  /** File seals (F_GET_SEALS): only memfd_create with MFD_ALLOW_SEALING makes a file without F_SEAL_SEAL. */
  seals = F_SEAL_SEAL;

  constructor(readonly fs: MemFS, mode: number, owner: Owner, ino?: bigint) {
    super();
    this.ino = ino ?? newIno();
    this.type = mode & S_IFMT;
    this.mode = mode;
    this.uid = owner.uid;
    this.gid = owner.gid;
    this.nlink = this.type === S_IFDIR ? 2 : 1;
    this.children = this.type === S_IFDIR ? new Map() : null;
    if (this.type === S_IFREG) this.data = fs.newData();
    fs.inodes++;
    this.atime = this.mtime = this.ctime = nowSpec();
  }

  stat(): Stat {
    const size = this.data ? this.data.size : this.type === S_IFLNK ? Buffer.byteLength(this.target)
      : this.type === S_IFDIR ? 4096 : 0;
    // Holes of a sparse file occupy nothing.
    const used = this.data ? this.data.residentBytes() : size;
    return {
      dev: this.fs.dev, ino: this.ino, mode: this.mode, nlink: this.nlink, uid: this.uid, gid: this.gid,
      rdev: this.rdev, size, blksize: 4096, blocks: Math.ceil(used / 512),
      atimeSec: this.atime[0], atimeNsec: this.atime[1], mtimeSec: this.mtime[0], mtimeNsec: this.mtime[1],
      ctimeSec: this.ctime[0], ctimeNsec: this.ctime[1],
    };
  }

  private touch(): void { this.mtime = this.ctime = nowSpec(); }

  // ---- directories ----
  override lookup(t: Task | null, name: string): Inode | number {
    if (!this.children) return super.lookup(t, name);
    return this.children.get(name) ?? -ENOENT;
  }

  override iterate(t: Task | null): DirEnt[] | number {
    if (!this.children) return super.iterate(t);
    return [...this.children].map(([name, i]) => ({ name, ino: i.ino, type: dtOf(i.type) }));
  }

  /** Adds a child made elsewhere (devfs nodes, the overlay's copy-up). */
  add(name: string, child: Inode): Inode | number {
    if (!this.children) return super.lookup(null, name);
    if (this.children.has(name)) return -EEXIST;
    this.children.set(name, child);
    if (child.isDir) this.nlink++;
    this.touch();
    return child;
  }

  private make(name: string, mode: number, owner: Owner): MemInode | number {
    if (this.fs.readonly) return this.ro();
    const r = this.add(name, new MemInode(this.fs, mode, owner));
    return r as MemInode | number;
  }

  override create(t: Task | null, name: string, mode: number, owner: Owner): Inode | number {
    return this.make(name, S_IFREG | (mode & 0o7777), owner);
  }

  override mkdir(t: Task | null, name: string, mode: number, owner: Owner): Inode | number {
    return this.make(name, S_IFDIR | (mode & 0o7777), owner);
  }

  override symlink(t: Task | null, name: string, target: string, owner: Owner): Inode | number {
    const r = this.make(name, S_IFLNK | 0o777, owner);
    if (typeof r !== 'number') r.target = target;
    return r;
  }

  override mknod(t: Task | null, name: string, mode: number, rdev: number, owner: Owner): Inode | number {
    const r = this.make(name, mode, owner);
    if (typeof r !== 'number') r.rdev = rdev;
    return r;
  }

  override link(t: Task | null, name: string, target: Inode): number {
    if (this.fs.readonly) return this.ro();
    if (!(target instanceof MemInode) || target.fs !== this.fs) return -EPERM;
    const r = this.add(name, target);
    if (typeof r === 'number') return r;
    target.nlink++;
    target.ctime = nowSpec();
    return 0;
  }

  /** Removes name without type checks (the VFS made them). */
  remove(name: string): number {
    const c = this.children?.get(name);
    if (!c) return -ENOENT;
    this.children!.delete(name);
    if (c instanceof MemInode) {
      c.nlink = c.isDir ? 0 : Math.max(0, c.nlink - 1);
      c.ctime = nowSpec();
      if (c.nlink === 0) c.fs.inodes--;
    }
    if (c.isDir) this.nlink--;
    this.touch();
    return 0;
  }

  override unlink(t: Task | null, name: string, child: Inode): number {
    if (this.fs.readonly) return this.ro();
    return this.remove(name);
  }

  override rmdir(t: Task | null, name: string, child: Inode): number {
    if (this.fs.readonly) return this.ro();
    if (child instanceof MemInode && child.children && child.children.size > 0) return -ENOTEMPTY;
    return this.remove(name);
  }

  override rename(t: Task | null, oldName: string, child: Inode, newDir: Inode, newName: string, replaced: Inode | null): number {
    if (this.fs.readonly) return this.ro();
    if (!(newDir instanceof MemInode) || !newDir.children) return -EPERM;
    if (replaced) {
      if (replaced instanceof MemInode && replaced.children && replaced.children.size > 0) return -ENOTEMPTY;
      newDir.remove(newName);
    }
    this.children!.delete(oldName);
    if (child.isDir) this.nlink--;
    this.touch();
    newDir.children.set(newName, child);
    if (child.isDir) newDir.nlink++;
    newDir.touch();
    if (child instanceof MemInode) child.ctime = nowSpec();
    return 0;
  }

  // ---- symlinks ----
  override readlink(t: Task | null): string | number {
    return this.type === S_IFLNK ? this.target : super.readlink(t);
  }

  // ---- data ----
  override readAt(off: number, len: number): ReadResult {
    if (!this.data) return super.readAt(off, len);
    return this.data.read(off, len);
  }

  override writeAt(off: number, data: Uint8Array): number {
    if (!this.data) return super.writeAt(off, data);
    if (this.fs.readonly) return this.ro();
    if (this.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -EPERM;
    const end = off + data.length;
    if (end > MAX_MEM_FILE) return -EFBIG;
    if (end > this.data.size && this.seals & F_SEAL_GROW) return -EPERM;
    this.data.write(off, data);
    this.touch();
    return data.length;
  }

  override size(): number { return this.data ? this.data.size : this.stat().size; }

  override truncate(size: number): number {
    if (!this.data) return super.truncate(size);
    if (this.fs.readonly) return this.ro();
    if (size > MAX_MEM_FILE) return -EFBIG;
    if (size < this.data.size && this.seals & F_SEAL_SHRINK) return -EPERM;
    if (size > this.data.size && this.seals & F_SEAL_GROW) return -EPERM;
    this.data.truncate(size);
    this.touch();
    return 0;
  }

  /** Replaces the contents (devfs setup). */
  setData(data: Uint8Array): void {
    this.data?.truncate(0);
    this.data?.write(0, data);
  }

  override setattr(t: Task | null, a: SetAttr): number {
    if (this.fs.readonly) return this.ro();
    if (a.size !== undefined) {
      const r = this.truncate(a.size);
      if (r < 0) return r;
    }
    applyAttrs(this, a);
    return 0;
  }

  override prepareWrite(): number { return this.fs.readonly ? this.ro() : 0; }

  override mappable(): MappableFile | null {
    const data = this.data;
    if (!data) return null;
    return {
      cacheKey: `mem:${this.fs.dev}:${this.ino}`,
      size: () => data.size,
      readAt: (off, len) => data.read(off, len),
      pages: () => data,
      writeSealed: () => (this.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0,
    };
  }

  /** F_ADD_SEALS: 0 or -errno. */
  addSeals(seals: number): number {
    if (seals & ~(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)) return -EINVAL;
    if (this.seals & F_SEAL_SEAL) return -EPERM;
    this.seals |= seals;
    return 0;
  }

  // ---- extended attributes ----
  override getxattr(name: string): Uint8Array | number {
    const r = xattrNameError(name, this.type);
    if (r < 0) return r;
    return this.xattrs?.get(name) ?? -ENODATA;
  }

  override setxattr(name: string, value: Uint8Array, flags: number): number {
    const r = xattrNameError(name, this.type);
    if (r < 0) return r;
    if (this.fs.readonly) return this.ro();
    if (value.length > XATTR_SIZE_MAX) return -E2BIG;
    const has = this.xattrs?.has(name) ?? false;
    if (flags & XATTR_CREATE && has) return -EEXIST;
    if (flags & XATTR_REPLACE && !has) return -ENODATA;
    this.xattrs ??= new Map();
    this.xattrs.set(name, value.slice());
    this.ctime = nowSpec();
    return 0;
  }

  override listxattr(): string[] { return [...(this.xattrs?.keys() ?? [])]; }

  override removexattr(name: string): number {
    const r = xattrNameError(name, this.type);
    if (r < 0) return r;
    if (this.fs.readonly) return this.ro();
    if (!this.xattrs?.delete(name)) return -ENODATA;
    this.ctime = nowSpec();
    return 0;
  }

}
