// The Gofer's 9P2000.L file server: one connection, one thread, synchronous
// calls. It is the only component that touches the container's files.
//
// Resolution is by file descriptor, never by path string. Every fid refers
// to a Node: an O_PATH fd on one inode, the Node it was walked from (its
// logical parent) and its name there. Nodes are shared and reference-counted
// (a fid holds one reference, a child holds one on its parent) and interned
// per (parent, name) while alive, so a chain of walks costs one fd a level.
//
// Path rules:
//  - Twalk opens ONE component at a time relative to the parent's fd with
//    openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) and
//    O_PATH|O_NOFOLLOW (openat with O_PATH|O_NOFOLLOW where openat2 is
//    missing), so no name is ever resolved through a symlink, an absolute
//    link, a /proc magic link or "..". Walking through a non-directory (a
//    symlink included) fails with ENOTDIR.
//  - ".." is the logical parent kept in the Node, never the kernel's "..": a
//    directory moved elsewhere cannot lead a walk out of the tree, and ".."
//    at the root stays at the root. "", "." and names holding "/" or NUL are
//    refused with EINVAL.
//  - Every operation works on the Node's fd or relative to its parent's fd:
//    getattr is fstat(fd); readlink readlinkat(fd, ""); setattr is
//    fchmodat2/fchownat/utimensat on (fd, "", AT_EMPTY_PATH); statfs
//    fstatfs(fd); mkdir, symlink, link, mknod, renameat, unlinkat and lcreate
//    are the *at calls on the directory fid's fd.
//  - Tlopen reopens a directory as openat(fd, ".") and anything else as
//    openat(parent fd, name, O_NOFOLLOW) and then checks that the file opened
//    is the Node's inode (else ESTALE: it was replaced on the host). It
//    refuses symlinks (ELOOP), character and block devices and files on procfs
//    (EACCES: the Sentry provides its own /dev and /proc). Every open adds
//    O_NONBLOCK (no effect on regular files and directories) so that this
//    single thread never blocks in open, read or write of a FIFO: a FIFO read
//    with no data gives EAGAIN, an O_WRONLY open with no reader ENXIO.
//  - Treaddir omits "." and ".." (the Sentry synthesizes them). Offsets are
//    cookies: entry i of a listing taken at Tlopen carries offset i+1, and
//    a Treaddir at offset 0 takes a fresh listing (rewinddir semantics).
//  - qid.path is st_ino; qid.version is 0.
//  - With readOnly, every mutating message returns EROFS.
//
// Confinement of the process itself (mount namespace, pivot_root, dropped
// capabilities, seccomp) is gofer/confine.ts; this file assumes nothing of it.
import * as fs from 'node:fs';
import * as libc from '../src/ffi/libc';
import {
  EACCES, EAGAIN, EBADF, EFBIG, ENAMETOOLONG, EINVAL, EIO, EISDIR, ELOOP, ENOENT, ENOSYS, ENOTDIR, ENXIO, EOPNOTSUPP, EPERM,
  EPROTO, EROFS, EBUSY, ESTALE, E2BIG,
} from '../src/abi/errno';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, DT_UNKNOWN, F_DUPFD_CLOEXEC,
  O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_DSYNC, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK,
  O_PATH, O_RDONLY, O_SYNC, O_TRUNC, O_WRONLY, PROC_SUPER_MAGIC, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS, SEEK_SET, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, UTIME_NOW, UTIME_OMIT,
} from '../src/abi/linux';
import { Stat, Statfs } from '../src/abi/layout';
import {
  DecodeError, Encoder, GETATTR_BASIC, GETATTR_BTIME, MAXWELEM, NOFID, NONUNAME, NOTAG, QTDIR, QTFILE, QTSYMLINK,
  RREAD_HEADER, SETATTR_ATIME, SETATTR_ATIME_SET, SETATTR_GID, SETATTR_MODE, SETATTR_MTIME, SETATTR_MTIME_SET,
  SETATTR_SIZE, SETATTR_UID, VERSION_9P2000L, decode, direntSize, encodeDirent, encodeInto, errnoOf,
  type Msg, type Qid,
} from '../src/p9';

/**
 * Node fds kept open at once (the root's excepted). The Sentry keeps a fid
 * for every file it has seen, so a walk over a large tree would otherwise
 * hold an fd per file; past this, the least recently used are closed and
 * reopened on demand.
 */
const NODE_FDS = 4096;

const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
/** Linux's XATTR_SIZE_MAX: the largest attribute value. */
const XATTR_SIZE_MAX = 65536;
/** The only attribute namespace served: trusted.*, security.* and system.* stay the host's. */
const XATTR_USER = 'user.';

/** Largest msize we accept: 1 MiB of payload plus headers. */
export const MAX_MSIZE = (1 << 20) + 4096;
/** Smallest msize we accept (room for a useful Rreaddir or Rgetattr). */
export const MIN_MSIZE = 4096;
/** Linux's P9_IOHDRSZ: the header room reserved below msize in an iounit. */
const IOHDRSZ = 24;

export interface ServerOptions {
  /** Host directory to serve (after confinement, "/"). */
  root: string;
  readOnly: boolean;
  /** Node fds kept open at once (default NODE_FDS); tests lower it. */
  nodeFds?: number;
  /** Called with an unexpected (non-errno) failure; the client sees EIO. */
  onBug?: (what: string, err: unknown) => void;
}

interface DirEnt { name: string; type: number }

/** One inode the server holds an fd on. */
interface Node {
  /**
   * O_PATH fd (or, for a file made by Tlcreate, a dup of its open fd), or -1
   * while closed to stay under the fd limit: reached only through fdOf().
   */
  fd: number;
  /** The directory this was walked from; null for the served root. */
  parent: Node | null;
  /** Name in `parent` (as last known: 9P renames update it). */
  name: string;
  /** S_IFMT bits. */
  kind: number;
  dev: bigint;
  ino: bigint;
  refs: number;
  /** Live children by name, for interning. */
  children: Map<string, Node>;
}

