// Unix domain sockets (AF_UNIX): stream, datagram and seqpacket, connected in
// pairs by socketpair(2) or through names by bind/listen/connect/accept, with
// Linux's rules for EOF, shutdown(2), EPIPE (+SIGPIPE), truncation, blocking
// and readiness (net/unix/af_unix.c).
//
// Names: a path (bind makes a socket file in the VFS; connect resolves the
// path and finds the socket bound to that file's inode), an abstract name
// (sun_path starting with NUL, in the sandbox's NetStack), or autobind's
// abstract five hex digits. A listener keeps a queue of embryo sockets that
// connect made (at most backlog + 1, as unix_recvq_full allows); connect
// completes at once, accept takes the embryo.
//
// Each socket owns its receive queue of packets. A packet carries its bytes,
// the descriptions passed with SCM_RIGHTS (one reference each, held while in
// flight), the sender's credentials and address. The bytes are charged to
// the sender (its "wmem") until the receiver consumes the packet, so the
// sender blocks, or fails with EAGAIN, once its send buffer is full, as on
// Linux; POLLOUT holds while less than a quarter of the send buffer is in
// flight.
//
// Wakeups carry keys: data arriving notifies the receiver POLLIN, data
// consumed notifies the sender POLLOUT (a TCP sender only once it ran out of
// space, as Linux's TCP does), shutdown and close notify everything.
//
// The stream machinery also carries the Sentry's loopback TCP connections
// (sentry/net/tcp.ts), which differ only in what shutdown(SHUT_RD) tells the
// peer.
//
// Not modelled: the garbage collector for descriptions in flight in a cycle
// (a socket sent over itself and closed leaks until the sandbox exits),
// MSG_OOB, peek offsets, the datagram receive-queue limit (max_dgram_qlen).
import {
  EADDRINUSE, EAGAIN, ECONNREFUSED, ECONNRESET, EFAULT, EINVAL, EISCONN, EMSGSIZE, ENOTCONN, EOPNOTSUPP,
  EPERM, EPIPE, EPROTOTYPE,
} from '../../src/abi/errno';
import {
  AF_UNIX, AF_UNSPEC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, POLLRDHUP, POLLWRBAND,
  SO_PASSCRED, SO_PEERCRED, SO_REUSEPORT, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET, TIOCOUTQ,
} from '../../src/abi/linux';
import { SockaddrUn, Ucred } from '../../src/abi/layout';
import type { Task } from '../kernel/task';
import { int32Bytes, optInt, Socket, type Control, type Creds, type Received } from '../net/socket';
import { netStack } from '../net/stack';
import type { FileDescription, ReadResult, Stat } from './file';
import {
  AT_FDCWD, FIONREAD, O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, S_IFMT, S_IFSOCK,
  SIGPIPE,
} from './linuxconst';
import { MAY_WRITE, fsSubject } from './perm';

export type { Creds, Received } from '../net/socket';

/** sk_shutdown bits. */
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;
const SHUTDOWN_MASK = RCV_SHUTDOWN | SEND_SHUTDOWN;
/** What each packet costs its sender beyond its bytes (Linux charges skb truesize). */
const PACKET_OVERHEAD = 256;
/** net.core.somaxconn: listen's backlog ceiling. */
export const SOMAXCONN = 4096;
/** offsetof(struct sockaddr_un, sun_path). */
const SUN_PATH_OFFSET = 2;

interface Packet {
  data: Uint8Array;
  /** Descriptions passed with SCM_RIGHTS (a reference each), or null. */
  rights: FileDescription[] | null;
  creds: Creds;
  sender: UnixSocket;
  /** The sender's address when it sent, or null (unnamed). */
  from: Uint8Array | null;
  charge: number;
}

/** A socket's credentials as SO_PEERCRED reports them: the creator's tgid, euid, egid. */
export function credsOf(t: Task): Creds {
  return { pid: t.pid, uid: t.creds.euid, gid: t.creds.egid };
}

/** SO_PEERCRED of a socket with no peer: pid 0, uid and gid -1. */
const NO_CREDS: Creds = { pid: 0, uid: 0xffffffff, gid: 0xffffffff };

