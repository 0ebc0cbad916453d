// The OCI runtime commands, with runc's command line as containerd's runc
// shim (docker, ctr --runc-binary, Kubernetes RuntimeClass) and go-runc call
// it: global flags (--root, --log, --log-format json, --systemd-cgroup)
// before the subcommand; errors as JSON lines in --log and a non-zero exit.
//
//   create --bundle B --pid-file F ID   starts the sandbox process, waiting for start
//   start ID                            runs process.args in it
//   state ID | list | ps ID             report
//   kill [--all] ID [SIGNAL]            signals into the Sentry (SIGKILL: the sandbox process)
//   delete [--force] ID                 removes a stopped (or, forced, any) container
//   run ID | wait ID | spec | features  conveniences and discovery
//
// State lives in runsc/container.ts; the sandbox process in runsc/sandbox.ts.
import type { Command } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GlobalOptions } from '../main';
import { parseSpec, parseProcessObject, defaultSpec, features, SpecError, OCI_VERSION, type Spec } from '../../src/oci/spec';
import {
  OciError, checkId, containerDir, controlAddress, descendants, listIds, logLine, parseSignal, readState,
  sandboxAlive, sleepMs, startTimeOf, stateJson, statusOf, withLock, withLockAsync, writeAtomic, writeState, type ContainerState,
} from '../container';
import { runSandbox } from '../sandbox';
import { SANDBOX_FD, launchSandbox, recordedExit } from '../sandbox_launch';
import { control } from '../control';
import { runExec } from '../exec';
import { consoleSlave } from '../console';
import { hooksOf, runHooks } from '../hooks';
import { Cgroup, cgroupPaths, parseResources, type CgroupPaths, type Usage } from '../cgroup';
import { traceMark, traceStart } from '../../src/trace';

const SIGKILL = 9;
/** How `exec --detach` hands the process to its exec-wait child. */
const EXEC_PROCESS_ENV = 'RUNSC_EXEC_PROCESS';

function globals(cmd: Command): GlobalOptions {
  let c: Command = cmd;
  while (c.parent) c = c.parent;
  return c.opts<GlobalOptions>();
}

/** Runs a command body; an error becomes one log line (runc's format) and exit status 1. */
function oci<A extends unknown[]>(body: (g: GlobalOptions, ...a: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    traceStart(`runsc ${cmd.name()}`);
    const g = globals(cmd);
    try {
      const code = await body(g, ...args);
      process.exit(typeof code === 'number' ? code : 0);
    } catch (e) {
      const msg = e instanceof OciError || e instanceof SpecError ? e.message
        : g.debug ? (e as Error).stack ?? String(e) : (e as Error).message ?? String(e);
      logLine(g.log, g.logFormat, 'error', msg);
      // runc also prints it on stderr: go-runc puts that output in its error, where the
      // shim looks for "container not running" (a kill --all after init exited is harmless).
      if (g.log) process.stderr.write(`${msg}\n`);
      process.exit(1);
    }
  };
}

/** Waits (up to ms) for the sandbox process to be gone; true if it is. */
function waitGone(s: ContainerState, ms: number): boolean {
  const deadline = Date.now() + ms;
  while (sandboxAlive(s)) {
    if (Date.now() > deadline) return false;
    sleepMs(10);
  }
  return true;
}

function globalFlags(g: GlobalOptions): string[] {
  const f = ['--root', g.root, '--log-format', g.logFormat, '--network', g.network];
  if (g.debug) f.push('--debug');
  if (g.strace) f.push('--strace');
  if (g.platform !== 'ptrace') f.push(`--platform=${g.platform}`);
  if (g.debugLog) f.push('--debug-log', g.debugLog);
  if (g.overlay2) f.push('--overlay2', g.overlay2);
  f.push('--file-access', g.fileAccess);
  if (g.totalMemory !== undefined) f.push('--total-memory', String(g.totalMemory));
  return f;
}

interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** runc's --preserve-fds: how many fds after stdio (3, 4, …) the container's init gets as its own 3, 4, …. */
  preserveFds: string;
}

/** The fds --preserve-fds N names: 3 … 3+N-1 (as with runc, the caller must have them open). */
function preservedFds(n: string): number[] {
  if (!/^\d{1,4}$/.test(n)) throw new OciError(`invalid --preserve-fds ${JSON.stringify(n)}: want a number`);
  return Array.from({ length: Number(n) }, (_, i) => 3 + i);
}

