// IPv4 and IPv6 socket addresses on the sandbox's only interface, lo.
//
// An IP address is kept as the 32 hex digits of its IPv6 form, IPv4
// addresses as v4-mapped (::ffff:a.b.c.d), so one comparison serves both
// families and dual-stack sockets. Local addresses are 127.0.0.0/8 and ::1
// (plus the wildcards for bind); anything else has no route.
import {
  EACCES, EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL, ENETUNREACH, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP,
} from '../../src/abi/errno';
import { AF_INET, AF_INET6, IP_TOS, IP_TTL, IPV6_UNICAST_HOPS, IPV6_V6ONLY, SOL_IP, SOL_IPV6 } from '../../src/abi/linux';
import type { Task } from '../kernel/task';
import { O_NONBLOCK, O_RDWR } from '../vfs/linuxconst';
import type { PortTable, PortUser } from './ports';
import { int32Bytes, optInt, Socket } from './socket';
import type { NetStack } from './stack';

export type Ip = string;
export interface Endpoint { ip: Ip; port: number }

const V4_PREFIX = '00000000000000000000ffff';
export const V4_ANY: Ip = `${V4_PREFIX}00000000`;
export const V4_LOOPBACK: Ip = `${V4_PREFIX}7f000001`;
export const V6_ANY: Ip = '0'.repeat(32);
export const V6_LOOPBACK: Ip = `${'0'.repeat(31)}1`;

/** sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6) and SIN6_LEN_RFC2133 (no scope id), which Linux also accepts. */
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
const SIN6_LEN_RFC2133 = 24;

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

export const isV4 = (ip: Ip): boolean => ip.startsWith(V4_PREFIX);
export const isAny = (ip: Ip): boolean => ip === V4_ANY || ip === V6_ANY;
export const isLoopback = (ip: Ip): boolean => (isV4(ip) && ip.startsWith('7f', 24)) || ip === V6_LOOPBACK;

/** Where a connect or send to ip goes: the wildcard means this host, as on Linux. */
export function destination(ip: Ip): Ip {
  if (ip === V4_ANY) return V4_LOOPBACK;
  if (ip === V6_ANY) return V6_LOOPBACK;
  return ip;
}

/** The source address lo gives a packet to dst. */
export function sourceFor(dst: Ip): Ip {
  return isV4(dst) ? V4_LOOPBACK : V6_LOOPBACK;
}

/** sockaddr_in / sockaddr_in6 bytes to an endpoint, checked as the socket's family requires. */
export function parseSockaddr(family: number, addr: Uint8Array): Endpoint | number {
  if (addr.length < 2) return -EINVAL;
  const dv = new DataView(addr.buffer, addr.byteOffset, addr.length);
  const fam = dv.getUint16(0, true);
  if (family === AF_INET) {
    if (addr.length < SOCKADDR_IN_SIZE) return -EINVAL;
    if (fam !== AF_INET) return -EAFNOSUPPORT;
    return { ip: V4_PREFIX + hex(addr.subarray(4, 8)), port: dv.getUint16(2, false) };
  }
  if (addr.length < SIN6_LEN_RFC2133) return -EINVAL;
  if (fam !== AF_INET6) return -EAFNOSUPPORT;
  return { ip: hex(addr.subarray(8, 24)), port: dv.getUint16(2, false) };
}

/** The sockaddr a socket of family reports for an endpoint (IPv4 addresses appear v4-mapped in AF_INET6). */
export function encodeSockaddr(family: number, ep: Endpoint): Uint8Array {
  const raw = Buffer.from(ep.ip, 'hex');
  if (family === AF_INET) {
    const b = new Uint8Array(SOCKADDR_IN_SIZE);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, AF_INET, true);
    dv.setUint16(2, ep.port, false);
    b.set(raw.subarray(12, 16), 4);
    return b;
  }
  const b = new Uint8Array(SOCKADDR_IN6_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, ep.port, false);
  b.set(raw, 8);
  return b;
}

/**
 * What TCP and UDP sockets share: the family (an AF_INET6 socket also speaks
 * IPv4 through v4-mapped addresses unless IPV6_V6ONLY), binding in the
 * protocol's port table, and the SOL_IP/SOL_IPV6 options.
 */
