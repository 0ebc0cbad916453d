// The VFS: the mount table, path resolution and every path-based operation
// the file syscalls need. Handlers in syscalls/linux/fs*.ts decode their
// arguments and call the methods here; filesystems implement Inode.
//
// Mounts (built in the constructor):
//   /          the gofer's tree: read-only lower layer under an in-memory upper
//              layer when overlay is on (the host is never modified), or the
//              gofer's tree itself (writes go through the gofer) when it is off
//   /dev       devfs (null, zero, full, random, urandom, tty, console, ptmx, fd, std*, shm, pts)
//   /dev/shm   tmpfs
//   /proc      procfs, filled by a ProcProvider the kernel core installs
//   /sys       a minimal read-only sysfs (CPU counts, /sys/fs/cgroup)
// /tmp stays in the root (writable, in memory, under overlay).
// More mounts come from mountGofer/mountTmpfs (a container's bind and tmpfs
// mounts), called before the first task runs.
//
// Path resolution follows Linux's: component by component, symlinks followed
// (at most 40 per resolution → ELOOP), '..' never escapes the task's root and
// crosses mounts upward, a trailing slash requires a directory, each
// directory searched needs search (x) permission. The task argument may be
// null for the kernel's own lookups (root credentials, no task root).
import {
  EBADF, EBUSY, EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY, EOPNOTSUPP,
  EPERM, EROFS, EXDEV, EACCES, EADDRINUSE,
} from '../../src/abi/errno';
import type { GoferClient } from '../fsgofer/client';
import type { Task } from '../kernel/task';
import { Dentry, Mount, type Location } from './dentry';
import { DevFS } from './devfs';
import { FileDescription, type Stat } from './file';
import { FSContext } from './fscontext';
import { GoferFS, type FileAccess } from './gofer';
import { HostFD, hostStatusFlags } from './host';
import { Inode, nowSpec, type FileSystem, type Owner, type SetAttr, type StatFS } from './inode';
import {
  AT_FDCWD, MAX_SYMLINKS, NAME_MAX, O_ACCMODE, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_LARGEFILE,
  O_NOCTTY, O_NOFOLLOW, O_PATH, O_RDONLY, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY, PATH_MAX,
  RENAME_NOREPLACE, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID, S_ISUID, S_IXGRP, ANON_INODE_FS_MAGIC,
} from './linuxconst';
import { MemFS, MemInode } from './memfs';
import { OverlayFS } from './overlay';
import { fsSubject, MAY_EXEC, MAY_READ, MAY_WRITE, permits, searchesAnyDir, stickyAllows, type PermSubject } from './perm';
import { pathOf } from './path';
import { ProcFS, type ProcProvider } from './procfs';
import { SysFS } from './sysfs';
import * as inotify from './inotify';
import { CPUS } from '../kernel/machine';
import { CAP_CHOWN, CAP_FOWNER, CAP_FSETID, capable } from '../kernel/caps';

export interface VFSOptions {
  /** The gofer serving the root filesystem; null only in tests that pass `lower`. */
  gofer: GoferClient | null;
  /** true: the gofer tree is a read-only lower layer under an in-memory upper layer. */
  overlay: boolean;
  /** Whether the host may change the gofer's tree under us (gVisor's --file-access); default exclusive. */
  fileAccess?: FileAccess;
  /** Tests: a root inode to use instead of the gofer's (as the lower layer when overlay is on). */
  lower?: Inode;
}

/** Where a path's last component lives: its directory and name. */
export interface ParentLoc {
  dir: Location;
  name: string;
  /** The path ended in '/'. */
  trailingSlash: boolean;
}

/** openat2's RESOLVE_* flags. */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

/** One resolution: symlinks followed so far, and openat2's restrictions. */
interface WalkState {
  links: number;
  /** RESOLVE_* flags. */
  resolve?: number;
  /** RESOLVE_BENEATH: the directory the walk may not leave (EXDEV). */
  beneath?: Location;
}

/** open(2) flags the VFS understands; anything else is ignored, as Linux does. */
const OPEN_CREATE_ONLY = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC;

/** A filesystem for files that live nowhere (anonymous files reached through /proc/self/fd). */
const anonFS: FileSystem = {
  dev: 0x0d, readonly: true, cacheDentries: false,
  statfs: (): StatFS => ({
    type: ANON_INODE_FS_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0,
    namelen: 255, frsize: 4096, flags: 0,
  }),
};

/** The inode a magic link to an anonymous file (a pipe, a host fd) resolves to. */
class AnonInode extends Inode {
  readonly fs = anonFS;
  readonly ino: bigint;
  readonly type: number;
  constructor(readonly file: FileDescription, private readonly t: Task) {
    super();
    const st = file.stat(t);
    this.ino = st.ino;
    this.type = st.mode & S_IFMT;
  }
  stat(): Stat { return this.file.stat(this.t); }
  override open(t: Task, flags: number, loc: Location): FileDescription | number {
    return this.file.reopen(t, flags);
  }
  override prepareWrite(): number { return 0; }
}

const anonRoot = new Dentry('', null, new MemFS(true).newDir(0o555, { uid: 0, gid: 0 }));
const anonMount = new Mount(anonRoot, null, null, 'anon_inodefs', 'ro');

