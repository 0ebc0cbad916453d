// The two layers under the workload, checked from the host while a sandbox
// runs (docs/security.md): the Sentry's namespaces, root, capabilities and
// seccomp filter; the stubs' filter and fds; the filters' semantics (a probe
// program installs each and makes allowed and forbidden calls); --rootless
// and --network=host; the same confinement for OCI sandboxes (create/run,
// and --rootless run as an unprivileged user); and faults — kill -9 of the
// Sentry, the launcher, a stub or the Gofer leaves nothing behind and breaks
// no later run, and data fsync'd to a writable root before the kill is on
// the host.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BASE_ENV, REPO, RUNSC, buildC, describeRun, killAll, run, runSandboxed } from './harness';
import { CONTROL_SYSCALLS, HOST_NETWORK_SYSCALLS, SENTRY_SYSCALLS, sentryFilter } from '../runsc/confine';
import { SYSCALL_NAMES } from '../src/abi/sysno';
import { stubFilter } from '../sentry/platform/ptrace/stubfilter';

afterAll(killAll);

/** Sandboxes started by startSandbox, killed (by group) after each test. */
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
});

interface Live {
  child: ChildProcess;
  /** Everything the sandbox printed so far. */
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `runsc [globals] do ARGS` and resolves once its stdout shows `ready`. */
async function startSandbox(args: string[], ready = 'ready', globals: string[] = []): Promise<Live> {
  const child = spawn(RUNSC, [...globals, 'do', ...args], { cwd: REPO, env: { ...BASE_ENV }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + 20_000;
  while (!out.includes(ready)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the sandbox did not get ready: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, out: () => out, exited };
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      out.push(...fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    }
  } catch {
    // Gone.
  }
  return out;
}

function descendants(pid: number): number[] {
  const all: number[] = [];
  for (const c of children(pid)) all.push(c, ...descendants(c));
  return all;
}

const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

const status = (pid: number): string => fs.readFileSync(`/proc/${pid}/status`, 'utf8');
const field = (st: string, name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(st)?.[1] ?? '';
const cmdline = (pid: number): string => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

/** The sandbox's host processes: the launcher (the pid runsc was started as), the Sentry, its Gofer and stubs. */
function processes(l: Live): { launcher: number; sentry: number; gofer: number; stubs: number[] } {
  return processesOf(l.child.pid!);
}

/** The same, from the launcher's pid (an OCI sandbox's, in its pid file). */
function processesOf(launcher: number): { launcher: number; sentry: number; gofer: number; stubs: number[] } {
  const [sentry] = children(launcher);
  expect(sentry, 'the launcher has the Sentry as its child').toBeDefined();
  const below = descendants(sentry!);
  const gofer = below.find((p) => cmdline(p).includes('gofer.js'));
  expect(gofer, 'the Sentry has a Gofer').toBeDefined();
  const goferTree = new Set([gofer!, ...descendants(gofer!)]);
  return { launcher, sentry: sentry!, gofer: gofer!, stubs: below.filter((p) => !goferTree.has(p)) };
}

async function gone(pids: number[], ms = 5000): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(alive);
  }
  return left;
}

const ns = (pid: number | 'self', kind: string): string => fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
const SLEEPER = ['/bin/sh', '-c', 'echo ready; exec sleep 60'];

/** Checks, from the host, that p's Sentry is confined (docs/security.md, layer 2). */
function expectConfined(p: ReturnType<typeof processesOf>, userns: boolean): void {
  for (const kind of ['mnt', 'pid', 'ipc', 'uts', 'net']) expect(ns(p.sentry, kind), kind).not.toBe(ns('self', kind));
  if (userns) expect(ns(p.sentry, 'user'), 'a user namespace of its own').not.toBe(ns('self', 'user'));
  else expect(ns(p.sentry, 'user'), 'no user namespace without --rootless').toBe(ns('self', 'user'));
  expect(fs.readdirSync(`/proc/${p.sentry}/root`), 'the root holds only /proc').toEqual(['proc']);
  for (const tid of fs.readdirSync(`/proc/${p.sentry}/task`)) {
    const st = fs.readFileSync(`/proc/${p.sentry}/task/${tid}/status`, 'utf8');
    expect(field(st, 'Seccomp'), `thread ${tid}`).toBe('2');
    expect(field(st, 'NoNewPrivs'), `thread ${tid}`).toBe('1');
  }
  const st = status(p.sentry);
  expect(field(st, 'CapEff')).toBe('0000000000000000');
  expect(field(st, 'CapPrm')).toBe('0000000000000000');
  expect(field(st, 'CapBnd')).toBe('0000000000000000');
  expect(field(status(p.gofer), 'Seccomp'), 'the Gofer is confined too').toBe('2');
}

describe('confinement', () => {
  it('the Sentry runs in its own namespaces, in an empty read-only root, with no capabilities and a seccomp filter on every thread', async () => {
    const l = await startSandbox(SLEEPER);
    expectConfined(processes(l), false);
  });

  it('stubs carry their own seccomp filter, no_new_privs and no fd but the memory file (and the waker\'s epoll)', async () => {
    const l = await startSandbox(['/bin/sh', '-c', 'sleep 60 & echo ready; wait']);
    const { stubs } = processes(l);
    expect(stubs.length).toBeGreaterThanOrEqual(4); // template, waker, sh, sleep
    let wakers = 0;
    for (const s of stubs) {
      const st = status(s);
      expect(field(st, 'Seccomp'), `stub ${s}`).toBe('2');
      expect(field(st, 'Seccomp_filters'), `stub ${s}: only its own filter`).toBe('1');
      expect(field(st, 'NoNewPrivs'), `stub ${s}`).toBe('1');
      const fds = fs.readdirSync(`/proc/${s}/fd`);
      expect(fs.readlinkSync(`/proc/${s}/fd/100`)).toMatch(/memfd:runsc-memory/);
      if (fds.length === 2) {
        // The waker also holds the host poller's epoll instance (an epoll fd reaches no file by itself).
        expect(fs.readlinkSync(`/proc/${s}/fd/101`)).toBe('anon_inode:[eventpoll]');
        wakers++;
        continue;
      }
      expect(fds, `stub ${s} fds`).toEqual(['100']);
    }
    expect(wakers).toBe(1);
  });

  it('--network=host keeps the host network namespace', async () => {
    const l = await startSandbox(SLEEPER, 'ready', ['--network=host']);
    const p = processes(l);
    expect(ns(p.sentry, 'net')).toBe(ns('self', 'net'));
    expect(ns(p.sentry, 'mnt')).not.toBe(ns('self', 'mnt'));
  });

  it('--network=host passes inet sockets to the host stack: a server inside is reachable from the host, and the host\'s from inside (loopback)', async () => {
    const host = http.createServer((req, res) => res.end('from the host\n'));
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    try {
      const hostPort = (host.address() as AddressInfo).port;
      const fetchInside = await run(RUNSC, ['--network=host', 'do', '/usr/bin/python3', '-c',
        `import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:${hostPort}/').read().decode(), end='')`]);
      expect(fetchInside.stdout, describeRun('fetch from inside', fetchInside)).toBe('from the host\n');
      // A port nobody holds: the host picks it, and frees it for the sandbox's server.
      const probe = net.createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((r) => probe.close(r));
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-hostnet-'));
      fs.writeFileSync(path.join(dir, 'index.html'), 'from the sandbox\n');
      const l = await startSandbox(['--cwd', dir, '/usr/bin/python3', '-u', '-m', 'http.server', String(port), '--bind', '127.0.0.1'], 'Serving HTTP', ['--network=host']);
      const body = await new Promise<string>((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}/`, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => { b += d.toString(); });
          res.on('end', () => resolve(b));
        }).on('error', reject);
      });
      expect(body, l.out()).toBe('from the sandbox\n');
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      host.close();
    }
  });

  it('--rootless runs as an unprivileged user, in a user namespace; without it an unprivileged runsc says why it cannot start', async () => {
    const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
    let r = await run('setpriv', [...nobody, RUNSC, '--rootless', 'do', '/bin/sh', '-c', 'id -u; echo ok'], { cwd: '/' });
    expect(r.status, describeRun('rootless', r)).toBe(0);
    expect(r.stdout).toBe('0\nok\n');
    r = await run('setpriv', [...nobody, RUNSC, 'do', '/bin/true'], { cwd: '/' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/namespaces need root, or --rootless/);
  });
});

describe('OCI sandboxes (runsc create/run)', () => {
  const NOBODY = 65534;
  const dirs: string[] = [];
  const launchers: number[] = [];
  afterAll(() => {
    for (const pid of launchers) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A busybox bundle running args, and a state root, in a directory nobody may use too. */
  function bundle(args: string[]): { dir: string; state: string; bundle: string; out: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-oci-confine-'));
    dirs.push(dir);
    const b = path.join(dir, 'bundle');
    fs.mkdirSync(path.join(b, 'rootfs', 'bin'), { recursive: true });
    fs.mkdirSync(path.join(b, 'rootfs', 'tmp'), { mode: 0o1777 });
    fs.copyFileSync('/bin/busybox', path.join(b, 'rootfs', 'bin', 'busybox'));
    for (const a of ['sh', 'echo', 'id', 'sleep', 'cat']) fs.symlinkSync('busybox', path.join(b, 'rootfs', 'bin', a));
    expect(spawnSync(RUNSC, ['spec', '--bundle', b]).status).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8')) as Record<string, any>;
    config['process'].terminal = false;
    config['process'].args = args;
    config['root'].readonly = false;
    delete config['linux'].resources;
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
    fs.chmodSync(dir, 0o755);
    return { dir, state: path.join(dir, 'state'), bundle: b, out: path.join(dir, 'out') };
  }

  /** runsc GLOBALS ARGS with stdio to b.out (the sandbox keeps create's stdio), as nobody when asked. */
  function runsc(b: ReturnType<typeof bundle>, args: string[], asNobody = false): { status: number | null; log: string } {
    const out = fs.openSync(b.out, 'a');
    const log = path.join(b.dir, 'log.json');
    const cmd = [RUNSC, '--root', b.state, '--log', log, '--log-format', 'json', ...args];
    const r = asNobody
      ? spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...cmd], { stdio: ['ignore', out, out], cwd: '/', timeout: 30_000 })
      : spawnSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', out, out], timeout: 30_000 });
    fs.closeSync(out);
    return { status: r.status, log: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' };
  }

  async function waitFor(file: string, text: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(text))) {
      if (Date.now() > deadline) throw new Error(`${file} never showed ${text}: ${fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function createAndStart(b: ReturnType<typeof bundle>, rootless: boolean): Promise<ReturnType<typeof processesOf>> {
    const pidFile = path.join(b.dir, 'pid');
    const created = runsc(b, [...(rootless ? ['--rootless'] : []), 'create', '--bundle', b.bundle, '--pid-file', pidFile, 'c'], rootless);
    expect(created.status, created.log).toBe(0);
    const launcher = Number(fs.readFileSync(pidFile, 'utf8'));
    launchers.push(launcher);
    expect(runsc(b, ['start', 'c'], rootless).status).toBe(0);
    await waitFor(b.out, 'ready');
    return processesOf(launcher);
  }

  it('the Sentry of a created sandbox is confined as `do`\'s is; start, exec, kill and delete still work through the passed control socket', async () => {
    const b = bundle(['sh', '-c', 'echo ready; exec sleep 60']);
    const p = await createAndStart(b, false);
    expectConfined(p, false);
    expect(runsc(b, ['exec', 'c', 'sh', '-c', 'echo exec-ok']).status).toBe(0);
    await waitFor(b.out, 'exec-ok');
    expect(runsc(b, ['kill', 'c', 'TERM']).status).toBe(0);
    expect(await gone([p.launcher, p.sentry, p.gofer, ...p.stubs])).toEqual([]);
    expect(fs.readFileSync(path.join(b.state, 'c', 'exit'), 'utf8'), 'the exit code, written through the passed fd').toBe('143');
    expect(runsc(b, ['delete', 'c']).status).toBe(0);
  });

  it('--rootless run: an unprivileged user runs a container, the Sentry confined in a user namespace of its own', async () => {
    const r = bundle(['sh', '-c', 'id -u; echo written > /tmp/f; cat /tmp/f; exit 3']);
    expect(runsc(r, ['--rootless', 'run', '--bundle', r.bundle, 'r'], true).status).toBe(3);
    expect(fs.readFileSync(r.out, 'utf8')).toBe('0\nwritten\n');
    const b = bundle(['sh', '-c', 'echo ready; exec sleep 60']);
    const p = await createAndStart(b, true);
    expectConfined(p, true);
    expect(field(status(p.sentry), 'Uid'), 'the Sentry is the unprivileged user on the host').toMatch(/^65534\s/);
    expect(runsc(b, ['kill', 'c', 'KILL'], true).status).toBe(0);
    expect(await gone([p.launcher, p.sentry])).toEqual([]);
    // Without --rootless an unprivileged user gets a one-line reason.
    const n = bundle(['true']);
    const refused = runsc(n, ['run', '--bundle', n.bundle, 'n'], true);
    expect(refused.status).not.toBe(0);
    expect(refused.log).toMatch(/namespaces need root, or --rootless/);
  });
});

describe('seccomp filters', () => {
  const probe = (): string => buildC(path.join(REPO, 'test', 'security', 'filter_probe.c'), 'static', ['-pthread']);
  const withFilter = (prog: Uint8Array): string => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-filter-')), 'filter');
    fs.writeFileSync(f, prog);
    return f;
  };

  it('the Sentry\'s allow list lets threads through and kills fork, execve, mount, sockets, ptrace attach and unshare', () => {
    const bin = probe();
    const f = withFilter(sentryFilter());
    const ok = spawnSync(bin, [f, 'allowed'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    for (const what of ['fork', 'execve', 'mount', 'socket', 'ptrace-attach', 'unshare']) {
      const r = spawnSync(bin, [f, what], { encoding: 'utf8' });
      expect(r.signal, `${what}: ${r.stderr}`).toBe('SIGSYS');
    }
  });

  it('with --network=host, it lets inet sockets through and still kills other families', () => {
    const bin = probe();
    const f = withFilter(sentryFilter({ hostNetwork: true }));
    const inet = spawnSync(bin, [f, 'socket'], { encoding: 'utf8' });
    expect(inet.status, `an inet socket is allowed: ${inet.stderr}`).toBe(4);
    for (const what of ['socket-unix', 'socket-netlink', 'fork']) {
      const r = spawnSync(bin, [f, what], { encoding: 'utf8' });
      expect(r.signal, `${what}: ${r.stderr}`).toBe('SIGSYS');
    }
  });

  it('the stub filter kills a syscall made from anywhere but the stub page', () => {
    const r = spawnSync(probe(), [withFilter(stubFilter()), 'getpid'], { encoding: 'utf8' });
    expect(r.signal, r.stderr).toBe('SIGSYS');
  });

  it('the launcher reports a Sentry killed by SIGSYS', () => {
    const r = spawnSync(path.join(REPO, 'dist', 'launcher'), ['0', '0', '1', '-', '-', '/bin/sh', '-c', 'kill -SYS $$'], { encoding: 'utf8' });
    expect(r.status).toBe(128 + 31);
    expect(r.stderr).toMatch(/killed by SIGSYS/);
  });
});

describe('faults', () => {
  /**
   * Host mounts of the kinds a sandbox makes (the Sentry's tmpfs root and its
   * read-only /proc). Only these are compared: other tests on the machine
   * mount things too.
   */
  const mounts = (): string[] => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .filter((l) => / - tmpfs none .*size=16k/.test(l) || / - proc proc ro/.test(l));

  async function killAndCheck(which: (p: ReturnType<typeof processes>) => number, expectCode?: number): Promise<void> {
    const before = mounts();
    const l = await startSandbox(['/bin/sh', '-c', 'sleep 60 & echo ready; wait']);
    const p = processes(l);
    const all = [p.launcher, p.sentry, p.gofer, ...p.stubs];
    process.kill(which(p), 'SIGKILL');
    const end = await Promise.race([l.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    expect(end, `runsc ended: ${l.out()}`).not.toBeNull();
    if (expectCode !== undefined) expect(end!.code ?? (end!.signal === 'SIGKILL' ? 137 : -1)).toBe(expectCode);
    expect(await gone(all), 'no process of the sandbox is left').toEqual([]);
    expect(mounts(), 'no mount is left on the host').toEqual(before);
    const next = await runSandboxed('/bin/sh', ['-c', 'echo next']);
    expect(next.stdout, describeRun('the next run', next)).toBe('next\n');
  }

  it('kill -9 of the Sentry', () => killAndCheck((p) => p.sentry, 137));
  it('kill -9 of the launcher', () => killAndCheck((p) => p.launcher, 137));
  // A workload's stub: the last one that is not the waker (which holds fd 101, the host poller's epoll).
  it('kill -9 of a stub', () => killAndCheck((p) => p.stubs.filter((s) => !fs.existsSync(`/proc/${s}/fd/101`)).pop()!));
  it('kill -9 of the Gofer ends the sandbox', () => killAndCheck((p) => p.gofer, 128));

  it('data fsync\'d to a writable root before the Sentry is killed is on the host', async () => {
    const bin = buildC(path.join(REPO, 'test', 'security', 'fsync.c'), 'static');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-fsync-'));
    const file = path.join(dir, 'data');
    const l = await startSandbox(['--force-overlay=false', bin, file, 'written before the crash'], 'synced');
    process.kill(processes(l).sentry, 'SIGKILL');
    await l.exited;
    expect(fs.readFileSync(file, 'utf8')).toBe('written before the crash');
  });
});

describe('resource limits', () => {
  const limits = (): string => buildC(path.join(REPO, 'test', 'security', 'limits.c'), 'static', ['-pthread']);

  it('a fork bomb hits RLIMIT_NPROC (EAGAIN) and the sandbox stays responsive', async () => {
    const r = await runSandboxed(limits(), ['forkbomb'], { cwd: '/' });
    expect(r.status, describeRun('forkbomb', r)).toBe(0);
    expect(r.stdout).toMatch(/then Resource temporarily unavailable\nresponsive: 1/);
  });

  it('a thread spinning in user space does not starve the Sentry\'s timers', async () => {
    const r = await runSandboxed(limits(), ['cpuhog'], { cwd: '/' });
    expect(r.status, describeRun('cpuhog', r)).toBe(0);
  });
});

it('docs/security.md lists every host syscall the Sentry may make', () => {
  const doc = fs.readFileSync(path.join(REPO, 'docs', 'security.md'), 'utf8');
  const all = [...SENTRY_SYSCALLS.keys(), ...HOST_NETWORK_SYSCALLS.keys(), ...CONTROL_SYSCALLS.keys()];
  for (const nr of all) expect(doc, `syscall ${nr}`).toMatch(new RegExp(`^\\| ${nr} \\| \`${SYSCALL_NAMES[nr]}\` \\| `, 'm'));
});
