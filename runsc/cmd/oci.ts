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
import * as net from 'node:net';
import * as path from 'node:path';
import type { GlobalOptions } from '../main';
import { parseSpec, defaultSpec, features, SpecError, OCI_VERSION } from '../../src/oci/spec';
import {
  OciError, checkId, containerDir, controlAddress, descendants, listIds, logLine, parseSignal, readState,
  sandboxAlive, sleepMs, startTimeOf, stateJson, statusOf, withLock, withLockAsync, writeAtomic, writeState, type ContainerState,
} from '../container';
import { runSandbox } from '../sandbox';

const SIGKILL = 9;

function globals(cmd: Command): GlobalOptions {
  let c: Command = cmd;
  while (c.parent) c = c.parent;
  return c.opts<GlobalOptions>();
}

/** Runs a command body; an error becomes one log line (runc's format) and exit status 1. */
function oci<A extends unknown[]>(body: (g: GlobalOptions, ...a: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const g = globals(cmd);
    try {
      const code = await body(g, ...args);
      process.exit(typeof code === 'number' ? code : 0);
    } catch (e) {
      const msg = e instanceof OciError || e instanceof SpecError ? e.message
        : g.debug ? (e as Error).stack ?? String(e) : (e as Error).message ?? String(e);
      logLine(g.log, g.logFormat, 'error', msg);
      process.exit(1);
    }
  };
}

/** Sends one request to a container's sandbox process and returns its answer. */
function control(dir: string, req: Record<string, unknown>, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(controlAddress(dir));
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new OciError('the sandbox did not answer'));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (d: string) => { buf += d; });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? new OciError('container not running') : e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const line = buf.split('\n')[0] ?? '';
      if (!line) {
        reject(new OciError('container not running'));
        return;
      }
      const r = JSON.parse(line) as { ok: boolean; error?: string };
      if (r.ok) resolve();
      else reject(new OciError(r.error ?? 'the sandbox refused'));
    });
  });
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
  const f = ['--root', g.root, '--log-format', g.logFormat];
  if (g.debug) f.push('--debug');
  if (g.strace) f.push('--strace');
  if (g.debugLog) f.push('--debug-log', g.debugLog);
  if (g.overlay2) f.push('--overlay2', g.overlay2);
  f.push('--file-access', g.fileAccess);
  return f;
}

interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
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
  if (spec.process!.terminal) throw new SpecError('process.terminal', 'terminals are not supported yet (run without -t)');
  fs.mkdirSync(g.root, { recursive: true, mode: 0o711 });
  const dir = containerDir(g.root, id);
  try {
    fs.mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new OciError(`container with id exists: ${id}`);
    throw e;
  }
  let child: ChildProcess | null = null;
  try {
    child = spawn(process.execPath, [path.join(__dirname, 'runsc.js'), ...globalFlags(g), 'sandbox', '--bundle', bundle, '--state-dir', dir, id], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      detached,
    });
    const c = child;
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      const ready = c.stdio[3] as NodeJS.ReadableStream;
      ready.setEncoding('utf8');
      ready.on('data', (d: string) => { buf += d; });
      ready.on('end', () => resolve(buf.split('\n')[0] || 'the sandbox process exited before it was ready'));
      c.on('error', (e) => resolve(`cannot start the sandbox process: ${e.message}`));
    });
    (c.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
    if (answer !== 'ok') throw new OciError(answer);
    const pid = c.pid!;
    const state: ContainerState = {
      ociVersion: OCI_VERSION, id, pid, pidStart: startTimeOf(pid), bundle, rootfs: path.resolve(bundle, spec.root.path),
      created: new Date().toISOString(), started: false, owner: '', annotations: spec.annotations,
    };
    writeState(g.root, state);
    if (o.pidFile) writeAtomic(path.resolve(o.pidFile), String(pid));
    return { child: c, state };
  } catch (e) {
    if (child?.pid) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
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
    try {
      await control(dir, { op: 'start' });
    } catch (e) {
      s.started = false;
      writeState(g.root, s);
      throw e;
    }
  });
}

async function killContainer(g: GlobalOptions, id: string, sig: number, all: boolean): Promise<void> {
  const s = readState(g.root, id);
  if (statusOf(s) === 'stopped') throw new OciError('container not running');
  if (sig === SIGKILL) {
    // Init dies with the sandbox; the engine sees status 137 from its pid.
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      throw new OciError('container not running');
    }
    return;
  }
  await control(containerDir(g.root, id), { op: 'kill', sig, all });
}

function deleteContainer(g: GlobalOptions, id: string, force: boolean): void {
  readState(g.root, id);
  withLock(g.root, id, () => {
    const s = readState(g.root, id);
    const status = statusOf(s);
    if (status === 'running' && !force) throw new OciError(`cannot delete container ${id} that is not stopped: running`);
    if (status !== 'stopped') {
      try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
      if (!waitGone(s, 10_000)) throw new OciError(`container ${id}: the sandbox process ${s.pid} did not die`);
    }
    const dir = containerDir(g.root, id);
    // Keep the lock file (removed by withLock) while the rest goes.
    for (const e of fs.readdirSync(dir)) if (e !== '.lock') fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  });
  fs.rmSync(containerDir(g.root, id), { recursive: true, force: true });
}

/** The exit code the sandbox recorded, or 137 if it was killed before it could. */
function exitCode(g: GlobalOptions, id: string): number {
  try {
    return Number(fs.readFileSync(path.join(containerDir(g.root, id), 'exit'), 'utf8'));
  } catch {
    return 128 + SIGKILL;
  }
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
    .option('--preserve-fds <n>', 'accepted for runc compatibility (extra fds are not passed yet)', '0')
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
    .option('--preserve-fds <n>', 'accepted for runc compatibility', '0')
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

  for (const [name, what] of [['exec', 'exec'], ['pause', 'pause'], ['resume', 'resume'], ['update', 'update'], ['checkpoint', 'checkpoint'], ['events', 'events']] as const) {
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
    .action(async (id: string, o: { bundle: string; stateDir: string }, self: Command) => {
      const g = globals(self);
      await runSandbox({
        id, bundle: o.bundle, stateDir: o.stateDir, strace: g.strace, debug: g.debug, debugLog: g.debugLog, logFormat: g.logFormat,
        overlay: g.overlay2 === 'root:memory', fileAccess: g.fileAccess,
      });
    });
}