/** An O_PATH description: names a location, supports only fstat, fchdir, *at and fd operations. */
export class PathFD extends FileDescription {
  constructor(flags: number, loc: Location) { super(flags, loc); }
  override stat(t: Task): Stat { return this.loc!.d.inode.stat(); }
  override fileType(t: Task): number { return this.loc!.d.inode.type; }
  override getdents(t: Task, maxBytes: number): Uint8Array | number { return -EBADF; }
  override ioctl(t: Task, cmd: number, argAddr: number): number { return -EBADF; }
  override fsync(t: Task): number { return -EBADF; }
  override displayName(): string { return pathOf(this.loc!) ?? '/'; }
  override reopen(t: Task, flags: number): FileDescription | number { return -EINVAL; }
}

export class VFS {
  readonly rootMount: Mount;
  readonly devfs: DevFS;
  readonly procfs: ProcFS;
  /** Mount list in mount order, for /proc/mounts. */
  readonly mounts: Mount[] = [];

  constructor(opts: VFSOptions) {
    let rootInode: Inode;
    let fsType: string;
    let options: string;
    let lower: Inode;
    if (opts.lower) {
      lower = opts.lower;
    } else {
      if (!opts.gofer) throw new Error('VFS: no gofer and no lower root given');
      const g = GoferFS.attach(opts.gofer, opts.overlay, opts.fileAccess);
      if (typeof g === 'number') throw new Error(`VFS: cannot attach to the gofer's root: errno ${-g}`);
      lower = g;
    }
    if (opts.overlay) {
      rootInode = new OverlayFS(lower).root;
      fsType = 'overlay';
      options = 'rw,lowerdir=gofer';
    } else {
      rootInode = lower;
      fsType = lower.fs instanceof MemFS ? 'tmpfs' : '9p';
      options = 'rw';
    }
    this.rootMount = new Mount(new Dentry('', null, rootInode), null, null, fsType, options);
    this.mounts.push(this.rootMount);

    this.devfs = new DevFS();
    const dev = this.mountAt(this.rootMount, 'dev', this.devfs.root, 'devtmpfs', 'rw,nosuid,mode=755');
    const shmFS = new MemFS();
    const shmRoot = shmFS.newDir(0o1777, { uid: 0, gid: 0 });
    this.mountAt(dev, 'shm', shmRoot, 'tmpfs', 'rw,nosuid,nodev');
    this.mountAt(dev, 'pts', this.devfs.pts.root, 'devpts', 'rw,nosuid,noexec,gid=5,mode=620,ptmxmode=666');
    this.procfs = new ProcFS(this);
    this.mountAt(this.rootMount, 'proc', this.procfs.root, 'proc', 'rw,nosuid,nodev,noexec');
    this.mountAt(this.rootMount, 'sys', new SysFS(CPUS).root, 'sysfs', 'ro,nosuid,nodev,noexec');
    // A writable /tmp when the root is writable and lacks one.
    const tmp = this.rootMount.root.inode.lookup(null, 'tmp');
    if (tmp === -ENOENT) this.rootMount.root.inode.mkdir(null, 'tmp', 0o1777, { uid: 0, gid: 0 });
  }

  /**
   * Mounts root over name in parent's root directory. The mountpoint is made
   * if missing, or stands in the dentry cache only (invisible to readdir)
   * when the parent filesystem cannot make it (read-only gofer tree).
   */
  private mountAt(parent: Mount, name: string, root: Inode, fsType: string, options: string): Mount {
    const pd = parent.root;
    let mp = this.child(null, pd, name);
    if (typeof mp === 'number') {
      const made = pd.inode.mkdir(null, name, 0o755, { uid: 0, gid: 0 });
      if (typeof made !== 'number') {
        mp = this.child(null, pd, name);
      }
      if (typeof mp === 'number') {
        mp = new Dentry(name, pd, new MemFS(true).newDir(0o755, { uid: 0, gid: 0 }));
        pd.children.set(name, mp);
      }
    }
    const m = new Mount(new Dentry('', null, root), parent, mp, fsType, options);
    mp.mounted = m;
    this.mounts.push(m);
    return m;
  }

  get root(): Location { return { mnt: this.rootMount, d: this.rootMount.root }; }

  // ---------------------------------------------------------------------
  // Mounts a container's spec asks for (runsc's OCI `create`)
  // ---------------------------------------------------------------------

  /**
   * Mounts the tree a gofer serves at the absolute path `at`, used directly
   * (writes go through that gofer, which answers EROFS when it runs
   * --read-only; `readonly` only labels the mount in /proc/mounts). With
   * `file`, the mount's root is that file of the gofer's root directory: a
   * bind mount of one file over a file. Missing mountpoints (and their
   * parents) are made, or stand in the dentry cache where they cannot be.
   * Returns 0 or -errno.
   */
  mountGofer(at: string, client: GoferClient, readonly: boolean, file?: string): number {
    const g = GoferFS.attach(client, false);
    if (typeof g === 'number') return g;
    let root: Inode = g;
    if (file !== undefined) {
      const f = g.lookup(null, file);
      if (typeof f === 'number') return f;
      root = f;
    }
    return this.mountOver(at, root, '9p', readonly ? 'ro' : 'rw');
  }

  /** Mounts a fresh in-memory filesystem (mode for its root) at the absolute path `at`. Returns 0 or -errno. */
  mountTmpfs(at: string, mode = 0o1777, readonly = false): number {
    const fs = new MemFS();
    const root = fs.newDir(mode, { uid: 0, gid: 0 });
    fs.readonly = readonly;
    return this.mountOver(at, root, 'tmpfs', readonly ? 'ro' : 'rw');
  }

