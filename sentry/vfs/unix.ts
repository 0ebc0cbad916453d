// Unix domain sockets (AF_UNIX) connected in pairs by socketpair(2): stream,
// datagram and seqpacket, with Linux's rules for EOF, shutdown(2), EPIPE
// (+SIGPIPE), truncation, blocking and readiness (net/unix/af_unix.c).
//
// Each socket owns its receive queue of packets. A packet carries its bytes,
// the descriptions passed with SCM_RIGHTS (one reference each, held while in
// flight) and the sender's credentials. The bytes are charged to the sender
// (its "wmem") until the receiver consumes the packet, so the sender blocks,
// or fails with EAGAIN, once its send buffer is full, as on Linux; POLLOUT
// holds while less than a quarter of the send buffer is in flight.
//
// Wakeups carry keys: data arriving notifies the receiver POLLIN, data
// consumed notifies the sender POLLOUT, shutdown and close notify everything.
//
// Not modelled: the garbage collector for descriptions in flight in a cycle
// (a socket sent over itself and closed leaks until the sandbox exits),
// MSG_OOB, peek offsets, named sockets (bind/connect/listen/accept).
import {
  EAGAIN, ECONNREFUSED, ECONNRESET, EFAULT, EMSGSIZE, ENOTCONN, EOPNOTSUPP, EPIPE,
} from '../../src/abi/errno';
import {
  MSG_DONTWAIT, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, POLLRDHUP, POLLWRBAND,
  SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, TIOCOUTQ,
} from '../../src/abi/linux';
import type { Task } from '../kernel/task';
import { anonStat, FileDescription, type ReadResult, type Stat } from './file';
import {
  FIONREAD, O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, S_IFSOCK, SIGPIPE,
} from './linuxconst';

/** sk_shutdown bits. */
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;
const SHUTDOWN_MASK = RCV_SHUTDOWN | SEND_SHUTDOWN;
/** net.core.wmem_default / rmem_default and the *_max ceilings setsockopt clamps to. */
export const SOCK_BUF_DEFAULT = 212992;
export const SOCK_BUF_MAX = 212992;
const SOCK_MIN_SNDBUF = 4608;
const SOCK_MIN_RCVBUF = 2304;
/** What each packet costs its sender beyond its bytes (Linux charges skb truesize). */
const PACKET_OVERHEAD = 256;
/** Device number sockfs reports in st_dev. */
export const SOCKFS_DEV = 0x08;
let nextSockIno = 1n << 33n;

export interface Creds { pid: number; uid: number; gid: number }

interface Packet {
  data: Uint8Array;
  /** Descriptions passed with SCM_RIGHTS (a reference each), or null. */
  rights: FileDescription[] | null;
  creds: Creds;
  sender: UnixSocket;
  charge: number;
}

/** What one receive produced; the caller owns the references in rights. */
export interface Received {
  data: Uint8Array;
  rights: FileDescription[] | null;
  creds: Creds | null;
  /** MSG_TRUNC when a datagram did not fit. */
  msgFlags: number;
  /** The whole datagram's length (recv with MSG_TRUNC returns it). */
  fullLength: number;
}

/** A socket's credentials as SO_PEERCRED reports them: the creator's tgid, euid, egid. */
export function credsOf(t: Task): Creds {
  return { pid: t.pid, uid: t.creds.euid, gid: t.creds.egid };
}

export class UnixSocket extends FileDescription {
  readonly ino = nextSockIno++;
  peer: UnixSocket | null = null;
  /** The peer of a datagram pair is gone: the next send is ECONNREFUSED, later ones ENOTCONN. */
  private peerDead = false;
  private readonly recvQ: Packet[] = [];
  /** Bytes (plus overhead) this socket has queued at its peer. */
  private wmem = 0;
  shutdownBits = 0;
  /** A pending error (SO_ERROR): ECONNRESET when the peer closed with unread data. */
  err = 0;
  sndbuf = SOCK_BUF_DEFAULT;
  rcvbuf = SOCK_BUF_DEFAULT;
  passcred = false;
  /** Credentials of whoever created the pair (both ends report them as SO_PEERCRED). */
  peerCred: Creds;
  private released = false;