/** create's work: returns the sandbox child (still running) and its state. */
async function createContainer(g: GlobalOptions, id: string, o: CreateOptions, detached: boolean): Promise<{ child: ChildProcess; state: ContainerState }> {
  checkId(id);
  const bundle = path.resolve(o.bundle);
  let text: string;
  try {
    text = fs.readFileSync(path.join(bundle, 'config.json'), 'utf8');
  } catch {
    throw new OciError(`open ${path.join(bundle, 'config.json')}: no such file or directory`);
  }
  const spec = parseSpec(text);
  if (spec.process!.terminal && !o.consoleSocket) throw new SpecError('process.terminal', 'a terminal needs --console-socket');
  const preserved = preservedFds(o.preserveFds);
  fs.mkdirSync(g.root, { recursive: true, mode: 0o711 });
  const dir = containerDir(g.root, id);
  try {
    fs.mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new OciError(`container with id exists: ${id}`);
    throw e;
  }
  let child: ChildProcess | null = null;
  let tty: number | null = null;
  let cgroup: Cgroup | null = null;
  let state: ContainerState | null = null;
  try {
    cgroup = sandboxCgroup(g, id, spec);
    // With a terminal, the pty's slave is the container's stdio and the engine gets the master.
    if (spec.process!.terminal) tty = consoleSlave(o.consoleSocket!, spec.process!.consoleSize);
    const cgroupFlag = cgroup ? ['--cgroup', JSON.stringify(cgroup.paths)] : [];
    // The preserved fds follow the sandbox's own, and the sandbox is told where (they become 3, 4, … in the Sentry).
    const preservedFlag = preserved.length ? ['--preserved-fds', preserved.map((_, i) => SANDBOX_FD.preserved + i).join(',')] : [];
    child = launchSandbox({
      dir, spec, network: g.network, rootless: g.rootless, detached, preserved,
      args: [...globalFlags(g), 'sandbox', '--bundle', bundle, '--state-dir', dir, ...preservedFlag, ...cgroupFlag, id],
      stdio: tty === null ? ['inherit', 'inherit', 'inherit'] : [tty, tty, tty],
    });
    const c = child;
    // The launcher, waiting outside the sandbox's PID namespace, is one of its host processes too.
    if (cgroup && c.pid) cgroup.enter(c.pid);
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      const ready = c.stdio[3] as NodeJS.ReadableStream;
      ready.setEncoding('utf8');
      // The first line: the launcher keeps its copy of the pipe open while the sandbox runs.
      ready.on('data', (d: string) => { buf += d; if (buf.includes('\n')) resolve(buf.split('\n')[0]!); });
      c.on('close', (code) => resolve(buf.split('\n')[0] || (code !== null && code > 0 && code < 128
        ? `cannot confine the sandbox (errno ${code}): namespaces need root, or --rootless`
        : 'the sandbox process exited before it was ready')));
      c.on('error', (e) => resolve(`cannot start the sandbox process: ${e.message}`));
    });
    (c.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
    traceMark('sandbox-answered');
    if (answer !== 'ok') throw new OciError(answer);
    const pid = c.pid!;
    state = {
      ociVersion: OCI_VERSION, id, pid, pidStart: startTimeOf(pid), bundle, rootfs: path.resolve(bundle, spec.root.path),
      created: new Date().toISOString(), started: false, owner: '', annotations: spec.annotations,
    };
    if (cgroup) state.cgroup = cgroup.paths;
    writeState(g.root, state);
    // The sandbox exists (its pid names the container's namespaces): the hooks that set it up run now.
    const creating = { ...stateJson(state), status: 'creating' };
    for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) runHooks(hooksOf(text, kind), creating, kind);
    if (o.pidFile) writeAtomic(path.resolve(o.pidFile), String(pid));
    traceMark('created');
    return { child: c, state };
  } catch (e) {
    if (child?.pid) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    cgroup?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
    // A create hook failed (the runtime spec): the container is destroyed, and its poststop hooks run as on delete.
    if (state) runPoststop(g, text, state);
    throw e;
  } finally {
    if (tty !== null) fs.closeSync(tty);
  }
}

