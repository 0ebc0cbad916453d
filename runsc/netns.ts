// The network namespace of an OCI sandbox: the one linux.namespaces names,
// or a new empty one when the spec asks for a network namespace without a
// path, as runc would make (docker's prestart hook then moves the veth into
// it and publishes ports to it). Without a network entry the container shares
// runsc's own, as under runc. With --network=host the Sentry's inet sockets
// live there; with --network=none they stay on the Sentry's loopback, and the
// namespace only keeps the engine's hooks away from the host's.
//
// setns and unshare of CLONE_NEWNET act on the calling thread only, which
// is enough: the Sentry creates every socket on its main thread.
import * as hostnet from '../src/ffi/hostnet';
import * as libc from '../src/ffi/libc';
import { errnoMessage } from '../src/abi/errno';
import { SpecError, type Spec } from '../src/oci/spec';

const CLONE_NEWNET = 0x40000000;

export function joinSpecNetns(spec: Spec): void {
  const i = spec.linux.namespaces.findIndex((n) => n.type === 'network');
  if (i < 0) return;
  const ns = spec.linux.namespaces[i]!;
  const r = ns.path ? hostnet.joinNetns(ns.path) : libc.unshare(CLONE_NEWNET) < 0 ? -libc.errno() : 0;
  if (r < 0) throw new SpecError(`linux.namespaces[${i}]`, `cannot ${ns.path ? `join ${ns.path}` : 'make a network namespace'}: ${errnoMessage(-r)}`);
}
