// UDP over the Sentry's loopback: a send finds the receiving socket in the
// port table (exact binds before wildcards; a connected receiver takes only
// its peer's datagrams) and queues the datagram there, or drops it when the
// receiver's buffer is full, as UDP does. A datagram to a port nobody is
// bound to draws the ICMP port-unreachable Linux answers with on lo: a
// connected sender gets ECONNREFUSED on its next call.
import {
  EAGAIN, ECONNREFUSED, EDESTADDRREQ, EFAULT, EINVAL, EMSGSIZE, ENETUNREACH, ENOTCONN, EOPNOTSUPP, EPIPE,
} from '../../src/abi/errno';
import { AF_UNSPEC, IPPROTO_UDP, MSG_DONTWAIT, MSG_OOB, MSG_PEEK, MSG_TRUNC, POLLRDHUP, POLLWRBAND, SOCK_DGRAM } from '../../src/abi/linux';
import type { Task } from '../kernel/task';
import { FIONREAD, O_NONBLOCK, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../vfs/linuxconst';
import { RCV_SHUTDOWN, SEND_SHUTDOWN } from '../vfs/unix';
import { destination, encodeSockaddr, InetSocket, isAny, isLoopback, isV4, sourceFor, V4_ANY, V6_ANY, type Endpoint } from './inet';
import type { PortTable } from './ports';
import type { Control, Received } from './socket';

/** The largest UDP payload over IPv4 and IPv6 (65535 less the headers). */
const MAX_PAYLOAD_V4 = 65507;
const MAX_PAYLOAD_V6 = 65527;
/** What a queued datagram costs the receive buffer beyond its bytes (Linux charges skb truesize). */
const DATAGRAM_OVERHEAD = 768;

interface Datagram { data: Uint8Array; from: Endpoint }

export class UdpSocket extends InetSocket {
  readonly type = SOCK_DGRAM;
  readonly protocol = IPPROTO_UDP;
  private readonly recvQ: Datagram[] = [];
  private rmem = 0;
  private shutdownBits = 0;

  protected override get ports(): PortTable { return this.stack.udp; }
  override get listening(): boolean { return false; }

  override connect(t: Task, addr: Uint8Array): number {
    if (addr.length >= 2 && new DataView(addr.buffer, addr.byteOffset).getUint16(0, true) === AF_UNSPEC) {
      this.disconnect();
      return 0;
    }
    const ep = this.parse(addr);
    if (typeof ep === 'number') return ep;
    const dst = destination(ep.ip);
    if (!isLoopback(dst)) return -ENETUNREACH;
    const b = this.autobind();
    if (b < 0) return b;
    this.pinSource(dst);
    this.remote = { ip: dst, port: ep.port };
    return 0;
  }

  /** udp_disconnect: forgets the peer, and the source address and port unless bind(2) chose them. */
  private disconnect(): void {
    this.remote = null;
    if (!this.local) return;
    if (!this.addrLocked) this.local.ip = this.isV6 ? V6_ANY : V4_ANY;
    if (!this.portLocked) {
      this.ports.unbind(this);
      this.local = null;
    }
  }

  override sendmsg(t: Task, data: Uint8Array, dest: Uint8Array | null, ctl: Control, flags: number): number {
    if (ctl.rights || ctl.creds) {
      for (const f of ctl.rights ?? []) f.decRef();
      return -EINVAL;
    }
    if (flags & MSG_OOB) return -EOPNOTSUPP;
    let to: Endpoint;
    if (dest) {
      const ep = this.parse(dest);
      if (typeof ep === 'number') return ep;
      to = { ip: destination(ep.ip), port: ep.port };
    } else if (this.remote) {
      to = this.remote;
    } else {
      return -EDESTADDRREQ;
    }
    if (data.length > (this.isV6 && !isV4(to.ip) ? MAX_PAYLOAD_V6 : MAX_PAYLOAD_V4)) return -EMSGSIZE;
    if (this.shutdownBits & SEND_SHUTDOWN) return -EPIPE;
    if (!isLoopback(to.ip)) return -ENETUNREACH;
    const e = this.takeErr();
    if (e) return -e;
    const b = this.autobind();
    if (b < 0) return b;
    const from = { ip: isAny(this.local!.ip) ? sourceFor(to.ip) : this.local!.ip, port: this.local!.port };
    const rcv = this.receiverFor(to, from);
    if (!rcv) {
      // ICMP port unreachable: only a connected socket hears of it.
      if (this.remote) { this.err = ECONNREFUSED; this.queue.notify(POLLERR); }
      return data.length;
    }
    rcv.deliver(data, from);
    return data.length;
  }

  private receiverFor(to: Endpoint, from: Endpoint): UdpSocket | null {
    for (const u of this.ports.lookup(to.port, to.ip)) {
      if (!(u instanceof UdpSocket)) continue;
      if (u.remote && (u.remote.port !== from.port || u.remote.ip !== from.ip)) continue;
      return u;
    }
    return null;
  }

  private deliver(data: Uint8Array, from: Endpoint): void {
    const charge = data.length + DATAGRAM_OVERHEAD;
    if (this.rmem + charge > this.rcvbuf || (this.shutdownBits & RCV_SHUTDOWN)) return;
    this.rmem += charge;
    this.recvQ.push({ data: data.slice(), from: { ...from } });
    this.queue.notify(POLLIN);
  }

  override recvmsg(t: Task, len: number, flags: number): Received | number | Promise<Received | number> {
    if (flags & MSG_OOB) return -EOPNOTSUPP;
    const ready = () => this.recvQ.length > 0 || this.err !== 0 || (this.shutdownBits & RCV_SHUTDOWN) !== 0;
    const take = (): Received | number => {
      const d = this.recvQ[0];
      if (!d) {
        const e = this.takeErr();
        return e ? -e : { data: new Uint8Array(0), rights: null, creds: null, msgFlags: 0, fullLength: 0, from: null };
      }
      if ((flags & MSG_PEEK) === 0) {
        this.recvQ.shift();
        this.rmem -= d.data.length + DATAGRAM_OVERHEAD;
      }
      const n = Math.min(len, d.data.length);
      return {
        data: d.data.slice(0, n), rights: null, creds: null, msgFlags: n < d.data.length ? MSG_TRUNC : 0,
        fullLength: d.data.length, from: encodeSockaddr(this.family, d.from),
      };
    };
    if (ready()) return take();
    if ((this.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0) return -EAGAIN;
    return this.block(t, ready, [this.queue], this.deadline(t, 'rcv')).then((r) => (r < 0 ? r : take()));
  }

  override shutdown(how: number): number {
    if (!this.remote) return -ENOTCONN;
    this.shutdownBits |= how + 1;
    this.queue.notify();
    return 0;
  }

  override readiness(): number {
    let m = 0;
    if (this.err) m |= POLLERR;
    if (this.shutdownBits & RCV_SHUTDOWN) m |= POLLRDHUP | POLLIN | POLLRDNORM;
    if (this.shutdownBits === (RCV_SHUTDOWN | SEND_SHUTDOWN)) m |= POLLHUP;
    if (this.recvQ.length > 0) m |= POLLIN | POLLRDNORM;
    return m | POLLOUT | POLLWRNORM | POLLWRBAND;
  }

  override ioctl(t: Task, cmd: number, argAddr: number): number | Promise<number> {
    if (cmd === FIONREAD) return t.mm.writeU32(argAddr, this.recvQ[0]?.data.length ?? 0) ? 0 : -EFAULT;
    return super.ioctl(t, cmd, argAddr);
  }
}