interface ExecOptions {
  process?: string;
  consoleSocket?: string;
  cwd?: string;
  env: string[];
  tty: boolean;
  user?: string;
  additionalGids: string[];
  detach: boolean;
  pidFile?: string;
  preserveFds: string;
}

/** The process `exec` runs: --process FILE, or the container's own process with the command line's changes (as runc builds it). */
function execProcess(s: ContainerState, o: ExecOptions, args: string[]): Record<string, unknown> {
  if (o.process) {
    let text: string;
    try {
      text = fs.readFileSync(o.process, 'utf8');
    } catch {
      throw new OciError(`open ${o.process}: no such file or directory`);
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new SpecError('process', `not valid JSON (${(e as Error).message})`);
    }
    return parseProcessObject(v) as unknown as Record<string, unknown>;
  }
  if (args.length === 0) throw new OciError('exec needs a command (or --process)');
  const base = parseSpec(fs.readFileSync(path.join(s.bundle, 'config.json'), 'utf8')).process!;
  const user = { ...base.user };
  if (o.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(o.user);
    if (!m) throw new OciError(`invalid --user ${JSON.stringify(o.user)}: want UID[:GID]`);
    user.uid = Number(m[1]);
    if (m[2] !== undefined) user.gid = Number(m[2]);
  }
  if (o.additionalGids.length) user.additionalGids = o.additionalGids.map(Number);
  return parseProcessObject({
    ...base, terminal: o.tty, args, cwd: o.cwd ?? base.cwd, user, env: [...base.env, ...o.env],
  }) as unknown as Record<string, unknown>;
}

async function execContainer(g: GlobalOptions, id: string, args: string[], o: ExecOptions): Promise<number> {
  const s = readState(g.root, id);
  const status = statusOf(s);
  if (status !== 'running') throw new OciError(`cannot exec in a ${status} container`);
  const proc = execProcess(s, o, args);
  const address = controlAddress(containerDir(g.root, id));
  let tty: number | null = null;
  if (proc['terminal']) {
    if (!o.consoleSocket) throw new SpecError('process.terminal', 'a terminal needs --console-socket');
    tty = consoleSlave(o.consoleSocket, proc['consoleSize'] as { height: number; width: number } | undefined);
  }
  const stdio = tty === null ? [0, 1, 2] : [tty, tty, tty];
  const preserved = preservedFds(o.preserveFds);
  // They travel with stdio in one SCM_RIGHTS message (runsc/control.ts).
  if (preserved.length > 13) throw new OciError(`exec --preserve-fds ${preserved.length}: at most 13`);
  try {
    if (!o.detach) {
      // The preserved fds go with stdio: the process gets them as its 3, 4, ….
      return await runExec(address, proc, [...stdio, ...preserved], () => {
        if (o.pidFile) writeAtomic(path.resolve(o.pidFile), String(process.pid));
      });
    }
    // Detached: a child of ours waits for the process and exits with its status; its pid is the pid file's.
    const child = spawn(process.execPath, [path.join(__dirname, 'runsc.js'), ...globalFlags(g), 'exec-wait', '--state-dir', containerDir(g.root, id),
      '--preserve-fds', String(preserved.length)], {
      stdio: [stdio[0]!, stdio[1]!, stdio[2]!, 'pipe', ...preserved], detached: true, env: { ...process.env, [EXEC_PROCESS_ENV]: JSON.stringify(proc) },
    });
    const pipe = child.stdio[3] as unknown as NodeJS.ReadableStream & { destroy(): void };
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      pipe.setEncoding('utf8');
      pipe.on('data', (d: string) => { buf += d; if (buf.includes('\n')) resolve(buf.split('\n')[0]!); });
      pipe.on('end', () => resolve(buf.split('\n')[0] || 'the exec process exited before it started'));
      child.on('error', (e) => resolve(e.message));
    });
    pipe.destroy();
    if (answer !== 'ok') throw new OciError(answer);
    if (o.pidFile) writeAtomic(path.resolve(o.pidFile), String(child.pid));
    child.unref();
    return 0;
  } finally {
    if (tty !== null) fs.closeSync(tty);
  }
}