interface Fid {
  node: Node;
  /** Host fd once opened (Tlopen/Tlcreate), else -1. */
  fd: number;
  /** Tlopen/Tlcreate flags (Linux open flags). */
  flags: number;
  /** Regular files use pread/pwrite at the given offset; FIFOs ignore offsets. */
  seekable: boolean;
  /** Directory listing for Treaddir, taken at open and at offset 0. */
  listing: DirEnt[] | null;
  /** n_uname of the attach this fid descends from (owner of files it creates), or -1. */
  uid: number;
  /** Txattrwalk made this fid: the attribute's value (or the name list) to Tread. */
  xattrRead?: Buffer;
  /** Txattrcreate made this fid: the value Twrites fill, set (or, empty, removed) at Tclunk. */
  xattrWrite?: { name: string; value: Buffer; written: number; flags: number };
}

type Reply = Msg | number;

/** A failed host call; `errno` is negative, as Node's own errors (errnoOf reads it). */
class HostError extends Error {
  constructor(readonly errno: number, what: string) { super(`${what}: errno ${-errno}`); }
}

/** Returns r, or throws the call's errno if r is negative. */
function sys(r: number, what: string): number {
  if (r < 0) throw new HostError(-libc.errno(), what);
  return r;
}

/** Bits of Tlopen flags we pass through to open(2); the rest are dropped. */
const LOPEN_PASS = O_ACCMODE | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECTORY;
/** How every component is opened: the inode itself, never through a link. */
const WALK_FLAGS = O_PATH | O_NOFOLLOW | O_CLOEXEC;
const WALK_RESOLVE = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
const NOCHANGE = 0xffffffff; // (uid_t)-1

/**
 * qid.path must name one file across the whole export, and a served tree can
 * span filesystems whose inode numbers collide (every pseudo filesystem's
 * root is inode 1): files of the root's filesystem keep their inode number,
 * those of the n-th other filesystem met get n in the top byte.
 */
class QidPaths {
  private readonly devs = new Map<bigint, bigint>();

  constructor(rootDev: bigint) { this.devs.set(rootDev, 0n); }

  qid(mode: number, dev: bigint, ino: bigint): Qid {
    const fmt = mode & S_IFMT;
    const type = fmt === S_IFDIR ? QTDIR : fmt === S_IFLNK ? QTSYMLINK : QTFILE;
    let n = this.devs.get(dev);
    if (n === undefined) this.devs.set(dev, (n = BigInt(this.devs.size)));
    return { type, version: 0, path: n === 0n ? ino : (n << 56n) ^ ino };
  }

  of(st: fs.BigIntStats): Qid { return this.qid(Number(st.mode), st.dev, st.ino); }
}

/** EINVAL for names a single path component can never be. ".." is allowed only where `dotdot`. */
function badName(name: string, dotdot: boolean): boolean {
  return name === '' || name === '.' || (!dotdot && name === '..') || name.includes('/') || name.includes('\0');
}

const NS = 1_000_000_000n;
const STAT_INO = Stat.offset('st_ino');
const STAT_DEV = Stat.offset('st_dev');
const STAT_MODE = Stat.offset('st_mode');

export class GoferServer {
  private readonly fids = new Map<number, Fid>();
  private readonly rootNode: Node;
  private readonly qids: QidPaths;
  /** Every live Node but the root, for renames. */
  private readonly live = new Set<Node>();
  /** Nodes (the root excepted) whose fd is open, least recently used first. */
  private readonly openNodes = new Set<Node>();
  private readonly enc = new Encoder(64 * 1024);
  private readonly dirEnc = new Encoder(64 * 1024);
  private readBuf = Buffer.allocUnsafe(0);
  private readonly statBuf = new Uint8Array(Stat.size);
  private readonly statDv = new DataView(this.statBuf.buffer);
  private readonly dentBuf = new Uint8Array(64 * 1024);
  private readonly how = new Uint8Array(24);
  private haveOpenat2 = true;
  private haveFchmodat2 = true;
  /** Negotiated message size; 0 before Tversion. */
  msize = 0;
  /** The open fd of a regular file the last Tlopen/Tlcreate opened, to hand to the client with the reply; -1 if none. */
  private donation = -1;

