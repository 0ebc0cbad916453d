// The network namespace of an OCI sandbox, decided by runsc's --network:
//
//   none  a fresh, empty namespace (the launcher unshares it): the Sentry's
//         inet sockets live on its own loopback-only stack anyway, and the
//         namespace keeps the engine's hooks away from the host's;
//   host  the Sentry's inet sockets are host sockets, in the namespace the
//         spec names: joined by path when linux.namespaces gives one; a fresh
//         one when it asks for a network namespace without a path, as runc
//         would make (the launcher unshares it, and docker's prestart hook
//         then moves the veth into it, by the sandbox's pid, and publishes
//         ports to it); without a network entry the container shares runsc's
//         own, as under runc.
//
// setns acts on the calling thread only, which is enough: the Sentry creates
// every socket on its main thread.
import * as hostnet from '../src/ffi/hostnet';
import { errnoMessage } from '../src/abi/errno';
import { SpecError, type Spec } from '../src/oci/spec';

export interface SandboxNetns {
  /** The launcher makes a new network namespace. */
  fresh: boolean;
  /** The Sentry joins this namespace (a path) before it is confined. */
  join: { path: string; index: number } | null;
}

export function sandboxNetns(spec: Spec, network: string): SandboxNetns {
  if (network !== 'host') return { fresh: true, join: null };
  const index = spec.linux.namespaces.findIndex((n) => n.type === 'network');
  if (index < 0) return { fresh: false, join: null };
  const p = spec.linux.namespaces[index]!.path;
  return p ? { fresh: false, join: { path: p, index } } : { fresh: true, join: null };
}

/** Joins n.join, if any (on this thread). */
export function joinSandboxNetns(n: SandboxNetns): void {
  if (!n.join) return;
  const r = hostnet.joinNetns(n.join.path);
  if (r < 0) throw new SpecError(`linux.namespaces[${n.join.index}]`, `cannot join ${n.join.path}: ${errnoMessage(-r)}`);
}
