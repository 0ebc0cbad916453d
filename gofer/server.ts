// The Gofer's 9P2000.L file server: one connection, one thread, synchronous
// Node fs calls. It is the only component that touches the container's files.
//
// State: a table of fids, each holding a path (components relative to the
// served root), the file type seen when it was walked, and, once opened, a
// host fd and (for directories) a listing.
//
// Path rules:
//  - Twalk resolves ONE component at a time with lstat and never follows a
//    symlink: walking through a non-directory (a symlink included) fails with
//    ENOTDIR. ".." at the root stays at the root. "", "." and names holding
//    "/" or NUL are refused with EINVAL.
//  - Tlopen adds O_NOFOLLOW (a symlink gives ELOOP) and refuses character and
//    block devices with EACCES: the Sentry provides its own /dev. Every open
//    adds O_NONBLOCK (no effect on regular files and directories) so that this
//    single thread never blocks in open, read or write of a FIFO: a FIFO read
//    with no data gives EAGAIN, an O_WRONLY open with no reader ENXIO.
//  - Treaddir omits "." and ".." (the Sentry synthesizes them). Offsets are
//    cookies: entry i of a listing taken at Tlopen carries offset i+1, and
//    a Treaddir at offset 0 takes a fresh listing (rewinddir semantics).
//  - qid.path is st_ino; qid.version is 0.
//  - With readOnly, every mutating message returns EROFS.
//
// Confinement (pivot_root, openat-relative resolution) comes later: today a
// concurrent host-side rename can race the per-component lstat checks.
import * as fs from 'node:fs';
import {
  EACCES, EBADF, EFBIG, EINVAL, EIO, EISDIR, ELOOP, ENOTDIR, ENXIO, EOPNOTSUPP, EPERM, EPROTO, EROFS, EBUSY,
} from '../src/abi/errno';
import {
  AT_REMOVEDIR, DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN,
  O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_DSYNC, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK,
  O_RDONLY, O_SYNC, O_TRUNC, O_WRONLY,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
} from '../src/abi/linux';
import {
  DecodeError, Encoder, GETATTR_BASIC, GETATTR_BTIME, MAXWELEM, NOFID, NONUNAME, NOTAG, QTDIR, QTFILE, QTSYMLINK,
  RREAD_HEADER, SETATTR_ATIME, SETATTR_ATIME_SET, SETATTR_GID, SETATTR_MODE, SETATTR_MTIME, SETATTR_MTIME_SET,
  SETATTR_SIZE, SETATTR_UID, VERSION_9P2000L, decode, direntSize, encodeDirent, encodeInto, errnoOf,
  type Msg, type Qid,
} from '../src/p9';

/** Largest msize we accept: 1 MiB of payload plus headers. */
export const MAX_MSIZE = (1 << 20) + 4096;
/** Smallest msize we accept (room for a useful Rreaddir or Rgetattr). */
export const MIN_MSIZE = 4096;
/** Linux's P9_IOHDRSZ: the header room reserved below msize in an iounit. */
const IOHDRSZ = 24;

export interface ServerOptions {
  /** Host directory to serve. */
  root: string;
  readOnly: boolean;
  /** Called with an unexpected (non-errno) failure; the client sees EIO. */
  onBug?: (what: string, err: unknown) => void;
}

interface DirEnt { name: string; type: number }

interface Fid {
  /** Path components below the root; [] is the root. */
  comps: string[];
  /** S_IFMT bits seen when walked (lstat) or created. */
  kind: number;
  /** Host fd once opened, else -1. */
  fd: number;
  /** Tlopen/Tlcreate flags (Linux open flags). */
  flags: number;
  /** Regular files use pread/pwrite at the given offset; FIFOs ignore offsets. */
  seekable: boolean;
  /** Directory listing for Treaddir, taken at open and at offset 0. */
  listing: DirEnt[] | null;
  /** n_uname of the attach this fid descends from (owner of files it creates), or -1. */
  uid: number;
}

type Reply = Msg | number;

/** Bits of Tlopen flags we pass through to open(2); the rest are dropped. */
const LOPEN_PASS = O_ACCMODE | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECTORY;

function qidOf(st: fs.BigIntStats): Qid {
  const fmt = Number(st.mode) & S_IFMT;
  const type = fmt === S_IFDIR ? QTDIR : fmt === S_IFLNK ? QTSYMLINK : QTFILE;
  return { type, version: 0, path: st.ino };
}

