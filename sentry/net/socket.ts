// What every socket family implements for the socket syscalls
// (syscalls/linux/socket.ts): addresses travel as raw sockaddr bytes, which
// each family parses and produces itself, and options as raw value bytes.
// The base class answers the SOL_SOCKET options every family shares.
import { EAGAIN, EDOM, EFAULT, EINVAL, ENODEV, ENOPROTOOPT, EOPNOTSUPP, ETIMEDOUT } from '../../src/abi/errno';
import { Timeval } from '../../src/abi/layout';
import {
  SO_ACCEPTCONN, SO_BROADCAST, SO_DOMAIN, SO_DONTROUTE, SO_ERROR, SO_KEEPALIVE, SO_OOBINLINE, SO_PRIORITY, SO_PROTOCOL,
  SO_RCVBUF, SO_RCVBUFFORCE, SO_RCVTIMEO_OLD, SO_REUSEADDR, SO_REUSEPORT, SO_SNDBUF, SO_SNDBUFFORCE, SO_SNDTIMEO_OLD, SO_TYPE,
  SOL_SOCKET,
} from '../../src/abi/linux';
import type { Task } from '../kernel/task';
import type { WaitQueue } from '../kernel/waiter';
import { anonStat, FileDescription, type ReadResult, type Stat } from '../vfs/file';
import { POLLOUT, S_IFSOCK } from '../vfs/linuxconst';

/** net.core.wmem_default / rmem_default and the *_max ceilings setsockopt clamps to. */
export const SOCK_BUF_DEFAULT = 212992;
export const SOCK_BUF_MAX = 212992;
const SOCK_MIN_SNDBUF = 4608;
const SOCK_MIN_RCVBUF = 2304;

export interface Creds { pid: number; uid: number; gid: number }

/** What one receive produced; the caller owns the references in rights. */
export interface Received {
  data: Uint8Array;
  /** Descriptions passed with SCM_RIGHTS (a reference each), or null. */
  rights: FileDescription[] | null;
  creds: Creds | null;
  /** MSG_TRUNC when a datagram did not fit. */
  msgFlags: number;
  /** The whole datagram's length (recv with MSG_TRUNC returns it). */
  fullLength: number;
  /** The sender's address (sockaddr bytes) for recvfrom/recvmsg, or null for none. */
  from: Uint8Array | null;
}

/** What sendmsg's control messages carried. */
export interface Control { rights: FileDescription[] | null; creds: Creds | null }

export function int32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** An int option value: at least 4 bytes, read as a little-endian int. */
export function optInt(val: Uint8Array): number | null {
  return val.length < 4 ? null : new DataView(val.buffer, val.byteOffset).getInt32(0, true);
}

/** Boolean options that are stored and reported but change nothing in the Sentry. */
const INERT_OPTS = new Set([SO_KEEPALIVE, SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE, SO_PRIORITY]);

/** Device number sockfs reports in st_dev. */
export const SOCKFS_DEV = 0x08;
let nextSockIno = 1n << 33n;

export abstract class Socket extends FileDescription {
  readonly ino = nextSockIno++;
  abstract readonly family: number;
  abstract readonly type: number;
  abstract readonly protocol: number;
  /** A pending error (SO_ERROR), reported once. */
  err = 0;
  sndbuf = SOCK_BUF_DEFAULT;
  rcvbuf = SOCK_BUF_DEFAULT;
  reuseAddr = false;
  reusePort = false;
  /**
   * SO_RCVTIMEO/SO_SNDTIMEO in ns: null waits forever, 0n gives up at once.
   * A TCP socket shares this object with its connection's stream end.
   */
  timeouts: { rcv: bigint | null; snd: bigint | null } = { rcv: null, snd: null };
  private readonly inert = new Map<number, number>();

  override stat(t: Task): Stat { return anonStat(S_IFSOCK | 0o777, this.ino, SOCKFS_DEV); }
  override displayName(): string { return `socket:[${this.ino}]`; }

  /** The interface ioctls (SIOCGIF*) that if_nametoindex(3) and friends issue on any socket; lo is the only interface. */
  override ioctl(t: Task, cmd: number, argAddr: number): number | Promise<number> {
    return interfaceIoctl(t, cmd, argAddr) ?? super.ioctl(t, cmd, argAddr);
  }

