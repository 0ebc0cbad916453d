// AF_NETLINK, NETLINK_ROUTE: enough of rtnetlink for getifaddrs(3), `ip
// link` and `ip addr` to see the sandbox's one interface, lo, with
// 127.0.0.1/8 and ::1/128. Requests are answered when sent: RTM_GETLINK and
// RTM_GETADDR (dump or, for links, one by index or name); any other message
// type is answered with an NLMSG_ERROR of EOPNOTSUPP. Each answer (a whole
// dump and its NLMSG_DONE) is one datagram in the socket's receive queue.
// Multicast groups are accepted and never deliver: lo never changes.
import {
  EADDRINUSE, EAGAIN, ECONNREFUSED, EINVAL, ENOBUFS, ENODEV, ENOPROTOOPT, EOPNOTSUPP,
} from '../../src/abi/errno';
import {
  AF_INET, AF_INET6, AF_NETLINK, AF_UNSPEC, MSG_DONTWAIT, MSG_OOB, MSG_PEEK, MSG_TRUNC, NETLINK_ROUTE, SOL_NETLINK,
} from '../../src/abi/linux';
import type { Task } from '../kernel/task';
import { O_NONBLOCK, O_RDWR, POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../vfs/linuxconst';
import { int32Bytes, LO, optInt, Socket, type Control, type Received } from './socket';
import type { NetStack } from './stack';

// <linux/netlink.h>
const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_MULTI = 0x2;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const SOCKADDR_NL_SIZE = 12;
/** SOL_NETLINK options accepted and reported (NETLINK_ADD_MEMBERSHIP .. NETLINK_GET_STRICT_CHK). */
const NETLINK_OPTS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]);
// <linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const IFLA_ADDRESS = 1;
const IFLA_BROADCAST = 2;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_QDISC = 6;
const IFLA_TXQLEN = 13;
const IFLA_OPERSTATE = 16;
const IFLA_LINKMODE = 17;
const IFLA_GROUP = 27;
const IFLA_PROMISCUITY = 30;
const IFLA_NUM_TX_QUEUES = 31;
const IFLA_NUM_RX_QUEUES = 32;
const IFLA_CARRIER = 33;
const IFLA_MIN_MTU = 50;
const IFLA_MAX_MTU = 51;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_CACHEINFO = 6;
const IFA_FLAGS = 8;
const IFA_F_PERMANENT = 0x80;
const RT_SCOPE_HOST = 254;
const ARPHRD_LOOPBACK = 772;
/** lo's flags as rtnetlink reports them: the ioctl's plus IFF_LOWER_UP. */
const LO_FLAGS = LO.flags | 0x10000;
const LO_INDEX = LO.index;
const LO_MTU = LO.mtu;
const IF_OPER_UNKNOWN = 0;
/** The addresses lo has: family, prefix length, address bytes. */
const LO_ADDRS: [number, number, number[]][] = [
  [AF_INET, 8, [127, 0, 0, 1]],
  [AF_INET6, 128, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
];

const align4 = (n: number): number => (n + 3) & ~3;

/** Builds one netlink message: a header, a fixed family header, then rtattrs. */
class MessageBuilder {
  private readonly parts: number[] = [];

  fixed(bytes: Uint8Array): this { this.parts.push(...bytes); this.pad(); return this; }

  attr(type: number, data: Uint8Array): this {
    const len = 4 + data.length;
    this.parts.push(len & 0xff, len >> 8, type & 0xff, type >> 8, ...data);
    this.pad();
    return this;
  }

  u32(type: number, v: number): this { return this.attr(type, le32(v)); }
  str(type: number, s: string): this { return this.attr(type, Buffer.from(`${s}\0`, 'latin1')); }

  private pad(): void { while (this.parts.length % 4) this.parts.push(0); }

  build(type: number, flags: number, seq: number, pid: number): Uint8Array {
    const b = new Uint8Array(NLMSG_HDRLEN + this.parts.length);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, b.length, true);
    dv.setUint16(4, type, true);
    dv.setUint16(6, flags, true);
    dv.setUint32(8, seq, true);
    dv.setUint32(12, pid, true);
    b.set(this.parts, NLMSG_HDRLEN);
    return b;
  }
}

function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function linkMessage(flags: number, seq: number, pid: number): Uint8Array {
  const ifi = new Uint8Array(16);
  const dv = new DataView(ifi.buffer);
  dv.setUint16(2, ARPHRD_LOOPBACK, true);
  dv.setInt32(4, LO_INDEX, true);
  dv.setUint32(8, LO_FLAGS, true);
  const mac = new Uint8Array(6);
  return new MessageBuilder().fixed(ifi)
    .str(IFLA_IFNAME, 'lo').u32(IFLA_TXQLEN, 1000).attr(IFLA_OPERSTATE, new Uint8Array([IF_OPER_UNKNOWN]))
    .attr(IFLA_LINKMODE, new Uint8Array([0])).u32(IFLA_MTU, LO_MTU).u32(IFLA_MIN_MTU, 0).u32(IFLA_MAX_MTU, 0)
    .u32(IFLA_GROUP, 0).u32(IFLA_PROMISCUITY, 0).u32(IFLA_NUM_TX_QUEUES, 1).u32(IFLA_NUM_RX_QUEUES, 1)
    .attr(IFLA_CARRIER, new Uint8Array([1])).str(IFLA_QDISC, 'noqueue')
    .attr(IFLA_ADDRESS, mac).attr(IFLA_BROADCAST, mac)
    .build(RTM_NEWLINK, flags, seq, pid);
}

