// The Sentry's synchronous 9P2000.L client for the Gofer.
//
// One request in flight at a time: the Sentry's loop is single-threaded and
// synchronous, so every call writes a request and blocks reading its reply.
// Every failure is a return value: -errno from the Gofer's Rlerror, or -EIO
// once the transport has failed (the Gofer died, or sent bytes we cannot
// decode). After a transport failure the client is dead and every call
// returns -EIO; nothing here throws except on a bug in the caller (e.g. an
// over-long string).
//
// Fids are allocated here. A fid passed in must be one this client handed
// out and not yet clunked.
import { EINVAL, EIO, ENAMETOOLONG, ENOENT, EOPNOTSUPP } from '../../src/abi/errno';
import {
  DecodeError, Encoder, FrameReader, GETATTR_ALL, MAXWELEM, NOFID, NONUNAME, NOTAG, VERSION_9P2000L, decode, decodeDirents, encodeInto, writeAll,
  type DirEntry, type Msg, type MsgName, type Qid,
} from '../../src/p9';
import { close } from '../../src/ffi/libc';

export type { DirEntry, Qid };
export {
  SETATTR_ATIME, SETATTR_ATIME_SET, SETATTR_CTIME, SETATTR_GID, SETATTR_MODE, SETATTR_MTIME, SETATTR_MTIME_SET,
  SETATTR_SIZE, SETATTR_UID, QTDIR, QTFILE, QTSYMLINK,
} from '../../src/p9';

export interface Attr {
  qid: Qid; mode: number; uid: number; gid: number; nlink: number; rdev: number; size: number;
  blksize: number; blocks: number;
  atimeSec: number; atimeNsec: number; mtimeSec: number; mtimeNsec: number; ctimeSec: number; ctimeNsec: number;
}

export interface StatFs {
  type: number; bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number;
  fsid: bigint; namelen: number;
}

/** Tsetattr arguments; only the fields named by `valid` (SETATTR_* bits) are used. */
export interface SetAttr {
  valid: number;
  mode?: number; uid?: number; gid?: number; size?: number;
  atimeSec?: number; atimeNsec?: number; mtimeSec?: number; mtimeNsec?: number;
}

/** What Tlopen/Tlcreate give: see GoferClient.lopen. */
export interface Opened { qid: Qid; iounit: number; hostFd: number }

/** Linux's P9_IOHDRSZ: msize minus this is the most data one Tread/Twrite moves. */
const IOHDRSZ = 24;

/** msize we ask for: 1 MiB of payload plus room for headers. */
export const CLIENT_MSIZE = (1 << 20) + 4096;

/** A u64 on the wire that is really a signed 64-bit time, as a number. */
const i64 = (v: bigint): number => Number(BigInt.asIntN(64, v));

export class GoferClient {
  private readonly enc = new Encoder(64 * 1024);
  private readonly reader: FrameReader;
  private dead = false;
  /** Why the transport failed, for diagnostics; null while healthy. */
  failure: string | null = null;
  /** Negotiated message size. */
  msize = 0;
  /** Called once when the transport fails (the sandbox cannot go on without its files). */
  onDead: ((why: string) => void) | null = null;
  private nextFid = 1;
  private readonly freeFids: number[] = [];
  private readonly liveFids = new Set<number>();
  /** iounit from Rlopen/Rlcreate, by fid. */
  private readonly iounits = new Map<number, number>();
  private tag = 0;

  /**
   * Performs Tversion. On failure the client is dead (see `failure`) and
   * every call returns -EIO. `ordered`: the server answers requests one at a
   * time in order (our Gofer does; 9P does not promise it, and diod's worker
   * threads do not), so a request may use a fid the one written just before
   * it makes, saving round trips.
   */
  constructor(readonly fd: number, private readonly ordered = false) {
    this.reader = new FrameReader(fd, CLIENT_MSIZE, true);
    const r = this.rpc({ type: 'Tversion', tag: NOTAG, msize: CLIENT_MSIZE, version: VERSION_9P2000L }, 'Rversion');
    if (typeof r === 'number') { this.kill(`Tversion failed: errno ${-r}`); return; }
    if (r.version !== VERSION_9P2000L) { this.kill(`server speaks ${JSON.stringify(r.version)}, not 9P2000.L`); return; }
    if (r.msize > CLIENT_MSIZE || r.msize < 4096) { this.kill(`server msize ${r.msize} out of range`); return; }
    this.msize = r.msize;
    this.reader.maxSize = r.msize;
  }