  /** Mounts root over the absolute path at, making the mountpoint (a directory, or a file for a file root). */
  private mountOver(at: string, root: Inode, fsType: string, options: string): number {
    const comps = at.split('/').filter((c) => c !== '' && c !== '.');
    if (comps.includes('..')) return -EINVAL;
    let loc = this.root;
    for (let i = 0; i < comps.length; i++) {
      const name = comps[i]!;
      const wantDir = i < comps.length - 1 || root.isDir;
      let next = this.step(null, this.root, loc, name);
      if (next === -ENOENT) {
        const pd = loc.d;
        const owner = { uid: 0, gid: 0 };
        const made = wantDir ? pd.inode.mkdir(null, name, 0o755, owner) : pd.inode.create(null, name, 0o644, owner);
        if (typeof made !== 'number') {
          next = this.step(null, this.root, loc, name);
        } else {
          // The filesystem here cannot make it (read-only): a mountpoint in the dentry cache only.
          const fake = new MemFS(true);
          const ino = wantDir ? fake.newDir(0o755, owner) : new MemInode(fake, S_IFREG | 0o644, owner);
          const d = new Dentry(name, pd, ino);
          pd.children.set(name, d);
          next = { mnt: loc.mnt, d };
        }
      }
      if (typeof next === 'number') return next;
      if (next.d.inode.isSymlink) return -ELOOP;
      if (i < comps.length - 1 && !next.d.inode.isDir) return -ENOTDIR;
      loc = next;
    }
    if (comps.length === 0) return -EBUSY;
    if (loc.d.inode.isDir !== root.isDir) return root.isDir ? -ENOTDIR : -EISDIR;
    // step() crossed any mount already here: the new one stacks on its root.
    const d = loc.d;
    if (!d.inode.fs.cacheDentries) return -EINVAL;
    const m = new Mount(new Dentry('', null, root), loc.mnt, d, fsType, options);
    d.mounted = m;
    d.parent?.children.set(d.name, d);
    this.mounts.push(m);
    return 0;
  }

  // ---------------------------------------------------------------------
  // API for the kernel core
  // ---------------------------------------------------------------------

  /** A fresh FS context rooted at / with cwd resolved from the root; throws if cwd is not a directory. */
  newFSContext(cwd: string): FSContext {
    const root = this.root;
    const loc = this.resolve(null, root, root, cwd, true);
    if (typeof loc === 'number') throw new Error(`working directory ${cwd}: errno ${-loc}`);
    if (!loc.d.inode.isDir) throw new Error(`working directory ${cwd}: not a directory`);
    return new FSContext(root, loc);
  }

  setProcProvider(p: ProcProvider): void { this.procfs.provider = p; }

  /** Wraps an inherited host fd (the sandbox's stdio). */
  hostFile(hostFd: number): FileDescription {
    return new HostFD(hostFd, hostStatusFlags(hostFd));
  }

  /**
   * Opens path (following symlinks) for execve: a description with a
   * synchronous readAt. Fails with EACCES for directories; the loader decides
   * the rest (ENOEXEC, x bits) from stat() and the contents.
   */
  openExecutable(t: Task, path: string): FileDescription | number {
    const loc = this.resolveRegular(t, AT_FDCWD, path, MAY_EXEC, EACCES, EACCES);
    if (typeof loc === 'number') return loc;
    return loc.d.inode.open(t, O_RDONLY | O_LARGEFILE, loc);
  }

  /**
   * Resolves path (following symlinks) to a regular file the caller may
   * access as `may` asks; a directory fails with dirErrno, any other
   * non-regular file with otherErrno, a denied access with EACCES.
   */
  private resolveRegular(t: Task, dirfd: number, path: string, may: number, dirErrno: number, otherErrno: number): Location | number {
    const loc = this.resolveAt(t, dirfd, path, true, false);
    if (typeof loc === 'number') return loc;
    const ino = loc.d.inode;
    if (!ino.isRegular) return ino.isDir ? -dirErrno : -otherErrno;
    const st = ino.stat();
    return permits(fsSubject(t), st.mode, st.uid, st.gid, may) ? loc : -EACCES;
  }

  // ---------------------------------------------------------------------
  // Resolution
  // ---------------------------------------------------------------------

  /** The location relative paths start from: cwd, or the directory dirfd refers to. */
  startOf(t: Task, dirfd: number, path: string): Location | number {
    if (path.startsWith('/')) return t.fs.root;
    if (dirfd === AT_FDCWD) return t.fs.cwd;
    const f = dirfd < 0 ? undefined : t.fds.get(dirfd);
    if (!f) return -EBADF;
    if (!f.loc) return path === '' ? -ENOENT : -ENOTDIR;
    if (path !== '' && !f.loc.d.inode.isDir) return -ENOTDIR;
    return f.loc;
  }

  /** The cached or freshly looked-up child dentry of d called name. */
  child(t: Task | null, d: Dentry, name: string): Dentry | number {
    const c = d.children.get(name);
    if (c) {
      const fs = c.inode.fs;
      if (c.mounted || !fs.revalidate || fs.revalidate(t, d.inode, name, c.inode)) return c;
      d.children.delete(name);
    }
    const ino = d.inode.lookup(t, name);
    if (typeof ino === 'number') return ino;
    const nd = new Dentry(name, d, ino);
    if (d.inode.fs.cacheDentries && ino.fs.cacheDentries) d.children.set(name, nd);
    return nd;
  }