function addrMessages(family: number, flags: number, seq: number, pid: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [fam, prefix, bytes] of LO_ADDRS) {
    if (family !== AF_UNSPEC && family !== fam) continue;
    const ifa = new Uint8Array([fam, prefix, IFA_F_PERMANENT, RT_SCOPE_HOST, ...le32(LO_INDEX)]);
    // struct ifa_cacheinfo: preferred and valid lifetimes (forever), created and updated stamps.
    const cache = new Uint8Array([...le32(0xffffffff), ...le32(0xffffffff), ...le32(0), ...le32(0)]);
    const m = new MessageBuilder().fixed(ifa).attr(IFA_ADDRESS, new Uint8Array(bytes));
    if (fam === AF_INET) m.attr(IFA_LOCAL, new Uint8Array(bytes)).str(IFA_LABEL, 'lo');
    out.push(m.u32(IFA_FLAGS, IFA_F_PERMANENT).attr(IFA_CACHEINFO, cache).build(RTM_NEWADDR, flags, seq, pid));
  }
  return out;
}

function errorMessage(err: number, req: Uint8Array, seq: number, pid: number): Uint8Array {
  const body = new Uint8Array(4 + NLMSG_HDRLEN);
  new DataView(body.buffer).setInt32(0, err, true);
  body.set(req.subarray(0, NLMSG_HDRLEN), 4);
  return new MessageBuilder().fixed(body).build(NLMSG_ERROR, err === 0 ? 0x100 /* NLM_F_CAPPED */ : 0, seq, pid);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** The IFLA_IFNAME attribute of a link request, or null. */
function requestedName(msg: Uint8Array, fixedLen: number): string | null {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.length);
  for (let o = NLMSG_HDRLEN + fixedLen; o + 4 <= msg.length;) {
    const len = dv.getUint16(o, true), type = dv.getUint16(o + 2, true);
    if (len < 4 || o + len > msg.length) break;
    if (type === IFLA_IFNAME) return Buffer.from(msg.subarray(o + 4, o + len)).toString('latin1').replace(/\0.*$/s, '');
    o += align4(len);
  }
  return null;
}

export class NetlinkSocket extends Socket {
  readonly family = AF_NETLINK;
  readonly protocol = NETLINK_ROUTE;
  private portId = 0;
  private groups = 0;
  private readonly recvQ: Uint8Array[] = [];
  /** Bytes queued in recvQ, bounded by SO_RCVBUF. */
  private rmem = 0;
  private readonly opts = new Map<number, number>();