  get alive(): boolean { return !this.dead; }

  // ---- plumbing ----

  private kill(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.failure = why;
    this.onDead?.(why);
  }

  private allocFid(): number {
    const fid = this.freeFids.pop() ?? this.nextFid++;
    this.liveFids.add(fid);
    return fid;
  }

  private freeFid(fid: number): void {
    if (!this.liveFids.delete(fid)) return; // not ours, or freed already
    this.iounits.delete(fid);
    this.freeFids.push(fid);
  }

  /**
   * Sends `m` and returns the reply if it is of type `want`, or -errno: the
   * Rlerror code, or -EIO on any transport or protocol failure.
   */
  private rpc<R extends MsgName>(m: Msg, want: R): Msg<R> | number {
    const out = this.encode(m);
    if (typeof out === 'number') return out;
    const w = this.send(out);
    return w < 0 ? w : this.receive(m, want);
  }

  /**
   * Several requests in one write, their replies read back in order: one
   * round trip to the Gofer instead of several. A request may use a fid an
   * earlier one makes (the server must be ordered); if that one fails, the
   * later ones fail too, harmlessly.
   */
  private pipeline(reqs: readonly (readonly [Msg, MsgName])[]): (Msg | number)[] {
    const parts: Uint8Array[] = [];
    for (const [m] of reqs) {
      const e = this.encode(m);
      if (typeof e === 'number') return reqs.map(() => e);
      parts.push(Uint8Array.from(e)); // a copy: the encoder's buffer is reused (Buffer.slice would not copy)
    }
    const w = this.send(Buffer.concat(parts));
    if (w < 0) return reqs.map(() => w);
    return reqs.map(([m, want]) => this.receive(m, want));
  }

  /** The encoded request (with a fresh tag), or -errno. */
  private encode(m: Msg): Uint8Array | number {
    if (this.dead) return -EIO;
    if (m.type !== 'Tversion') { this.tag = (this.tag + 1) & 0x7fff; m.tag = this.tag; }
    let out: Uint8Array;
    try {
      out = encodeInto(this.enc, m);
    } catch {
      return -ENAMETOOLONG; // a string over 64 KiB: no 9P message can carry it
    }
    if (out.length > (this.msize || CLIENT_MSIZE)) return -ENAMETOOLONG; // names too long for one message
    return out;
  }

  private send(out: Uint8Array): number {
    this.reader.dropFds(); // fds no reply of ours took (none should come)
    const w = writeAll(this.fd, out);
    if (w < 0) { this.kill(`write failed: errno ${-w}`); return -EIO; }
    return 0;
  }

  /** Reads the reply to `m`. */
  private receive<R extends MsgName>(m: Msg, want: R): Msg<R> | number {
    if (this.dead) return -EIO;
    const frame = this.reader.next();
    if (frame === null) { this.kill('the Gofer closed the connection'); return -EIO; }
    if (typeof frame === 'number') { this.kill(`read failed: errno ${-frame}`); return -EIO; }
    const r = decode(frame);
    if (r instanceof DecodeError) { this.kill(`bad reply: ${r.message}`); return -EIO; }
    if (r.tag !== m.tag) { this.kill(`reply tag ${r.tag} for request tag ${m.tag}`); return -EIO; }
    if (r.type === 'Rlerror') return r.ecode > 0 && r.ecode < 4096 ? -r.ecode : -EIO;
    if (r.type !== want) { this.kill(`${r.type} in reply to ${m.type}`); return -EIO; }
    return r as Msg<R>;
  }

  /**
   * Largest payload of one Tread/Twrite/Treaddir for a file with this iounit
   * (0: none given). Like Linux's client we leave P9_IOHDRSZ (24) bytes of
   * msize for headers: servers such as diod refuse counts past that.
   */
  private ioChunk(iounit = 0): number {
    const max = this.msize - IOHDRSZ;
    return iounit > 0 ? Math.min(iounit, max) : max;
  }

  // ---- session and walking ----

  /** Attaches to the export named `aname` ("" or "/" is the root). Returns a new fid, or -errno. */
  attach(aname: string, uid: number = NONUNAME): number {
    const fid = this.allocFid();
    const r = this.rpc({ type: 'Tattach', tag: 0, fid, afid: NOFID, uname: '', aname, nUname: uid }, 'Rattach');
    if (typeof r === 'number') { this.freeFid(fid); return r; }
    return fid;
  }