  /** When a blocking receive or send that starts now gives up, or undefined to wait forever. */
  protected deadline(t: Task, dir: 'rcv' | 'snd'): bigint | undefined {
    const ns = this.timeouts[dir];
    return ns === null ? undefined : t.kernel.monotonicNs() + ns;
  }

  /** Task.waitFor until deadline: running out is EAGAIN, as sock_rcvtimeo/sock_sndtimeo make it. */
  protected block(t: Task, ready: () => boolean, queues: WaitQueue[], deadline: bigint | undefined): Promise<number> {
    return t.waitFor(ready, queues, deadline).then((r) => (r === -ETIMEDOUT ? -EAGAIN : r));
  }

  /** Takes the pending error, or 0. */
  takeErr(): number { const e = this.err; this.err = 0; return e; }

  /** read(2) is recv with no flags; it has no room for control messages, so passed descriptions are closed. */
  override read(t: Task, len: number, offset: number): ReadResult | Promise<ReadResult> {
    const data = (r: Received | number): ReadResult => {
      if (typeof r === 'number') return r;
      for (const f of r.rights ?? []) f.decRef();
      return r.data;
    };
    const r = this.recvmsg(t, len, 0);
    return r instanceof Promise ? r.then(data) : data(r);
  }

  /** write(2) is send with no flags, address or control messages. */
  override write(t: Task, data: Uint8Array, offset: number): number | Promise<number> {
    return this.sendmsg(t, data, null, { rights: null, creds: null }, 0);
  }

  abstract bind(t: Task, addr: Uint8Array): number;
  abstract connect(t: Task, addr: Uint8Array): number | Promise<number>;
  listen(t: Task, backlog: number): number { return -EOPNOTSUPP; }
  /** A new connected socket (the caller applies accept4's flags), or -errno. */
  accept(t: Task): Socket | number | Promise<Socket | number> { return -EOPNOTSUPP; }
  /** Sends data to dest (sockaddr bytes) or the connected peer; takes over ctl's references. */
  abstract sendmsg(t: Task, data: Uint8Array, dest: Uint8Array | null, ctl: Control, flags: number): number | Promise<number>;
  abstract recvmsg(t: Task, len: number, flags: number): Received | number | Promise<Received | number>;
  /** shutdown(2) with how = SHUT_RD, SHUT_WR or SHUT_RDWR. */
  abstract shutdown(how: number): number;
  abstract sockName(): Uint8Array;
  /** The peer's address, or -ENOTCONN. */
  abstract peerName(): Uint8Array | number;
  abstract get listening(): boolean;

  /** getsockopt: the value bytes, or -errno. Subclasses handle their levels and fall back here. */
  getsockopt(t: Task, level: number, name: number): Uint8Array | number {
    if (level !== SOL_SOCKET) return -EOPNOTSUPP;
    switch (name) {
      case SO_TYPE: return int32Bytes(this.type);
      case SO_DOMAIN: return int32Bytes(this.family);
      case SO_PROTOCOL: return int32Bytes(this.protocol);
      case SO_ERROR: return int32Bytes(this.takeErr());
      case SO_SNDBUF: return int32Bytes(this.sndbuf);
      case SO_RCVBUF: return int32Bytes(this.rcvbuf);
      case SO_ACCEPTCONN: return int32Bytes(this.listening ? 1 : 0);
      case SO_REUSEADDR: return int32Bytes(this.reuseAddr ? 1 : 0);
      case SO_REUSEPORT: return int32Bytes(this.reusePort ? 1 : 0);
      case SO_RCVTIMEO_OLD: case SO_RCVTIMEO_NEW: return timeoutBytes(this.timeouts.rcv);
      case SO_SNDTIMEO_OLD: case SO_SNDTIMEO_NEW: return timeoutBytes(this.timeouts.snd);
      default:
        if (!INERT_OPTS.has(name)) return -ENOPROTOOPT;
        return int32Bytes(this.inert.get(name) ?? 0);
    }
  }

