// The OCI runtime contract, driven as containerd's runc shim drives it:
// `runsc --root STATE --log B/log.json --log-format json create --bundle B
// --pid-file B/init.pid ID`, then start, state, kill, delete. This test
// process makes itself a child subreaper, as the shim is, so the sandbox
// process (whose pid is in the pid file) becomes its child when create exits,
// and its exit status is read with waitpid exactly as the shim reads it.
//
// Bundles hold a busybox-static rootfs. Every process started is reaped or
// killed by pid, and every temporary directory is removed, in afterAll.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as libc from '../src/ffi/libc';
import { parseSpec, defaultSpec } from '../src/oci/spec';
import { REPO, buildC } from './harness';

const RUNSC = path.resolve(__dirname, '..', 'bin', 'runsc');
const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'echo', 'cat', 'ls', 'id', 'hostname', 'sleep', 'pwd', 'env', 'mkdir', 'touch', 'true', 'false', 'trap', 'kill', 'grep'];

const canRun = process.getuid?.() === 0 && fs.existsSync(BUSYBOX);
const tmp = canRun ? fs.mkdtempSync(path.join(os.tmpdir(), 'oci-')) : '';
const STATE = path.join(tmp, 'state');
/** Sandbox pids seen, killed and reaped at the end if still there. */
const started = new Set<number>();
let nextId = 0;

interface Bundle {
  dir: string;
  id: string;
  log: string;
  out: string;
  err: string;
}