  constructor(private readonly opts: ServerOptions) {
    const fd = libc.openat(AT_FDCWD, opts.root, O_PATH | O_CLOEXEC, 0);
    if (fd < 0) throw new Error(`cannot open root ${opts.root}: errno ${libc.errno()}`);
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isDirectory()) { libc.close(fd); throw new Error(`root ${opts.root} is not a directory`); }
    this.rootNode = { fd, parent: null, name: '', kind: S_IFDIR, dev: st.dev, ino: st.ino, refs: 1, children: new Map() };
    this.qids = new QidPaths(st.dev);
    const dv = new DataView(this.how.buffer);
    dv.setBigUint64(0, BigInt(WALK_FLAGS), true);
    dv.setBigUint64(16, BigInt(WALK_RESOLVE), true);
  }

  /** Handles one whole message and returns the encoded reply (a view, valid until the next call). */
  handleFrame(frame: Uint8Array): Uint8Array {
    this.donation = -1;
    const m = decode(frame);
    let reply: Reply;
    let tag: number;
    if (m instanceof DecodeError) {
      tag = m.tag ?? NOTAG;
      reply = m.unknownType ? EOPNOTSUPP : EINVAL;
    } else {
      tag = m.tag;
      reply = this.handle(m);
    }
    if (typeof reply === 'number') reply = { type: 'Rlerror', tag, ecode: reply };
    try {
      return encodeInto(this.enc, reply);
    } catch (e) {
      this.opts.onBug?.(`cannot encode ${reply.type}`, e);
      return encodeInto(this.enc, { type: 'Rlerror', tag, ecode: EIO });
    }
  }

  /** Handles one decoded message: the reply message, or an errno for Rlerror. */
  handle(m: Msg): Reply {
    if (this.msize === 0 && m.type !== 'Tversion') return EPROTO;
    try {
      const r = this.dispatch(m);
      if (typeof r === 'number') return r;
      r.tag = m.tag;
      return r;
    } catch (e) {
      const err = errnoOf(e);
      if (err !== 0) return err;
      this.opts.onBug?.(`${m.type} failed`, e);
      return EIO;
    }
  }

  /**
   * The fd to send with the reply handleFrame just returned (SCM_RIGHTS), or
   * -1: after a successful Tlopen/Tlcreate of a regular file, its open host
   * fd, so the client reads and writes the data without a 9P round trip (as
   * gVisor's lisafs donates fds). The server keeps its own fd: sending dups it.
   */
  takeDonation(): number {
    const fd = this.donation;
    this.donation = -1;
    return fd;
  }

  /** Closes every open fd (Tversion, or the connection's end). */
  closeAll(): void {
    for (const f of this.fids.values()) this.release(f);
    this.fids.clear();
  }

  /** Live Nodes (fds held on inodes), the root excluded: for tests and leak checks. */
  get nodeCount(): number { return this.live.size; }

  private dispatch(m: Msg): Reply {
    switch (m.type) {
      case 'Tversion': return this.version(m);
      case 'Tauth': return EOPNOTSUPP;
      case 'Tattach': return this.attach(m);
      case 'Tflush': return { type: 'Rflush', tag: 0 };
      case 'Twalk': return this.walk(m);
      case 'Tgetattr': return this.getattr(m);
      case 'Tlopen': return this.lopen(m);
      case 'Tread': return this.read(m);
      case 'Treaddir': return this.readdir(m);
      case 'Treadlink': return this.readlink(m);
      case 'Tstatfs': return this.statfs(m);
      case 'Tclunk': return this.clunk(m);
      case 'Tlcreate': return this.lcreate(m);
      case 'Twrite': return this.write(m);
      case 'Tmkdir': return this.mkdir(m);
      case 'Tsymlink': return this.symlink(m);
      case 'Tlink': return this.link(m);
      case 'Tmknod': return this.mknod(m);
      case 'Trenameat': return this.renameat(m);
      case 'Trename': return this.rename(m);
      case 'Tunlinkat': return this.unlinkat(m);
      case 'Tsetattr': return this.setattr(m);
      case 'Tfsync': return this.fsync(m);
      case 'Tremove': return this.remove(m);
      case 'Txattrwalk': return this.xattrwalk(m);
      case 'Txattrcreate': return this.xattrcreate(m);
      case 'Tlock': case 'Tgetlock': return EOPNOTSUPP;
      default: return EOPNOTSUPP; // an R-message sent to us, or a 9P2000 message 9P2000.L dropped
    }
  }

  // ---- nodes ----

  private unref(n: Node): void {
    for (let cur: Node | null = n; cur !== null && --cur.refs === 0;) {
      this.closeNodeFd(cur);
      this.live.delete(cur);
      const p: Node | null = cur.parent;
      if (p !== null && p.children.get(cur.name) === cur) p.children.delete(cur.name);
      cur = p;
    }
  }

  /**
   * The Node's fd, reopened if it was closed: one component from the
   * parent's fd, exactly as a walk, and refused (ESTALE) unless it is still
   * the same inode.
   */
  private fdOf(n: Node): number {
    if (n.parent === null) return n.fd;
    if (n.fd >= 0) {
      this.openNodes.delete(n);
      this.openNodes.add(n);
      return n.fd;
    }
    const fd = this.openComponent(this.fdOf(n.parent), n.name);
    let st: fs.BigIntStats;
    try {
      st = fs.fstatSync(fd, { bigint: true });
    } catch (e) { libc.close(fd); throw e; }
    if (st.dev !== n.dev || st.ino !== n.ino) { libc.close(fd); throw new HostError(-ESTALE, `${n.name} was replaced`); }
    this.adoptNodeFd(n, fd);
    return fd;
  }

  /** Gives `n` its open fd, closing the least recently used others past NODE_FDS. */
  private adoptNodeFd(n: Node, fd: number): void {
    n.fd = fd;
    this.openNodes.add(n);
    while (this.openNodes.size > (this.opts.nodeFds ?? NODE_FDS)) {
      const old = this.openNodes.values().next().value as Node;
      this.closeNodeFd(old);
    }
  }

  private closeNodeFd(n: Node): void {
    if (n.fd < 0) return;
    libc.close(n.fd);
    n.fd = -1;
    this.openNodes.delete(n);
  }

  /** Opens `name` in directory `dirfd` as an O_PATH fd, without following anything. */
  private openComponent(dirfd: number, name: string): number {
    if (this.haveOpenat2) {
      for (let tries = 0; ; tries++) {
        const fd = libc.openat2(dirfd, name, this.how);
        if (fd >= 0) return fd;
        const err = libc.errno();
        if (err === ENOSYS) { this.haveOpenat2 = false; break; }
        // EAGAIN: a concurrent rename somewhere on the filesystem; openat2 asks for a retry.
        if (err !== EAGAIN || tries >= 16) throw new HostError(-err, `openat2 ${name}`);
      }
    }
    return sys(libc.openat(dirfd, name, WALK_FLAGS, 0), `openat ${name}`);
  }

  /** A new reference to the child `name` of directory `dir` (interned), and its attributes. */
  private child(dir: Node, name: string): { node: Node; st: fs.BigIntStats } {
    if (name === '..') {
      const up = dir.parent ?? dir; // the logical parent: never the kernel's ".."
      up.refs++;
      return { node: up, st: fs.fstatSync(this.fdOf(up), { bigint: true }) };
    }
    const fd = this.openComponent(this.fdOf(dir), name);
    let st: fs.BigIntStats;
    try {
      st = fs.fstatSync(fd, { bigint: true });
    } catch (e) { libc.close(fd); throw e; }
    return { node: this.intern(dir, name, fd, st), st };
  }

  /** The Node for `fd` (now owned here) as `name` in `dir`: an existing one on the same inode, or a new one. */
  private intern(dir: Node, name: string, fd: number, st: fs.BigIntStats): Node {
    const cached = dir.children.get(name);
    if (cached !== undefined && cached.dev === st.dev && cached.ino === st.ino) {
      if (cached.fd < 0) this.adoptNodeFd(cached, fd); else libc.close(fd);
      cached.refs++;
      return cached;
    }
    const n: Node = {
      fd: -1, parent: dir, name, kind: Number(st.mode) & S_IFMT, dev: st.dev, ino: st.ino, refs: 1, children: new Map(),
    };
    this.adoptNodeFd(n, fd);
    dir.refs++;
    dir.children.set(name, n);
    this.live.add(n);
    return n;
  }

  /**
   * Opens the Node's inode for I/O with `flags`: a directory through its own
   * fd, anything else by name in its parent, checked to be the same inode.
   */
  private reopen(n: Node, flags: number): number {
    flags |= O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
    if (n.kind === S_IFDIR) return sys(libc.openat(this.fdOf(n), '.', flags | O_DIRECTORY, 0), 'reopen directory');
    if (n.parent === null) return -EINVAL; // only the root has no parent, and it is a directory
    const fd = sys(libc.openat(this.fdOf(n.parent), n.name, flags, 0), `reopen ${n.name}`);
    let st: fs.BigIntStats;
    try {
      st = fs.fstatSync(fd, { bigint: true });
    } catch (e) { libc.close(fd); throw e; }
    if (st.dev !== n.dev || st.ino !== n.ino) { libc.close(fd); throw new HostError(-ESTALE, `${n.name} was replaced`); }
    return fd;
  }

  /** lstat of `name` in directory fd `dirfd` (the raw struct in statBuf): mode and ino. */
  private statAt(dirfd: number, name: string): { mode: number; dev: bigint; ino: bigint } | number {
    if (libc.fstatat(dirfd, name, this.statBuf, AT_SYMLINK_NOFOLLOW) < 0) return -libc.errno();
    return {
      mode: this.statDv.getUint32(STAT_MODE, true), dev: this.statDv.getBigUint64(STAT_DEV, true), ino: this.statDv.getBigUint64(STAT_INO, true),
    };
  }

  private qidAt(dirfd: number, name: string): Qid {
    const s = this.statAt(dirfd, name);
    if (typeof s === 'number') throw new HostError(s, `stat ${name}`);
    return this.qids.qid(s.mode, s.dev, s.ino);
  }

  // ---- helpers ----

  private release(f: Fid): void {
    if (f.fd >= 0) {
      libc.close(f.fd);
      f.fd = -1;
    }
    f.listing = null;
    this.unref(f.node);
  }

  private newFid(node: Node, uid: number): Fid {
    return { node, fd: -1, flags: 0, seekable: false, listing: null, uid };
  }

  /** A directory fid, for the *at messages. */
  private dirFid(fid: number): Fid | number {
    const d = this.fids.get(fid);
    if (d === undefined) return EBADF;
    if (d.node.kind !== S_IFDIR) return ENOTDIR;
    return d;
  }

  /** Gives a file just made in `dirfd` the attaching user as owner (when we are root). */
  private chownNew(dirfd: number, name: string, uid: number, gid: number, flags = AT_SYMLINK_NOFOLLOW): void {
    if (process.geteuid?.() !== 0) return;
    const g = gid === NONUNAME ? -1 : gid;
    if (uid === -1 && g === -1) return;
    sys(libc.fchownat(dirfd, name, uid === -1 ? NOCHANGE : uid, g === -1 ? NOCHANGE : g, flags), 'chown');
  }

  private iounit(): number { return this.msize - IOHDRSZ; }

  // ---- session ----

  private version(m: Msg<'Tversion'>): Reply {
    this.closeAll();
    if (m.msize < MIN_MSIZE) { this.msize = 0; return EINVAL; }
    if (!m.version.startsWith(VERSION_9P2000L)) {
      this.msize = 0;
      return { type: 'Rversion', tag: 0, msize: Math.min(m.msize, MAX_MSIZE), version: 'unknown' };
    }
    this.msize = Math.min(m.msize, MAX_MSIZE);
    return { type: 'Rversion', tag: 0, msize: this.msize, version: VERSION_9P2000L };
  }

  private attach(m: Msg<'Tattach'>): Reply {
    if (this.fids.has(m.fid) || m.fid === NOFID) return EBADF;
    if (m.afid !== NOFID) return EINVAL;
    const uid = m.nUname === NONUNAME ? -1 : m.nUname;
    // aname "" or "/" is the root; otherwise a path below it, resolved like a walk.
    let node = this.rootNode;
    node.refs++;
    let st = fs.fstatSync(this.fdOf(node), { bigint: true });
    try {
      for (const name of m.aname.split('/').filter((s) => s !== '')) {
        if (badName(name, false)) { this.unref(node); return EINVAL; }
        if (node.kind !== S_IFDIR) { this.unref(node); return ENOTDIR; }
        const next = this.child(node, name);
        this.unref(node);
        node = next.node;
        st = next.st;
      }
    } catch (e) { this.unref(node); throw e; }
    this.fids.set(m.fid, this.newFid(node, uid));
    return { type: 'Rattach', tag: 0, qid: this.qids.of(st) };
  }

  private clunk(m: Msg<'Tclunk'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    this.fids.delete(m.fid);
    try {
      if (f.xattrWrite) this.commitXattr(f.node, f.xattrWrite);
    } finally {
      this.release(f);
    }
    return { type: 'Rclunk', tag: 0 };
  }

  // ---- extended attributes (user.* only, regular files and directories only) ----

  /** Runs fn on a fresh read-only fd of the Node's inode (xattr calls need a real fd, not O_PATH). */
  private withOpenFd<T>(n: Node, fn: (fd: number) => T): T {
    if (n.kind !== S_IFREG && n.kind !== S_IFDIR) throw new HostError(-EOPNOTSUPP, 'xattrs on a special file');
    const fd = this.reopen(n, O_RDONLY);
    try { return fn(fd); } finally { libc.close(fd); }
  }

  private xattrwalk(m: Msg<'Txattrwalk'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (m.newfid === m.fid || this.fids.has(m.newfid) || m.newfid === NOFID) return EBADF;
    if (m.name !== '' && !m.name.startsWith(XATTR_USER)) return EOPNOTSUPP;
    const value = this.withOpenFd(f.node, (fd) => {
      // Size, then contents; a race that grows it in between is ERANGE, as for any getxattr caller.
      if (m.name === '') {
        const size = sys(libc.flistxattr(fd, null, 0), 'flistxattr');
        const buf = Buffer.alloc(size);
        const n = sys(libc.flistxattr(fd, buf, size), 'flistxattr');
        const names = buf.subarray(0, n).toString('utf8').split('\0').filter((x) => x.startsWith(XATTR_USER));
        return Buffer.from(names.map((x) => x + '\0').join(''), 'utf8');
      }
      const size = sys(libc.fgetxattr(fd, m.name, null, 0), `fgetxattr ${m.name}`);
      const buf = Buffer.alloc(size);
      return buf.subarray(0, sys(libc.fgetxattr(fd, m.name, buf, size), `fgetxattr ${m.name}`));
    });
    f.node.refs++;
    this.fids.set(m.newfid, { ...this.newFid(f.node, f.uid), xattrRead: value });
    return { type: 'Rxattrwalk', tag: 0, size: BigInt(value.length) };
  }

  private xattrcreate(m: Msg<'Txattrcreate'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.fd >= 0 || f.xattrRead || f.xattrWrite) return EBUSY;
    if (!m.name.startsWith(XATTR_USER)) return EOPNOTSUPP;
    if (m.attrSize > BigInt(XATTR_SIZE_MAX)) return E2BIG;
    if ((m.flags & ~(XATTR_CREATE | XATTR_REPLACE)) !== 0) return EINVAL;
    if (f.node.kind !== S_IFREG && f.node.kind !== S_IFDIR) return EOPNOTSUPP;
    f.xattrWrite = { name: m.name, value: Buffer.alloc(Number(m.attrSize)), written: 0, flags: m.flags };
    return { type: 'Rxattrcreate', tag: 0 };
  }

  /** At Tclunk: sets the attribute Twrites filled (all of it, or EINVAL); an empty one is removed, as QEMU's 9p does. */
  private commitXattr(n: Node, x: NonNullable<Fid['xattrWrite']>): void {
    if (x.written !== x.value.length) throw new HostError(-EINVAL, 'short xattr value');
    this.withOpenFd(n, (fd) => {
      if (x.value.length === 0) sys(libc.fremovexattr(fd, x.name), `fremovexattr ${x.name}`);
      else sys(libc.fsetxattr(fd, x.name, x.value, x.value.length, x.flags), `fsetxattr ${x.name}`);
    });
  }

  // ---- read side ----

  private walk(m: Msg<'Twalk'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (m.newfid !== m.fid && (this.fids.has(m.newfid) || m.newfid === NOFID)) return EBADF;
    if (m.newfid === m.fid && f.fd >= 0) return EBUSY;
    if (m.wnames.length > MAXWELEM) return EINVAL;
    let node = f.node;
    node.refs++;
    const wqids: Qid[] = [];
    for (const name of m.wnames) {
      let err = 0;
      if (badName(name, true)) err = EINVAL;
      else if (node.kind !== S_IFDIR) err = ENOTDIR;
      else {
        try {
          const next = this.child(node, name);
          this.unref(node);
          node = next.node;
          wqids.push(this.qids.of(next.st));
        } catch (e) {
          err = errnoOf(e);
          if (err === 0) { this.unref(node); throw e; }
        }
      }
      if (err !== 0) {
        this.unref(node);
        if (wqids.length === 0) return err;
        return { type: 'Rwalk', tag: 0, wqids }; // partial walk: newfid is not created
      }
    }
    if (m.newfid === m.fid) {
      this.unref(f.node);
      f.node = node;
    } else {
      this.fids.set(m.newfid, this.newFid(node, f.uid));
    }
    return { type: 'Rwalk', tag: 0, wqids };
  }

  private getattr(m: Msg<'Tgetattr'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    const st = fs.fstatSync(f.fd >= 0 ? f.fd : this.fdOf(f.node), { bigint: true });
    const hasBtime = st.birthtimeNs > 0n;
    return {
      type: 'Rgetattr', tag: 0,
      valid: BigInt(GETATTR_BASIC | (hasBtime ? GETATTR_BTIME : 0)),
      qid: this.qids.of(st), mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid),
      nlink: st.nlink, rdev: st.rdev, size: st.size, blksize: st.blksize, blocks: st.blocks,
      atimeSec: st.atimeNs / NS, atimeNsec: st.atimeNs % NS,
      mtimeSec: st.mtimeNs / NS, mtimeNsec: st.mtimeNs % NS,
      ctimeSec: st.ctimeNs / NS, ctimeNsec: st.ctimeNs % NS,
      btimeSec: hasBtime ? st.birthtimeNs / NS : 0n, btimeNsec: hasBtime ? st.birthtimeNs % NS : 0n,
      gen: 0n, dataVersion: 0n,
    };
  }

  /** f_type of the filesystem holding fd. */
  private fsType(fd: number): number {
    const b = new Uint8Array(Statfs.size);
    sys(libc.fstatfs(fd, b), 'fstatfs');
    return Number(new DataView(b.buffer).getBigInt64(Statfs.offset('f_type'), true));
  }

  private lopen(m: Msg<'Tlopen'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.fd >= 0) return EBUSY;
    const acc = m.flags & O_ACCMODE;
    if (this.opts.readOnly && (acc !== O_RDONLY || (m.flags & O_TRUNC) !== 0)) return EROFS;
    const n = f.node;
    switch (n.kind) {
      case S_IFCHR: case S_IFBLK: return EACCES;
      case S_IFLNK: return ELOOP;
      case S_IFSOCK: return ENXIO;
    }
    // /proc holds the Gofer's own memory and magic links to other roots: never open its files.
    if (n.kind !== S_IFDIR && this.fsType(this.fdOf(n)) === PROC_SUPER_MAGIC) return EACCES;
    const fd = this.reopen(n, m.flags & LOPEN_PASS);
    f.fd = fd;
    f.flags = m.flags;
    f.seekable = n.kind === S_IFREG;
    try {
      if (n.kind === S_IFDIR) f.listing = this.list(fd);
    } catch (e) { libc.close(fd); f.fd = -1; throw e; }
    if (n.kind === S_IFREG) this.donation = fd;
    return { type: 'Rlopen', tag: 0, qid: this.qids.qid(n.kind, n.dev, n.ino), iounit: this.iounit() };
  }

  /** The entries of the open directory `fd`, from its start, without "." and "..". */
  private list(fd: number): DirEnt[] {
    sys(libc.lseek(fd, 0, SEEK_SET), 'rewind directory');
    const out: DirEnt[] = [];
    const buf = this.dentBuf;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (;;) {
      const n = sys(libc.getdents64(fd, buf, buf.length), 'getdents64');
      if (n === 0) return out;
      // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
      for (let off = 0; off < n;) {
        const reclen = dv.getUint16(off + 16, true);
        const type = dv.getUint8(off + 18);
        let end = off + 19;
        while (end < off + reclen && buf[end] !== 0) end++;
        const name = Buffer.from(buf.buffer, buf.byteOffset + off + 19, end - off - 19).toString('utf8');
        if (name !== '.' && name !== '..') out.push({ name, type: type || DT_UNKNOWN });
        off += reclen;
      }
    }
  }

  private read(m: Msg<'Tread'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.xattrRead) {
      const off = Number(m.offset > BigInt(f.xattrRead.length) ? BigInt(f.xattrRead.length) : m.offset);
      return { type: 'Rread', tag: 0, data: f.xattrRead.subarray(off, off + Math.min(m.count, this.msize - RREAD_HEADER)) };
    }
    if (f.fd < 0 || (f.flags & O_ACCMODE) === O_WRONLY) return EBADF;
    if (f.node.kind === S_IFDIR) return EISDIR;
    const count = Math.min(m.count, this.msize - RREAD_HEADER);
    if (this.readBuf.length < count) this.readBuf = Buffer.allocUnsafe(Math.max(count, 64 * 1024));
    let n = 0;
    if (f.seekable) {
      // A regular file: fill the request unless EOF, so a short reply means EOF.
      while (n < count) {
        const got = fs.readSync(f.fd, this.readBuf, n, count - n, m.offset + BigInt(n));
        if (got === 0) break;
        n += got;
      }
    } else {
      n = fs.readSync(f.fd, this.readBuf, 0, count, null);
    }
    return { type: 'Rread', tag: 0, data: this.readBuf.subarray(0, n) };
  }

  private readdir(m: Msg<'Treaddir'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.node.kind !== S_IFDIR) return ENOTDIR;
    if (f.fd < 0) return EBADF;
    if (m.offset === 0n || f.listing === null) f.listing = this.list(f.fd);
    const listing = f.listing;
    const limit = Math.min(m.count, this.msize - RREAD_HEADER);
    const e = this.dirEnc;
    e.reset();
    for (let i = Number(m.offset); i < listing.length; i++) {
      const ent = listing[i]!;
      const st = this.statAt(f.fd, ent.name);
      if (typeof st === 'number') {
        if (st === -ENOENT) continue; // removed since the listing was taken
        throw new HostError(st, `stat ${ent.name}`);
      }
      if (e.off + direntSize(Buffer.byteLength(ent.name)) > limit) {
        if (e.off === 0) return EINVAL; // not even one entry fits, as getdents(2)
        break;
      }
      encodeDirent(e, { qid: this.qids.qid(st.mode, st.dev, st.ino), offset: BigInt(i + 1), type: ent.type, name: ent.name });
    }
    return { type: 'Rreaddir', tag: 0, data: e.bytes() };
  }

  private readlink(m: Msg<'Treadlink'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.node.kind !== S_IFLNK) return EINVAL;
    const buf = new Uint8Array(4097);
    const n = sys(libc.readlinkat(this.fdOf(f.node), '', buf, buf.length), 'readlinkat');
    if (n >= buf.length) return ENAMETOOLONG;
    return { type: 'Rreadlink', tag: 0, target: Buffer.from(buf.buffer, 0, n).toString('utf8') };
  }

  private statfs(m: Msg<'Tstatfs'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    const b = new Uint8Array(Statfs.size);
    sys(libc.fstatfs(this.fdOf(f.node), b), 'fstatfs');
    const dv = new DataView(b.buffer);
    const u = (k: 'f_blocks' | 'f_bfree' | 'f_bavail' | 'f_files' | 'f_ffree'): bigint => dv.getBigUint64(Statfs.offset(k), true);
    return {
      type: 'Rstatfs', tag: 0,
      fsType: Number(dv.getBigInt64(Statfs.offset('f_type'), true)),
      bsize: Number(dv.getBigInt64(Statfs.offset('f_bsize'), true)),
      blocks: u('f_blocks'), bfree: u('f_bfree'), bavail: u('f_bavail'), files: u('f_files'), ffree: u('f_ffree'),
      fsid: 0n, namelen: 255,
    };
  }

  // ---- write side ----

  private lcreate(m: Msg<'Tlcreate'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.fid);
    if (typeof d === 'number') return d;
    if (d.fd >= 0) return EBUSY;
    if (badName(m.name, false)) return EINVAL;
    const flags = (m.flags & (LOPEN_PASS & ~O_DIRECTORY)) | (m.flags & O_EXCL) |
      O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
    const dir = d.node;
    const fd = sys(libc.openat(this.fdOf(dir), m.name, flags, m.mode & 0o7777), `create ${m.name}`);
    let node: Node;
    try {
      this.chownNew(fd, '', d.uid, m.gid, AT_EMPTY_PATH);
      const st = fs.fstatSync(fd, { bigint: true });
      node = this.intern(dir, m.name, sys(libc.fcntl(fd, F_DUPFD_CLOEXEC, 0), 'dup'), st);
    } catch (e) { libc.close(fd); throw e; }
    // Tlcreate turns the directory fid into the new, open file.
    this.unref(dir);
    d.node = node;
    d.fd = fd;
    d.flags = m.flags;
    d.seekable = node.kind === S_IFREG;
    d.listing = null;
    if (node.kind === S_IFREG) this.donation = fd;
    return { type: 'Rlcreate', tag: 0, qid: this.qids.qid(node.kind, node.dev, node.ino), iounit: this.iounit() };
  }

  private write(m: Msg<'Twrite'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.xattrWrite) {
      const x = f.xattrWrite;
      if (m.offset !== BigInt(x.written) || x.written + m.data.length > x.value.length) return EINVAL;
      x.value.set(m.data, x.written);
      x.written += m.data.length;
      return { type: 'Rwrite', tag: 0, count: m.data.length };
    }
    if (f.fd < 0 || (f.flags & O_ACCMODE) === O_RDONLY) return EBADF;
    const data = m.data;
    let n = 0;
    if (f.seekable) {
      // fs.writeSync takes a number position (a bigint would silently mean "current position").
      if (m.offset + BigInt(data.length) > BigInt(Number.MAX_SAFE_INTEGER)) return EFBIG;
      const append = (f.flags & O_APPEND) !== 0;
      const base = Number(m.offset);
      while (n < data.length) {
        n += fs.writeSync(f.fd, data, n, data.length - n, append ? null : base + n);
      }
    } else {
      n = fs.writeSync(f.fd, data, 0, data.length, null);
    }
    return { type: 'Rwrite', tag: 0, count: n };
  }

  private mkdir(m: Msg<'Tmkdir'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.dfid);
    if (typeof d === 'number') return d;
    if (badName(m.name, false)) return EINVAL;
    sys(libc.mkdirat(this.fdOf(d.node), m.name, m.mode & 0o7777), `mkdir ${m.name}`);
    this.chownNew(this.fdOf(d.node), m.name, d.uid, m.gid);
    return { type: 'Rmkdir', tag: 0, qid: this.qidAt(this.fdOf(d.node), m.name) };
  }

  private symlink(m: Msg<'Tsymlink'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.fid);
    if (typeof d === 'number') return d;
    if (badName(m.name, false) || m.symtgt.includes('\0')) return EINVAL;
    sys(libc.symlinkat(m.symtgt, this.fdOf(d.node), m.name), `symlink ${m.name}`);
    this.chownNew(this.fdOf(d.node), m.name, d.uid, m.gid);
    return { type: 'Rsymlink', tag: 0, qid: this.qidAt(this.fdOf(d.node), m.name) };
  }

  private link(m: Msg<'Tlink'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.dfid);
    if (typeof d === 'number') return d;
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (badName(m.name, false)) return EINVAL;
    const n = f.node;
    if (n.kind === S_IFDIR) return EPERM;
    // linkat(fd, "", AT_EMPTY_PATH) links the very inode, but needs CAP_DAC_READ_SEARCH;
    // without it, link the name in the parent (link(2) never follows a symlink).
    if (process.geteuid?.() === 0) sys(libc.linkat(this.fdOf(n), '', this.fdOf(d.node), m.name, AT_EMPTY_PATH), `link ${m.name}`);
    else if (n.parent !== null) sys(libc.linkat(this.fdOf(n.parent), n.name, this.fdOf(d.node), m.name, 0), `link ${m.name}`);
    else return EPERM;
    return { type: 'Rlink', tag: 0 };
  }

  private mknod(m: Msg<'Tmknod'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.dfid);
    if (typeof d === 'number') return d;
    if (badName(m.name, false)) return EINVAL;
    const fmt = m.mode & S_IFMT;
    // Regular files, FIFOs and sockets. Device nodes are never made (the
    // Sentry has its own /dev; the seccomp filter refuses them too).
    if (fmt === S_IFIFO || fmt === S_IFSOCK) {
      sys(libc.mknodat(this.fdOf(d.node), m.name, fmt | (m.mode & 0o7777), 0), `mknod ${m.name}`);
    } else if (fmt === 0 || fmt === S_IFREG) {
      libc.close(sys(libc.openat(this.fdOf(d.node), m.name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, m.mode & 0o7777),
        `mknod ${m.name}`));
    } else {
      return EPERM;
    }
    this.chownNew(this.fdOf(d.node), m.name, d.uid, m.gid);
    return { type: 'Rmknod', tag: 0, qid: this.qidAt(this.fdOf(d.node), m.name) };
  }

  /** After a rename in the host, points the Nodes named (from, oldname) at (to, newname). */
  private renamed(from: Node, oldname: string, to: Node, newname: string): void {
    const moved: Node[] = [];
    for (const n of this.live) {
      if (n.name === oldname && n.parent !== null && n.parent.dev === from.dev && n.parent.ino === from.ino) moved.push(n);
    }
    for (const n of moved) {
      const old = n.parent!;
      if (old.children.get(n.name) === n) old.children.delete(n.name);
      to.refs++;
      n.parent = to;
      n.name = newname;
      to.children.set(newname, n);
      this.unref(old);
    }
  }

  private doRename(from: Node, oldname: string, to: Node, newname: string): void {
    sys(libc.renameat2(this.fdOf(from), oldname, this.fdOf(to), newname, 0), `rename ${oldname}`);
    this.renamed(from, oldname, to, newname);
  }

  private renameat(m: Msg<'Trenameat'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const od = this.dirFid(m.olddirfid);
    if (typeof od === 'number') return od;
    const nd = this.dirFid(m.newdirfid);
    if (typeof nd === 'number') return nd;
    if (badName(m.oldname, false) || badName(m.newname, false)) return EINVAL;
    this.doRename(od.node, m.oldname, nd.node, m.newname);
    return { type: 'Rrenameat', tag: 0 };
  }

  private rename(m: Msg<'Trename'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    const parent = f.node.parent;
    if (parent === null) return EBUSY;
    const nd = this.dirFid(m.dfid);
    if (typeof nd === 'number') return nd;
    if (badName(m.name, false)) return EINVAL;
    this.doRename(parent, f.node.name, nd.node, m.name);
    return { type: 'Rrename', tag: 0 };
  }

  private unlinkat(m: Msg<'Tunlinkat'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.dirfid);
    if (typeof d === 'number') return d;
    if (badName(m.name, false)) return EINVAL;
    if ((m.flags & ~AT_REMOVEDIR) !== 0) return EINVAL;
    sys(libc.unlinkat(this.fdOf(d.node), m.name, m.flags & AT_REMOVEDIR), `unlink ${m.name}`);
    return { type: 'Runlinkat', tag: 0 };
  }

  private remove(m: Msg<'Tremove'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    // Tremove clunks the fid whether or not the removal succeeds.
    const n = f.node;
    n.refs++;
    this.release(f);
    this.fids.delete(m.fid);
    try {
      if (this.opts.readOnly) return EROFS;
      if (n.parent === null) return EBUSY;
      // The name in the parent may since name another inode: remove only if it is still ours.
      const s = this.statAt(this.fdOf(n.parent), n.name);
      if (typeof s === 'number') return -s;
      if (s.ino !== n.ino) return ESTALE;
      sys(libc.unlinkat(this.fdOf(n.parent), n.name, n.kind === S_IFDIR ? AT_REMOVEDIR : 0), `remove ${n.name}`);
      return { type: 'Rremove', tag: 0 };
    } finally { this.unref(n); }
  }

  private chmod(f: Fid, mode: number): void {
    const n = f.node;
    if (f.fd >= 0) { fs.fchmodSync(f.fd, mode); return; }
    if (this.haveFchmodat2) {
      if (libc.fchmodat2(this.fdOf(n), '', mode, AT_EMPTY_PATH) === 0) return;
      const err = libc.errno();
      if (err !== ENOSYS) throw new HostError(-err, 'fchmodat2');
      this.haveFchmodat2 = false;
    }
    const fd = this.reopen(n, O_RDONLY);
    try { sys(libc.fchmod(fd, mode), 'fchmod'); } finally { libc.close(fd); }
  }

  private setattr(m: Msg<'Tsetattr'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    const n = f.node;
    const v = m.valid;
    if (v & SETATTR_MODE) {
      if (n.kind === S_IFLNK && f.fd < 0) return EOPNOTSUPP; // as fchmodat(AT_SYMLINK_NOFOLLOW)
      this.chmod(f, m.mode & 0o7777);
    }
    if (v & (SETATTR_UID | SETATTR_GID)) {
      sys(libc.fchownat(this.fdOf(n), '', v & SETATTR_UID ? m.uid >>> 0 : NOCHANGE, v & SETATTR_GID ? m.gid >>> 0 : NOCHANGE,
        AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), 'fchownat');
    }
    if (v & SETATTR_SIZE) {
      if (n.kind === S_IFDIR) return EISDIR;
      if (n.kind !== S_IFREG) return EINVAL;
      if (m.size > BigInt(Number.MAX_SAFE_INTEGER)) return EINVAL;
      if (f.fd >= 0 && (f.flags & O_ACCMODE) !== O_RDONLY) fs.ftruncateSync(f.fd, Number(m.size));
      else {
        const fd = this.reopen(n, O_WRONLY);
        try { fs.ftruncateSync(fd, Number(m.size)); } finally { libc.close(fd); }
      }
    }
    if (v & (SETATTR_ATIME | SETATTR_MTIME)) {
      const t = new BigInt64Array(4);
      const set = (i: number, bit: number, setBit: number, sec: bigint, nsec: bigint): void => {
        if (!(v & bit)) { t[i + 1] = BigInt(UTIME_OMIT); return; }
        if (!(v & setBit)) { t[i + 1] = BigInt(UTIME_NOW); return; }
        t[i] = BigInt.asIntN(64, sec);
        t[i + 1] = nsec;
      };
      set(0, SETATTR_ATIME, SETATTR_ATIME_SET, m.atimeSec, m.atimeNsec);
      set(2, SETATTR_MTIME, SETATTR_MTIME_SET, m.mtimeSec, m.mtimeNsec);
      sys(libc.utimensat(this.fdOf(n), '', t, AT_EMPTY_PATH), 'utimensat');
    }
    return { type: 'Rsetattr', tag: 0 };
  }

  private fsync(m: Msg<'Tfsync'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.fd < 0) return EBADF;
    if (m.datasync) fs.fdatasyncSync(f.fd); else fs.fsyncSync(f.fd);
    return { type: 'Rfsync', tag: 0 };
  }
}