function dtOf(d: fs.Dirent): number {
  if (d.isFile()) return DT_REG;
  if (d.isDirectory()) return DT_DIR;
  if (d.isSymbolicLink()) return DT_LNK;
  if (d.isFIFO()) return DT_FIFO;
  if (d.isSocket()) return DT_SOCK;
  if (d.isCharacterDevice()) return DT_CHR;
  if (d.isBlockDevice()) return DT_BLK;
  return DT_UNKNOWN;
}

/** EINVAL for names a single path component can never be. ".." is allowed only where `dotdot`. */
function badName(name: string, dotdot: boolean): boolean {
  return name === '' || name === '.' || (!dotdot && name === '..') || name.includes('/') || name.includes('\0');
}

const NS = 1_000_000_000n;

export class GoferServer {
  private readonly fids = new Map<number, Fid>();
  private readonly root: string;
  private readonly enc = new Encoder(64 * 1024);
  private readonly dirEnc = new Encoder(64 * 1024);
  private readBuf = Buffer.allocUnsafe(0);
  /** Negotiated message size; 0 before Tversion. */
  msize = 0;

  constructor(private readonly opts: ServerOptions) {
    this.root = fs.realpathSync(opts.root);
    if (!fs.statSync(this.root).isDirectory()) throw new Error(`root ${opts.root} is not a directory`);
  }

