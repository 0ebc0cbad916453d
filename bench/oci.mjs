#!/usr/bin/env node
// Benchmark of the OCI runtime under the real docker: runc, our runsc and
// Debian's gVisor (/usr/bin/runsc --platform=ptrace --network=none) as three
// runtimes of one private dockerd (its own data/exec roots and socket under a
// temporary directory, stopped and removed at the end).
//
//   node bench/oci.mjs [--runs N] [--json] [--only runc|ours|gvisor] [--trace] [--runtime NAME=PATH]…
//
// 1. wall time of `docker run --rm --network=none IMAGE true`, from spawn to
//    exit of the docker client: one untimed warm-up each, then the median of N
//    runs (default 10), the runtimes taking turns so that changes in the
//    machine's load hit them alike.
// 2. memory of an idle container (`sleep 1000`, measured 3 s after `docker
//    run -d` returned): the resident memory (VmRSS) summed over the host
//    processes in the container's cgroup, and that cgroup's own
//    memory.usage_in_bytes (which also counts page cache and kernel memory).
//
// 3. each host process of that idle container: its command, VmRSS and PSS
//    (what it costs the machine, shared pages split among their users).
//
// --runtime NAME=PATH adds a runtime (e.g. another build of runsc, to
// compare). --trace: ours runs with RUNSC_TRACE set (see src/trace.ts); after the
// table, N more runs of it and, for the run of median wall time, every mark of every runsc, sandbox
// and Gofer process, in ms since the docker client started.
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
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const trace = args.includes('--trace') ? join(os.tmpdir(), `runsc-trace-${process.pid}.jsonl`) : null;
const log = (s) => process.stderr.write(`${s}\n`);

const RUNTIMES = [
  { id: 'runc', title: 'runc', config: null },
  { id: 'ours', title: 'our runsc', config: { path: join(ROOT, 'bin', 'runsc') } },
  { id: 'gvisor', title: 'gVisor (ptrace)', config: { path: '/usr/bin/runsc', runtimeArgs: ['--platform=ptrace', '--network=none'] } },
  ...args.flatMap((a, i) => (args[i - 1] === '--runtime' ? [a] : [])).map((a) => {
    const [id, path] = a.split('=');
    return { id, title: id, config: { path: resolve(path) } };
  }),
].filter((r) => (r.id !== 'gvisor' || existsSync('/usr/bin/runsc')) && (!only || r.id === only));