/** A parsed AF_UNIX address: a path, an abstract name, or (bind only) a request to autobind. */
type UnixName = { path: string } | { abstract: string } | { autobind: true };

/** unix_validate_addr and unix_mkname: the name in addr, or -EINVAL. */
function parseName(addr: Uint8Array, forBind: boolean): UnixName | number {
  if (addr.length < SUN_PATH_OFFSET || new DataView(addr.buffer, addr.byteOffset).getUint16(0, true) !== AF_UNIX) return -EINVAL;
  if (addr.length === SUN_PATH_OFFSET) return forBind ? { autobind: true } : -EINVAL;
  if (addr.length > SockaddrUn.size) return -EINVAL;
  const path = addr.subarray(SUN_PATH_OFFSET);
  if (path[0] === 0) return { abstract: Buffer.from(path).toString('latin1') };
  const nul = path.indexOf(0);
  return { path: Buffer.from(nul < 0 ? path : path.subarray(0, nul)).toString('latin1') };
}

/** The sockaddr_un getsockname reports for a name. */
function nameBytes(n: { path: string } | { abstract: string }): Uint8Array {
  const body = 'path' in n ? Buffer.from(`${n.path}\0`, 'latin1') : Buffer.from(n.abstract, 'latin1');
  const b = new Uint8Array(SUN_PATH_OFFSET + body.length);
  new DataView(b.buffer).setUint16(0, AF_UNIX, true);
  b.set(body, SUN_PATH_OFFSET);
  return b;
}

/** An unnamed socket's address: just the family. */
const UNNAMED = new Uint8Array([AF_UNIX, 0]);

export class UnixSocket extends Socket {
  readonly family = AF_UNIX;
  readonly protocol = 0;
  peer: UnixSocket | null = null;
  private readonly recvQ: Packet[] = [];
  /** Bytes (plus overhead) this socket has queued at its peers. */
  private wmem = 0;
  shutdownBits = 0;
  passcred = false;
  /** SO_PEERCRED: the pair's creator, the connecting task (for an accepted socket) or the listener's (for the connector). */
  peerCred: Creds | null;
  /** The bound name (sockaddr_un bytes as getsockname reports them), or null. */
  addr: Uint8Array | null = null;
  private unbind: (() => void) | null = null;
  /** listen(2)'s backlog, or -1 when not listening. */
  private backlog = -1;
  /** The listener's credentials, which connectors see as SO_PEERCRED. */
  private listenCreds: Creds | null = null;
  /** Connections made to this listener that accept has not taken (a reference each). */
  private readonly acceptQ: UnixSocket[] = [];
  /** Closing resets the peer (ECONNRESET): an embryo nobody accepted. */
  resetPeerOnClose = false;
  /**
   * A TCP connection's end: shutdown(SHUT_RD) stays local and closing is a
   * FIN (the peer sees EOF and may still write) rather than a hang-up.
   */
  tcp = false;
  /**
   * TCP: a send found the buffer full or poll found the socket unwritable
   * (Linux's SOCK_NOSPACE). Only then does space freed by the peer's reads
   * wake writers: Linux's TCP, unlike AF_UNIX, sends no POLLOUT edge
   * otherwise.
   */
  private noSpace = false;
  private released = false;