  /**
   * Walks `names` from `fid` to a new fid; [] clones `fid`. If not every name
   * resolves, returns the error of the first name, -ENOENT for a later one
   * (9P partial walk), and leaves no fid behind. Walks of more than 16 names
   * are split into several Twalks.
   */
  walk(fid: number, names: string[]): { fid: number; qids: Qid[] } | number {
    const newfid = this.allocFid();
    const qids: Qid[] = [];
    let from = fid;
    let i = 0;
    do {
      const chunk = names.slice(i, i + MAXWELEM);
      const r = this.rpc({ type: 'Twalk', tag: 0, fid: from, newfid, wnames: chunk }, 'Rwalk');
      const ok = typeof r !== 'number' && r.wqids.length === chunk.length;
      if (!ok) {
        if (from === newfid) this.clunk(newfid); else this.freeFid(newfid);
        if (typeof r === 'number') return i === 0 ? r : -ENOENT;
        return -ENOENT;
      }
      qids.push(...r.wqids);
      from = newfid;
      i += chunk.length;
    } while (i < names.length);
    return { fid: newfid, qids };
  }

  /** Releases `fid` (its server-side state and open file). Never fails visibly. */
  clunk(fid: number): void {
    this.rpc({ type: 'Tclunk', tag: 0, fid }, 'Rclunk');
    // The fid is gone either way: a 9P server forgets a fid even when Tclunk fails.
    this.freeFid(fid);
  }

  // ---- read side ----

  getattr(fid: number): Attr | number {
    return attrOf(this.rpc({ type: 'Tgetattr', tag: 0, fid, requestMask: BigInt(GETATTR_ALL) }, 'Rgetattr'));
  }

  /**
   * Walks one name from `fid` to a new fid and gets its attributes, in one
   * round trip (Twalk and Tgetattr written together) when the server is
   * ordered. On failure no fid is left.
   */
  walkGetattr(fid: number, name: string): { fid: number; attr: Attr } | number {
    if (!this.ordered) {
      const w = this.walk(fid, [name]);
      if (typeof w === 'number') return w;
      const attr = this.getattr(w.fid);
      if (typeof attr === 'number') { this.clunk(w.fid); return attr; }
      return { fid: w.fid, attr };
    }
    const newfid = this.allocFid();
    const [w, a] = this.pipeline([
      [{ type: 'Twalk', tag: 0, fid, newfid, wnames: [name] }, 'Rwalk'],
      [{ type: 'Tgetattr', tag: 0, fid: newfid, requestMask: BigInt(GETATTR_ALL) }, 'Rgetattr'],
    ]) as [Msg<'Rwalk'> | number, Msg<'Rgetattr'> | number];
    return this.walked(newfid, w, a);
  }

  /** The outcome of a one-name Twalk to newfid and a Tgetattr of it; on failure newfid is released. */
  private walked(newfid: number, w: Msg<'Rwalk'> | number, a: Msg<'Rgetattr'> | number): { fid: number; attr: Attr } | number {
    if (typeof w === 'number' || w.wqids.length !== 1) {
      this.freeFid(newfid);
      return typeof w === 'number' ? w : -ENOENT;
    }
    const attr = attrOf(a);
    if (typeof attr === 'number') { this.clunk(newfid); return attr; }
    return { fid: newfid, attr };
  }