export abstract class InetSocket extends Socket implements PortUser {
  local: Endpoint | null = null;
  remote: Endpoint | null = null;
  v6only = false;
  /** bind(2) named the address or the port (SOCK_BINDADDR_LOCK, SOCK_BINDPORT_LOCK): a disconnect keeps them. */
  protected addrLocked = false;
  protected portLocked = false;
  /** Option values stored and reported, by "level:name". */
  protected readonly stored = new Map<string, number>();

  constructor(readonly family: number, nonblock: boolean, protected readonly stack: NetStack) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
  }

  get isV6(): boolean { return this.family === AF_INET6; }
  protected abstract get ports(): PortTable;

  /** An endpoint parsed from a sockaddr, or -errno. */
  protected parse(addr: Uint8Array): Endpoint | number {
    const ep = parseSockaddr(this.family, addr);
    if (typeof ep === 'number') return ep;
    if (this.isV6 && this.v6only && isV4(ep.ip)) return -ENETUNREACH;
    return ep;
  }

  override bind(t: Task, addr: Uint8Array): number {
    const ep = this.parse(addr);
    if (typeof ep === 'number') return ep === -ENETUNREACH ? -EINVAL : ep;
    if (this.local) return -EINVAL;
    if (!isAny(ep.ip) && !isLoopback(ep.ip)) return -EADDRNOTAVAIL;
    // ip_unprivileged_port_start: lower ports need CAP_NET_BIND_SERVICE.
    if (ep.port !== 0 && ep.port < 1024 && t.creds.euid !== 0) return -EACCES;
    const r = this.ports.bind(this, ep.ip, ep.port);
    if (r < 0) return r;
    this.addrLocked = !isAny(ep.ip);
    this.portLocked = ep.port !== 0;
    return 0;
  }

  /** Binds to an ephemeral port on the wildcard address (connect, listen and send do this when unbound). */
  protected autobind(): number {
    if (this.local) return 0;
    const r = this.ports.bind(this, this.isV6 ? V6_ANY : V4_ANY, 0);
    return r < 0 ? r : 0;
  }

  /** After connecting to dst, a wildcard-bound socket takes lo's source address. */
  protected pinSource(dst: Ip): void {
    if (this.local && isAny(this.local.ip)) this.local.ip = sourceFor(dst);
  }

  override sockName(): Uint8Array {
    return encodeSockaddr(this.family, this.local ?? { ip: this.isV6 ? V6_ANY : V4_ANY, port: 0 });
  }

  override peerName(): Uint8Array | number {
    return this.remote ? encodeSockaddr(this.family, this.remote) : -ENOTCONN;
  }

  override getsockopt(t: Task, level: number, name: number): Uint8Array | number {
    if (level === SOL_IP || level === SOL_IPV6) {
      if (level === SOL_IPV6 && !this.isV6) return -EOPNOTSUPP;
      if (level === SOL_IPV6 && name === IPV6_V6ONLY) return int32Bytes(this.v6only ? 1 : 0);
      const d = IP_DEFAULTS.get(`${level}:${name}`);
      if (d === undefined) return -ENOPROTOOPT;
      return int32Bytes(this.stored.get(`${level}:${name}`) ?? d);
    }
    return super.getsockopt(t, level, name);
  }

  override setsockopt(t: Task, level: number, name: number, val: Uint8Array): number {
    if (level === SOL_IP || level === SOL_IPV6) {
      if (level === SOL_IPV6 && !this.isV6) return -ENOPROTOOPT;
      const v = optInt(val);
      if (v === null) return -EINVAL;
      if (level === SOL_IPV6 && name === IPV6_V6ONLY) {
        if (this.local) return -EINVAL;
        this.v6only = v !== 0;
        return 0;
      }
      if (!IP_DEFAULTS.has(`${level}:${name}`)) return -ENOPROTOOPT;
      this.stored.set(`${level}:${name}`, v);
      return 0;
    }
    return super.setsockopt(t, level, name, val);
  }

  protected override release(): void {
    this.ports.unbind(this);
  }
}

/** SOL_IP and SOL_IPV6 options stored and reported, with their defaults on lo. */
const IP_DEFAULTS = new Map<string, number>([
  [`${SOL_IP}:${IP_TOS}`, 0], [`${SOL_IP}:${IP_TTL}`, 64], [`${SOL_IPV6}:${IPV6_UNICAST_HOPS}`, 64],
]);