async function startContainer(g: GlobalOptions, id: string): Promise<void> {
  const dir = containerDir(g.root, id);
  // Read outside the lock first: a missing container is "does not exist", not a lock error.
  readState(g.root, id);
  await withLockAsync(g.root, id, async () => {
    const s = readState(g.root, id);
    const status = statusOf(s);
    if (status === 'stopped') throw new OciError('cannot start a container that has stopped');
    if (status === 'running') throw new OciError('cannot start an already running container');
    s.started = true;
    writeState(g.root, s);
    const config = bundleConfig(s);
    try {
      // The sandbox runs the startContainer hooks first (their paths are the container's): wait for them too.
      const hookMs = hooksOf(config, 'startContainer').reduce((ms, h) => ms + (h.timeout ?? 0) * 1000, 0);
      control(controlAddress(dir), { op: 'start', state: { ...stateJson(s), status: 'created' } }, 30_000 + hookMs);
    } catch (e) {
      s.started = false;
      writeState(g.root, s);
      throw e;
    }
    runHooks(hooksOf(config, 'poststart'), stateJson(s), 'poststart', warnTo(g));
  });
}

/** Where the hooks whose failures only warn (poststart, poststop) report: --log. */
function warnTo(g: GlobalOptions): (msg: string) => void {
  return (msg) => logLine(g.log, g.logFormat, 'warning', msg);
}

/** The poststop hooks, once the container is gone. */
function runPoststop(g: GlobalOptions, configText: string, s: ContainerState): void {
  runHooks(hooksOf(configText, 'poststop'), { ...stateJson(s), status: 'stopped', pid: 0 }, 'poststop', warnTo(g));
}

/** The text of a container's config.json, or '{}' once its bundle is gone. */
function bundleConfig(s: ContainerState): string {
  try {
    return fs.readFileSync(path.join(s.bundle, 'config.json'), 'utf8');
  } catch {
    return '{}';
  }
}

/**
 * The cgroup for a new container's host processes, made and limited as the
 * spec says; null where runsc cannot manage one (not root, or no cgroupfs).
 */
function sandboxCgroup(g: GlobalOptions, id: string, spec: Spec): Cgroup | null {
  const resources = parseResources(spec.linux.resources);
  const paths = process.getuid?.() === 0 ? cgroupPaths(id, spec.linux.cgroupsPath, g.systemdCgroup) : null;
  if (!paths || Object.keys(paths.dirs).length === 0) {
    if (resources.memory || resources.pids || resources.cpu) throw new SpecError('linux.resources', 'runsc needs root and cgroupfs to apply resources');
    return null;
  }
  const cg = new Cgroup(paths);
  try {
    cg.create();
    cg.apply(resources);
  } catch (e) {
    cg.destroy(0);
    throw e;
  }
  return cg;
}

/** Kills the sandbox process (and with it the stubs and Gofers); a paused one is thawed so it can die. */
function killSandbox(s: ContainerState): void {
  process.kill(s.pid, 'SIGKILL');
  if (s.cgroup) new Cgroup(s.cgroup).freeze(false);
}

async function killContainer(g: GlobalOptions, id: string, sig: number, all: boolean): Promise<void> {
  const s = readState(g.root, id);
  const status = statusOf(s);
  if (status === 'stopped') throw new OciError('container not running');
  if (sig === SIGKILL) {
    // Init dies with the sandbox; the engine sees status 137 from its pid.
    try {
      killSandbox(s);
    } catch {
      throw new OciError('container not running');
    }
    return;
  }
  if (status === 'paused') throw new OciError('cannot signal a paused container (resume it first)');
  control(controlAddress(containerDir(g.root, id)), { op: 'kill', sig, all });
}

function deleteContainer(g: GlobalOptions, id: string, force: boolean): void {
  readState(g.root, id);
  withLock(g.root, id, () => {
    const s = readState(g.root, id);
    const status = statusOf(s);
    if ((status === 'running' || status === 'paused') && !force) throw new OciError(`cannot delete container ${id} that is not stopped: running`);
    if (status !== 'stopped') {
      try { killSandbox(s); } catch { /* gone */ }
      if (!waitGone(s, 10_000)) throw new OciError(`container ${id}: the sandbox process ${s.pid} did not die`);
    }
    if (s.cgroup) new Cgroup(s.cgroup).destroy();
    const dir = containerDir(g.root, id);
    // Keep the lock file (removed by withLock) while the rest goes.
    for (const e of fs.readdirSync(dir)) if (e !== '.lock') fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    runPoststop(g, bundleConfig(s), s);
  });
  fs.rmSync(containerDir(g.root, id), { recursive: true, force: true });
}