  /**
   * Creates and opens `name` in directory `dirFid` (which stays as it is),
   * and walks a second fid to it with its attributes: the open file and the
   * inode's fid. One round trip with an ordered server (Twalk, Tlcreate,
   * Twalk, Tgetattr written together), four otherwise.
   */
  createWalk(dirFid: number, name: string, flags: number, mode: number, gid: number = NONUNAME):
    { open: Opened & { fid: number }; fid: number; attr: Attr } | number {
    if (!this.ordered) {
      const c = this.walk(dirFid, []);
      if (typeof c === 'number') return c;
      const o = this.lcreate(c.fid, name, flags, mode, gid);
      if (typeof o === 'number') { this.clunk(c.fid); return o; }
      const w = this.walkGetattr(dirFid, name);
      if (typeof w === 'number') { if (o.hostFd >= 0) close(o.hostFd); this.clunk(c.fid); return w; }
      return { open: { ...o, fid: c.fid }, fid: w.fid, attr: w.attr };
    }
    const cfid = this.allocFid();
    const wfid = this.allocFid();
    const [c, o, w, a] = this.pipeline([
      [{ type: 'Twalk', tag: 0, fid: dirFid, newfid: cfid, wnames: [] }, 'Rwalk'],
      [{ type: 'Tlcreate', tag: 0, fid: cfid, name, flags, mode, gid }, 'Rlcreate'],
      [{ type: 'Twalk', tag: 0, fid: dirFid, newfid: wfid, wnames: [name] }, 'Rwalk'],
      [{ type: 'Tgetattr', tag: 0, fid: wfid, requestMask: BigInt(GETATTR_ALL) }, 'Rgetattr'],
    ]) as [Msg<'Rwalk'> | number, Msg<'Rlcreate'> | number, Msg<'Rwalk'> | number, Msg<'Rgetattr'> | number];
    const hostFd = typeof o === 'number' ? -1 : this.donated();
    const walked = this.walked(wfid, w, a);
    if (typeof c === 'number' || typeof o === 'number' || typeof walked === 'number') {
      if (hostFd >= 0) close(hostFd);
      if (typeof c === 'number') this.freeFid(cfid); else this.clunk(cfid);
      if (typeof walked !== 'number') this.clunk(walked.fid);
      return typeof c === 'number' ? c : typeof o === 'number' ? o : walked as number;
    }
    this.iounits.set(cfid, o.iounit);
    return { open: { qid: o.qid, iounit: o.iounit, hostFd, fid: cfid }, fid: walked.fid, attr: walked.attr };
  }

  /**
   * Opens `fid` (which must not be open yet) with Linux open(2) flags.
   * `hostFd` is the open host file the server donated with the reply (our
   * Gofer does for regular files; the caller owns and closes it), or -1.
   */
  lopen(fid: number, flags: number): Opened | number {
    const r = this.rpc({ type: 'Tlopen', tag: 0, fid, flags }, 'Rlopen');
    if (typeof r === 'number') return r;
    this.iounits.set(fid, r.iounit);
    return { qid: r.qid, iounit: r.iounit, hostFd: this.donated() };
  }

  /** The first fd that came with the last reply (the rest closed), or -1. */
  private donated(): number {
    const fds = this.reader.takeFds();
    for (const fd of fds.slice(1)) close(fd);
    return fds[0] ?? -1;
  }

