// Host-network sockets (--network=host): an AF_INET/AF_INET6 socket of the
// workload is a socket of the host, in the network namespace the Sentry
// joined (the container's, for an OCI sandbox). The Sentry passes the
// workload's address and option bytes through unparsed; the host stack does
// the rest, so a container's server is reachable as under runc (docker -p).
//
// Host sockets are non-blocking underneath; a blocking call waits in the
// Sentry without blocking it. Like the sandbox's other host fds, each is
// registered with the host poller (sentry/platform/hostpoll.ts), which
// notifies its wait queue when the host says it may be ready.
import * as host from '../../src/ffi/hostnet';
import { EAGAIN, EINPROGRESS, EINTR, EINVAL, EPIPE } from '../../src/abi/errno';
import { MSG_DONTWAIT, MSG_NOSIGNAL, MSG_TRUNC, SOCK_CLOEXEC, SOCK_NONBLOCK, SOL_SOCKET } from '../../src/abi/linux';
import type { Task } from '../kernel/task';
import type { ReadResult } from '../vfs/file';
import { O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLIN, POLLOUT, SIGPIPE } from '../vfs/linuxconst';
import { Socket, type Control, type Received } from './socket';
import { hostPoller } from '../platform/hostpoll';

const SO_ERROR = 4;
const SO_ACCEPTCONN = 30;
/** Largest single host read (as HostFD's). */
const MAX_CHUNK = 1 << 20;
/** Room getsockopt gives the host for a value (TCP_INFO, the largest common one, is 232 bytes). */
const OPT_ROOM = 512;

function revents(fd: number, events: number): number {
  const pfd = new Uint8Array(8);
  const dv = new DataView(pfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, events, true);
  return host.poll(pfd, 1, 0) > 0 ? dv.getInt16(6, true) : 0;
}

export class HostSocket extends Socket {
  private readonly unregister: (() => void) | null;

  private constructor(readonly fd: number, readonly family: number, readonly type: number, readonly protocol: number, nonblock: boolean) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
    this.unregister = hostPoller().register(fd, this.queue);
  }

  /** A new host socket, or -errno. */
  static create(family: number, type: number, protocol: number, nonblock: boolean): HostSocket | number {
    const fd = host.socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    return fd < 0 ? -host.errno() : new HostSocket(fd, family, type, protocol, nonblock);
  }

  private get nonblocking(): boolean { return (this.flags & O_NONBLOCK) !== 0; }

  /** Waits until the host fd has one of events (or an error or hangup); 0 or -EINTR. */
  private async waitHost(t: Task, events: number): Promise<number> {
    const r = await t.waitFor(() => revents(this.fd, events | POLLERR | POLLHUP) !== 0, [this.queue]);
    return r === -EINTR ? r : 0;
  }

  /** Runs op (a non-blocking host call returning -errno on failure); while it would block, waits for events unless dontwait. */
  private retry<T>(t: Task, op: () => T | number, events: number, dontwait: boolean): T | number | Promise<T | number> {
    const r = op();
    if (r !== -EAGAIN || dontwait) return r;
    return this.waitHost(t, events).then((w) => (w < 0 ? w : this.retry(t, op, events, dontwait)));
  }

  override bind(t: Task, addr: Uint8Array): number {
    return host.bind(this.fd, addr, addr.length) < 0 ? -host.errno() : 0;
  }

  override connect(t: Task, addr: Uint8Array): number | Promise<number> {
    if (host.connect(this.fd, addr, addr.length) === 0) return 0;
    const e = host.errno();
    if (e !== EINPROGRESS || this.nonblocking) return -e;
    // A blocking connect: its outcome is the socket's pending error once it is writable.
    return this.waitHost(t, POLLOUT).then((w) => {
      if (w < 0) return w;
      const err = host.getsockopt(this.fd, SOL_SOCKET, SO_ERROR, 4);
      return typeof err === 'number' ? err : -new DataView(err.buffer).getInt32(0, true);
    });
  }

  override listen(t: Task, backlog: number): number {
    return host.listen(this.fd, backlog) < 0 ? -host.errno() : 0;
  }

  override accept(t: Task): Socket | number | Promise<Socket | number> {
    return this.retry(t, () => {
      const fd = host.accept4(this.fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      return fd < 0 ? -host.errno() : new HostSocket(fd, this.family, this.type, this.protocol, false);
    }, POLLIN, this.nonblocking);
  }

  override sendmsg(t: Task, data: Uint8Array, dest: Uint8Array | null, ctl: Control, flags: number): number | Promise<number> {
    if (ctl.rights || ctl.creds) {
      for (const f of ctl.rights ?? []) f.decRef();
      return -EINVAL;
    }
    const r = this.retry(t, () => {
      const n = host.sendto(this.fd, data, data.length, flags | MSG_DONTWAIT | MSG_NOSIGNAL, dest, dest?.length ?? 0);
      return n < 0 ? -host.errno() : n;
    }, POLLOUT, this.nonblocking || (flags & MSG_DONTWAIT) !== 0);
    const sigpipe = (n: number): number => {
      if (n === -EPIPE && (flags & MSG_NOSIGNAL) === 0) t.sendSignal(SIGPIPE);
      return n;
    };
    return r instanceof Promise ? r.then(sigpipe) : sigpipe(r);
  }

  override recvmsg(t: Task, len: number, flags: number): Received | number | Promise<Received | number> {
    return this.retry(t, (): Received | number => {
      const r = host.recvfrom(this.fd, Math.min(len, MAX_CHUNK), flags | MSG_DONTWAIT);
      if (typeof r === 'number') return r;
      const data = r.data.subarray(0, Math.min(r.n, len));
      return { data, rights: null, creds: null, msgFlags: r.n > len ? MSG_TRUNC : 0, fullLength: r.n, from: r.from.length ? r.from : null };
    }, POLLIN, this.nonblocking || (flags & MSG_DONTWAIT) !== 0);
  }

  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    const r = this.recvmsg(t, len, 0);
    const data = (x: Received | number): ReadResult => (typeof x === 'number' ? x : x.data);
    return r instanceof Promise ? r.then(data) : data(r);
  }

  override write(t: Task, data: Uint8Array, offset: number): number | Promise<number> {
    return this.sendmsg(t, data, null, { rights: null, creds: null }, 0);
  }

  override shutdown(how: number): number {
    return host.shutdown(this.fd, how) < 0 ? -host.errno() : 0;
  }

  override sockName(): Uint8Array {
    const a = host.getsockname(this.fd);
    return typeof a === 'number' ? new Uint8Array(0) : a;
  }

  override peerName(): Uint8Array | number {
    return host.getpeername(this.fd);
  }

  override get listening(): boolean {
    const v = host.getsockopt(this.fd, SOL_SOCKET, SO_ACCEPTCONN, 4);
    return typeof v !== 'number' && new DataView(v.buffer).getInt32(0, true) !== 0;
  }

  /** Every level goes to the host: its values are the truth. */
  override getsockopt(t: Task, level: number, name: number): Uint8Array | number {
    return host.getsockopt(this.fd, level, name, OPT_ROOM);
  }

  override setsockopt(t: Task, level: number, name: number, val: Uint8Array): number {
    return host.setsockopt(this.fd, level, name, val, val.length) < 0 ? -host.errno() : 0;
  }

  override readiness(): number {
    return revents(this.fd, POLLIN | POLLOUT);
  }

  protected override release(): void {
    this.unregister?.();
    host.close(this.fd);
  }
}
