// One sandbox's network namespace: the names AF_UNIX sockets are bound to,
// the TCP and UDP port tables of the loopback interface, and netlink port ids.
// It hangs off the Kernel (one per sandbox) without the Kernel knowing it.
import type { Kernel } from '../kernel/kernel';
import type { UnixSocket } from '../vfs/unix';
import { PortTable } from './ports';

export class NetStack {
  /** Abstract AF_UNIX names, by socket type and name (sun_path as latin1). */
  readonly unixAbstract = new Map<string, UnixSocket>();
  /** AF_UNIX sockets bound to files, by the socket file's "dev:ino". */
  readonly unixFiles = new Map<string, UnixSocket>();
  readonly tcp = new PortTable(true);
  readonly udp = new PortTable(false);
  /** Netlink port ids in use (a process's first socket gets its tgid, later ones negative ids). */
  readonly netlinkPorts = new Set<number>();
  nextNetlinkPort = -4096;
  /** autobind's next abstract name (5 hex digits, as Linux). */
  nextAutobind = 0;
}

const stacks = new WeakMap<Kernel, NetStack>();

export function netStack(k: Kernel): NetStack {
  let s = stacks.get(k);
  if (!s) stacks.set(k, (s = new NetStack()));
  return s;
}