  constructor(readonly type: number, nonblock: boolean, private readonly stack: NetStack) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
  }

  override get listening(): boolean { return false; }

  /** netlink_autobind: the process's tgid if free, else a negative id. */
  private autobind(t: Task): void {
    if (this.portId !== 0) return;
    let id = t.pid;
    while (this.stack.netlinkPorts.has(id)) id = this.stack.nextNetlinkPort--;
    this.stack.netlinkPorts.add(id);
    this.portId = id;
  }

  private parseAddr(addr: Uint8Array): { pid: number; groups: number } | number {
    if (addr.length < SOCKADDR_NL_SIZE) return -EINVAL;
    const dv = new DataView(addr.buffer, addr.byteOffset, addr.length);
    if (dv.getUint16(0, true) !== AF_NETLINK) return -EINVAL;
    return { pid: dv.getUint32(4, true), groups: dv.getUint32(8, true) };
  }

  override bind(t: Task, addr: Uint8Array): number {
    const a = this.parseAddr(addr);
    if (typeof a === 'number') return a;
    if (a.pid !== 0) {
      if (this.portId !== 0) return this.portId === (a.pid | 0) ? 0 : -EINVAL;
      if (this.stack.netlinkPorts.has(a.pid | 0)) return -EADDRINUSE;
      this.portId = a.pid | 0;
      this.stack.netlinkPorts.add(this.portId);
    } else {
      this.autobind(t);
    }
    this.groups = a.groups;
    return 0;
  }

  override connect(t: Task, addr: Uint8Array): number {
    const a = this.parseAddr(addr);
    if (typeof a === 'number') return a;
    this.autobind(t);
    return a.pid === 0 ? 0 : -ECONNREFUSED;
  }

  override sockName(): Uint8Array { return sockaddrNl(this.portId, this.groups); }
  override peerName(): Uint8Array { return sockaddrNl(0, 0); }

  override sendmsg(t: Task, data: Uint8Array, dest: Uint8Array | null, ctl: Control, flags: number): number {
    for (const f of ctl.rights ?? []) f.decRef();
    if (dest) {
      const a = this.parseAddr(dest);
      if (typeof a === 'number') return a;
      if (a.pid !== 0) return -ECONNREFUSED;
    }
    this.autobind(t);
    const dv = new DataView(data.buffer, data.byteOffset, data.length);
    for (let o = 0; o + NLMSG_HDRLEN <= data.length;) {
      const len = dv.getUint32(o, true);
      if (len < NLMSG_HDRLEN || o + len > data.length) break;
      this.answer(data.subarray(o, o + len));
      o += align4(len);
    }
    return data.length;
  }

  /** Queues the answer to one request. */
  private answer(msg: Uint8Array): void {
    const dv = new DataView(msg.buffer, msg.byteOffset, msg.length);
    const type = dv.getUint16(4, true), flags = dv.getUint16(6, true), seq = dv.getUint32(8, true);
    if ((flags & NLM_F_REQUEST) === 0 || type < 16) return;
    const pid = this.portId;
    const family = msg.length > NLMSG_HDRLEN ? msg[NLMSG_HDRLEN]! : AF_UNSPEC;
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const done = () => new MessageBuilder().fixed(int32Bytes(0)).build(NLMSG_DONE, NLM_F_MULTI, seq, pid);
    const reply = (parts: Uint8Array[]) => {
      if (flags & NLM_F_ACK && !dump) parts.push(errorMessage(0, msg, seq, pid));
      const d = concat(parts);
      // A full receive buffer drops the answer and reports ENOBUFS, as netlink does.
      if (this.rmem + d.length > this.rcvbuf) { this.err = ENOBUFS; this.queue.notify(POLLERR); return; }
      this.rmem += d.length;
      this.recvQ.push(d);
      this.queue.notify(POLLIN);
    };
    if (type === RTM_GETLINK && dump) return reply([linkMessage(NLM_F_MULTI, seq, pid), done()]);
    if (type === RTM_GETLINK) {
      const index = msg.length >= NLMSG_HDRLEN + 8 ? dv.getInt32(NLMSG_HDRLEN + 4, true) : 0;
      const name = requestedName(msg, 16);
      if (index === LO_INDEX || (index === 0 && name === 'lo')) return reply([linkMessage(0, seq, pid)]);
      return reply([errorMessage(-ENODEV, msg, seq, pid)]);
    }
    if (type === RTM_GETADDR && dump) return reply([...addrMessages(family, NLM_F_MULTI, seq, pid), done()]);
    return reply([errorMessage(-EOPNOTSUPP, msg, seq, pid)]);
  }

  override recvmsg(t: Task, len: number, flags: number): Received | number | Promise<Received | number> {
    if (flags & MSG_OOB) return -EOPNOTSUPP;
    const take = (): Received | number => {
      const e = this.takeErr();
      if (e) return -e;
      const d = (flags & MSG_PEEK) ? this.recvQ[0]! : this.recvQ.shift()!;
      if ((flags & MSG_PEEK) === 0) this.rmem -= d.length;
      const n = Math.min(len, d.length);
      return {
        data: d.slice(0, n), rights: null, creds: null, msgFlags: n < d.length ? MSG_TRUNC : 0, fullLength: d.length,
        from: sockaddrNl(0, 0),
      };
    };
    const ready = () => this.recvQ.length > 0 || this.err !== 0;
    if (ready()) return take();
    if ((this.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0) return -EAGAIN;
    return this.block(t, ready, [this.queue], this.deadline(t, 'rcv')).then((r) => (r < 0 ? r : take()));
  }

  override shutdown(how: number): number { return -EOPNOTSUPP; }

  override readiness(): number {
    return (this.recvQ.length > 0 ? POLLIN | POLLRDNORM : 0) | (this.err ? POLLERR : 0) | POLLOUT | POLLWRNORM;
  }

  override getsockopt(t: Task, level: number, name: number): Uint8Array | number {
    if (level !== SOL_NETLINK) return super.getsockopt(t, level, name);
    return NETLINK_OPTS.has(name) ? int32Bytes(this.opts.get(name) ?? 0) : -ENOPROTOOPT;
  }

  override setsockopt(t: Task, level: number, name: number, val: Uint8Array): number {
    if (level !== SOL_NETLINK) return super.setsockopt(t, level, name, val);
    if (!NETLINK_OPTS.has(name)) return -ENOPROTOOPT;
    const v = optInt(val);
    if (v === null) return -EINVAL;
    this.opts.set(name, v);
    return 0;
  }

  protected override release(): void {
    if (this.portId !== 0) this.stack.netlinkPorts.delete(this.portId);
  }
}

function sockaddrNl(pid: number, groups: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_NL_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_NETLINK, true);
  dv.setUint32(4, pid >>> 0, true);
  dv.setUint32(8, groups >>> 0, true);
  return b;
}