function cgroupOf(s: ContainerState): Cgroup {
  if (!s.cgroup) throw new OciError(`container ${s.id} has no cgroup (runsc manages one only as root with cgroupfs)`);
  return new Cgroup(s.cgroup);
}

/** The fields of o that are set. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** "512m", "1g", "1048576", "-1" → bytes (binary multiples, as runc's units.RAMInBytes). */
export function parseBytes(s: string): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new OciError(`invalid size: ${JSON.stringify(s)}`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

/** "5s", "500ms", "1m", "2" (seconds) → milliseconds. */
function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new OciError(`invalid duration: ${JSON.stringify(s)}`);
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (n <= 0) throw new OciError('duration must be positive');
  return n;
}

/** runc's events stats document (types.Stats) for u. */
function statsData(u: Usage): Record<string, unknown> {
  return {
    cpu: { usage: { total: u.cpu.total, kernel: u.cpu.kernel, user: u.cpu.user }, throttling: {} },
    memory: { usage: { usage: u.memory.usage, limit: u.memory.limit, max: u.memory.maxUsage, failcnt: 0 }, cache: u.memory.cache, raw: u.memory.raw },
    pids: { current: u.pids.current, limit: u.pids.limit },
    blkio: {},
    hugetlb: {},
  };
}

/** Processes the sandbox's OOM killer has killed so far (0 when the sandbox cannot say). */
function sentryOomKills(g: GlobalOptions, id: string): number {
  try {
    const a = control(controlAddress(containerDir(g.root, id)), { op: 'oom' }, 5000);
    return typeof a['kills'] === 'number' ? a['kills'] : 0;
  } catch {
    return 0;
  }
}

/** The exit code the sandbox recorded, or 137 if it was killed before it could. */
function exitCode(g: GlobalOptions, id: string): number {
  return recordedExit(containerDir(g.root, id)) ?? 128 + SIGKILL;
}