  private searchable(t: Task | null, ino: Inode): boolean {
    const s = fsSubject(t);
    if (!s || searchesAnyDir(s)) return true;
    const st = ino.stat();
    return permits(s, st.mode, st.uid, st.gid, MAY_EXEC);
  }

  /** One step: '.', '..' or a name, from a directory location. Does not follow a final symlink. */
  private step(t: Task | null, root: Location, loc: Location, name: string, ws?: WalkState): Location | number {
    const noXdev = ((ws?.resolve ?? 0) & RESOLVE_NO_XDEV) !== 0;
    if (name === '.') return loc;
    if (name === '..') {
      let { mnt, d } = loc;
      for (;;) {
        if (mnt === root.mnt && d === root.d) return { mnt, d };
        if (ws?.beneath && mnt === ws.beneath.mnt && d === ws.beneath.d) return -EXDEV;
        if (d === mnt.root) {
          if (!mnt.parent || !mnt.mountpoint) return { mnt, d };
          if (noXdev) return -EXDEV;
          d = mnt.mountpoint;
          mnt = mnt.parent;
          continue;
        }
        return { mnt, d: d.parent ?? d };
      }
    }
    if (Buffer.byteLength(name) > NAME_MAX) return -ENAMETOOLONG;
    const c = this.child(t, loc.d, name);
    if (typeof c === 'number') return c;
    let next: Location = { mnt: loc.mnt, d: c };
    if (next.d.mounted && noXdev) return -EXDEV;
    while (next.d.mounted) next = { mnt: next.d.mounted, d: next.d.mounted.root };
    return next;
  }

  /** Follows the symlink at link (reached from directory dir). */
  private followLink(t: Task | null, root: Location, dir: Location, link: Location, ws: WalkState): Location | number {
    if (++ws.links > MAX_SYMLINKS) return -ELOOP;
    const resolve = ws.resolve ?? 0;
    if (resolve & RESOLVE_NO_SYMLINKS) return -ELOOP;
    const ino = link.d.inode;
    if (t) {
      const m = ino.magic(t);
      if (m && resolve & RESOLVE_NO_MAGICLINKS) return -ELOOP;
      if (m && resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) return -EXDEV;
      if (m instanceof FileDescription) {
        if (m.loc) return m.loc;
        return { mnt: anonMount, d: new Dentry(m.displayName(), anonRoot, new AnonInode(m, t)) };
      }
      if (m) return m;
    }
    const target = ino.readlink(t);
    if (typeof target === 'number') return target;
    if (target === '') return -ENOENT;
    return this.walk(t, root, target.startsWith('/') ? root : dir, target, true, ws);
  }

  /** Resolves path from start (absolute paths from root). */
  resolve(t: Task | null, root: Location, start: Location, path: string, follow: boolean, ws: WalkState = { links: 0 }): Location | number {
    if (path.length === 0) return -ENOENT;
    if (Buffer.byteLength(path) >= PATH_MAX) return -ENAMETOOLONG;
    return this.walk(t, root, path.startsWith('/') ? root : start, path, follow, ws);
  }

  private walk(t: Task | null, root: Location, start: Location, path: string, follow: boolean, ws: WalkState): Location | number {
    if (ws.beneath && path.startsWith('/')) return -EXDEV;
    const comps = path.split('/').filter((c) => c !== '');
    const trailingSlash = path.endsWith('/');
    let loc = start;
    for (let i = 0; i < comps.length; i++) {
      const ino = loc.d.inode;
      if (!ino.isDir) return -ENOTDIR;
      if (!this.searchable(t, ino)) return -EACCES;
      const last = i === comps.length - 1;
      let next = this.step(t, root, loc, comps[i]!, ws);
      if (typeof next === 'number') return next;
      if (next.d.inode.isSymlink && (!last || follow || trailingSlash)) {
        next = this.followLink(t, root, loc, next, ws);
        if (typeof next === 'number') return next;
      }
      loc = next;
    }
    if (trailingSlash && !loc.d.inode.isDir) return -ENOTDIR;
    return loc;
  }

  private taskRoot(t: Task | null): Location { return t ? t.fs.root : this.root; }

  /** Resolves (dirfd, path) as the *at syscalls do; emptyPath allows '' to mean dirfd itself (AT_EMPTY_PATH). */
  resolveAt(t: Task, dirfd: number, path: string, follow: boolean, emptyPath: boolean): Location | number {
    if (path === '') {
      if (!emptyPath) return -ENOENT;
      if (dirfd === AT_FDCWD) return t.fs.cwd;
      const f = dirfd < 0 ? undefined : t.fds.get(dirfd);
      if (!f) return -EBADF;
      return f.loc ?? -EBADF;
    }
    const start = this.startOf(t, dirfd, path);
    if (typeof start === 'number') return start;
    return this.resolve(t, this.taskRoot(t), start, path, follow);
  }