  /**
   * Reads up to `count` bytes at `offset` from an open fid, in as many Treads
   * as msize needs. For a regular file the result is short only at EOF; for a
   * FIFO it is whatever the first Tread returned.
   */
  read(fid: number, offset: number, count: number): Uint8Array | number {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(count) || count < 0) return -EINVAL;
    const chunk = this.ioChunk(this.iounits.get(fid));
    if (count <= chunk) {
      const r = this.rpc({ type: 'Tread', tag: 0, fid, offset: BigInt(offset), count }, 'Rread');
      if (typeof r === 'number') return r;
      if (r.data.length > count) { this.kill('Rread longer than asked'); return -EIO; }
      return r.data.slice(); // the reply is a view into a reused buffer
    }
    // Collect chunks rather than allocating `count` up front: callers may ask
    // for far more than the file holds.
    const parts: Uint8Array[] = [];
    let done = 0;
    while (done < count) {
      const want = Math.min(chunk, count - done);
      const r = this.rpc({ type: 'Tread', tag: 0, fid, offset: BigInt(offset + done), count: want }, 'Rread');
      if (typeof r === 'number') { if (done > 0) break; return r; }
      if (r.data.length > want) { this.kill('Rread longer than asked'); return -EIO; }
      parts.push(r.data.slice());
      done += r.data.length;
      if (r.data.length < want) break; // EOF (or a FIFO with no more data now)
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(done);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  /**
   * Reads directory entries of an open directory fid from cookie `offset`
   * (0 = start, which also refreshes the Gofer's listing). Pass the last
   * entry's `offset` to continue. [] means the end. "." and ".." are never
   * returned. `count` bounds the encoded reply size in bytes.
   */
  readdir(fid: number, offset: bigint, count: number): DirEntry[] | number {
    const r = this.rpc({ type: 'Treaddir', tag: 0, fid, offset, count: Math.min(count, this.ioChunk()) }, 'Rreaddir');
    if (typeof r === 'number') return r;
    const ents = decodeDirents(r.data);
    if (ents instanceof DecodeError) { this.kill(`bad Rreaddir: ${ents.message}`); return -EIO; }
    return ents;
  }

  /** The target of the symlink `fid`; -EINVAL if it is not a symlink. */
  readlink(fid: number): string | number {
    const r = this.rpc({ type: 'Treadlink', tag: 0, fid }, 'Rreadlink');
    return typeof r === 'number' ? r : r.target;
  }

  statfs(fid: number): StatFs | number {
    const r = this.rpc({ type: 'Tstatfs', tag: 0, fid }, 'Rstatfs');
    if (typeof r === 'number') return r;
    return {
      type: r.fsType, bsize: r.bsize, blocks: Number(r.blocks), bfree: Number(r.bfree), bavail: Number(r.bavail),
      files: Number(r.files), ffree: Number(r.ffree), fsid: r.fsid, namelen: r.namelen,
    };
  }

  // ---- write side ----

  /**
   * Creates and opens `name` in directory `dirFid` (9P semantics: `dirFid`
   * itself becomes the new open file; walk([]) it first to keep the directory).
   */
  lcreate(dirFid: number, name: string, flags: number, mode: number, gid: number = NONUNAME): Opened | number {
    const r = this.rpc({ type: 'Tlcreate', tag: 0, fid: dirFid, name, flags, mode, gid }, 'Rlcreate');
    if (typeof r === 'number') return r;
    this.iounits.set(dirFid, r.iounit);
    return { qid: r.qid, iounit: r.iounit, hostFd: this.donated() };
  }

  /** Writes all of `data` at `offset` (ignored for O_APPEND files), in as many Twrites as msize needs. Returns bytes written or -errno. */
  write(fid: number, offset: number, data: Uint8Array): number {
    if (!Number.isSafeInteger(offset) || offset < 0) return -EINVAL;
    const chunk = this.ioChunk(this.iounits.get(fid));
    let done = 0;
    do {
      const part = data.subarray(done, Math.min(data.length, done + chunk));
      const r = this.rpc({ type: 'Twrite', tag: 0, fid, offset: BigInt(offset + done), data: part }, 'Rwrite');
      if (typeof r === 'number') return done > 0 ? done : r;
      if (r.count > part.length) { this.kill('Rwrite count larger than sent'); return -EIO; }
      done += r.count;
      if (r.count < part.length) break;
    } while (done < data.length);
    return done;
  }

  mkdir(dirFid: number, name: string, mode: number, gid: number = NONUNAME): Qid | number {
    const r = this.rpc({ type: 'Tmkdir', tag: 0, dfid: dirFid, name, mode, gid }, 'Rmkdir');
    return typeof r === 'number' ? r : r.qid;
  }

  symlink(dirFid: number, name: string, target: string, gid: number = NONUNAME): Qid | number {
    const r = this.rpc({ type: 'Tsymlink', tag: 0, fid: dirFid, name, symtgt: target, gid }, 'Rsymlink');
    return typeof r === 'number' ? r : r.qid;
  }

  /** Makes `name` in `dirFid` a hard link to the file of `fid`. 0 or -errno. */
  link(dirFid: number, fid: number, name: string): number {
    const r = this.rpc({ type: 'Tlink', tag: 0, dfid: dirFid, fid, name }, 'Rlink');
    return typeof r === 'number' ? r : 0;
  }

  /** `mode` holds the file type bits: our Gofer makes regular files, FIFOs and sockets (device nodes: -EPERM). */
  mknod(dirFid: number, name: string, mode: number, major: number, minor: number, gid: number = NONUNAME): Qid | number {
    const r = this.rpc({ type: 'Tmknod', tag: 0, dfid: dirFid, name, mode, major, minor, gid }, 'Rmknod');
    return typeof r === 'number' ? r : r.qid;
  }

  /**
   * 0 or -errno. Fids below the renamed file follow it. A server without
   * Trenameat (diod) gets Trename of a fid walked to the file, as Linux's
   * v9fs falls back.
   */
  renameat(oldDirFid: number, oldName: string, newDirFid: number, newName: string): number {
    const r = this.rpc({ type: 'Trenameat', tag: 0, olddirfid: oldDirFid, oldname: oldName,
      newdirfid: newDirFid, newname: newName }, 'Rrenameat');
    if (r !== -EOPNOTSUPP) return typeof r === 'number' ? r : 0;
    const w = this.walk(oldDirFid, [oldName]);
    if (typeof w === 'number') return w;
    const rr = this.rpc({ type: 'Trename', tag: 0, fid: w.fid, dfid: newDirFid, name: newName }, 'Rrename');
    this.clunk(w.fid);
    return typeof rr === 'number' ? rr : 0;
  }

  /**
   * `flags` is 0 or AT_REMOVEDIR. 0 or -errno. A server without Tunlinkat
   * (diod) gets Tremove of a fid walked to the file (which cannot tell
   * unlink from rmdir: the VFS has checked the type).
   */
  unlinkat(dirFid: number, name: string, flags: number): number {
    const r = this.rpc({ type: 'Tunlinkat', tag: 0, dirfid: dirFid, name, flags }, 'Runlinkat');
    if (r !== -EOPNOTSUPP) return typeof r === 'number' ? r : 0;
    const w = this.walk(dirFid, [name]);
    return typeof w === 'number' ? w : this.remove(w.fid);
  }

  /** 0 or -errno. Never follows a symlink (a mode change on one is -EOPNOTSUPP). */
  setattr(fid: number, a: SetAttr): number {
    const r = this.rpc({
      type: 'Tsetattr', tag: 0, fid, valid: a.valid, mode: a.mode ?? 0, uid: a.uid ?? 0, gid: a.gid ?? 0,
      size: BigInt(a.size ?? 0), atimeSec: BigInt(a.atimeSec ?? 0), atimeNsec: BigInt(a.atimeNsec ?? 0),
      mtimeSec: BigInt(a.mtimeSec ?? 0), mtimeNsec: BigInt(a.mtimeNsec ?? 0),
    }, 'Rsetattr');
    return typeof r === 'number' ? r : 0;
  }

  /** fsync (or fdatasync) of an open fid. 0 or -errno. */
  fsync(fid: number, datasync = false): number {
    const r = this.rpc({ type: 'Tfsync', tag: 0, fid, datasync: datasync ? 1 : 0 }, 'Rfsync');
    return typeof r === 'number' ? r : 0;
  }

  // ---- extended attributes ----

  /**
   * The value of attribute `name` of `fid`'s file ("" lists the names, each
   * NUL-terminated), or -errno (-ENODATA: no such attribute).
   */
  xattrGet(fid: number, name: string): Uint8Array | number {
    const newfid = this.allocFid();
    const r = this.rpc({ type: 'Txattrwalk', tag: 0, fid, newfid, name }, 'Rxattrwalk');
    if (typeof r === 'number') { this.freeFid(newfid); return r; }
    const size = Number(r.size);
    const data = size === 0 ? new Uint8Array(0) : this.read(newfid, 0, size);
    this.clunk(newfid);
    if (typeof data === 'number') return data;
    return data.length === size ? data : -EIO; // the attribute changed under us
  }

  /** Sets attribute `name` (XATTR_CREATE/XATTR_REPLACE in `flags`); an empty value removes it. 0 or -errno. */
  xattrSet(fid: number, name: string, value: Uint8Array, flags: number): number {
    const w = this.walk(fid, []);
    if (typeof w === 'number') return w;
    const r = this.rpc({ type: 'Txattrcreate', tag: 0, fid: w.fid, name, attrSize: BigInt(value.length), flags }, 'Rxattrcreate');
    if (typeof r === 'number') { this.clunk(w.fid); return r; }
    if (value.length > 0) {
      const n = this.write(w.fid, 0, value);
      if (n !== value.length) { this.clunk(w.fid); return n < 0 ? n : -EIO; }
    }
    // The server sets the attribute when the fid is clunked: its answer is the result.
    const c = this.rpc({ type: 'Tclunk', tag: 0, fid: w.fid }, 'Rclunk');
    this.freeFid(w.fid);
    return typeof c === 'number' ? c : 0;
  }

  /** Removes the file of `fid` and clunks `fid`, even on failure. 0 or -errno. */
  remove(fid: number): number {
    const r = this.rpc({ type: 'Tremove', tag: 0, fid }, 'Rremove');
    this.freeFid(fid);
    return typeof r === 'number' ? r : 0;
  }
}

/** An Rgetattr as Attr (or the -errno passed through). */
function attrOf(r: Msg<'Rgetattr'> | number): Attr | number {
  if (typeof r === 'number') return r;
  return {
    qid: r.qid, mode: r.mode, uid: r.uid, gid: r.gid, nlink: Number(r.nlink), rdev: Number(r.rdev),
    size: Number(r.size), blksize: Number(r.blksize), blocks: Number(r.blocks),
    atimeSec: i64(r.atimeSec), atimeNsec: Number(r.atimeNsec),
    mtimeSec: i64(r.mtimeSec), mtimeNsec: Number(r.mtimeNsec),
    ctimeSec: i64(r.ctimeSec), ctimeNsec: Number(r.ctimeNsec),
  };
}