const dir = mkdtempSync(join(os.tmpdir(), 'bench-oci-'));
const sock = join(dir, 'docker.sock');
const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };
const docker = (a, timeout = 120_000) => spawnSync('/usr/bin/docker', a, { env, encoding: 'utf8', timeout });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startDaemon() {
  // The shim gives the runtime no environment of ours: a traced runsc is a script that sets it.
  if (trace) {
    const ours = RUNTIMES.find((r) => r.id === 'ours');
    ours.config.path = join(dir, 'runsc-traced');
    writeFileSync(ours.config.path, `#!/bin/sh\nRUNSC_TRACE=${trace} exec ${join(ROOT, 'bin', 'runsc')} "$@"\n`, { mode: 0o755 });
  }
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

/** One `docker run --rm IMAGE true`: its start (ms since the epoch) and wall time. */
function runTrue(r) {
  const start = Date.now();
  const t0 = process.hrtime.bigint();
  const res = docker(['run', '--rm', '--network=none', ...runtimeFlag(r), 'bench-busybox', 'true']);
  if (res.status !== 0) throw new Error(`failed: ${(res.stderr || res.stdout).trim().split('\n')[0]}`);
  return { start, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** Median wall time of each runtime (or why it failed), the runtimes taking turns. */
function wallTrue() {
  const times = new Map();
  for (const r of RUNTIMES) {
    try {
      runTrue(r);
      times.set(r, []);
    } catch (e) {
      results[r.id].trueMs = e.message;
    }
  }
  for (let i = 0; i < runs; i++) {
    for (const [r, t] of times) {
      try {
        if (Array.isArray(t)) t.push(runTrue(r).ms);
      } catch (e) {
        times.set(r, e.message);
      }
    }
  }
  for (const [r, t] of times) results[r.id].trueMs = Array.isArray(t) ? median(t) : t;
}

/** The marks of the traced run of median wall time, as table rows. */
function traceTrue(r) {
  rmSync(trace, { force: true });
  const done = Array.from({ length: runs }, () => runTrue(r)).sort((a, b) => a.ms - b.ms);
  const m = done[Math.floor(done.length / 2)];
  const marks = readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((e) => e.t >= m.start - 50 && e.t <= m.start + m.ms + 50);
  const born = new Map(marks.filter((e) => e.what === 'node-start').map((e) => [e.pid, e.t]));
  return [[`process (this docker run: ${m.ms.toFixed(0)} ms)`, 'pid', 'mark', 'ms since docker run', 'ms since its Node started'],
    ...marks.sort((a, b) => a.t - b.t).map((e) => [e.who, e.pid, e.what, (e.t - m.start).toFixed(0), born.has(e.pid) ? (e.t - born.get(e.pid)).toFixed(0) : ''])];
}

function idleMemory(r) {
  const res = docker(['run', '-d', '--network=none', ...runtimeFlag(r), 'bench-busybox', 'sleep', '1000']);
  if (res.status !== 0) throw new Error(`failed: ${res.stderr.trim().split('\n')[0]}`);
  const id = res.stdout.trim();
  try {
    spawnSync('sleep', ['3']);
    const procs = readFileSync(`/sys/fs/cgroup/pids/docker/${id}/cgroup.procs`, 'utf8').split('\n').filter(Boolean);
    const kB = (re, text) => Number(re.exec(text)?.[1] ?? 0) * 1024;
    const each = procs.map((p) => ({
      cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).map((a) => a.split('/').pop()).join(' ').slice(0, 60),
      rss: kB(/VmRSS:\s+(\d+) kB/, readFileSync(`/proc/${p}/status`, 'utf8')),
      pss: kB(/^Pss:\s+(\d+) kB/m, readFileSync(`/proc/${p}/smaps_rollup`, 'utf8')),
    }));
    const sum = (k) => each.reduce((a, p) => a + p[k], 0);
    const usage = Number(readFileSync(`/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`, 'utf8'));
    return { rss: sum('rss'), pss: sum('pss'), usage, procs: procs.length, each };
  } finally {
    docker(['rm', '-f', id]);
  }
}

const pid = startDaemon();
const results = {};
let traced = null;
try {
  for (const r of RUNTIMES) results[r.id] = {};
  wallTrue();
  for (const r of RUNTIMES) {
    try { results[r.id].idle = idleMemory(r); } catch (e) { results[r.id].idle = e.message; }
    log(`${r.title}: ${JSON.stringify(results[r.id])}`);
  }
  const ours = RUNTIMES.find((r) => r.id === 'ours');
  if (trace && ours) traced = traceTrue(ours);
} finally {
  if (trace) rmSync(trace, { force: true });
  stopDaemon(pid);
}

const mb = (v) => (typeof v === 'number' ? `${(v / 2 ** 20).toFixed(0)} MB` : v);
const table = (rows) => {
  process.stdout.write(`| ${rows[0].join(' | ')} |\n|${rows[0].map(() => '---').join('|')}|\n`);
  for (const row of rows.slice(1)) process.stdout.write(`| ${row.join(' | ')} |\n`);
};
if (json) {
  process.stdout.write(`${JSON.stringify({ results, traced })}\n`);
} else {
  const cell = (v, f) => (typeof v === 'object' && v !== null ? f(v) : String(v));
  const rows = [
    ['', ...RUNTIMES.map((r) => r.title)],
    [`docker run --rm IMAGE true (ms, median of ${runs})`, ...RUNTIMES.map((r) => (typeof results[r.id].trueMs === 'number' ? results[r.id].trueMs.toFixed(0) : results[r.id].trueMs))],
    ['idle container: RSS of its host processes', ...RUNTIMES.map((r) => cell(results[r.id].idle, (m) => `${mb(m.rss)} (${m.procs} processes)`))],
    ['idle container: PSS of its host processes', ...RUNTIMES.map((r) => cell(results[r.id].idle, (m) => mb(m.pss)))],
    ['idle container: its cgroup\'s memory.usage_in_bytes', ...RUNTIMES.map((r) => cell(results[r.id].idle, (m) => mb(m.usage)))],
  ];
  table(rows);
  for (const r of RUNTIMES) {
    const idle = results[r.id].idle;
    if (typeof idle !== 'object') continue;
    process.stdout.write('\n');
    table([[`${r.title}: idle process`, 'RSS', 'PSS'], ...idle.each.map((p) => [`\`${p.cmd}\``, mb(p.rss), mb(p.pss)])]);
  }
  if (traced) {
    process.stdout.write('\n');
    table(traced);
  }
}
