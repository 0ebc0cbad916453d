// TCP over the Sentry's loopback: a connection is a reliable byte stream
// between two sockets of the sandbox, carried by a pair of stream endpoints
// from sentry/vfs/unix.ts (in TCP mode) that share their sockets' wait
// queues, so poll/epoll/select see them. No packets, no handshake: connect
// finds the listener in the port table and queues an embryo connection on it
// (at most backlog + 1 wait, as Linux's sk_acceptq_is_full allows; further
// connectors wait for accept). Non-blocking connect answers EINPROGRESS and
// the outcome shows as POLLOUT and SO_ERROR, as it does on Linux's lo.
//
// Not modelled: TIME_WAIT, urgent data, the RST a write to a closed peer
// draws (the write fails with EPIPE at once), TCP_INFO.
import {
  EADDRINUSE, EAGAIN, EALREADY, ECONNREFUSED, EINPROGRESS, EINVAL, EISCONN, ENETUNREACH, ENOPROTOOPT, ENOTCONN, EPIPE,
} from '../../src/abi/errno';
import {
  AF_UNSPEC, IPPROTO_TCP, MSG_DONTWAIT, MSG_NOSIGNAL, SOCK_STREAM, SOL_TCP, TCP_CORK, TCP_DEFER_ACCEPT, TCP_KEEPCNT,
  TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_MAXSEG, TCP_NODELAY, TCP_QUICKACK, TCP_USER_TIMEOUT, POLLRDHUP,
} from '../../src/abi/linux';
import type { Task } from '../kernel/task';
import { O_NONBLOCK, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, SIGPIPE } from '../vfs/linuxconst';
import { newSocketPair, SOMAXCONN, type UnixSocket } from '../vfs/unix';
import { destination, InetSocket, isLoopback, type Endpoint } from './inet';
import type { PortTable } from './ports';
import { int32Bytes, optInt, type Control, type Received } from './socket';
import type { NetStack } from './stack';

/** SOL_TCP options stored and reported, with Linux's defaults on lo. */
const TCP_DEFAULTS = new Map<number, number>([
  [TCP_NODELAY, 0], [TCP_MAXSEG, 536], [TCP_CORK, 0], [TCP_KEEPIDLE, 7200], [TCP_KEEPINTVL, 75], [TCP_KEEPCNT, 9],
  [TCP_DEFER_ACCEPT, 0], [TCP_QUICKACK, 1], [TCP_USER_TIMEOUT, 0],
]);

export class TcpSocket extends InetSocket {
  readonly type = SOCK_STREAM;
  readonly protocol = IPPROTO_TCP;
  /** This end of the connection's byte stream, once connected. */
  private conn: UnixSocket | null = null;
  /** listen(2)'s backlog, or -1. */
  private backlog = -1;
  private readonly acceptQ: TcpSocket[] = [];
  /** A non-blocking connect whose completion connect(2) has not yet reported. */
  private connectUnreported = false;
  /** A refused or reset connection: reads see EOF, poll sees POLLHUP. */
  private closed = false;
  /** A non-blocking connect waiting for room in a full listener's queue: cancels the wait. */
  private pendingConnect: (() => void) | null = null;

  constructor(family: number, nonblock: boolean, stack: NetStack) {
    super(family, nonblock, stack);
  }

  protected override get ports(): PortTable { return this.stack.tcp; }
  override get listening(): boolean { return this.backlog >= 0; }

  override listen(t: Task, backlog: number): number {
    if (this.conn || this.pendingConnect) return -EINVAL;
    const b = this.autobind();
    if (b < 0) return b;
    if (!this.listening && !this.ports.mayListen(this)) return -EADDRINUSE;
    this.backlog = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
    this.queue.notify();
    return 0;
  }

  private nonblocking(): boolean { return (this.flags & O_NONBLOCK) !== 0; }

