#!/usr/bin/env node
// Benchmark of the OCI runtime under the real docker: runc, our runsc and
// Debian's gVisor (/usr/bin/runsc --platform=ptrace --network=none) as three
// runtimes of one private dockerd (its own data/exec roots and socket under a
// temporary directory, stopped and removed at the end).
//
//   node bench/oci.mjs [--runs N] [--json]
//
// 1. wall time of `docker run --rm --network=none IMAGE true`, from spawn to
//    exit of the docker client: one untimed warm-up, then the median of N runs
//    (default 10).
// 2. memory of an idle container (`sleep 1000`, measured 3 s after `docker
//    run -d` returned): the resident memory (VmRSS) summed over the host
//    processes in the container's cgroup, and that cgroup's own
//    memory.usage_in_bytes (which also counts page cache and kernel memory).
//
// Needs root, dockerd (docker.io) and, for the gVisor column, /usr/bin/runsc
// (`apt-get install -y runsc`). A runtime that fails gets "failed: …".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, chmodSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 10;
const json = args.includes('--json');
const log = (s) => process.stderr.write(`${s}\n`);

const RUNTIMES = [
  { id: 'runc', title: 'runc', config: null },
  { id: 'ours', title: 'our runsc', config: { path: join(ROOT, 'bin', 'runsc') } },
  { id: 'gvisor', title: 'gVisor (ptrace)', config: { path: '/usr/bin/runsc', runtimeArgs: ['--platform=ptrace', '--network=none'] } },
].filter((r) => r.id !== 'gvisor' || existsSync('/usr/bin/runsc'));

const dir = mkdtempSync(join(os.tmpdir(), 'bench-oci-'));
const sock = join(dir, 'docker.sock');
const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };
const docker = (a, timeout = 120_000) => spawnSync('/usr/bin/docker', a, { env, encoding: 'utf8', timeout });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startDaemon() {
  const runtimes = Object.fromEntries(RUNTIMES.filter((r) => r.config).map((r) => [r.id, r.config]));
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ runtimes }));
  const r = spawnSync('sh', ['-c', `dockerd "$@" >>${join(dir, 'dockerd.log')} 2>&1 </dev/null & echo $!`, 'sh',
    '--config-file', join(dir, 'daemon.json'), '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'), '-H', `unix://${sock}`, '--iptables=false', '--ip6tables=false', '--bridge=none'],
  { encoding: 'utf8' });
  const pid = Number(r.stdout.trim());
  const deadline = Date.now() + 60_000;
  while (docker(['version'], 5_000).status !== 0) {
    if (Date.now() > deadline) throw new Error('dockerd did not come up');
    spawnSync('sleep', ['0.25']);
  }
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'true', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', a));
  const imp = spawnSync('sh', ['-c', `tar -C ${rootfs} -c . | /usr/bin/docker import - bench-busybox`], { env, encoding: 'utf8' });
  if (imp.status !== 0) throw new Error(`docker import: ${imp.stderr}`);
  return pid;
}

function stopDaemon(pid) {
  try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  for (let i = 0; i < 200 && existsSync(`/proc/${pid}`); i++) spawnSync('sleep', ['0.1']);
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  spawnSync('sh', ['-c', `grep -o ' ${dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
  rmSync(dir, { recursive: true, force: true });
}

const runtimeFlag = (r) => (r.config ? [`--runtime=${r.id}`] : []);

function wallTrue(r) {
  const once = () => {
    const t0 = process.hrtime.bigint();
    const res = docker(['run', '--rm', '--network=none', ...runtimeFlag(r), 'bench-busybox', 'true']);
    if (res.status !== 0) throw new Error(`failed: ${(res.stderr || res.stdout).trim().split('\n')[0]}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  once();
  return median(Array.from({ length: runs }, once));
}

function idleMemory(r) {
  const res = docker(['run', '-d', '--network=none', ...runtimeFlag(r), 'bench-busybox', 'sleep', '1000']);
  if (res.status !== 0) throw new Error(`failed: ${res.stderr.trim().split('\n')[0]}`);
  const id = res.stdout.trim();
  try {
    spawnSync('sleep', ['3']);
    const procs = readFileSync(`/sys/fs/cgroup/pids/docker/${id}/cgroup.procs`, 'utf8').split('\n').filter(Boolean);
    let rss = 0;
    for (const p of procs) {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) rss += Number(m[1]) * 1024;
    }
    const usage = Number(readFileSync(`/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`, 'utf8'));
    return { rss, usage, procs: procs.length };
  } finally {
    docker(['rm', '-f', id]);
  }
}

const pid = startDaemon();
const results = {};
try {
  for (const r of RUNTIMES) {
    const out = {};
    try { out.trueMs = wallTrue(r); } catch (e) { out.trueMs = e.message; }
    try { out.idle = idleMemory(r); } catch (e) { out.idle = e.message; }
    results[r.id] = out;
    log(`${r.title}: ${JSON.stringify(out)}`);
  }
} finally {
  stopDaemon(pid);
}

if (json) {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  const mb = (v) => (typeof v === 'number' ? `${(v / 2 ** 20).toFixed(0)} MB` : v);
  const cell = (v, f) => (typeof v === 'object' && v !== null ? f(v) : String(v));
  const rows = [
    ['', ...RUNTIMES.map((r) => r.title)],
    [`docker run --rm IMAGE true (ms, median of ${runs})`, ...RUNTIMES.map((r) => (typeof results[r.id].trueMs === 'number' ? results[r.id].trueMs.toFixed(0) : results[r.id].trueMs))],
    ['idle container: RSS of its host processes', ...RUNTIMES.map((r) => cell(results[r.id].idle, (m) => `${mb(m.rss)} (${m.procs} processes)`))],
    ['idle container: its cgroup\'s memory.usage_in_bytes', ...RUNTIMES.map((r) => cell(results[r.id].idle, (m) => mb(m.usage)))],
  ];
  process.stdout.write(`| ${rows[0].join(' | ')} |\n|${rows[0].map(() => '---').join('|')}|\n`);
  for (const row of rows.slice(1)) process.stdout.write(`| ${row.join(' | ')} |\n`);
}