  /** Resolves all but the last component of (dirfd, path). */
  resolveParent(t: Task | null, root: Location, start: Location, path: string, ws: WalkState = { links: 0 }): ParentLoc | number {
    if (path.length === 0) return -ENOENT;
    if (ws.beneath && path.startsWith('/')) return -EXDEV;
    if (Buffer.byteLength(path) >= PATH_MAX) return -ENAMETOOLONG;
    const trailingSlash = /\/$/.test(path) && path.replace(/\/+$/, '') !== '';
    const trimmed = path.replace(/\/+$/, '');
    if (trimmed === '') return { dir: root, name: '.', trailingSlash: false }; // "/" itself
    const cut = trimmed.lastIndexOf('/');
    const name = trimmed.slice(cut + 1);
    if (Buffer.byteLength(name) > NAME_MAX) return -ENAMETOOLONG;
    const dirPath = cut < 0 ? '' : trimmed.slice(0, cut + 1);
    const begin = trimmed.startsWith('/') ? root : start;
    const dir = dirPath === '' ? begin : this.walk(t, root, begin, dirPath, true, ws);
    if (typeof dir === 'number') return dir;
    if (!dir.d.inode.isDir) return -ENOTDIR;
    return { dir, name, trailingSlash };
  }

  private parentAt(t: Task, dirfd: number, path: string): ParentLoc | number {
    const start = this.startOf(t, dirfd, path);
    if (typeof start === 'number') return start;
    return this.resolveParent(t, this.taskRoot(t), start, path);
  }

  // ---------------------------------------------------------------------
  // Checks shared by the operations
  // ---------------------------------------------------------------------

  private mayWriteDir(t: Task | null, dir: Inode): number {
    if (dir.fs.readonly) return -EROFS;
    const st = dir.stat();
    if (!permits(fsSubject(t), st.mode, st.uid, st.gid, MAY_WRITE | MAY_EXEC)) return -EACCES;
    return 0;
  }

  private ownerFor(t: Task | null, dir: Inode): Owner {
    const uid = t ? t.creds.fsuid : 0;
    let gid = t ? t.creds.fsgid : 0;
    const st = dir.stat();
    if (st.mode & S_ISGID) gid = st.gid;
    return { uid, gid };
  }

  /** Looks up name in dir, returning the child location or -errno (ENOENT when absent). */
  private lookupIn(t: Task | null, root: Location, dir: Location, name: string, ws?: WalkState): Location | number {
    if (!this.searchable(t, dir.d.inode)) return -EACCES;
    return this.step(t, root, dir, name, ws);
  }

  private mayDelete(t: Task | null, dir: Location, victim: Inode): number {
    const w = this.mayWriteDir(t, dir.d.inode);
    if (w < 0) return w;
    const s = fsSubject(t);
    const dst = dir.d.inode.stat();
    if (!stickyAllows(s, dst.mode, dst.uid, victim.stat().uid)) return -EPERM;
    return 0;
  }

  private attachChild(dir: Location, name: string, ino: Inode): Location {
    inotify.created(dir.d.inode, name, ino);
    const d = new Dentry(name, dir.d, ino);
    if (dir.d.inode.fs.cacheDentries) dir.d.children.set(name, d);
    return { mnt: dir.mnt, d };
  }

  private detachChild(dir: Location, name: string): void {
    const d = dir.d.children.get(name);
    if (d) { d.dead = true; dir.d.children.delete(name); }
  }

  // ---------------------------------------------------------------------
  // open
  // ---------------------------------------------------------------------

  /** open(2), openat(2), and openat2(2) with its RESOLVE_* flags. */
  open(t: Task, dirfd: number, path: string, flags: number, mode: number, resolve = 0): FileDescription | number {
    if ((flags & O_TMPFILE) === O_TMPFILE) return -EOPNOTSUPP;
    if ((flags & O_CREAT) && (flags & O_DIRECTORY)) return -EINVAL;
    let root = t.fs.root;
    let loc: Location;
    let created = false;
    const ws: WalkState = { links: 0, resolve };
    if (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) {
      // The walk is scoped to dirfd: beneath it (EXDEV to leave), or with it as the root.
      const dir = dirfd === AT_FDCWD ? t.fs.cwd : t.fds.get(dirfd)?.loc;
      if (!dir) return -EBADF;
      if (resolve & RESOLVE_BENEATH) ws.beneath = dir;
      else root = dir;
    }
    if (flags & O_CREAT) {
      const start = root !== t.fs.root && path.startsWith('/') ? root : this.startOf(t, dirfd, path);
      if (typeof start === 'number') return start;
      let p = this.resolveParent(t, root, start, path, ws);
      for (;;) {
        if (typeof p === 'number') return p;
        if (p.trailingSlash || p.name === '.' || p.name === '..') return -EISDIR;
        const c = this.lookupIn(t, root, p.dir, p.name, ws);
        if (typeof c === 'number') {
          if (c !== -ENOENT) return c;
          const w = this.mayWriteDir(t, p.dir.d.inode);
          if (w < 0) return w;
          if (p.dir.d.dead) return -ENOENT;
          const made = p.dir.d.inode.create(t, p.name, (mode & ~t.fs.umask) & 0o7777, this.ownerFor(t, p.dir.d.inode));
          if (typeof made === 'number') return made;
          loc = this.attachChild(p.dir, p.name, made);
          created = true;
          break;
        }
        if (flags & O_EXCL) return -EEXIST;
        if (c.d.inode.isSymlink) {
          if (flags & O_NOFOLLOW || resolve & RESOLVE_NO_SYMLINKS) return -ELOOP;
          if (++ws.links > MAX_SYMLINKS) return -ELOOP;
          const m = c.d.inode.magic(t);
          if (m) {
            const l = this.followLink(t, root, p.dir, c, ws);
            if (typeof l === 'number') return l;
            loc = l;
            break;
          }
          const target = c.d.inode.readlink(t);
          if (typeof target === 'number') return target;
          if (target === '') return -ENOENT;
          p = this.resolveParent(t, root, p.dir, target, ws);
          continue;
        }
        loc = c;
        break;
      }
    } else {
      const start = root !== t.fs.root && path.startsWith('/') ? root : this.startOf(t, dirfd, path);
      if (typeof start === 'number') return start;
      const l = this.resolve(t, root, start, path, (flags & O_NOFOLLOW) === 0, ws);
      if (typeof l === 'number') return l;
      loc = l;
    }
    return this.openLocation(t, loc, flags, created);
  }

