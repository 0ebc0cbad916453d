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
//           — in the sandbox: its path is the container's (runHooksInSandbox)
//   start   poststart, once init runs                  running    (a failure is a warning)
//   delete  poststop, once the sandbox is gone         stopped    (a failure is a warning)
// All but startContainer run on the host. createContainer should run in the
// container's namespaces; the container's mount, pid, ipc and uts namespaces
// are the Sentry's own, not host namespaces a host program could enter, so
// it runs where createRuntime does.
import { spawnSync } from 'node:child_process';
import { SpecError, parseProcessObject, type ProcessSpec } from '../src/oci/spec';
import type { Kernel, StartArgs } from '../sentry/kernel/kernel';
import { FDTable } from '../sentry/vfs/fdtable';
import { newPipe } from '../sentry/vfs/pipe';
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

/** Room for a startContainer hook's stdout and stderr (a pipe the sandbox reads once the hook exits). */
const HOOK_OUTPUT_BYTES = 1 << 20;

/**
 * Runs the spec's startContainer hooks in order inside the sandbox (their
 * paths resolve in the container, as the runtime spec says), each as a
 * process with no parent, as root, in /, with state on stdin and its stdout
 * and stderr in a pipe (Sentry pipes: nothing on the host is opened); killed
 * once its timeout passes. Returns why the first one failed, or null. Runs
 * the Kernel's loop until each has exited (init does not exist yet).
 * startArgs builds what the Kernel needs (runsc/sandbox.ts).
 */
export async function runHooksInSandbox(
  kernel: Kernel, hooks: Hook[], state: Record<string, unknown>,
  startArgs: (p: ProcessSpec, fds: FDTable) => StartArgs,
): Promise<string | null> {
  const stateJson = Buffer.from(JSON.stringify(state));
  for (const h of hooks) {
    const table = new FDTable();
    const [stdin, stateWriter] = newPipe(0);
    stateWriter.pipe.resize(stateJson.length, true);
    stateWriter.pipe.fill(stateJson);
    stateWriter.decRef();
    const [output, outWriter] = newPipe(0);
    output.pipe.resize(HOOK_OUTPUT_BYTES, true);
    table.install(stdin, false);
    table.install(outWriter, false);
    table.install(outWriter.incRef(), false);
    try {
      const p: ProcessSpec = parseProcessObject({ args: h.args ?? [h.path], env: h.env ?? [], cwd: '/', user: { uid: 0, gid: 0 } });
      let status: number | null = null;
      const started = kernel.startExternal({ ...startArgs(p, table), paths: [h.path] }, (st) => { status = st; });
      if (typeof started === 'string') {
        table.closeAll();
        return `startContainer hook ${h.path} failed: ${started}`;
      }
      const cancel = h.timeout === undefined ? null : kernel.timers.add(kernel.monotonicNs() + BigInt(h.timeout) * 1_000_000_000n, () => {
        const target = kernel.processes.get(started);
        if (target && !target.zombie) kernel.signals.sendToProcess(target, 9);
      });
      while (status === null && kernel.result === null) await kernel.runLoop();
      cancel?.();
      const st = status as number | null;
      if (st !== 0) {
        const why = st === null ? 'the sandbox ended' : st & 0x7f ? `killed by signal ${st & 0x7f}` : `exit status ${(st >> 8) & 0xff}`;
        const err = Buffer.from(output.pipe.take(output.pipe.size)).toString().trim().split('\n').pop();
        return `startContainer hook ${h.path} failed: ${why}${err ? `: ${err}` : ''}`;
      }
    } finally {
      output.decRef();
    }
  }
  return null;
}