  override connect(t: Task, addr: Uint8Array): number | Promise<number> {
    if (addr.length >= 2 && new DataView(addr.buffer, addr.byteOffset).getUint16(0, true) === AF_UNSPEC) {
      return this.conn || this.listening ? -EINVAL : 0;
    }
    if (this.listening) return -EISCONN;
    if (this.pendingConnect) return -EALREADY;
    if (this.conn) {
      if (!this.connectUnreported) return -EISCONN;
      this.connectUnreported = false;
      return 0;
    }
    const ep = this.parse(addr);
    if (typeof ep === 'number') return ep;
    const dst = { ip: destination(ep.ip), port: ep.port };
    if (!isLoopback(dst.ip)) return -ENETUNREACH;
    const b = this.autobind();
    if (b < 0) return b;
    this.pinSource(dst.ip);
    this.err = 0;
    this.closed = false;
    const listener = this.findListener(dst);
    if (!listener) {
      if (!this.nonblocking()) return -ECONNREFUSED;
      this.refused();
      return -EINPROGRESS;
    }
    if (!listener.full()) {
      this.establish(listener, dst);
      if (!this.nonblocking()) return 0;
      this.connectUnreported = true;
      return -EINPROGRESS;
    }
    // The listener's queue is full: Linux drops the SYN and the client retries.
    const ready = () => !listener.listening || !listener.full();
    const finish = (): number => {
      if (!listener.listening) { this.refused(); return -ECONNREFUSED; }
      this.establish(listener, dst);
      return 0;
    };
    if (!this.nonblocking()) return t.waitFor(ready, [listener.queue]).then((r) => (r < 0 ? r : finish()));
    const stop = listener.queue.watch(() => {
      if (!ready()) return;
      this.pendingConnect = null;
      stop();
      if (finish() === 0) this.connectUnreported = true;
      this.queue.notify();
    });
    this.pendingConnect = stop;
    return -EINPROGRESS;
  }

  private full(): boolean { return this.acceptQ.length > this.backlog; }

  private findListener(dst: Endpoint): TcpSocket | null {
    for (const u of this.ports.lookup(dst.port, dst.ip)) {
      if (u instanceof TcpSocket && u.listening) return u;
    }
    return null;
  }

  /** A connection attempt found no listener: the socket is closed with ECONNREFUSED pending. */
  private refused(): void {
    this.ports.unbind(this);
    this.local = null;
    this.err = ECONNREFUSED;
    this.closed = true;
    this.queue.notify();
  }

  /** Connects to listener: an embryo socket waits in its accept queue with the other end of the stream. */
  private establish(listener: TcpSocket, dst: Endpoint): void {
    const [mine, theirs] = newSocketPair(SOCK_STREAM, false, null);
    const embryo = new TcpSocket(listener.family, false, this.stack);
    embryo.local = { ip: dst.ip, port: dst.port };
    embryo.remote = { ...this.local! };
    embryo.sndbuf = listener.sndbuf;
    embryo.rcvbuf = listener.rcvbuf;
    for (const [k, v] of listener.stored) embryo.stored.set(k, v);
    this.remote = dst;
    this.conn = mine;
    embryo.conn = theirs;
    for (const [s, end] of [[this, mine], [embryo, theirs]] as const) {
      end.queue = s.queue;
      end.tcp = true;
      end.sndbuf = s.sndbuf;
      end.timeouts = s.timeouts;
    }
    theirs.resetPeerOnClose = true;
    listener.acceptQ.push(embryo);
    listener.queue.notify(POLLIN);
    this.queue.notify(POLLOUT);
  }

  override accept(t: Task): TcpSocket | number | Promise<TcpSocket | number> {
    if (!this.listening) return -EINVAL;
    const take = (): TcpSocket => {
      const e = this.acceptQ.shift()!;
      e.conn!.resetPeerOnClose = false;
      this.queue.notify(POLLOUT);
      return e;
    };
    if (this.acceptQ.length > 0) return take();
    if (this.nonblocking()) return -EAGAIN;
    return this.block(t, () => this.acceptQ.length > 0 || !this.listening, [this.queue], this.deadline(t, 'rcv'))
      .then((r) => (r < 0 ? r : this.listening ? take() : -EINVAL));
  }

