// A transport protocol's port table: who is bound where, with Linux's rules
// for when two sockets may share a port (inet_csk_bind_conflict): addresses
// overlap when equal or when a wildcard covers the other's family; sharing is
// allowed when both set SO_REUSEPORT, or both set SO_REUSEADDR and (for TCP)
// the one already there is not listening. There is no TIME_WAIT.
import { EADDRINUSE, EAGAIN } from '../../src/abi/errno';
import { isAny, isV4, type Ip } from './inet';

export interface PortUser {
  /** Where the socket is bound (null when not bound). */
  local: { ip: Ip; port: number } | null;
  reuseAddr: boolean;
  reusePort: boolean;
  /** An AF_INET6 socket that does not take IPv4 traffic (IPV6_V6ONLY). */
  readonly v6only: boolean;
  readonly isV6: boolean;
  readonly listening: boolean;
}

/** /proc/sys/net/ipv4/ip_local_port_range. */
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;

/** Which families' traffic a bound address takes: 4, 6 or both (4|6 as bits 1|2). */
function families(u: PortUser, ip: Ip): number {
  if (!isAny(ip)) return isV4(ip) ? 1 : 2;
  if (isV4(ip)) return 1;
  return u.v6only ? 2 : 3;
}

function overlaps(a: PortUser, aIp: Ip, b: PortUser, bIp: Ip): boolean {
  if (!isAny(aIp) && !isAny(bIp)) return aIp === bIp;
  return (families(a, aIp) & families(b, bIp)) !== 0;
}

export class PortTable {
  private readonly ports = new Map<number, Set<PortUser>>();
  private nextEphemeral = EPHEMERAL_LOW + Math.floor(Math.random() * (EPHEMERAL_HIGH - EPHEMERAL_LOW));

  constructor(private readonly tcp: boolean) {}

  /** Whether u may take ip:port given who is there (ignoring u itself); listen asks about listeners only. */
  private free(u: PortUser, ip: Ip, port: number, listenersOnly: boolean): boolean {
    for (const o of this.ports.get(port) ?? []) {
      if (o === u || !o.local || !overlaps(u, ip, o, o.local.ip)) continue;
      if (listenersOnly && !o.listening) continue;
      if (u.reusePort && o.reusePort) continue;
      if (!listenersOnly && u.reuseAddr && o.reuseAddr && !(this.tcp && o.listening)) continue;
      return false;
    }
    return true;
  }

  /** Binds u to ip:port (port 0: an ephemeral one); returns the port or -EADDRINUSE (-EAGAIN when no port is free). */
  bind(u: PortUser, ip: Ip, port: number): number {
    if (port === 0) {
      const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
      for (let i = 0; i < span; i++) {
        const p = EPHEMERAL_LOW + ((this.nextEphemeral - EPHEMERAL_LOW + i) % span);
        if (!this.ports.has(p)) { this.nextEphemeral = p + 1; port = p; break; }
      }
      if (port === 0) return -EAGAIN;
    } else if (!this.free(u, ip, port, false)) {
      return -EADDRINUSE;
    }
    let set = this.ports.get(port);
    if (!set) this.ports.set(port, (set = new Set()));
    set.add(u);
    u.local = { ip, port };
    return port;
  }

  /** listen(2) re-checks the port: SO_REUSEADDR lets sockets share a port, but only one may listen on it. */
  mayListen(u: PortUser): boolean {
    return u.local !== null && this.free(u, u.local.ip, u.local.port, true);
  }

  unbind(u: PortUser): void {
    if (!u.local) return;
    const set = this.ports.get(u.local.port);
    set?.delete(u);
    if (set?.size === 0) this.ports.delete(u.local.port);
  }

  /** The bound sockets on port that take traffic for ip, exact binds before wildcards. */
  lookup(port: number, ip: Ip): PortUser[] {
    const exact: PortUser[] = [], wild: PortUser[] = [];
    for (const u of this.ports.get(port) ?? []) {
      const l = u.local!;
      if (l.ip === ip) exact.push(u);
      else if (isAny(l.ip) && (families(u, l.ip) & (isV4(ip) ? 1 : 2)) !== 0) wild.push(u);
    }
    return [...exact, ...wild];
  }
}