  /** Handles one whole message and returns the encoded reply (a view, valid until the next call). */
  handleFrame(frame: Uint8Array): Uint8Array {
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

  /** Closes every open fd (Tversion, or the connection's end). */
  closeAll(): void {
    for (const f of this.fids.values()) this.release(f);
    this.fids.clear();
  }

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
      case 'Txattrwalk': return EOPNOTSUPP;
      case 'Txattrcreate': return this.opts.readOnly ? EROFS : EOPNOTSUPP;
      case 'Tlock': case 'Tgetlock': return EOPNOTSUPP;
      default: return EOPNOTSUPP; // an R-message sent to us, or a 9P2000 message 9P2000.L dropped
    }
  }

  // ---- helpers ----

  private host(comps: string[]): string {
    return comps.length === 0 ? this.root : `${this.root}/${comps.join('/')}`;
  }

  private release(f: Fid): void {
    if (f.fd >= 0) {
      try { fs.closeSync(f.fd); } catch { /* already closed: nothing to do */ }
      f.fd = -1;
    }
    f.listing = null;
  }

  private newFid(comps: string[], kind: number, uid: number): Fid {
    return { comps, kind, fd: -1, flags: 0, seekable: false, listing: null, uid };
  }

  /** A directory fid that is not open, for the *at messages. */
  private dirFid(fid: number): Fid | number {
    const d = this.fids.get(fid);
    if (d === undefined) return EBADF;
    if (d.kind !== S_IFDIR) return ENOTDIR;
    return d;
  }

  private chownNew(path: string, uid: number, gid: number): void {
    if (process.getuid?.() !== 0) return;
    const g = gid === NONUNAME ? -1 : gid;
    if (uid === -1 && g === -1) return;
    fs.lchownSync(path, uid, g);
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
    const comps: string[] = [];
    let st = fs.lstatSync(this.root, { bigint: true });
    for (const name of m.aname.split('/').filter((s) => s !== '')) {
      if (badName(name, false)) return EINVAL;
      if ((Number(st.mode) & S_IFMT) !== S_IFDIR) return ENOTDIR;
      comps.push(name);
      st = fs.lstatSync(this.host(comps), { bigint: true });
    }
    this.fids.set(m.fid, this.newFid(comps, Number(st.mode) & S_IFMT, uid));
    return { type: 'Rattach', tag: 0, qid: qidOf(st) };
  }

  private clunk(m: Msg<'Tclunk'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    this.release(f);
    this.fids.delete(m.fid);
    return { type: 'Rclunk', tag: 0 };
  }

  // ---- read side ----

  private walk(m: Msg<'Twalk'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (m.newfid !== m.fid && (this.fids.has(m.newfid) || m.newfid === NOFID)) return EBADF;
    if (m.newfid === m.fid && f.fd >= 0) return EBUSY;
    if (m.wnames.length > MAXWELEM) return EINVAL;
    const comps = f.comps.slice();
    let kind = f.kind;
    const wqids: Qid[] = [];
    for (const name of m.wnames) {
      let err = 0;
      if (badName(name, true)) err = EINVAL;
      else if (kind !== S_IFDIR) err = ENOTDIR;
      else {
        if (name === '..') { if (comps.length > 0) comps.pop(); } else comps.push(name);
        try {
          const st = fs.lstatSync(this.host(comps), { bigint: true });
          kind = Number(st.mode) & S_IFMT;
          wqids.push(qidOf(st));
        } catch (e) {
          err = errnoOf(e);
          if (err === 0) throw e;
        }
      }
      if (err !== 0) {
        if (wqids.length === 0) return err;
        return { type: 'Rwalk', tag: 0, wqids }; // partial walk: newfid is not created
      }
    }
    if (m.newfid === m.fid) { f.comps = comps; f.kind = kind; } else this.fids.set(m.newfid, this.newFid(comps, kind, f.uid));
    return { type: 'Rwalk', tag: 0, wqids };
  }

  private stat(f: Fid): fs.BigIntStats {
    return f.fd >= 0 ? fs.fstatSync(f.fd, { bigint: true }) : fs.lstatSync(this.host(f.comps), { bigint: true });
  }

  private getattr(m: Msg<'Tgetattr'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    const st = this.stat(f);
    const hasBtime = st.birthtimeNs > 0n;
    return {
      type: 'Rgetattr', tag: 0,
      valid: BigInt(GETATTR_BASIC | (hasBtime ? GETATTR_BTIME : 0)),
      qid: qidOf(st), mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid),
      nlink: st.nlink, rdev: st.rdev, size: st.size, blksize: st.blksize, blocks: st.blocks,
      atimeSec: st.atimeNs / NS, atimeNsec: st.atimeNs % NS,
      mtimeSec: st.mtimeNs / NS, mtimeNsec: st.mtimeNs % NS,
      ctimeSec: st.ctimeNs / NS, ctimeNsec: st.ctimeNs % NS,
      btimeSec: hasBtime ? st.birthtimeNs / NS : 0n, btimeNsec: hasBtime ? st.birthtimeNs % NS : 0n,
      gen: 0n, dataVersion: 0n,
    };
  }

  private lopen(m: Msg<'Tlopen'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.fd >= 0) return EBUSY;
    const acc = m.flags & O_ACCMODE;
    if (this.opts.readOnly && (acc !== O_RDONLY || (m.flags & O_TRUNC) !== 0)) return EROFS;
    switch (f.kind) {
      case S_IFCHR: case S_IFBLK: return EACCES;
      case S_IFLNK: return ELOOP;
      case S_IFSOCK: return ENXIO;
    }
    let flags = (m.flags & LOPEN_PASS) | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
    if (f.kind === S_IFDIR) flags |= O_DIRECTORY;
    const path = this.host(f.comps);
    const fd = fs.openSync(path, flags);
    let st: fs.BigIntStats;
    try {
      st = fs.fstatSync(fd, { bigint: true });
    } catch (e) { fs.closeSync(fd); throw e; }
    const kind = Number(st.mode) & S_IFMT;
    if (kind === S_IFCHR || kind === S_IFBLK) { fs.closeSync(fd); return EACCES; }
    f.fd = fd;
    f.kind = kind;
    f.flags = m.flags;
    f.seekable = kind === S_IFREG;
    if (kind === S_IFDIR) f.listing = this.list(path);
    return { type: 'Rlopen', tag: 0, qid: qidOf(st), iounit: this.iounit() };
  }

  private list(path: string): DirEnt[] {
    return fs.readdirSync(path, { withFileTypes: true }).map((d) => ({ name: d.name, type: dtOf(d) }));
  }

  private read(m: Msg<'Tread'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.fd < 0 || (f.flags & O_ACCMODE) === O_WRONLY) return EBADF;
    if (f.kind === S_IFDIR) return EISDIR;
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
    if (f.kind !== S_IFDIR) return ENOTDIR;
    if (f.fd < 0) return EBADF;
    const path = this.host(f.comps);
    if (m.offset === 0n || f.listing === null) f.listing = this.list(path);
    const listing = f.listing;
    const limit = Math.min(m.count, this.msize - RREAD_HEADER);
    const e = this.dirEnc;
    e.reset();
    for (let i = Number(m.offset); i < listing.length; i++) {
      const ent = listing[i]!;
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(`${path}/${ent.name}`, { bigint: true });
      } catch (err) {
        if (errnoOf(err) === 0) throw err;
        continue; // removed since the listing was taken
      }
      if (e.off + direntSize(Buffer.byteLength(ent.name)) > limit) {
        if (e.off === 0) return EINVAL; // not even one entry fits, as getdents(2)
        break;
      }
      encodeDirent(e, { qid: qidOf(st), offset: BigInt(i + 1), type: ent.type, name: ent.name });
    }
    return { type: 'Rreaddir', tag: 0, data: e.bytes() };
  }

  private readlink(m: Msg<'Treadlink'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.kind !== S_IFLNK) return EINVAL;
    return { type: 'Rreadlink', tag: 0, target: fs.readlinkSync(this.host(f.comps), 'utf8') };
  }

  private statfs(m: Msg<'Tstatfs'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    // statfs(2) follows symlinks: ask about a symlink's directory instead.
    const comps = f.kind === S_IFLNK ? f.comps.slice(0, -1) : f.comps;
    const s = fs.statfsSync(this.host(comps), { bigint: true });
    return {
      type: 'Rstatfs', tag: 0, fsType: Number(s.type), bsize: Number(s.bsize), blocks: s.blocks, bfree: s.bfree,
      bavail: s.bavail, files: s.files, ffree: s.ffree, fsid: 0n, namelen: 255,
    };
  }

  // ---- write side ----

  private lcreate(m: Msg<'Tlcreate'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.fid);
    if (typeof d === 'number') return d;
    if (d.fd >= 0) return EBUSY;
    if (badName(m.name, false)) return EINVAL;
    const comps = [...d.comps, m.name];
    const path = this.host(comps);
    const flags = (m.flags & (LOPEN_PASS & ~O_DIRECTORY)) | (m.flags & O_EXCL) |
      O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
    const fd = fs.openSync(path, flags, m.mode & 0o7777);
    let st: fs.BigIntStats;
    try {
      this.chownNew(path, d.uid, m.gid);
      st = fs.fstatSync(fd, { bigint: true });
    } catch (e) { fs.closeSync(fd); throw e; }
    // Tlcreate turns the directory fid into the new, open file.
    d.comps = comps;
    d.kind = Number(st.mode) & S_IFMT;
    d.fd = fd;
    d.flags = m.flags;
    d.seekable = d.kind === S_IFREG;
    d.listing = null;
    return { type: 'Rlcreate', tag: 0, qid: qidOf(st), iounit: this.iounit() };
  }

  private write(m: Msg<'Twrite'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
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
    const path = this.host([...d.comps, m.name]);
    fs.mkdirSync(path, m.mode & 0o7777);
    this.chownNew(path, d.uid, m.gid);
    return { type: 'Rmkdir', tag: 0, qid: qidOf(fs.lstatSync(path, { bigint: true })) };
  }

  private symlink(m: Msg<'Tsymlink'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.fid);
    if (typeof d === 'number') return d;
    if (badName(m.name, false) || m.symtgt.includes('\0')) return EINVAL;
    const path = this.host([...d.comps, m.name]);
    fs.symlinkSync(m.symtgt, path);
    this.chownNew(path, d.uid, m.gid);
    return { type: 'Rsymlink', tag: 0, qid: qidOf(fs.lstatSync(path, { bigint: true })) };
  }

  private link(m: Msg<'Tlink'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.dfid);
    if (typeof d === 'number') return d;
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (badName(m.name, false)) return EINVAL;
    if (f.kind === S_IFDIR) return EPERM;
    fs.linkSync(this.host(f.comps), this.host([...d.comps, m.name])); // link(2) does not follow a symlink
    return { type: 'Rlink', tag: 0 };
  }

  private mknod(m: Msg<'Tmknod'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.dfid);
    if (typeof d === 'number') return d;
    if (badName(m.name, false)) return EINVAL;
    const fmt = m.mode & S_IFMT;
    // Node has no mknod(2): regular files only. Device nodes are never made
    // (the Sentry has its own /dev); FIFOs and sockets need a libc binding.
    if (fmt !== 0 && fmt !== S_IFREG) return EPERM;
    const path = this.host([...d.comps, m.name]);
    fs.closeSync(fs.openSync(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, m.mode & 0o7777));
    this.chownNew(path, d.uid, m.gid);
    return { type: 'Rmknod', tag: 0, qid: qidOf(fs.lstatSync(path, { bigint: true })) };
  }

  /** Moves every fid at or below `from` to the same place below `to`. */
  private rebase(from: string[], to: string[]): void {
    for (const f of this.fids.values()) {
      if (f.comps.length < from.length) continue;
      let under = true;
      for (let i = 0; i < from.length; i++) if (f.comps[i] !== from[i]) { under = false; break; }
      if (under) f.comps = [...to, ...f.comps.slice(from.length)];
    }
  }

  private doRename(from: string[], to: string[]): void {
    fs.renameSync(this.host(from), this.host(to));
    this.rebase(from, to);
  }

  private renameat(m: Msg<'Trenameat'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const od = this.dirFid(m.olddirfid);
    if (typeof od === 'number') return od;
    const nd = this.dirFid(m.newdirfid);
    if (typeof nd === 'number') return nd;
    if (badName(m.oldname, false) || badName(m.newname, false)) return EINVAL;
    this.doRename([...od.comps, m.oldname], [...nd.comps, m.newname]);
    return { type: 'Rrenameat', tag: 0 };
  }

  private rename(m: Msg<'Trename'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    if (f.comps.length === 0) return EBUSY;
    const nd = this.dirFid(m.dfid);
    if (typeof nd === 'number') return nd;
    if (badName(m.name, false)) return EINVAL;
    this.doRename(f.comps.slice(), [...nd.comps, m.name]);
    return { type: 'Rrename', tag: 0 };
  }

  private unlinkat(m: Msg<'Tunlinkat'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const d = this.dirFid(m.dirfid);
    if (typeof d === 'number') return d;
    if (badName(m.name, false)) return EINVAL;
    if ((m.flags & ~AT_REMOVEDIR) !== 0) return EINVAL;
    const path = this.host([...d.comps, m.name]);
    if (m.flags & AT_REMOVEDIR) fs.rmdirSync(path); else fs.unlinkSync(path);
    return { type: 'Runlinkat', tag: 0 };
  }

  private remove(m: Msg<'Tremove'>): Reply {
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    // Tremove clunks the fid whether or not the removal succeeds.
    this.release(f);
    this.fids.delete(m.fid);
    if (this.opts.readOnly) return EROFS;
    if (f.comps.length === 0) return EBUSY;
    const path = this.host(f.comps);
    if (f.kind === S_IFDIR) fs.rmdirSync(path); else fs.unlinkSync(path);
    return { type: 'Rremove', tag: 0 };
  }

  private setattr(m: Msg<'Tsetattr'>): Reply {
    if (this.opts.readOnly) return EROFS;
    const f = this.fids.get(m.fid);
    if (f === undefined) return EBADF;
    const path = this.host(f.comps);
    const isLink = f.kind === S_IFLNK;
    const v = m.valid;
    if (v & SETATTR_MODE) {
      if (f.fd >= 0) fs.fchmodSync(f.fd, m.mode & 0o7777);
      else if (isLink) return EOPNOTSUPP; // as fchmodat(AT_SYMLINK_NOFOLLOW)
      else fs.chmodSync(path, m.mode & 0o7777);
    }
    if (v & (SETATTR_UID | SETATTR_GID)) {
      fs.lchownSync(path, v & SETATTR_UID ? m.uid : -1, v & SETATTR_GID ? m.gid : -1);
    }
    if (v & SETATTR_SIZE) {
      if (f.kind === S_IFDIR) return EISDIR;
      if (f.kind !== S_IFREG) return EINVAL;
      if (m.size > BigInt(Number.MAX_SAFE_INTEGER)) return EINVAL;
      if (f.fd >= 0 && (f.flags & O_ACCMODE) !== O_RDONLY) fs.ftruncateSync(f.fd, Number(m.size));
      else fs.truncateSync(path, Number(m.size));
    }
    if (v & (SETATTR_ATIME | SETATTR_MTIME)) {
      const cur = fs.lstatSync(path, { bigint: true });
      const now = Date.now() / 1000;
      const secs = (s: bigint, ns: bigint): number => Number(BigInt.asIntN(64, s)) + Number(ns) / 1e9;
      const at = !(v & SETATTR_ATIME) ? secs(cur.atimeNs / NS, cur.atimeNs % NS)
        : v & SETATTR_ATIME_SET ? secs(m.atimeSec, m.atimeNsec) : now;
      const mt = !(v & SETATTR_MTIME) ? secs(cur.mtimeNs / NS, cur.mtimeNs % NS)
        : v & SETATTR_MTIME_SET ? secs(m.mtimeSec, m.mtimeNsec) : now;
      fs.lutimesSync(path, at, mt);
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