  override sendmsg(t: Task, data: Uint8Array, dest: Uint8Array | null, ctl: Control, flags: number): number | Promise<number> {
    if (ctl.rights || ctl.creds) {
      for (const f of ctl.rights ?? []) f.decRef();
      return -EINVAL;
    }
    if (!this.conn) {
      const e = this.takeErr();
      if (e) return -e;
      if ((flags & MSG_NOSIGNAL) === 0) t.sendSignal(SIGPIPE);
      return -EPIPE;
    }
    return this.conn.send(t, data, null, NO_CREDS, this.withNonblock(flags));
  }

  private withNonblock(flags: number): number {
    return this.nonblocking() ? flags | MSG_DONTWAIT : flags;
  }

  override recvmsg(t: Task, len: number, flags: number): Received | number | Promise<Received | number> {
    if (!this.conn) {
      const e = this.takeErr();
      if (e) return -e;
      return this.closed ? { data: new Uint8Array(0), rights: null, creds: null, msgFlags: 0, fullLength: 0, from: null } : -ENOTCONN;
    }
    const fromless = (r: Received | number): Received | number => (typeof r === 'number' ? r : { ...r, from: null, creds: null });
    const r = this.conn.recv(t, len, this.withNonblock(flags));
    return r instanceof Promise ? r.then(fromless) : fromless(r);
  }

  override shutdown(how: number): number {
    if (this.listening) {
      // Shutting a listener's receive side closes it (tcp_disconnect); accept then fails.
      if (how !== 1) this.stopListening();
      return 0;
    }
    if (!this.conn) return -ENOTCONN;
    this.conn.shutdownLocal(how + 1);
    return 0;
  }

  private stopListening(): void {
    this.backlog = -1;
    for (const e of this.acceptQ.splice(0)) e.decRef();
    this.queue.notify();
  }

  override takeErr(): number {
    return super.takeErr() || this.conn?.takeErr() || 0;
  }

  override readiness(): number {
    if (this.listening) return this.acceptQ.length > 0 ? POLLIN | POLLRDNORM : 0;
    if (this.pendingConnect) return 0;
    if (this.conn) return this.conn.readiness();
    let m = POLLOUT | POLLWRNORM | POLLHUP;
    if (this.closed) m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (this.err) m |= POLLERR;
    return m;
  }

  override ioctl(t: Task, cmd: number, argAddr: number): number | Promise<number> {
    return this.conn ? this.conn.ioctl(t, cmd, argAddr) : super.ioctl(t, cmd, argAddr);
  }

  override getsockopt(t: Task, level: number, name: number): Uint8Array | number {
    if (level !== SOL_TCP) return super.getsockopt(t, level, name);
    const d = TCP_DEFAULTS.get(name);
    if (d === undefined) return -ENOPROTOOPT;
    return int32Bytes(this.stored.get(`${SOL_TCP}:${name}`) ?? d);
  }

  override setsockopt(t: Task, level: number, name: number, val: Uint8Array): number {
    if (level !== SOL_TCP) {
      const r = super.setsockopt(t, level, name, val);
      if (r === 0 && this.conn) this.conn.sndbuf = this.sndbuf;
      return r;
    }
    if (!TCP_DEFAULTS.has(name)) return -ENOPROTOOPT;
    const v = optInt(val);
    if (v === null) return -EINVAL;
    this.stored.set(`${SOL_TCP}:${name}`, v);
    return 0;
  }

  protected override release(): void {
    super.release();
    this.pendingConnect?.();
    this.pendingConnect = null;
    if (this.listening) this.stopListening();
    this.conn?.decRef();
    this.conn = null;
  }

}

const NO_CREDS = { pid: 0, uid: 0, gid: 0 };