  constructor(readonly type: number, nonblock: boolean, creds: Creds) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
    this.peerCred = creds;
  }

  get isStreamLike(): boolean { return this.type === SOCK_STREAM || this.type === SOCK_SEQPACKET; }

  private nonblocking(flags: number): boolean {
    return (this.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
  }

  // ---- sending ----

  /**
   * Sends data (with rights, whose references the call takes over, and
   * credentials). Returns bytes sent or -errno; raises SIGPIPE on EPIPE unless
   * MSG_NOSIGNAL.
   */
  send(t: Task, data: Uint8Array, rights: FileDescription[] | null, creds: Creds, flags: number): number | Promise<number> {
    const r = this.sendStart(t, data, rights, creds, flags);
    const done = (n: number) => {
      if (n === -EPIPE && this.type === SOCK_STREAM && (flags & MSG_NOSIGNAL) === 0) t.sendSignal(SIGPIPE);
      return n;
    };
    return r instanceof Promise ? r.then(done) : done(r);
  }

  private dropRights(rights: FileDescription[] | null): void {
    if (rights) for (const f of rights) f.decRef();
  }

  private sendStart(t: Task, data: Uint8Array, rights: FileDescription[] | null, creds: Creds, flags: number): number | Promise<number> {
    if (flags & MSG_OOB) { this.dropRights(rights); return -EOPNOTSUPP; }
    if (this.type === SOCK_STREAM) return this.sendStream(t, data, rights, creds, flags);
    const fail = (e: number) => { this.dropRights(rights); return e; };
    if (data.length > this.sndbuf - 32) return fail(-EMSGSIZE);
    const check = (): number => {
      const other = this.peer;
      if (!other) return this.type === SOCK_SEQPACKET ? -EPIPE : -ENOTCONN;
      if (other.released) {
        if (this.type === SOCK_SEQPACKET) return -EPIPE;
        if (this.peerDead) { this.peer = null; this.peerDead = false; return -ECONNREFUSED; }
        return -ENOTCONN;
      }
      if (this.shutdownBits & SEND_SHUTDOWN) return -EPIPE;
      if (other.shutdownBits & RCV_SHUTDOWN) return -EPIPE;
      return 0;
    };
    const e = check();
    if (e < 0) return fail(e);
    if (this.wmem < this.sndbuf) return this.enqueue(data, rights, creds);
    if (this.nonblocking(flags)) return fail(-EAGAIN);
    return t.waitFor(() => check() < 0 || this.wmem < this.sndbuf, [this.queue]).then((r) => {
      if (r < 0) return fail(r);
      const e2 = check();
      if (e2 < 0) return fail(e2);
      return this.enqueue(data, rights, creds);
    });
  }

  private enqueue(data: Uint8Array, rights: FileDescription[] | null, creds: Creds): number {
    const other = this.peer!;
    const charge = data.length + PACKET_OVERHEAD;
    this.wmem += charge;
    other.recvQ.push({ data: data.slice(), rights, creds, sender: this, charge });
    other.queue.notify(POLLIN);
    return data.length;
  }

  private streamBlocked(): number {
    if (this.shutdownBits & SEND_SHUTDOWN) return -EPIPE;
    const other = this.peer;
    if (!other) return -ENOTCONN;
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
        if (this.wmem >= this.sndbuf) return null;
        const room = Math.max(this.sndbuf - this.wmem - PACKET_OVERHEAD, 1);
        const n = Math.min(data.length - sent, room, (this.sndbuf >> 1) - 64);
        // Only the first packet carries the descriptions.
        this.enqueue(data.subarray(sent, sent + n), pendingRights, creds);
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
    return (async () => {
      for (;;) {
        const w = await t.waitFor(() => this.streamBlocked() < 0 || this.wmem < this.sndbuf, [this.queue]);
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
      p.sender.wmem -= p.charge;
      p.sender.queue.notify(POLLOUT);
    } else {
      p.data = p.data.subarray(n);
    }
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
  recv(t: Task, len: number, flags: number): Received | number | Promise<Received | number> {
    if (flags & MSG_OOB) return -EOPNOTSUPP;
    if (this.type === SOCK_STREAM) return this.recvStream(t, len, flags);
    const take = (): Received | number => {
      const p = this.recvQ[0];
      if (!p) {
        if (this.err) { const e = this.err; this.err = 0; return -e; }
        return { data: new Uint8Array(0), rights: null, creds: null, msgFlags: 0, fullLength: 0 };
      }
      const peek = (flags & MSG_PEEK) !== 0;
      const n = Math.min(len, p.data.length);
      const out: Received = {
        data: p.data.slice(0, n), rights: this.takeRights(p, peek), creds: p.creds,
        msgFlags: n < p.data.length ? MSG_TRUNC : 0, fullLength: p.data.length,
      };
      if (!peek) this.consume(p, p.data.length);
      return out;
    };
    if (this.canRecv()) return take();
    if (this.nonblocking(flags)) return -EAGAIN;
    return t.waitFor(() => this.canRecv(), [this.queue]).then((r) => (r < 0 ? r : take()));
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
        chunks.push(p.data.slice(0, n));
        copied += n;
        const r = this.takeRights(p, peek);
        if (r) { rights = r; stop = true; }
        if (!peek) this.consume(p, n);
        if (peek && r) break;
      }
      return copied >= target || stop;
    };
    const result = (): Received => {
      const data = new Uint8Array(copied);
      let o = 0;
      for (const c of chunks) { data.set(c, o); o += c.length; }
      return { data, rights, creds, msgFlags: 0, fullLength: copied };
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
    return (async () => {
      for (;;) {
        const w = await t.waitFor(() => this.canRecv(), [this.queue]);
        if (w < 0) return copied > 0 ? result() : w;
        if (pull()) return result();
        const f2 = finished();
        if (f2 !== null) return f2;
      }
    })();
  }

  // ---- FileDescription ----

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    if (len === 0) return new Uint8Array(0);
    const done = (r: Received | number): ReadResult => {
      if (typeof r === 'number') return r;
      // read(2) has no room for control messages: passed descriptions are closed.
      this.dropRights(r.rights);
      return r.data;
    };
    const r = this.recv(t, len, 0);
    return r instanceof Promise ? r.then(done) : done(r);
  }

  override write(t: Task, data: Uint8Array, offset: number): number | Promise<number> {
    return this.send(t, data, null, credsOf(t), 0);
  }

  /** shutdown(2) with Linux's mode bits (SHUT_RD + 1). */
  shutdown(mode: number): void {
    this.shutdownBits |= mode;
    this.queue.notify();
    const other = this.peer;
    if (other && !other.released && this.isStreamLike) {
      let peerMode = 0;
      if (mode & RCV_SHUTDOWN) peerMode |= SEND_SHUTDOWN;
      if (mode & SEND_SHUTDOWN) peerMode |= RCV_SHUTDOWN;
      other.shutdownBits |= peerMode;
      other.queue.notify();
    }
  }

  override readiness(): number {
    let m = 0;
    if (this.err) m |= POLLERR;
    if (this.shutdownBits & RCV_SHUTDOWN) m |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (this.shutdownBits === SHUTDOWN_MASK) m |= POLLHUP;
    if (this.recvQ.length > 0) m |= POLLIN | POLLRDNORM;
    if (this.wmem * 4 <= this.sndbuf) m |= POLLOUT | POLLWRNORM | POLLWRBAND;
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

  /** setsockopt SO_SNDBUF / SO_RCVBUF: doubled and clamped as Linux does. */
  setBuf(which: 'snd' | 'rcv', val: number): void {
    const v = Math.min(Math.max(val, 0), SOCK_BUF_MAX) * 2;
    if (which === 'snd') {
      this.sndbuf = Math.max(v, SOCK_MIN_SNDBUF);
      this.queue.notify(POLLOUT);
    } else {
      this.rcvbuf = Math.max(v, SOCK_MIN_RCVBUF);
    }
  }

  protected override release(): void {
    this.released = true;
    const other = this.peer;
    if (other && !other.released) {
      if (this.isStreamLike) {
        other.shutdownBits = SHUTDOWN_MASK;
        if (this.recvQ.length > 0) other.err = ECONNRESET;
      } else {
        other.peerDead = true;
      }
    }
    // Unread packets: the passed descriptions close, their senders get their buffer space back.
    for (const p of this.recvQ.splice(0)) {
      this.dropRights(p.rights);
      p.sender.wmem -= p.charge;
      if (p.sender !== this) p.sender.queue.notify(POLLOUT);
    }
    other?.queue.notify();
  }

  override stat(t: Task): Stat { return anonStat(S_IFSOCK | 0o777, this.ino, SOCKFS_DEV); }
  override displayName(): string { return `socket:[${this.ino}]`; }
}

/** socketpair(2): two connected sockets of type (SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET). */
export function newSocketPair(type: number, nonblock: boolean, creds: Creds): [UnixSocket, UnixSocket] {
  if (type !== SOCK_STREAM && type !== SOCK_DGRAM && type !== SOCK_SEQPACKET) throw new Error(`socketpair: type ${type}`);
  const a = new UnixSocket(type, nonblock, creds);
  const b = new UnixSocket(type, nonblock, creds);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
