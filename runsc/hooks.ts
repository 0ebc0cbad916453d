// OCI hooks (config.json "hooks"): programs the engine asks the runtime to run
// at points of the container's life, each given the container's state JSON
// on stdin. Docker sets up a container's network this way: its prestart hook
// (libnetwork-setkey) moves the veth into the network namespace of the pid
// in that state — the sandbox process, whose main thread is in the
// namespace the Sentry's host-network sockets use (runsc/netns.ts).
import { spawnSync } from 'node:child_process';
import { SpecError } from '../src/oci/spec';
import { OciError } from './container';

interface Hook { path: string; args?: string[]; env?: string[]; timeout?: number }

/** The hooks of one kind in a config.json's text (checked as the spec says: an absolute path, optional args/env/timeout). */
export function hooksOf(configText: string, kind: 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop'): Hook[] {
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

/** Runs hooks in order with state on stdin; a failing one throws (runc fails the operation the same way). */
export function runHooks(hooks: Hook[], state: Record<string, unknown>, kind: string): void {
  for (const h of hooks) {
    const env = Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const r = spawnSync(h.path, (h.args ?? [h.path]).slice(1), {
      argv0: h.args?.[0] ?? h.path, env, input: JSON.stringify(state), encoding: 'utf8',
      timeout: (h.timeout ?? 0) * 1000 || undefined, stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
      throw new OciError(`${kind} hook ${h.path} failed: ${why}${r.stderr ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`);
    }
  }
}