  constructor(readonly type: number, nonblock: boolean, peerCred: Creds | null) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
    this.peerCred = peerCred;
  }

  get isStreamLike(): boolean { return this.type === SOCK_STREAM || this.type === SOCK_SEQPACKET; }
  override get listening(): boolean { return this.backlog >= 0; }

  private nonblocking(flags: number): boolean {
    return (this.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
  }

  // ---- names ----

  override bind(t: Task, addr: Uint8Array): number {
    const n = parseName(addr, true);
    if (typeof n === 'number') return n;
    if (this.addr) return -EINVAL;
    return this.bindName(t, n);
  }

  private bindName(t: Task, n: UnixName): number {
    const stack = netStack(t.kernel);
    if ('autobind' in n) {
      // unix_autobind: "\0" and five hex digits, the first free one.
      for (let i = 0; i < 0x100000; i++) {
        const name = `\0${(stack.nextAutobind++ & 0xfffff).toString(16).padStart(5, '0')}`;
        if (!stack.unixAbstract.has(abstractKey(this.type, name))) return this.bindName(t, { abstract: name });
      }
      return -EADDRINUSE;
    }
    if ('abstract' in n) {
      const key = abstractKey(this.type, n.abstract);
      if (stack.unixAbstract.has(key)) return -EADDRINUSE;
      stack.unixAbstract.set(key, this);
      this.unbind = () => stack.unixAbstract.delete(key);
    } else {
      const loc = t.kernel.vfs.bindSocket(t, n.path);
      if (typeof loc === 'number') return loc;
      const key = fileKey(loc.d.inode.stat());
      stack.unixFiles.set(key, this);
      this.unbind = () => { if (stack.unixFiles.get(key) === this) stack.unixFiles.delete(key); };
    }
    this.addr = nameBytes(n);
    return 0;
  }

  /** unix_find_other: the socket bound to the name in addr, of this socket's type. */
  private findPeer(t: Task, addr: Uint8Array): UnixSocket | number {
    const n = parseName(addr, false);
    if (typeof n === 'number') return n;
    const stack = netStack(t.kernel);
    let other: UnixSocket | undefined;
    if ('abstract' in n) {
      other = stack.unixAbstract.get(abstractKey(this.type, n.abstract));
    } else if ('path' in n) {
      const vfs = t.kernel.vfs;
      const loc = vfs.resolveAt(t, AT_FDCWD, n.path, true, false);
      if (typeof loc === 'number') return loc;
      const w = vfs.access(t, loc, MAY_WRITE, fsSubject(t));
      if (w < 0) return w;
      const st = loc.d.inode.stat();
      if ((st.mode & S_IFMT) !== S_IFSOCK) return -ECONNREFUSED;
      other = stack.unixFiles.get(fileKey(st));
    }
    if (!other || other.released) return -ECONNREFUSED;
    return other.type === this.type ? other : -EPROTOTYPE;
  }

  override sockName(): Uint8Array { return this.addr ?? UNNAMED; }

  override peerName(): Uint8Array | number {
    return this.peer ? this.peer.addr ?? UNNAMED : -ENOTCONN;
  }

  // ---- connections ----

  override listen(t: Task, backlog: number): number {
    if (!this.isStreamLike) return -EOPNOTSUPP;
    if (!this.addr || this.peer) return -EINVAL;
    // As Linux, a negative backlog (an unsigned compare) means the ceiling.
    this.backlog = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
    this.listenCreds = credsOf(t);
    this.queue.notify();
    return 0;
  }

  override connect(t: Task, addr: Uint8Array): number | Promise<number> {
    if (!this.isStreamLike) return this.connectDgram(t, addr);
    const found = this.findPeer(t, addr);
    if (typeof found === 'number') return found;
    if (this.listening) return -EINVAL;
    if (this.peer) return -EISCONN;
    if (this.passcred && !this.addr) this.bindName(t, { autobind: true });
    const listener = found;
    const full = () => listener.acceptQ.length > listener.backlog;
    const finish = (): number => {
      if (!listener.listening || listener.released) return -ECONNREFUSED;
      if (this.peer) return -EISCONN;
      const e = new UnixSocket(this.type, false, credsOf(t));
      e.addr = listener.addr;
      e.passcred = listener.passcred;
      e.resetPeerOnClose = true;
      this.peerCred = listener.listenCreds;
      e.peer = this;
      this.peer = e;
      listener.acceptQ.push(e);
      listener.queue.notify(POLLIN);
      this.queue.notify(POLLOUT);
      return 0;
    };
    if (!listener.listening) return -ECONNREFUSED;
    if (!full()) return finish();
    if (this.nonblocking(0)) return -EAGAIN;
    return this.block(t, () => !full() || !listener.listening || listener.released, [listener.queue], this.deadline(t, 'snd'))
      .then((r) => (r < 0 ? r : finish()));
  }

  private connectDgram(t: Task, addr: Uint8Array): number {
    if (addr.length >= 2 && new DataView(addr.buffer, addr.byteOffset).getUint16(0, true) === AF_UNSPEC) {
      this.peer = null;
      return 0;
    }
    const other = this.findPeer(t, addr);
    if (typeof other === 'number') return other;
    if (other.peer && other.peer !== this) return -EPERM;
    if (this.passcred && !this.addr) this.bindName(t, { autobind: true });
    this.peer = other;
    return 0;
  }

  override accept(t: Task): UnixSocket | number | Promise<UnixSocket | number> {
    if (!this.listening) return -EINVAL;
    const take = (): UnixSocket => {
      const e = this.acceptQ.shift()!;
      e.resetPeerOnClose = false;
      this.queue.notify(POLLOUT);
      return e;
    };
    if (this.acceptQ.length > 0) return take();
    if (this.nonblocking(0)) return -EAGAIN;
    return this.block(t, () => this.acceptQ.length > 0, [this.queue], this.deadline(t, 'rcv')).then((r) => (r < 0 ? r : take()));
  }

  // ---- sending ----

  override sendmsg(t: Task, data: Uint8Array, dest: Uint8Array | null, ctl: Control, flags: number): number | Promise<number> {
    const creds = ctl.creds ?? { pid: t.pid, uid: t.creds.uid, gid: t.creds.gid };
    if (dest && this.type === SOCK_STREAM) {
      this.dropRights(ctl.rights);
      return this.peer ? -EISCONN : -EOPNOTSUPP;
    }
    let target: UnixSocket | null = null;
    if (dest && this.type === SOCK_DGRAM) {
      const other = this.findPeer(t, dest);
      if (typeof other === 'number') { this.dropRights(ctl.rights); return other; }
      target = other;
    }
    return this.send(t, data, ctl.rights, creds, flags, target);
  }

  /**
   * Sends data (with rights, whose references the call takes over, and
   * credentials) to the peer or, for a datagram, to target. Returns bytes sent
   * or -errno; raises SIGPIPE on EPIPE unless MSG_NOSIGNAL.
   */
  send(t: Task, data: Uint8Array, rights: FileDescription[] | null, creds: Creds, flags: number, target: UnixSocket | null = null): number | Promise<number> {
    const r = this.sendStart(t, data, rights, creds, flags, target);
    const done = (n: number) => {
      if (n === -EPIPE && this.type === SOCK_STREAM && (flags & MSG_NOSIGNAL) === 0) t.sendSignal(SIGPIPE);
      return n;
    };
    return r instanceof Promise ? r.then(done) : done(r);
  }

  private dropRights(rights: FileDescription[] | null): void {
    if (rights) for (const f of rights) f.decRef();
  }

  private sendStart(
    t: Task, data: Uint8Array, rights: FileDescription[] | null, creds: Creds, flags: number, target: UnixSocket | null,
  ): number | Promise<number> {
    if (flags & MSG_OOB) { this.dropRights(rights); return -EOPNOTSUPP; }
    if (this.type === SOCK_STREAM) return this.sendStream(t, data, rights, creds, flags);
    const fail = (e: number) => { this.dropRights(rights); return e; };
    if (data.length > this.sndbuf - 32) return fail(-EMSGSIZE);
    const check = (): number => {
      const other = target ?? this.peer;
      if (!other) return -ENOTCONN;
      if (other.released) {
        if (this.type === SOCK_SEQPACKET) return -EPIPE;
        // unix_dgram_sendmsg: the dead peer is forgotten; this send is refused, later ones have no peer.
        if (other === this.peer) this.peer = null;
        return -ECONNREFUSED;
      }
      if (this.shutdownBits & SEND_SHUTDOWN) return -EPIPE;
      if (other.shutdownBits & RCV_SHUTDOWN) return -EPIPE;
      if (target && other.peer && other.peer !== this) return -EPERM;
      return 0;
    };
    const e = check();
    if (e < 0) return fail(e);
    const deliver = () => this.enqueue(target ?? this.peer!, data, rights, creds);
    if (this.wmem < this.sndbuf) return deliver();
    if (this.nonblocking(flags)) return fail(-EAGAIN);
    return this.block(t, () => check() < 0 || this.wmem < this.sndbuf, [this.queue], this.deadline(t, 'snd')).then((r) => {
      if (r < 0) return fail(r);
      const e2 = check();
      if (e2 < 0) return fail(e2);
      return deliver();
    });
  }

  private enqueue(other: UnixSocket, data: Uint8Array, rights: FileDescription[] | null, creds: Creds): number {
    const charge = data.length + PACKET_OVERHEAD;
    this.wmem += charge;
    // The one copy on the way: queued bytes belong to the socket (receives hand out views of them).
    other.recvQ.push({ data: data.slice(), rights, creds, sender: this, from: this.addr, charge });
    other.queue.notify(POLLIN);
    return data.length;
  }

  private streamBlocked(): number {
    const other = this.peer;
    if (!other) return -ENOTCONN;
    if (this.shutdownBits & SEND_SHUTDOWN) return -EPIPE;
    if (other.released || (other.shutdownBits & RCV_SHUTDOWN)) return -EPIPE;
    return 0;
  }

  private sendStream(t: Task, data: Uint8Array, rights: FileDescription[] | null, creds: Creds, flags: number): number | Promise<number> {
    let sent = 0;
    let pendingRights = rights;
    // Sends what fits now; returns true when all is sent.
    const pump = (): number | null => {
      while (sent < data.length) {
        const e = this.streamBlocked();
        if (e < 0) return sent > 0 ? sent : e;
        if (this.wmem >= this.sndbuf) {
          this.noSpace = true;
          return null;
        }
        const room = Math.max(this.sndbuf - this.wmem - PACKET_OVERHEAD, 1);
        const n = Math.min(data.length - sent, room, (this.sndbuf >> 1) - 64);
        // Only the first packet carries the descriptions.
        this.enqueue(this.peer!, data.subarray(sent, sent + n), pendingRights, creds);
        pendingRights = null;
        sent += n;
      }
      return sent;
    };
    const first = this.streamBlocked();
    if (first < 0) { this.dropRights(rights); return first; }
    if (data.length === 0) { this.dropRights(rights); return 0; }
    const r = pump();
    if (r !== null) { this.dropRights(pendingRights); return r; }
    if (this.nonblocking(flags)) {
      this.dropRights(pendingRights);
      return sent > 0 ? sent : -EAGAIN;
    }
    const deadline = this.deadline(t, 'snd');
    return (async () => {
      for (;;) {
        const w = await this.block(t, () => this.streamBlocked() < 0 || this.wmem < this.sndbuf, [this.queue], deadline);
        if (w < 0) { this.dropRights(pendingRights); return sent > 0 ? sent : w; }
        const r2 = pump();
        if (r2 !== null) { this.dropRights(pendingRights); return r2; }
      }
    })();
  }

  // ---- receiving ----

  /** Removes (or with peek, copies) the head packet's first n bytes; uncharges the sender once a packet is consumed. */
  private consume(p: Packet, n: number): void {
    if (n >= p.data.length) {
      this.recvQ.shift();
      p.sender.spaceFreed(p.charge);
    } else {
      p.data = p.data.subarray(n);
    }
  }

  /** The peer consumed charge bytes of this socket's sending. */
  private spaceFreed(charge: number): void {
    this.wmem -= charge;
    if (this.tcp && !this.noSpace) return;
    if (this.wmem * 4 <= this.sndbuf) this.noSpace = false;
    this.queue.notify(POLLOUT);
  }

  private takeRights(p: Packet, peek: boolean): FileDescription[] | null {
    if (!p.rights) return null;
    if (peek) return p.rights.map((f) => f.incRef());
    const r = p.rights;
    p.rights = null;
    return r;
  }

  /** Whether a receive can return now (data, EOF or an error). */
  private canRecv(): boolean {
    return this.recvQ.length > 0 || (this.shutdownBits & RCV_SHUTDOWN) !== 0 || this.err !== 0;
  }

  /** Receives up to len bytes. */
  override recvmsg(t: Task, len: number, flags: number): Received | number | Promise<Received | number> {
    return this.recv(t, len, flags);
  }

  recv(t: Task, len: number, flags: number): Received | number | Promise<Received | number> {
    if (flags & MSG_OOB) return -EOPNOTSUPP;
    // Never connected (or listening): a stream read is EINVAL, a seqpacket one ENOTCONN.
    if (this.isStreamLike && !this.peer) return this.type === SOCK_STREAM ? -EINVAL : -ENOTCONN;
    if (this.type === SOCK_STREAM) return this.recvStream(t, len, flags);
    const take = (): Received | number => {
      const p = this.recvQ[0];
      if (!p) {
        if (this.err) { const e = this.err; this.err = 0; return -e; }
        return { data: new Uint8Array(0), rights: null, creds: null, msgFlags: 0, fullLength: 0, from: null };
      }
      const peek = (flags & MSG_PEEK) !== 0;
      const n = Math.min(len, p.data.length);
      const out: Received = {
        data: p.data.subarray(0, n), rights: this.takeRights(p, peek), creds: p.creds,
        msgFlags: n < p.data.length ? MSG_TRUNC : 0, fullLength: p.data.length, from: p.from,
      };
      if (!peek) this.consume(p, p.data.length);
      return out;
    };
    if (this.canRecv()) return take();
    if (this.nonblocking(flags)) return -EAGAIN;
    return this.block(t, () => this.canRecv(), [this.queue], this.deadline(t, 'rcv')).then((r) => (r < 0 ? r : take()));
  }

  private recvStream(t: Task, len: number, flags: number): Received | number | Promise<Received | number> {
    const peek = (flags & MSG_PEEK) !== 0;
    const target = (flags & MSG_WAITALL) !== 0 && !peek ? len : 1;
    const chunks: Uint8Array[] = [];
    let copied = 0;
    let rights: FileDescription[] | null = null;
    let creds: Creds | null = null;
    let stop = false;
    // Copies what is queued; returns true when the receive is complete.
    const pull = (): boolean => {
      let i = 0;
      while (copied < len && !stop) {
        const p = peek ? this.recvQ[i++] : this.recvQ[0];
        if (!p) break;
        if (creds && this.passcred && (creds.pid !== p.creds.pid || creds.uid !== p.creds.uid || creds.gid !== p.creds.gid)) break;
        creds ??= p.creds;
        const n = Math.min(len - copied, p.data.length);
        chunks.push(p.data.subarray(0, n));
        copied += n;
        const r = this.takeRights(p, peek);
        if (r) { rights = r; stop = true; }
        if (!peek) this.consume(p, n);
        if (peek && r) break;
      }
      return copied >= target || stop;
    };
    const result = (): Received => {
      let data = chunks[0] ?? new Uint8Array(0);
      if (chunks.length > 1) {
        data = new Uint8Array(copied);
        let o = 0;
        for (const c of chunks) { data.set(c, o); o += c.length; }
      }
      return { data, rights, creds, msgFlags: 0, fullLength: copied, from: this.peer?.addr ?? null };
    };
    // Nothing more will come: EOF, a pending error, or copied data to return.
    const finished = (): Received | number | null => {
      if (copied > 0) return (this.shutdownBits & RCV_SHUTDOWN) !== 0 || this.err !== 0 ? result() : null;
      if (this.err) { const e = this.err; this.err = 0; return -e; }
      if (this.shutdownBits & RCV_SHUTDOWN) return result();
      return null;
    };
    if (len === 0) return result();
    if (pull()) return result();
    const f = finished();
    if (f !== null) return f;
    if (this.nonblocking(flags)) return copied > 0 ? result() : -EAGAIN;
    if (copied > 0 && target === 1) return result();
    const deadline = this.deadline(t, 'rcv');
    return (async () => {
      for (;;) {
        const w = await this.block(t, () => this.canRecv(), [this.queue], deadline);
        if (w < 0) return copied > 0 ? result() : w;
        if (pull()) return result();
        const f2 = finished();
        if (f2 !== null) return f2;
      }
    })();
  }

  // ---- FileDescription ----

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    return len === 0 ? new Uint8Array(0) : super.read(t, len, offset);
  }

  override shutdown(how: number): number {
    if (this.isStreamLike && !this.peer) return -ENOTCONN;
    this.shutdownLocal(how + 1);
    return 0;
  }

  /** Sets sk_shutdown bits (RCV_SHUTDOWN, SEND_SHUTDOWN) here and, for a connection, the mirrored ones at the peer. */
  shutdownLocal(mode: number): void {
    this.shutdownBits |= mode;
    this.queue.notify();
    const other = this.peer;
    if (other && !other.released && this.isStreamLike) {
      let peerMode = 0;
      if ((mode & RCV_SHUTDOWN) && !this.tcp) peerMode |= SEND_SHUTDOWN;
      if (mode & SEND_SHUTDOWN) peerMode |= RCV_SHUTDOWN;
      other.shutdownBits |= peerMode;
      other.queue.notify();
    }
  }

  override readiness(): number {
    if (this.listening) return this.acceptQ.length > 0 ? POLLIN | POLLRDNORM : 0;
    let m = 0;
    if (this.err) m |= POLLERR;
    if (this.shutdownBits & RCV_SHUTDOWN) m |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (this.shutdownBits === SHUTDOWN_MASK || (this.isStreamLike && !this.peer)) m |= POLLHUP;
    if (this.recvQ.length > 0) m |= POLLIN | POLLRDNORM;
    if (this.wmem * 4 <= this.sndbuf) m |= POLLOUT | POLLWRNORM | POLLWRBAND;
    else this.noSpace = true;
    return m;
  }

  override ioctl(t: Task, cmd: number, argAddr: number): number {
    if (cmd === FIONREAD) {
      let n = 0;
      if (this.type === SOCK_STREAM) for (const p of this.recvQ) n += p.data.length;
      else n = this.recvQ[0]?.data.length ?? 0;
      return t.mm.writeU32(argAddr, n) ? 0 : -EFAULT;
    }
    if (cmd === TIOCOUTQ) {
      let n = 0;
      const other = this.peer;
      if (other) for (const p of other.recvQ) if (p.sender === this) n += p.data.length;
      return t.mm.writeU32(argAddr, n) ? 0 : -EFAULT;
    }
    return super.ioctl(t, cmd, argAddr) as number;
  }

  override getsockopt(t: Task, level: number, name: number): Uint8Array | number {
    if (level === SOL_SOCKET && name === SO_PEERCRED) return Ucred.encode(this.peerCred ?? NO_CREDS);
    if (level === SOL_SOCKET && name === SO_PASSCRED) return int32Bytes(this.passcred ? 1 : 0);
    return super.getsockopt(t, level, name);
  }

  override setsockopt(t: Task, level: number, name: number, val: Uint8Array): number {
    if (level === SOL_SOCKET && name === SO_PASSCRED) {
      const v = optInt(val);
      if (v === null) return -EINVAL;
      this.passcred = v !== 0;
      return 0;
    }
    // SO_REUSEPORT is for inet sockets only.
    if (level === SOL_SOCKET && name === SO_REUSEPORT && (optInt(val) ?? 0) !== 0) return -EOPNOTSUPP;
    return super.setsockopt(t, level, name, val);
  }

  protected override release(): void {
    this.released = true;
    this.unbind?.();
    this.unbind = null;
    // Connections nobody accepted are reset.
    for (const e of this.acceptQ.splice(0)) e.decRef();
    const other = this.peer;
    if (other && !other.released && this.isStreamLike && other.peer === this) {
      const reset = this.recvQ.length > 0 || this.resetPeerOnClose;
      other.shutdownBits |= this.tcp && !reset ? RCV_SHUTDOWN : SHUTDOWN_MASK;
      if (reset) other.err = ECONNRESET;
    }
    // Unread packets: the passed descriptions close, their senders get their buffer space back.
    for (const p of this.recvQ.splice(0)) {
      this.dropRights(p.rights);
      p.sender.wmem -= p.charge;
      if (p.sender !== this) p.sender.queue.notify(POLLOUT);
    }
    other?.queue.notify();
    this.queue.notify();
  }

}

/** socketpair(2): two connected sockets of type (SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET). */
export function newSocketPair(type: number, nonblock: boolean, creds: Creds | null): [UnixSocket, UnixSocket] {
  if (type !== SOCK_STREAM && type !== SOCK_DGRAM && type !== SOCK_SEQPACKET) throw new Error(`socketpair: type ${type}`);
  const a = new UnixSocket(type, nonblock, creds);
  const b = new UnixSocket(type, nonblock, creds);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** A socket file's identity: what a bound socket is found by. */
function fileKey(st: Stat): string {
  return `${st.dev}:${st.ino}`;
}

/** Abstract names are per socket type: a stream and a datagram socket may share one, as in Linux's hash. */
function abstractKey(type: number, name: string): string {
  return `${type}:${name}`;
}