/** A bundle whose rootfs is a busybox tree; config edits the default spec. */
function bundle(edit: (c: Record<string, any>) => void): Bundle {
  const id = `c${nextId++}`;
  const dir = path.join(tmp, id);
  const bin = path.join(dir, 'rootfs', 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(path.join(dir, 'rootfs', 'tmp'), { mode: 0o1777 });
  fs.mkdirSync(path.join(dir, 'rootfs', 'etc'));
  fs.copyFileSync(BUSYBOX, path.join(bin, 'busybox'));
  fs.chmodSync(path.join(bin, 'busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(bin, a));
  const c = defaultSpec() as Record<string, any>;
  c['root'].readonly = false;
  edit(c);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  return { dir, id, log: path.join(dir, 'log.json'), out: path.join(dir, 'out'), err: path.join(dir, 'err') };
}

/** One runsc call with the shim's global flags; stdio to files (the sandbox keeps create's). */
function runsc(b: Bundle, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string } {
  const out = fs.openSync(`${b.out}`, 'a');
  const err = fs.openSync(`${b.err}`, 'a');
  const stdoutFile = path.join(b.dir, `cli-${Date.now()}-${Math.random()}`);
  const so = fs.openSync(stdoutFile, 'w');
  try {
    const isCreate = args[0] === 'create';
    const r = spawnSync(RUNSC, ['--root', STATE, '--log', b.log, '--log-format', 'json', ...args], {
      stdio: ['ignore', isCreate ? out : so, err], env, timeout: 30_000,
    });
    return { status: r.status, stdout: fs.readFileSync(stdoutFile, 'utf8') };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
    fs.closeSync(so);
    fs.rmSync(stdoutFile, { force: true });
  }
}

function create(b: Bundle): number {
  const r = runsc(b, ['create', '--bundle', b.dir, '--pid-file', path.join(b.dir, 'init.pid'), b.id]);
  expect(r.status, lastError(b)).toBe(0);
  const text = fs.readFileSync(path.join(b.dir, 'init.pid'), 'utf8');
  expect(text).toMatch(/^\d+$/);
  const pid = Number(text);
  started.add(pid);
  return pid;
}

function state(b: Bundle): Record<string, unknown> {
  const r = runsc(b, ['state', b.id]);
  expect(r.status, lastError(b)).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function lastError(b: Bundle): string {
  try {
    const lines = fs.readFileSync(b.log, 'utf8').trim().split('\n');
    return lines[lines.length - 1] ?? '';
  } catch {
    return '';
  }
}

/** Waits (as the shim: waitpid on the subreaped pid) for the sandbox to exit; returns its exit code (128+N for signal N). */
async function waitExit(pid: number, ms = 20_000): Promise<number> {
  const st = new Int32Array(1);
  const deadline = Date.now() + ms;
  for (;;) {
    const r = libc.waitpid(pid, st, WNOHANG);
    if (r === pid) {
      started.delete(pid);
      reapOrphans();
      const s = st[0]!;
      return (s & 0x7f) === 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f);
    }
    if (r < 0) throw new Error(`waitpid(${pid}): errno ${libc.errno()}`);
    if (Date.now() > deadline) throw new Error(`sandbox ${pid} did not exit`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Collects zombies left to us as subreaper (the Gofers and stubs of exited sandboxes). */
function reapOrphans(): void {
  const st = new Int32Array(1);
  for (let i = 0; i < 1000 && libc.waitpid(-1, st, WNOHANG | 0x40000000 /* __WALL */) > 0; i++);
}

function output(b: Bundle): string {
  return fs.readFileSync(b.out, 'utf8');
}

/** A container that runs args, started and waited for; returns its exit code. */
async function runToExit(b: Bundle): Promise<number> {
  const pid = create(b);
  expect(runsc(b, ['start', b.id]).status, lastError(b)).toBe(0);
  const code = await waitExit(pid);
  expect(runsc(b, ['delete', b.id]).status, lastError(b)).toBe(0);
  return code;
}

describe.skipIf(!canRun)('OCI runtime (runc command line)', () => {
  beforeAll(() => {
    expect(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)).toBe(0);
  });

  afterAll(() => {
    for (const pid of started) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      const st = new Int32Array(1);
      const deadline = Date.now() + 5000;
      while (libc.waitpid(pid, st, WNOHANG) === 0 && Date.now() < deadline);
    }
    reapOrphans();
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('create → created, start → running program, exit code via the pid, state → stopped, delete', async () => {
    const b = bundle((c) => { c['process'].args = ['sh', '-c', 'echo hello from the container; exit 3']; });
    const pid = create(b);
    const s = state(b);
    expect(s).toMatchObject({ id: b.id, status: 'created', pid, bundle: b.dir, ociVersion: expect.any(String) });
    expect(s['annotations']).toEqual({});
    expect(output(b)).toBe('');
    expect(runsc(b, ['start', b.id]).status, lastError(b)).toBe(0);
    expect(await waitExit(pid)).toBe(3);
    expect(output(b)).toBe('hello from the container\n');
    expect(state(b)).toMatchObject({ status: 'stopped', pid: 0 });
    // A second start is refused, in runc's words.
    expect(runsc(b, ['start', b.id]).status).not.toBe(0);
    expect(lastError(b)).toContain('cannot start a container that has stopped');
    expect(runsc(b, ['delete', b.id]).status, lastError(b)).toBe(0);
    expect(fs.existsSync(path.join(STATE, b.id))).toBe(false);
  });

  it('honours process.env, cwd, user, hostname and rlimits', async () => {
    const b = bundle((c) => {
      c['process'].args = ['sh', '-c', 'echo "FOO=$FOO"; pwd; id; hostname; ulimit -n; ulimit -Hn; echo $$'];
      c['process'].env.push('FOO=bar baz');
      c['process'].cwd = '/tmp';
      c['process'].user = { uid: 1234, gid: 2345, additionalGids: [7, 8] };
      c['hostname'] = 'oci-test-host';
      c['process'].rlimits = [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }];
    });
    expect(await runToExit(b)).toBe(0);
    expect(output(b).split('\n')).toEqual([
      'FOO=bar baz', '/tmp', 'uid=1234 gid=2345 groups=7,8', 'oci-test-host', '321', '654', '1', '',
    ]);
  });

  it('honours process.capabilities (through execve\'s rules, as under runc) and noNewPrivileges', async () => {
    // docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
    const dockerSet = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP',
      'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP'];
    const show = 'grep -E "^(Cap(Prm|Eff|Bnd|Amb)|NoNewPrivs)" /proc/self/status; touch /tmp/f; chown 5 /tmp/f && echo chown-ok || echo chown-denied';
    const sets = (names: string[]) => ({ bounding: names, effective: names, permitted: names });
    const root = bundle((c) => {
      c['process'].args = ['sh', '-c', show];
      c['process'].capabilities = sets(dockerSet);
      c['process'].noNewPrivileges = true;
    });
    const user = bundle((c) => {
      c['process'].args = ['sh', '-c', 'grep -E "^Cap(Prm|Eff|Bnd)" /proc/self/status'];
      c['process'].user = { uid: 1000, gid: 1000 };
      c['process'].capabilities = sets(dockerSet);
    });
    const noChown = bundle((c) => {
      c['process'].args = ['sh', '-c', show];
      c['process'].capabilities = sets(dockerSet.filter((n) => n !== 'CAP_CHOWN'));
      c['process'].noNewPrivileges = false;
    });
    for (const b of [root, user, noChown]) expect(await runToExit(b)).toBe(0);
    expect(output(root).split('\n')).toEqual([
      'CapPrm:\t00000000a80425fb', 'CapEff:\t00000000a80425fb', 'CapBnd:\t00000000a80425fb', 'CapAmb:\t0000000000000000',
      'NoNewPrivs:\t1', 'chown-ok', '',
    ]);
    expect(output(user).split('\n')).toEqual(['CapPrm:\t0000000000000000', 'CapEff:\t0000000000000000', 'CapBnd:\t00000000a80425fb', '']);
    expect(output(noChown).split('\n').slice(1)).toEqual([
      'CapEff:\t00000000a80425fa', 'CapBnd:\t00000000a80425fa', 'CapAmb:\t0000000000000000', 'NoNewPrivs:\t0', 'chown-denied', '',
    ]);
  });

  it('bind mounts (writes persist on the host; ro refuses), tmpfs, a file bind, a read-only root', async () => {
    const host = path.join(tmp, 'host-rw');
    const hostRo = path.join(tmp, 'host-ro');
    fs.mkdirSync(host);
    fs.mkdirSync(hostRo);
    fs.writeFileSync(path.join(hostRo, 'f'), 'read-only content\n');
    fs.writeFileSync(path.join(tmp, 'hosts-file'), '10.0.0.1 somewhere\n');
    const b = bundle((c) => {
      c['root'].readonly = true;
      c['process'].args = ['sh', '-c', [
        'echo persisted > /data/new && echo wrote',
        'cat /ro/f',
        'echo x > /ro/g || echo ro refused',
        'echo in-tmpfs > /scratch/t && cat /scratch/t',
        'cat /etc/hosts',
        'touch /newfile || echo root refused',
      ].join('; ')];
      c['mounts'].push(
        { destination: '/data', type: 'bind', source: host, options: ['rbind', 'rw'] },
        { destination: '/ro', type: 'bind', source: hostRo, options: ['rbind', 'ro'] },
        { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['mode=1777'] },
        { destination: '/etc/hosts', type: 'bind', source: path.join(tmp, 'hosts-file'), options: ['rbind', 'ro'] },
      );
    });
    expect(await runToExit(b)).toBe(0);
    expect(output(b)).toBe('wrote\nread-only content\nro refused\nin-tmpfs\n10.0.0.1 somewhere\nroot refused\n');
    expect(fs.readFileSync(b.err, 'utf8')).toMatch(/\/ro\/g: Read-only file system[\s\S]*\/newfile: Read-only file system/);
    expect(fs.readFileSync(path.join(host, 'new'), 'utf8')).toBe('persisted\n');
    expect(fs.existsSync(path.join(hostRo, 'g'))).toBe(false);
  });

  it('kill SIGTERM reaches init in the Sentry (even asleep in a timer); exit 143', async () => {
    const b = bundle((c) => { c['process'].args = ['sleep', '1000']; });
    const pid = create(b);
    expect(runsc(b, ['start', b.id]).status).toBe(0);
    expect(state(b)).toMatchObject({ status: 'running', pid });
    const ps = JSON.parse(runsc(b, ['ps', '--format', 'json', b.id]).stdout) as number[];
    expect(ps[0]).toBe(pid);
    expect(runsc(b, ['kill', b.id, '15']).status, lastError(b)).toBe(0);
    expect(await waitExit(pid)).toBe(143);
    // The harmless cases keep runc's wording.
    expect(runsc(b, ['kill', b.id, 'SIGTERM']).status).not.toBe(0);
    expect(lastError(b)).toContain('container not running');
    expect(runsc(b, ['delete', b.id]).status).toBe(0);
  });

  it('exec: its own stdio and exit status, --user/--cwd/--env, --process, --detach with a pid that exits with the status, signals', async () => {
    const b = bundle((c) => { c['process'].args = ['sleep', '1000']; c['process'].env = ['PATH=/bin', 'FROM_SPEC=1']; });
    const pid = create(b);
    expect(runsc(b, ['start', b.id]).status).toBe(0);
    const r = runsc(b, ['exec', '--user', '5:6', '--cwd', '/tmp', '-e', 'X=y', b.id, 'sh', '-c', 'id; pwd; echo $X $FROM_SPEC; exit 7']);
    expect(r.stdout).toBe('uid=5 gid=6\n/tmp\ny 1\n');
    expect(r.status).toBe(7);
    const procFile = path.join(b.dir, 'process.json');
    fs.writeFileSync(procFile, JSON.stringify({ args: ['sh', '-c', 'echo from-file; echo to-stderr >&2'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } }));
    expect(runsc(b, ['exec', '--process', procFile, b.id])).toEqual({ status: 0, stdout: 'from-file\n' });
    expect(fs.readFileSync(b.err, 'utf8')).toContain('to-stderr');
    // Detached, as the shim runs it: the pid file's process exits with the exec'd process's status.
    const pidFile = path.join(b.dir, 'exec.pid');
    expect(runsc(b, ['exec', '--detach', '--pid-file', pidFile, b.id, 'sh', '-c', 'exit 9']).status, lastError(b)).toBe(0);
    expect(await waitExit(Number(fs.readFileSync(pidFile, 'utf8')))).toBe(9);
    // A signal to that process reaches the exec'd one.
    expect(runsc(b, ['exec', '--detach', '--pid-file', pidFile, b.id, 'sleep', '1000']).status).toBe(0);
    const execPid = Number(fs.readFileSync(pidFile, 'utf8'));
    process.kill(execPid, 'SIGTERM');
    expect(await waitExit(execPid)).toBe(143);
    // Init was untouched by all this; a missing program fails exec with runc's words.
    expect(runsc(b, ['exec', b.id, 'nonexistent']).status).toBe(1);
    expect(lastError(b)).toContain('executable file not found in $PATH');
    expect(state(b)).toMatchObject({ status: 'running' });
    expect(runsc(b, ['kill', b.id, 'KILL']).status).toBe(0);
    expect(await waitExit(pid)).toBe(137);
    expect(runsc(b, ['exec', b.id, 'true']).status).toBe(1);
    expect(lastError(b)).toContain('cannot exec in a stopped container');
    expect(runsc(b, ['delete', b.id]).status).toBe(0);
  });

  it('cgroups: linux.resources on the sandbox\'s host processes, pause/resume (frozen), events --stats, update, removed on delete', async () => {
    // Relative: under this test's own cgroup in each hierarchy, as runc reads it.
    const cgroupsPath = `runsc-test-${process.pid}-${nextId}`;
    const b = bundle((c) => {
      // A busy loop: paused, it must use no CPU at all; running, exec must still get through.
      c['process'].args = ['sh', '-c', 'while :; do :; done'];
      c['linux'].cgroupsPath = cgroupsPath;
      c['linux'].resources = { memory: { limit: 256 << 20 }, pids: { limit: 100 }, cpu: { quota: 50_000, period: 100_000 } };
    });
    const pid = create(b);
    const cg = (JSON.parse(fs.readFileSync(path.join(STATE, b.id, 'state.json'), 'utf8')) as { cgroup: { version: number; dirs: Record<string, string> } }).cgroup;
    const v2 = cg.version === 2;
    const dir = (ctrl: string): string => cg.dirs[v2 ? '' : ctrl]!;
    expect(dir('memory')).toContain(cgroupsPath);
    const procs = (): number[] => fs.readFileSync(path.join(dir('pids'), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    if (v2) {
      expect(fs.readFileSync(path.join(dir('memory'), 'memory.max'), 'utf8').trim()).toBe(String(256 << 20));
    } else {
      expect(fs.readFileSync(path.join(dir('memory'), 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(256 << 20));
      expect(fs.readFileSync(path.join(dir('cpu'), 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
    }
    expect(runsc(b, ['start', b.id]).status).toBe(0);
    // The sandbox process and every host process it started (Gofer, stubs) are in it.
    const inCgroup = procs();
    expect(inCgroup).toContain(pid);
    expect(JSON.parse(runsc(b, ['ps', '--format', 'json', b.id]).stdout)).toEqual(expect.arrayContaining(inCgroup));
    const stats = JSON.parse(runsc(b, ['events', '--stats', b.id]).stdout) as { type: string; data: any };
    expect(stats.type).toBe('stats');
    expect(stats.data.memory.usage.usage).toBeGreaterThan(1 << 20);
    expect(stats.data.memory.usage.limit).toBe(256 << 20);
    expect(stats.data.pids).toEqual({ current: expect.any(Number), limit: 100 });
    expect(stats.data.pids.current).toBeGreaterThanOrEqual(inCgroup.length);
    expect(stats.data.cpu.usage.total).toBeGreaterThan(0);
    expect(runsc(b, ['pause', b.id]).status, lastError(b)).toBe(0);
    expect(state(b)).toMatchObject({ status: 'paused' });
    const cpu = (): number => (JSON.parse(runsc(b, ['events', '--stats', b.id]).stdout) as { data: any }).data.cpu.usage.total as number;
    const before = cpu();
    await new Promise((r) => setTimeout(r, 300));
    expect(cpu()).toBe(before);
    expect(runsc(b, ['resume', b.id]).status, lastError(b)).toBe(0);
    expect(state(b)).toMatchObject({ status: 'running' });
    expect(runsc(b, ['exec', b.id, 'echo', 'still-serving'])).toEqual({ status: 0, stdout: 'still-serving\n' });
    expect(runsc(b, ['update', '--memory', '128m', '--pids-limit', '50', b.id]).status, lastError(b)).toBe(0);
    expect((JSON.parse(runsc(b, ['events', '--stats', b.id]).stdout) as { data: any }).data).toMatchObject({
      memory: { usage: { limit: 128 << 20 } }, pids: { limit: 50 },
    });
    // A paused container can still be killed and deleted; its cgroup goes.
    expect(runsc(b, ['pause', b.id]).status).toBe(0);
    expect(runsc(b, ['delete', '--force', b.id]).status, lastError(b)).toBe(0);
    expect(await waitExit(pid)).toBe(137);
    for (const d of Object.values(cg.dirs)) expect(fs.existsSync(d)).toBe(false);
  });

  it('linux.resources.memory.limit bounds the workload in the Sentry: a memory bomb is OOM-killed inside, never by the host cgroup; runsc events reports oom; update --memory moves it', async () => {
    const cgroupsPath = `runsc-test-${process.pid}-${nextId}`;
    const limit = 512 << 20;
    const b = bundle((c) => {
      c['process'].args = ['sh', '-c', 'grep MemTotal /proc/meminfo; bomb; echo "bomb status $?"; echo ready; while :; do sleep 1; done'];
      c['linux'].cgroupsPath = cgroupsPath;
      c['linux'].resources = { memory: { limit } };
    });
    const bomb = path.join(b.dir, 'rootfs', 'bin', 'bomb');
    fs.copyFileSync(buildC(path.join(REPO, 'test', 'oom', 'bomb.c'), 'static'), bomb);
    fs.chmodSync(bomb, 0o755);
    const pid = create(b);
    const cg = (JSON.parse(fs.readFileSync(path.join(STATE, b.id, 'state.json'), 'utf8')) as { cgroup: { version: number; dirs: Record<string, string> } }).cgroup;
    const memDir = cg.dirs[cg.version === 2 ? '' : 'memory']!;
    const hostOomKills = (): number => Number(/^oom_kill (\d+)$/m.exec(fs.readFileSync(path.join(memDir, cg.version === 2 ? 'memory.events' : 'memory.oom_control'), 'utf8'))?.[1] ?? 0);
    expect(runsc(b, ['start', b.id]).status, lastError(b)).toBe(0);
    const deadline = Date.now() + 30_000;
    while (!output(b).includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(output(b)).toContain('bomb status 137\n');
    // The workload's memory: the limit less what the sandbox's own host processes need.
    const total = Number(/^MemTotal:\s+(\d+) kB$/m.exec(output(b))?.[1]) * 1024;
    expect(total).toBeGreaterThanOrEqual(16 << 20);
    expect(total).toBeLessThan(limit);
    expect(hostOomKills()).toBe(0);
    // runsc events: one oom event for the Sentry's kill, then stats.
    const ev = spawnSync(RUNSC, ['--root', STATE, 'events', '--interval', '5s', b.id], { timeout: 3000, encoding: 'utf8' });
    expect(ev.stdout.split('\n')[0]).toBe(JSON.stringify({ type: 'oom', id: b.id }));
    expect(runsc(b, ['exec', b.id, 'echo', 'still-serving'])).toEqual({ status: 0, stdout: 'still-serving\n' });
    // runsc update --memory: the workload's memory follows (the new limit less the same overhead).
    const memTotal = (): number => Number(/^MemTotal:\s+(\d+) kB$/m.exec(runsc(b, ['exec', b.id, 'grep', 'MemTotal', '/proc/meminfo']).stdout)?.[1]) * 1024;
    expect(runsc(b, ['update', '--memory', '768m', b.id]).status, lastError(b)).toBe(0);
    const grown = memTotal();
    expect(grown).toBeGreaterThan(total + (128 << 20));
    expect(grown).toBeLessThan(768 << 20);
    expect(runsc(b, ['delete', '--force', b.id]).status, lastError(b)).toBe(0);
    expect(await waitExit(pid)).toBe(137);
  }, 60_000);

  it('a trapped signal runs the handler; kill --all; KILL by name', async () => {
    const b = bundle((c) => {
      c['process'].args = ['sh', '-c', 'trap "echo got USR1" USR1; echo ready; while :; do sleep 1; done'];
    });
    const pid = create(b);
    expect(runsc(b, ['start', b.id]).status).toBe(0);
    const deadline = Date.now() + 10_000;
    while (!output(b).includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(runsc(b, ['kill', b.id, 'USR1']).status, lastError(b)).toBe(0);
    while (!output(b).includes('got USR1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(output(b)).toContain('got USR1');
    expect(runsc(b, ['kill', '--all', b.id, 'KILL']).status, lastError(b)).toBe(0);
    expect(await waitExit(pid)).toBe(137);
    expect(runsc(b, ['delete', b.id]).status).toBe(0);
  });

  it('delete --force kills a running container; plain delete refuses it', async () => {
    const b = bundle((c) => { c['process'].args = ['sleep', '1000']; });
    const pid = create(b);
    expect(runsc(b, ['start', b.id]).status).toBe(0);
    expect(runsc(b, ['delete', b.id]).status).not.toBe(0);
    expect(lastError(b)).toContain('is not stopped');
    expect(runsc(b, ['delete', '--force', b.id]).status, lastError(b)).toBe(0);
    expect(await waitExit(pid)).toBe(137);
    expect(fs.existsSync(path.join(STATE, b.id))).toBe(false);
  });

  it('a created container can be deleted before it starts', async () => {
    const b = bundle((c) => { c['process'].args = ['true']; });
    const pid = create(b);
    expect(runsc(b, ['delete', b.id]).status, lastError(b)).toBe(0);
    expect(await waitExit(pid)).toBe(137);
  });

  it('hooks: each kind at its point of the lifecycle with the state on stdin; startContainer in the sandbox', async () => {
    const seen = path.join(tmp, 'hooks-seen');
    fs.mkdirSync(seen);
    // A host hook records its kind, its state and an env variable it was given, in order.
    const host = (kind: string): Record<string, unknown> => ({
      path: '/bin/sh', args: ['sh', '-c', `cat > ${seen}/${kind}.json; echo "${kind} $HOOKVAR" >> ${seen}/order`], env: [`HOOKVAR=${kind}-env`],
    });
    const b = bundle((c) => {
      c['process'].args = ['sh', '-c', 'cat /tmp/start.json; echo; echo init-ran'];
      c['hooks'] = {
        prestart: [host('prestart')], createRuntime: [host('createRuntime')], createContainer: [host('createContainer')],
        // Resolved and run in the container: busybox's sh, writing into the container's /tmp.
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/start.json'] }],
        poststart: [host('poststart')], poststop: [host('poststop')],
      };
    });
    const pid = create(b);
    const order = (): string[] => fs.readFileSync(path.join(seen, 'order'), 'utf8').trim().split('\n');
    expect(order()).toEqual(['prestart prestart-env', 'createRuntime createRuntime-env', 'createContainer createContainer-env']);
    const hookState = (kind: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(seen, `${kind}.json`), 'utf8')) as Record<string, unknown>;
    expect(hookState('createRuntime')).toMatchObject({ id: b.id, pid, status: 'creating', bundle: b.dir });
    expect(runsc(b, ['start', b.id]).status, lastError(b)).toBe(0);
    expect(hookState('poststart')).toMatchObject({ id: b.id, pid, status: 'running' });
    expect(await waitExit(pid)).toBe(0);
    // startContainer ran in the sandbox before init, which read what it wrote.
    const started = JSON.parse(output(b).split('\n')[0]!) as Record<string, unknown>;
    expect(started).toMatchObject({ id: b.id, pid, status: 'created' });
    expect(output(b)).toContain('init-ran\n');
    expect(fs.existsSync(path.join(seen, 'poststop.json'))).toBe(false);
    expect(runsc(b, ['delete', b.id]).status, lastError(b)).toBe(0);
    expect(hookState('poststop')).toMatchObject({ id: b.id, status: 'stopped' });
    expect(order().slice(3)).toEqual(['poststart poststart-env', 'poststop poststop-env']);
  });

  it('hooks: a failing or timed-out create hook fails create, a failing startContainer fails start, poststart and poststop only warn', async () => {
    const slow = bundle((c) => { c['hooks'] = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }; });
    const t0 = Date.now();
    expect(runsc(slow, ['create', '--bundle', slow.dir, slow.id]).status).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(JSON.parse(lastError(slow))['msg']).toBe('createRuntime hook /bin/sleep failed: ran past its timeout of 1s');
    expect(fs.existsSync(path.join(STATE, slow.id))).toBe(false);

    const failing = bundle((c) => {
      c['hooks'] = {
        createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no-gpu >&2; exit 2'] }],
        poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${tmp}/failed-create-poststop.json`] }],
      };
    });
    expect(runsc(failing, ['create', '--bundle', failing.dir, failing.id]).status).not.toBe(0);
    expect(JSON.parse(lastError(failing))['msg']).toBe('createContainer hook /bin/sh failed: exit status 2: no-gpu');
    // The container is destroyed, which runs its poststop hooks.
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'failed-create-poststop.json'), 'utf8'))).toMatchObject({ id: failing.id, status: 'stopped' });
    expect(fs.existsSync(path.join(STATE, failing.id))).toBe(false);

    const badStart = bundle((c) => {
      c['process'].args = ['echo', 'init-must-not-run'];
      c['hooks'] = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo refused >&2; exit 3'] }] };
    });
    const pid = create(badStart);
    expect(runsc(badStart, ['start', badStart.id]).status).not.toBe(0);
    expect(JSON.parse(lastError(badStart))['msg']).toBe('startContainer hook /bin/sh failed: exit status 3: refused');
    expect(await waitExit(pid)).not.toBe(0);
    expect(output(badStart)).not.toContain('init-must-not-run');
    expect(state(badStart)['status']).toBe('stopped');
    expect(runsc(badStart, ['delete', badStart.id]).status, lastError(badStart)).toBe(0);

    // A startContainer hook that outlives its timeout is killed in the sandbox.
    const hung = bundle((c) => { c['hooks'] = { startContainer: [{ path: '/bin/sleep', args: ['sleep', '100'], timeout: 1 }] }; });
    const hungPid = create(hung);
    expect(runsc(hung, ['start', hung.id]).status).not.toBe(0);
    expect(JSON.parse(lastError(hung))['msg']).toBe('startContainer hook /bin/sleep failed: killed by signal 9');
    expect(await waitExit(hungPid)).not.toBe(0);
    expect(runsc(hung, ['delete', hung.id]).status, lastError(hung)).toBe(0);

    const warn = bundle((c) => {
      c['process'].args = ['echo', 'still-ran'];
      c['hooks'] = { poststart: [{ path: '/bin/false' }, { path: '/bin/true' }], poststop: [{ path: '/bin/false' }] };
    });
    expect(await runToExit(warn)).toBe(0);
    expect(output(warn)).toBe('still-ran\n');
    const warnings = fs.readFileSync(warn.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(warnings).toEqual([
      expect.objectContaining({ level: 'warning', msg: 'poststart hook /bin/false failed: exit status 1' }),
      expect.objectContaining({ level: 'warning', msg: 'poststop hook /bin/false failed: exit status 1' }),
    ]);
  });

  it('--preserve-fds N: the fds after stdio are init\'s (or an exec\'d process\'s) fds 3 … 3+N-1, host-backed', async () => {
    const b = bundle((c) => {
      c['process'].args = ['sh', '-c', 'cat <&3; echo written-through-fd4 >&4; echo x >&5 || echo fd5-closed'];
    });
    const inFile = path.join(b.dir, 'preserved-in');
    const outFile = path.join(b.dir, 'preserved-out');
    fs.writeFileSync(inFile, 'read-from-a-host-fd\n');
    const fd3 = fs.openSync(inFile, 'r');
    const fd4 = fs.openSync(outFile, 'w');
    const out = fs.openSync(b.out, 'a');
    const err = fs.openSync(b.err, 'a');
    let r;
    try {
      // As the shim passes them: the create process's own fds 3 and 4.
      r = spawnSync(RUNSC, ['--root', STATE, '--log', b.log, '--log-format', 'json', 'create', '--bundle', b.dir, '--pid-file',
        path.join(b.dir, 'init.pid'), '--preserve-fds', '2', b.id], { stdio: ['ignore', out, err, fd3, fd4], timeout: 30_000 });
    } finally {
      for (const fd of [fd3, fd4, out, err]) fs.closeSync(fd);
    }
    expect(r.status, lastError(b)).toBe(0);
    const pid = Number(fs.readFileSync(path.join(b.dir, 'init.pid'), 'utf8'));
    started.add(pid);
    expect(runsc(b, ['start', b.id]).status, lastError(b)).toBe(0);
    expect(await waitExit(pid)).toBe(0);
    expect(output(b)).toBe('read-from-a-host-fd\nfd5-closed\n');
    expect(fs.readFileSync(b.err, 'utf8')).toContain('Bad file descriptor');
    expect(fs.readFileSync(outFile, 'utf8')).toBe('written-through-fd4\n');
    expect(runsc(b, ['delete', b.id]).status, lastError(b)).toBe(0);
    expect(runsc(b, ['create', '--bundle', b.dir, '--preserve-fds', 'two', `${b.id}x`]).status).not.toBe(0);
    expect(JSON.parse(lastError(b))['msg']).toBe('invalid --preserve-fds "two": want a number');

    // exec --preserve-fds, attached and --detach (as the shim runs it).
    const e = bundle((c) => { c['process'].args = ['sleep', '1000']; });
    const epid = create(e);
    expect(runsc(e, ['start', e.id]).status, lastError(e)).toBe(0);
    const execOut = path.join(e.dir, 'exec-preserved');
    for (const detach of [[], ['--detach', '--pid-file', path.join(e.dir, 'exec.pid')]]) {
      const fd = fs.openSync(execOut, 'a');
      try {
        const x = spawnSync(RUNSC, ['--root', STATE, '--log', e.log, '--log-format', 'json', 'exec', ...detach, '--preserve-fds', '1', e.id,
          'sh', '-c', `echo exec${detach.length ? '-detached' : ''}-wrote-fd3 >&3`], { stdio: ['ignore', 'ignore', 'ignore', fd], timeout: 30_000 });
        expect(x.status, lastError(e)).toBe(0);
      } finally {
        fs.closeSync(fd);
      }
    }
    for (let i = 0; i < 100 && !fs.readFileSync(execOut, 'utf8').includes('detached'); i++) await new Promise((res) => setTimeout(res, 50));
    expect(fs.readFileSync(execOut, 'utf8')).toBe('exec-wrote-fd3\nexec-detached-wrote-fd3\n');
    expect(runsc(e, ['delete', '--force', e.id]).status, lastError(e)).toBe(0);
    await waitExit(epid);
  });

  it('errors are JSON lines in --log naming the problem, with a non-zero exit', () => {
    const b = bundle(() => undefined);
    for (const args of [['state', 'nope'], ['start', 'nope'], ['kill', 'nope', '9'], ['delete', 'nope'], ['ps', '--format', 'json', 'nope']]) {
      expect(runsc(b, args).status).not.toBe(0);
      const line = JSON.parse(lastError(b)) as Record<string, unknown>;
      expect(line).toMatchObject({ level: 'error', msg: expect.stringContaining('does not exist') });
      expect(Number.isNaN(Date.parse(String(line['time'])))).toBe(false);
    }
    // And on stderr, as runc prints them: go-runc puts that output in the error the shim matches.
    expect(fs.readFileSync(b.err, 'utf8')).toContain('container "nope" does not exist\n');
    // delete --force of nothing is not an error (runc's behaviour).
    expect(runsc(b, ['delete', '--force', 'nope']).status).toBe(0);
  });

  it('an invalid spec or a missing program fails create with one line naming it', () => {
    const bad = bundle((c) => { c['process'].user = { uid: 'root', gid: 0 }; });
    const r = runsc(bad, ['create', '--bundle', bad.dir, bad.id]);
    expect(r.status).not.toBe(0);
    expect(JSON.parse(lastError(bad))['msg']).toBe('process.user.uid: must be a non-negative integer below 2^32, not "root"');
    const missing = bundle((c) => { c['process'].args = ['no-such-program']; });
    expect(runsc(missing, ['create', '--bundle', missing.dir, missing.id]).status).not.toBe(0);
    expect(JSON.parse(lastError(missing))['msg']).toContain('exec: "no-such-program": executable file not found in $PATH');
    expect(fs.existsSync(path.join(STATE, missing.id))).toBe(false);
  });

  it('concurrent state and kill calls are safe', async () => {
    const b = bundle((c) => { c['process'].args = ['sh', '-c', 'trap "" USR2; sleep 1000']; });
    const pid = create(b);
    expect(runsc(b, ['start', b.id]).status).toBe(0);
    const call = (args: string[]): Promise<{ code: number | null; out: string }> => new Promise((resolve) => {
      const child = spawn(RUNSC, ['--root', STATE, '--log', b.log, '--log-format', 'json', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('close', (code) => resolve({ code, out }));
    });
    const results = await Promise.all([
      ...Array.from({ length: 6 }, () => call(['state', b.id])),
      ...Array.from({ length: 4 }, () => call(['kill', b.id, 'USR2'])),
    ]);
    for (const r of results) expect(r.code).toBe(0);
    for (const r of results.slice(0, 6)) expect(JSON.parse(r.out)).toMatchObject({ status: 'running', pid });
    expect(runsc(b, ['kill', b.id, 'TERM']).status).toBe(0);
    expect(await waitExit(pid)).toBe(143);
    expect(runsc(b, ['delete', b.id]).status).toBe(0);
  });

  it('spec, features, list, and run', () => {
    const b = bundle((c) => { c['process'].args = ['sh', '-c', 'exit 7']; });
    const specDir = path.join(tmp, 'spec-out');
    fs.mkdirSync(specDir);
    expect(runsc(b, ['spec', '--bundle', specDir]).status).toBe(0);
    expect(parseSpec(fs.readFileSync(path.join(specDir, 'config.json'), 'utf8')).process!.args).toEqual(['sh']);
    expect(runsc(b, ['spec', '--bundle', specDir]).status).not.toBe(0);
    const f = JSON.parse(runsc(b, ['features']).stdout) as Record<string, unknown>;
    expect(f).toMatchObject({ ociVersionMin: '1.0.0', ociVersionMax: expect.any(String) });
    expect(JSON.parse(runsc(b, ['list', '--format', 'json']).stdout)).toEqual([]);
    // run: create + start + wait, in the foreground, then delete.
    const r = runsc(b, ['run', '--bundle', b.dir, b.id]);
    expect(r.status, lastError(b)).toBe(7);
    expect(fs.existsSync(path.join(STATE, b.id))).toBe(false);
  });

  it('install and uninstall edit daemon.json and keep what is there', () => {
    const b = bundle(() => undefined);
    const cfg = path.join(tmp, 'daemon.json');
    fs.writeFileSync(cfg, JSON.stringify({ 'log-level': 'warn', runtimes: { other: { path: '/x' } } }));
    expect(runsc(b, ['install', '--config-file', cfg, '--runtime', 'sbx', '--', '--debug']).status).toBe(0);
    const c = JSON.parse(fs.readFileSync(cfg, 'utf8')) as Record<string, any>;
    expect(c['log-level']).toBe('warn');
    expect(c['runtimes'].other).toEqual({ path: '/x' });
    expect(c['runtimes'].sbx).toEqual({ path: RUNSC, runtimeArgs: ['--debug'] });
    expect(runsc(b, ['uninstall', '--config-file', cfg, '--runtime', 'sbx']).status).toBe(0);
    expect(JSON.parse(fs.readFileSync(cfg, 'utf8'))).toEqual({ 'log-level': 'warn', runtimes: { other: { path: '/x' } } });
  });
});