  /** Opens a resolved location with open(2) flags. */
  openLocation(t: Task, loc: Location, flags: number, created = false): FileDescription | number {
    const ino = loc.d.inode;
    if ((flags & O_DIRECTORY) && !ino.isDir) return -ENOTDIR;
    if (flags & O_PATH) {
      return new PathFD(flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW), loc);
    }
    if (ino.isSymlink) return -ELOOP;
    if ((flags & O_CREAT) && ino.isDir) return -EISDIR;
    const acc = flags & O_ACCMODE;
    const wantWrite = acc === O_WRONLY || acc === O_RDWR;
    if (ino.isDir && (wantWrite || (flags & O_TRUNC))) return -EISDIR;
    if (!created) {
      let want = 0;
      if (acc === O_RDONLY || acc === O_RDWR || acc === 3) want |= MAY_READ;
      if (wantWrite || acc === 3 || (flags & O_TRUNC)) want |= MAY_WRITE;
      const st = ino.stat();
      if (!permits(fsSubject(t), st.mode, st.uid, st.gid, want)) return -EACCES;
    }
    if (ino.isRegular && (wantWrite || (flags & O_TRUNC))) {
      const r = ino.prepareWrite();
      if (r < 0) return r;
      if ((flags & O_TRUNC) && !created) {
        const tr = ino.truncate(0);
        if (tr < 0) return tr;
        inotify.fileEvent(loc.d, inotify.IN_MODIFY);
      }
    }
    // O_NOCTTY reaches the inode (a terminal acts on it); descriptions drop it.
    const f = ino.open(t, (flags & ~(OPEN_CREATE_ONLY & ~O_NOCTTY)) | O_LARGEFILE, loc);
    if (typeof f !== 'number') inotify.fileEvent(loc.d, inotify.IN_OPEN);
    return f;
  }

  // ---------------------------------------------------------------------
  // Attributes
  // ---------------------------------------------------------------------

  stat(t: Task, dirfd: number, path: string, follow: boolean, emptyPath: boolean): Stat | number {
    if (path === '' && emptyPath && dirfd !== AT_FDCWD) {
      const f = dirfd < 0 ? undefined : t.fds.get(dirfd);
      if (!f) return -EBADF;
      return f.stat(t);
    }
    const loc = this.resolveAt(t, dirfd, path, follow, emptyPath);
    if (typeof loc === 'number') return loc;
    return loc.d.inode.stat();
  }

  /** access/faccessat: mode is R_OK|W_OK|X_OK bits (0: existence). */
  access(t: Task, loc: Location, mode: number, subject: PermSubject | null): number {
    const ino = loc.d.inode;
    if ((mode & MAY_WRITE) && ino.fs.readonly && (ino.isRegular || ino.isDir || ino.isSymlink)) return -EROFS;
    if (mode === 0) return 0;
    const st = ino.stat();
    return permits(subject, st.mode, st.uid, st.gid, mode) ? 0 : -EACCES;
  }

  /** chmod/chown/utimes/truncate: applies a with Linux's ownership rules. */
  setattr(t: Task, loc: Location, a: SetAttr): number {
    const ino = loc.d.inode;
    const st = ino.stat();
    const fsuid = t.creds.fsuid;
    if (a.mode !== undefined) {
      if (!capable(t.creds, CAP_FOWNER) && fsuid !== st.uid) return -EPERM;
      let m = a.mode & 0o7777;
      // Without CAP_FSETID or the file's group, setgid is dropped.
      if (!capable(t.creds, CAP_FSETID) && (m & S_ISGID) && t.creds.fsgid !== st.gid && !t.creds.groups.includes(st.gid)) m &= ~S_ISGID;
      a.mode = m;
    }
    if (a.uid !== undefined || a.gid !== undefined) {
      if (a.uid !== undefined && a.uid === st.uid) a.uid = undefined;
      if (a.gid !== undefined && a.gid === st.gid) a.gid = undefined;
      if (!capable(t.creds, CAP_CHOWN)) {
        if (a.uid !== undefined) return -EPERM;
        if (a.gid !== undefined && (fsuid !== st.uid || (t.creds.fsgid !== a.gid && !t.creds.groups.includes(a.gid)))) {
          return -EPERM;
        }
      }
      // chown clears set-user-ID and (with group x) set-group-ID on non-directories.
      if ((a.uid !== undefined || a.gid !== undefined) && !ino.isDir && a.mode === undefined) {
        let m = st.mode & 0o7777 & ~S_ISUID;
        if (st.mode & S_IXGRP) m &= ~S_ISGID;
        if (m !== (st.mode & 0o7777)) a.mode = m;
      }
    }
    if (a.size !== undefined) {
      if (ino.isDir) return -EISDIR;
      if (!ino.isRegular) return -EINVAL;
    }
    a.ctime = nowSpec();
    const r = ino.prepareWrite();
    if (r < 0) return r;
    const set = ino.setattr(t, a);
    if (set === 0) inotify.fileEvent(loc.d, a.size !== undefined ? inotify.IN_MODIFY : inotify.IN_ATTRIB);
    return set;
  }

  /** utimensat's permission rule: owner or root may set any time; others may only set both to now with write access. */
  mayTouch(t: Task, loc: Location, onlyNow: boolean): number {
    const st = loc.d.inode.stat();
    if (capable(t.creds, CAP_FOWNER) || t.creds.fsuid === st.uid) return 0;
    if (!onlyNow) return -EPERM;
    return permits(fsSubject(t), st.mode, st.uid, st.gid, MAY_WRITE) ? 0 : -EACCES;
  }

  /** truncate(2) by path: needs write permission. */
  truncatePath(t: Task, dirfd: number, path: string, size: number): number {
    const loc = this.resolveRegular(t, dirfd, path, MAY_WRITE, EISDIR, EINVAL);
    if (typeof loc === 'number') return loc;
    const ino = loc.d.inode;
    const r = ino.prepareWrite();
    if (r < 0) return r;
    const tr = ino.truncate(size);
    if (tr === 0) inotify.fileEvent(loc.d, inotify.IN_MODIFY);
    return tr;
  }

  readlink(t: Task, dirfd: number, path: string): string | number {
    const loc = this.resolveAt(t, dirfd, path, false, true);
    if (typeof loc === 'number') return loc;
    const ino = loc.d.inode;
    if (!ino.isSymlink) return -EINVAL;
    const m = ino.magic(t);
    const text = ino.readlink(t);
    if (typeof text === 'number' && m instanceof FileDescription) return m.displayName();
    return text;
  }

  statfs(loc: Location): StatFS {
    return loc.d.inode.fs.statfs();
  }

  // ---------------------------------------------------------------------
  // Making and removing names
  // ---------------------------------------------------------------------

  /** Common front of mkdir/mknod/symlink/link: the parent and a name that must not exist. */
  private newName(t: Task, p: ParentLoc | number, allowTrailingSlash: boolean): ParentLoc | number {
    if (typeof p === 'number') return p;
    if (p.name === '.' || p.name === '..') return -EEXIST;
    const c = this.lookupIn(t, t.fs.root, p.dir, p.name);
    if (typeof c !== 'number') return -EEXIST;
    if (c !== -ENOENT) return c;
    if (p.trailingSlash && !allowTrailingSlash) return -ENOENT;
    const w = this.mayWriteDir(t, p.dir.d.inode);
    if (w < 0) return w;
    if (p.dir.d.dead) return -ENOENT;
    return p;
  }

  mkdir(t: Task, dirfd: number, path: string, mode: number): number {
    const p = this.newName(t, this.parentAt(t, dirfd, path), true);
    if (typeof p === 'number') return p;
    const dir = p.dir.d.inode;
    let m = (mode & ~t.fs.umask) & 0o1777;
    if (dir.stat().mode & S_ISGID) m |= S_ISGID;
    const r = dir.mkdir(t, p.name, m, this.ownerFor(t, dir));
    if (typeof r === 'number') return r;
    this.attachChild(p.dir, p.name, r);
    return 0;
  }

  mknod(t: Task, dirfd: number, path: string, mode: number, rdev: number): number {
    const r = this.makeNode(t, dirfd, path, mode, rdev);
    return typeof r === 'number' ? r : 0;
  }

  /** bind(2) of an AF_UNIX socket to a path: makes the socket file (mode 0777 less the umask) and returns it. */
  bindSocket(t: Task, path: string): Location | number {
    const r = this.makeNode(t, AT_FDCWD, path, S_IFSOCK | 0o777, 0);
    return r === -EEXIST ? -EADDRINUSE : r;
  }

  private makeNode(t: Task, dirfd: number, path: string, mode: number, rdev: number): Location | number {
    const type = mode & S_IFMT;
    const p = this.newName(t, this.parentAt(t, dirfd, path), false);
    if (typeof p === 'number') return p;
    const dir = p.dir.d.inode;
    const m = (type === 0 ? S_IFREG : type) | ((mode & ~t.fs.umask) & 0o7777);
    const r = (m & S_IFMT) === S_IFREG ? dir.create(t, p.name, m & 0o7777, this.ownerFor(t, dir))
      : dir.mknod(t, p.name, m, rdev, this.ownerFor(t, dir));
    if (typeof r === 'number') return r;
    return this.attachChild(p.dir, p.name, r);
  }

  symlink(t: Task, target: string, dirfd: number, path: string): number {
    if (target === '') return -ENOENT;
    if (Buffer.byteLength(target) >= PATH_MAX) return -ENAMETOOLONG;
    const p = this.newName(t, this.parentAt(t, dirfd, path), false);
    if (typeof p === 'number') return p;
    const dir = p.dir.d.inode;
    const r = dir.symlink(t, p.name, target, this.ownerFor(t, dir));
    if (typeof r === 'number') return r;
    this.attachChild(p.dir, p.name, r);
    return 0;
  }

  link(t: Task, oldLoc: Location, newDirfd: number, newPath: string): number {
    const src = oldLoc.d.inode;
    if (src.isDir) return -EPERM;
    const p = this.newName(t, this.parentAt(t, newDirfd, newPath), false);
    if (typeof p === 'number') return p;
    if (p.dir.mnt !== oldLoc.mnt) return -EXDEV;
    const r = p.dir.d.inode.link(t, p.name, src);
    if (r < 0) return r;
    inotify.linked(src);
    this.attachChild(p.dir, p.name, src);
    return 0;
  }

  unlink(t: Task, dirfd: number, path: string): number {
    const p = this.parentAt(t, dirfd, path);
    if (typeof p === 'number') return p;
    if (p.name === '.' || p.name === '..') return -EISDIR;
    const c = this.lookupIn(t, t.fs.root, p.dir, p.name);
    if (typeof c === 'number') return c;
    if (c.mnt !== p.dir.mnt) return -EBUSY;
    if (c.d.inode.isDir) return -EISDIR;
    if (p.trailingSlash) return -ENOTDIR;
    return this.removeEntry(t, p, c.d.inode, (dir) => dir.unlink(t, p.name, c.d.inode));
  }

  /** The end of unlink and rmdir: the right to delete, the file system's removal (remove), then the dentry and inotify. */
  private removeEntry(t: Task, p: ParentLoc, victim: Inode, remove: (dir: Inode) => number): number {
    const w = this.mayDelete(t, p.dir, victim);
    if (w < 0) return w;
    const r = remove(p.dir.d.inode);
    if (r < 0) return r;
    this.detachChild(p.dir, p.name);
    inotify.deleted(p.dir.d.inode, p.name, victim);
    return 0;
  }

  rmdir(t: Task, dirfd: number, path: string): number {
    const p = this.parentAt(t, dirfd, path);
    if (typeof p === 'number') return p;
    if (p.name === '.') return -EINVAL;
    if (p.name === '..') return -ENOTEMPTY;
    const c = this.lookupIn(t, t.fs.root, p.dir, p.name);
    if (typeof c === 'number') return c;
    if (c.mnt !== p.dir.mnt) return -EBUSY;
    if (!c.d.inode.isDir) return -ENOTDIR;
    if (c.mnt === t.fs.root.mnt && c.d === t.fs.root.d) return -EBUSY;
    return this.removeEntry(t, p, c.d.inode, (dir) => dir.rmdir(t, p.name, c.d.inode));
  }

  rename(t: Task, oldDirfd: number, oldPath: string, newDirfd: number, newPath: string, flags: number): number {
    // RENAME_EXCHANGE and RENAME_WHITEOUT are not supported (as on filesystems without them).
    if (flags & ~RENAME_NOREPLACE) return -EINVAL;
    const op = this.parentAt(t, oldDirfd, oldPath);
    if (typeof op === 'number') return op;
    const np = this.parentAt(t, newDirfd, newPath);
    if (typeof np === 'number') return np;
    if (op.name === '.' || op.name === '..' || np.name === '.' || np.name === '..') return -EBUSY;
    const src = this.lookupIn(t, t.fs.root, op.dir, op.name);
    if (typeof src === 'number') return src;
    if (src.mnt !== op.dir.mnt) return -EBUSY;
    const sino = src.d.inode;
    if ((op.trailingSlash || np.trailingSlash) && !sino.isDir) return -ENOTDIR;
    if (op.dir.mnt !== np.dir.mnt) return -EXDEV;
    const dst = this.lookupIn(t, t.fs.root, np.dir, np.name);
    if (typeof dst === 'number' && dst !== -ENOENT) return dst;
    let replaced: Inode | null = null;
    if (typeof dst !== 'number') {
      if (dst.mnt !== np.dir.mnt) return -EBUSY;
      if (flags & RENAME_NOREPLACE) return -EEXIST;
      replaced = dst.d.inode;
      if (replaced === sino) return 0;
      if (sino.isDir && !replaced.isDir) return -ENOTDIR;
      if (!sino.isDir && replaced.isDir) return -EISDIR;
    }
    // A directory cannot move below itself.
    if (sino.isDir) {
      for (let d: Dentry | null = np.dir.d; d; d = d.parent) if (d === src.d) return -EINVAL;
    }
    let w = this.mayDelete(t, op.dir, sino);
    if (w < 0) return w;
    if (replaced) w = this.mayDelete(t, np.dir, replaced);
    else w = this.mayWriteDir(t, np.dir.d.inode);
    if (w < 0) return w;
    if (np.dir.d.dead) return -ENOENT;
    const r = op.dir.d.inode.rename(t, op.name, sino, np.dir.d.inode, np.name, replaced);
    if (r < 0) return r;
    // Keep the dentry tree in step.
    if (replaced) this.detachChild(np.dir, np.name);
    const moved = op.dir.d.children.get(op.name) ?? src.d;
    op.dir.d.children.delete(op.name);
    moved.name = np.name;
    moved.parent = np.dir.d;
    if (np.dir.d.inode.fs.cacheDentries) np.dir.d.children.set(np.name, moved);
    inotify.moved(op.dir.d.inode, op.name, np.dir.d.inode, np.name, sino);
    if (replaced) inotify.unlinked(replaced);
    return 0;
  }

  // ---------------------------------------------------------------------
  // Working directory
  // ---------------------------------------------------------------------

  chdirTo(t: Task, loc: Location): number {
    if (!loc.d.inode.isDir) return -ENOTDIR;
    if (!this.searchable(t, loc.d.inode)) return -EACCES;
    t.fs.cwd = loc;
    return 0;
  }

  /** getcwd: the path of cwd from the task's root, -ENOENT once it was removed. */
  getcwd(t: Task): string | number {
    if (t.fs.cwd.d.dead) return -ENOENT;
    const p = pathOf(t.fs.cwd, t.fs.root);
    if (p === null) return '(unreachable)' + (pathOf(t.fs.cwd) ?? '/');
    return p;
  }
}