export function ociCommands(program: Command): void {
  program
    .command('create')
    .description('create a container: the sandbox is set up and waits for start')
    .argument('<id>', 'container id')
    .option('-b, --bundle <dir>', 'the bundle directory (holding config.json)', '.')
    .option('--pid-file <file>', 'write the sandbox process pid here')
    .option('--console-socket <path>', 'a Unix socket for the pty master (terminals are not supported yet)')
    .option('--no-pivot', 'accepted for runc compatibility')
    .option('--no-new-keyring', 'accepted for runc compatibility')
    .option('--preserve-fds <n>', 'pass fds 3 … 3+N-1 to the container\'s init as its fds 3 … 3+N-1', '0')
    .option('--pidfd-socket <path>', 'accepted for runc compatibility')
    .action(oci(async (g, id: string, o: CreateOptions) => {
      const { child } = await createContainer(g, id, o, true);
      child.unref();
    }));

  program
    .command('start')
    .description('run the container\'s process in its sandbox')
    .argument('<id>', 'container id')
    .action(oci(async (g, id: string) => startContainer(g, id)));

  program
    .command('run')
    .description('create, start and wait for a container; exits with its status')
    .argument('<id>', 'container id')
    .option('-b, --bundle <dir>', 'the bundle directory', '.')
    .option('--pid-file <file>', 'write the sandbox process pid here')
    .option('-d, --detach', 'return once it runs', false)
    .option('--console-socket <path>', 'accepted for runc compatibility')
    .option('--no-pivot', 'accepted for runc compatibility')
    .option('--no-new-keyring', 'accepted for runc compatibility')
    .option('--preserve-fds <n>', 'pass fds 3 … 3+N-1 to the container\'s init as its fds 3 … 3+N-1', '0')
    .action(oci(async (g, id: string, o: CreateOptions & { detach: boolean }) => {
      const { child, state } = await createContainer(g, id, o, o.detach);
      const exited = new Promise<number>((resolve) => {
        child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? (require('node:os') as typeof import('node:os')).constants.signals[signal] : 0)));
      });
      await startContainer(g, id);
      if (o.detach) {
        child.unref();
        return 0;
      }
      const code = await exited;
      waitGone(state, 5_000);
      deleteContainer(g, id, true);
      return code;
    }));

  program
    .command('state')
    .description('print the container\'s OCI state')
    .argument('<id>', 'container id')
    .action(oci((g, id: string) => {
      process.stdout.write(`${JSON.stringify(stateJson(readState(g.root, id)), null, 2)}\n`);
    }));

  program
    .command('kill')
    .description('send a signal (default SIGTERM) to the container\'s init, or --all processes')
    .argument('<id>', 'container id')
    .argument('[signal]', 'a number or a name (TERM, SIGTERM)', 'SIGTERM')
    .option('-a, --all', 'signal every process in the container', false)
    .action(oci(async (g, id: string, sig: string, o: { all: boolean }) => killContainer(g, id, parseSignal(sig), o.all)));

  program
    .command('delete')
    .description('delete a stopped container (--force: any)')
    .argument('<id>', 'container id')
    .option('-f, --force', 'kill it first if it runs', false)
    .action(oci((g, id: string, o: { force: boolean }) => {
      try {
        deleteContainer(g, id, o.force);
      } catch (e) {
        // runc: deleting what is not there is not an error with --force.
        if (o.force && e instanceof OciError && /does not exist/.test(e.message)) return;
        throw e;
      }
    }));

  program
    .command('list')
    .description('list containers')
    .option('-f, --format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'ids only', false)
    .action(oci((g, o: { format: string; quiet: boolean }) => {
      const states = listIds(g.root).flatMap((id) => {
        try { return [stateJson(readState(g.root, id))]; } catch { return []; }
      });
      if (o.quiet) {
        for (const s of states) process.stdout.write(`${String(s['id'])}\n`);
      } else if (o.format === 'json') {
        process.stdout.write(`${JSON.stringify(states)}\n`);
      } else if (o.format === 'table') {
        const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
          ...states.map((s) => [s['id'], s['pid'], s['status'], s['bundle'], s['created'], s['owner'] || 'root'].map(String))];
        const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(w[i]!)).join('   ').trimEnd()}\n`);
      } else {
        throw new OciError(`invalid format option: ${o.format}`);
      }
    }));

  program
    .command('ps')
    .description('list the host pids of the container\'s processes (the sandbox and its stubs and Gofers)')
    .argument('<id>', 'container id')
    .option('-f, --format <format>', 'table or json', 'table')
    .action(oci((g, id: string, o: { format: string }) => {
      const s = readState(g.root, id);
      const pids = sandboxAlive(s) ? descendants(s.pid) : [];
      if (o.format === 'json') process.stdout.write(`${JSON.stringify(pids)}\n`);
      else process.stdout.write(`PID\n${pids.map((p) => `${p}\n`).join('')}`);
    }));

  program
    .command('wait')
    .description('wait for the container to stop; print and exit with its status')
    .argument('<id>', 'container id')
    .action(oci((g, id: string) => {
      const s = readState(g.root, id);
      while (sandboxAlive(s)) sleepMs(20);
      const code = exitCode(g, id);
      process.stdout.write(`${code}\n`);
      return code;
    }));

  program
    .command('spec')
    .description('write a default config.json in the bundle directory')
    .option('-b, --bundle <dir>', 'the bundle directory', '.')
    .option('--rootless', 'accepted for runc compatibility', false)
    .action(oci((g, o: { bundle: string }) => {
      const file = path.join(o.bundle, 'config.json');
      if (fs.existsSync(file)) throw new OciError('File config.json exists. Remove it first.');
      fs.writeFileSync(file, `${JSON.stringify(defaultSpec(), null, '\t')}\n`);
    }));

  program
    .command('features')
    .description('print the OCI features document')
    .action(oci(() => {
      process.stdout.write(`${JSON.stringify(features(), null, '    ')}\n`);
    }));

  const collect = (v: string, prev: string[]): string[] => [...prev, v];
  program
    .command('exec')
    .description('run a new process in a running container')
    .argument('<id>', 'container id')
    .argument('[command...]', 'the program and its arguments (or --process)')
    .passThroughOptions()
    .option('-p, --process <file>', 'an OCI process object (JSON) to run')
    .option('--console-socket <path>', 'with a terminal: where to send the pty master')
    .option('--cwd <dir>', 'working directory in the container')
    .option('-e, --env <NAME=value>', 'add an environment variable (repeatable)', collect, [])
    .option('-t, --tty', 'give the process a terminal', false)
    .option('-u, --user <uid[:gid]>', 'run as this user')
    .option('-g, --additional-gids <gid>', 'an additional group (repeatable)', collect, [])
    .option('-d, --detach', 'return once it runs; the --pid-file process exits with its status', false)
    .option('--pid-file <file>', 'write the pid of the process that exits with the exec\'d process\'s status')
    .option('--preserve-fds <n>', 'pass fds 3 … 3+N-1 to the process as its fds 3 … 3+N-1', '0')
    .option('--pidfd-socket <path>', 'accepted for runc compatibility')
    .option('--process-label <label>', 'accepted for runc compatibility')
    .option('--apparmor <profile>', 'accepted for runc compatibility')
    .option('--no-new-privs', 'accepted for runc compatibility')
    .option('-c, --cap <cap>', 'accepted for runc compatibility', collect, [])
    .option('--ignore-paused', 'accepted for runc compatibility')
    .option('--cgroup <path>', 'accepted for runc compatibility')
    .action(oci(async (g, id: string, args: string[], o: ExecOptions) => execContainer(g, id, args, o)));

  program
    .command('exec-wait', { hidden: true })
    .description(`(internal) a detached exec: runs the process in $${EXEC_PROCESS_ENV}, tells fd 3, exits with its status`)
    .requiredOption('--state-dir <dir>', 'the container\'s state directory')
    .option('--preserve-fds <n>', 'fds 4 … 4+N-1 go to the process as its 3 … 3+N-1', '0')
    .action(async (o: { stateDir: string; preserveFds: string }) => {
      const tell = (msg: string): void => {
        try { fs.writeSync(3, `${msg.replace(/\n/g, ' ')}\n`); fs.closeSync(3); } catch { /* the exec command went away */ }
      };
      let code: number;
      try {
        const proc = JSON.parse(process.env[EXEC_PROCESS_ENV] ?? '') as Record<string, unknown>;
        delete process.env[EXEC_PROCESS_ENV];
        // Our fd 3 is the pipe to the exec command: the preserved fds are one further on.
        const preserved = preservedFds(o.preserveFds).map((fd) => fd + 1);
        code = await runExec(controlAddress(o.stateDir), proc, [0, 1, 2, ...preserved], () => tell('ok'));
      } catch (e) {
        tell((e as Error).message);
        process.exit(1);
      }
      process.exit(code);
    });

  program
    .command('pause')
    .description('freeze every host process of the sandbox (its cgroup\'s freezer)')
    .argument('<id>', 'container id')
    .action(oci((g, id: string) => {
      readState(g.root, id);
      withLock(g.root, id, () => {
        const s = readState(g.root, id);
        const status = statusOf(s);
        if (status !== 'running') throw new OciError(status === 'paused' ? 'container already paused' : 'container not running');
        cgroupOf(s).freeze(true);
      });
    }));

  program
    .command('resume')
    .description('thaw a paused sandbox')
    .argument('<id>', 'container id')
    .action(oci((g, id: string) => {
      readState(g.root, id);
      withLock(g.root, id, () => {
        const s = readState(g.root, id);
        if (statusOf(s) !== 'paused') throw new OciError('container not paused');
        cgroupOf(s).freeze(false);
      });
    }));

  program
    .command('events')
    .description('print the sandbox\'s resource usage as JSON events, every --interval until it stops (or once with --stats)')
    .argument('<id>', 'container id')
    .option('--stats', 'print one stats event and exit', false)
    .option('--interval <duration>', 'time between events (e.g. 5s, 500ms)', '5s')
    .action(oci(async (g, id: string, o: { stats: boolean; interval: string }) => {
      const s = readState(g.root, id);
      const cg = cgroupOf(s);
      const ms = parseDuration(o.interval);
      let oomKills = 0;
      for (;;) {
        if (statusOf(s) === 'stopped') throw new OciError('container not running');
        if (!o.stats) {
          // The Sentry's own OOM kills (the host cgroup never sees them): one oom event each, as runc reports the cgroup's.
          const kills = sentryOomKills(g, id);
          for (; oomKills < kills; oomKills++) process.stdout.write(`${JSON.stringify({ type: 'oom', id })}\n`);
        }
        process.stdout.write(`${JSON.stringify({ type: 'stats', id, data: statsData(cg.usage()) })}\n`);
        if (o.stats) return;
        await new Promise((r) => setTimeout(r, ms));
      }
    }));

  program
    .command('update')
    .description('change the sandbox\'s resource limits')
    .argument('<id>', 'container id')
    .option('-r, --resources <file>', 'a linux.resources JSON document ("-": stdin)')
    .option('--memory <bytes>', 'memory limit (suffixes k, m, g)')
    .option('--memory-reservation <bytes>', 'memory soft limit')
    .option('--memory-swap <bytes>', 'memory plus swap limit')
    .option('--pids-limit <n>', 'maximum number of host processes and threads')
    .option('--cpu-shares <n>', 'relative CPU weight')
    .option('--cpu-quota <us>', 'CPU time per period (-1: no limit)')
    .option('--cpu-period <us>', 'CPU period')
    .option('--cpuset-cpus <list>', 'CPUs allowed')
    .option('--cpuset-mems <list>', 'memory nodes allowed')
    .action(oci((g, id: string, o: Record<string, string | undefined>) => {
      const s = readState(g.root, id);
      if (statusOf(s) === 'stopped') throw new OciError('container not running');
      let doc: Record<string, unknown> = {};
      if (o['resources']) {
        const text = fs.readFileSync(o['resources'] === '-' ? 0 : o['resources'], 'utf8');
        try {
          doc = JSON.parse(text) as Record<string, unknown>;
        } catch (e) {
          throw new SpecError('resources', `not valid JSON (${(e as Error).message})`);
        }
      }
      const r = parseResources(doc, 'resources');
      const bytes = (k: string): number | undefined => o[k] === undefined ? undefined : parseBytes(o[k]!);
      const int = (k: string): number | undefined => o[k] === undefined ? undefined : Number.parseInt(o[k]!, 10);
      const memory = { limit: bytes('memory'), reservation: bytes('memoryReservation'), swap: bytes('memorySwap') };
      if (Object.values(memory).some((v) => v !== undefined)) r.memory = { ...r.memory, ...defined(memory) };
      if (o['pidsLimit'] !== undefined) r.pids = { limit: int('pidsLimit') };
      const cpu = { shares: int('cpuShares'), quota: int('cpuQuota'), period: int('cpuPeriod'), cpus: o['cpusetCpus'], mems: o['cpusetMems'] };
      if (Object.values(cpu).some((v) => v !== undefined)) r.cpu = { ...r.cpu, ...defined(cpu) };
      cgroupOf(s).apply(r);
      // The Sentry's own accounting follows the new memory limit.
      if (r.memory?.limit !== undefined) control(controlAddress(containerDir(g.root, id)), { op: 'memory', limit: r.memory.limit });
    }));

  for (const [name, what] of [['checkpoint', 'checkpoint']] as const) {
    program
      .command(name)
      .description(`not supported yet (${what})`)
      .allowUnknownOption()
      .argument('[args...]')
      .action(oci(() => {
        throw new OciError(`runsc: ${what} is not supported yet`);
      }));
  }

  program
    .command('sandbox', { hidden: true })
    .description('(internal) the sandbox process of a container')
    .argument('<id>', 'container id')
    .requiredOption('--bundle <dir>', 'the bundle directory')
    .requiredOption('--state-dir <dir>', 'the container\'s state directory')
    .option('--cgroup <json>', 'the cgroup to enter first (runsc/cgroup.ts CgroupPaths)')
    .option('--preserved-fds <list>', 'these fds (comma-separated) become init\'s 3, 4, …', '')
    .action(async (id: string, o: { bundle: string; stateDir: string; cgroup?: string; preservedFds: string }, self: Command) => {
      const g = globals(self);
      await runSandbox({
        id, bundle: o.bundle, stateDir: o.stateDir, strace: g.strace, debug: g.debug, debugLog: g.debugLog, logFormat: g.logFormat,
        platform: g.platform, overlay: g.overlay2 === 'root:memory', fileAccess: g.fileAccess, network: g.network, totalMemory: g.totalMemory,
        cgroup: o.cgroup ? JSON.parse(o.cgroup) as CgroupPaths : undefined, preservedFds: o.preservedFds ? o.preservedFds.split(',').map(Number) : [],
      });
    });
}