  /** setsockopt: 0 or -errno. */
  setsockopt(t: Task, level: number, name: number, val: Uint8Array): number {
    if (level !== SOL_SOCKET) return -EOPNOTSUPP;
    if (name === SO_RCVTIMEO_OLD || name === SO_RCVTIMEO_NEW || name === SO_SNDTIMEO_OLD || name === SO_SNDTIMEO_NEW) {
      const ns = parseTimeout(val);
      if (typeof ns === 'number') return ns;
      this.timeouts[name === SO_RCVTIMEO_OLD || name === SO_RCVTIMEO_NEW ? 'rcv' : 'snd'] = ns;
      return 0;
    }
    const v = optInt(val);
    if (v === null) return -EINVAL;
    switch (name) {
      case SO_SNDBUF: case SO_SNDBUFFORCE:
        this.sndbuf = Math.max(clampBuf(v), SOCK_MIN_SNDBUF);
        this.queue.notify(POLLOUT);
        return 0;
      case SO_RCVBUF: case SO_RCVBUFFORCE:
        this.rcvbuf = Math.max(clampBuf(v), SOCK_MIN_RCVBUF);
        return 0;
      case SO_REUSEADDR: this.reuseAddr = v !== 0; return 0;
      case SO_REUSEPORT: this.reusePort = v !== 0; return 0;
      default:
        if (!INERT_OPTS.has(name)) return -ENOPROTOOPT;
        this.inert.set(name, name === SO_PRIORITY ? v : v !== 0 ? 1 : 0);
        return 0;
    }
  }
}

/** SO_SNDBUF/SO_RCVBUF values are doubled (for bookkeeping overhead) and clamped, as Linux does. */
function clampBuf(v: number): number {
  return Math.min(Math.max(v, 0), SOCK_BUF_MAX) * 2;
}

// <linux/sockios.h>: struct ifreq is a 16-byte name and a 24-byte union.
const SIOCGIFNAME = 0x8910;
const SIOCGIFFLAGS = 0x8913;
const SIOCGIFMTU = 0x8921;
const SIOCGIFINDEX = 0x8933;
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;
/** lo: index 1, IFF_UP | IFF_LOOPBACK | IFF_RUNNING, MTU 65536. */
export const LO = { index: 1, flags: 0x1 | 0x8 | 0x40, mtu: 65536 };

/** Answers an SIOCGIF* request, or null for other commands. */
function interfaceIoctl(t: Task, cmd: number, addr: number): number | null {
  if (cmd !== SIOCGIFNAME && cmd !== SIOCGIFFLAGS && cmd !== SIOCGIFMTU && cmd !== SIOCGIFINDEX) return null;
  const req = t.mm.read(addr, IFREQ_SIZE);
  if (!req) return -EFAULT;
  const dv = new DataView(req.buffer, req.byteOffset);
  if (cmd === SIOCGIFNAME) {
    if (dv.getInt32(IFNAMSIZ, true) !== LO.index) return -ENODEV;
    req.fill(0, 0, IFNAMSIZ);
    req.set([0x6c, 0x6f]); // "lo"
  } else {
    const nul = req.subarray(0, IFNAMSIZ).indexOf(0);
    if (Buffer.from(req.subarray(0, nul < 0 ? IFNAMSIZ : nul)).toString('latin1') !== 'lo') return -ENODEV;
    if (cmd === SIOCGIFINDEX) dv.setInt32(IFNAMSIZ, LO.index, true);
    else if (cmd === SIOCGIFMTU) dv.setInt32(IFNAMSIZ, LO.mtu, true);
    else dv.setInt16(IFNAMSIZ, LO.flags, true);
  }
  return t.mm.write(addr, req) ? 0 : -EFAULT;
}

/** SO_RCVTIMEO_NEW/SO_SNDTIMEO_NEW: the same struct timeval layout as the old names on x86-64. */
const SO_RCVTIMEO_NEW = 66;
const SO_SNDTIMEO_NEW = 67;
const NS_PER_SEC = 1_000_000_000n;

/** sock_set_timeout: a struct timeval to ns (zero: forever; negative seconds: at once), or -errno. */
function parseTimeout(val: Uint8Array): bigint | null | number {
  if (val.length < Timeval.size) return -EINVAL;
  const tv = Timeval.decodeBig(val);
  if (tv.tv_usec < 0n || tv.tv_usec >= 1_000_000n) return -EDOM;
  if (tv.tv_sec < 0n) return 0n;
  if (tv.tv_sec === 0n && tv.tv_usec === 0n) return null;
  return tv.tv_sec * NS_PER_SEC + tv.tv_usec * 1000n;
}

function timeoutBytes(ns: bigint | null): Uint8Array {
  const v = ns ?? 0n;
  return Timeval.encode({ tv_sec: v / NS_PER_SEC, tv_usec: (v % NS_PER_SEC) / 1000n });
}
