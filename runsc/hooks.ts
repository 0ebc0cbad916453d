// OCI hooks (config.json "hooks"): programs the engine asks the runtime to run
// at points of the container's life, each given the container's state JSON
// on stdin. Docker sets up a container's network this way: its prestart hook
// (libnetwork-setkey) moves the veth into the network namespace of the pid
// in that state — the sandbox process, whose main thread is in the
// namespace the Sentry's host-network sockets use (runsc/netns.ts).
//
// When each kind runs (runtime spec, "Lifecycle"), with the state's status:
//   create  prestart, createRuntime, createContainer   creating   (a failure fails create)
//   start   startContainer                             created    (a failure fails start)
//           — in the sandbox: its path is the container's (runsc/sandbox.ts)
//   start   poststart, once init runs                  running    (a failure is a warning)
//   delete  poststop, once the sandbox is gone         stopped    (a failure is a warning)
// All but startContainer run on the host. createContainer should run in the
// container's namespaces; the container's mount, pid, ipc and uts namespaces
// are the Sentry's own, not host namespaces a host program could enter, so
// it runs where createRuntime does.
import { spawnSync } from 'node:child_process';
import { SpecError } from '../src/oci/spec';
import { OciError } from './container';

export interface Hook { path: string; args?: string[]; env?: string[]; timeout?: number }

/** The hooks of one kind in a config.json's text (checked as the spec says: an absolute path, optional args/env/timeout). */
export function hooksOf(configText: string, kind: HookKind): Hook[] {
  const doc = JSON.parse(configText) as { hooks?: Record<string, unknown> };
  const list = doc.hooks?.[kind];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new SpecError(`hooks.${kind}`, 'must be an array');
  return list.map((h, i) => {
    const f = `hooks.${kind}[${i}]`;
    const o = h as Hook;
    if (!o || typeof o.path !== 'string' || !o.path.startsWith('/')) throw new SpecError(`${f}.path`, 'must be an absolute path');
    if (o.args !== undefined && !(Array.isArray(o.args) && o.args.every((a) => typeof a === 'string'))) throw new SpecError(`${f}.args`, 'must be an array of strings');
    if (o.env !== undefined && !(Array.isArray(o.env) && o.env.every((a) => typeof a === 'string'))) throw new SpecError(`${f}.env`, 'must be an array of strings');
    if (o.timeout !== undefined && !(Number.isInteger(o.timeout) && o.timeout > 0)) throw new SpecError(`${f}.timeout`, 'must be a positive integer');
    return o;
  });
}

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

/**
 * Runs hooks on the host in order, each with state on stdin and killed
 * (SIGKILL) once its timeout passes. The first failure throws (create's
 * hooks: runc fails the operation), or, given warn, is reported and the rest
 * still run (poststart and poststop, as the runtime spec says).
 */
export function runHooks(hooks: Hook[], state: Record<string, unknown>, kind: HookKind, warn?: (msg: string) => void): void {
  for (const h of hooks) {
    const env = Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const r = spawnSync(h.path, (h.args ?? [h.path]).slice(1), {
      argv0: h.args?.[0] ?? h.path, env, input: JSON.stringify(state), encoding: 'utf8',
      timeout: (h.timeout ?? 0) * 1000 || undefined, killSignal: 'SIGKILL', stdio: ['pipe', 'pipe', 'pipe'],
    });
    // A hook need not read its state: EPIPE on stdin is no failure.
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    if (r.status === 0) continue;
    const why = code === 'ETIMEDOUT' ? `ran past its timeout of ${h.timeout}s`
      : r.status !== null ? `exit status ${r.status}` : r.signal ? `killed by ${r.signal}` : r.error?.message ?? 'failed';
    const msg = `${kind} hook ${h.path} failed: ${why}${r.stderr?.trim() ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`;
    if (!warn) throw new OciError(msg);
    warn(msg);
  }
}
