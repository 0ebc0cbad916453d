#!/usr/bin/env node
// Benchmark: native vs our runsc (bin/runsc do …, ptrace and
// --platform=kvm) vs the real gVisor (/usr/bin/runsc --platform=ptrace
// --network=none do …), side by side.
//
//   node bench/run.mjs [--only CASE,…  (the ids in CASES below)]
//                      [--reps N] [--no-gvisor] [--no-kvm] [--json] [--target-ms MS]
//                      [--true-runs N] [--timeout S] [--ours PATH]
//
// Every case but `true` is a small static C program (bench/*.c) built into bench/.build/
// with gcc at run time. Each times its own loop with CLOCK_MONOTONIC and
// prints one JSON line, so process and sandbox start-up are not counted.
// The `true` case is the wall time of `… /bin/true`, measured from here, spawn to exit.
// The cases seqread to lsR are file-system workloads (the Gofer's): sequential read and
// write of 256 MiB, 10,000 small files, untarring a source tree, and
// `ls -lR /usr`; the writing ones run with --force-overlay=false in both
// sandboxes so that their writes reach the host.
//
// Iteration counts are calibrated per case and per runner: a short first run
// (also a warm-up) measures the per-operation cost, then each repetition runs
// enough iterations to take about --target-ms (default 1500 ms).
//
// A runner that fails gets "failed: <first line of its error>" in its cell;
// nothing here ever invents a number.

import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const BUILD = join(BENCH_DIR, '.build');
let OUR_RUNSC = join(ROOT, 'bin', 'runsc');
const GVISOR_RUNSC = '/usr/bin/runsc';
const GVISOR_FLAGS = ['--platform=ptrace', '--network=none'];
const SMALL_FILE = join(BUILD, 'small.txt');
const TINY_TRUE = join(BUILD, 'true');
// File-system cases: a 256 MiB file to read, a source tree to untar, and a
// scratch directory on the host, emptied before every run, to write in.
const BIG_FILE = join(BUILD, 'big-256m.bin');
const SRC_TAR = join(BUILD, 'src.tar');
const SRC_TREE = ['/usr/include', 'linux', 'c++'];
const SCRATCH = join(BUILD, 'scratch');
// Writes must reach the host, through the Gofer (ours) or gVisor's gofer:
// both `do`s otherwise keep them in an in-memory overlay.
const TO_HOST = ['--force-overlay=false'];

// ---------------------------------------------------------------- cases ----

const CASES = [
  {
    id: 'getppid', title: 'getppid loop', unit: 'µs/call', scale: 1e3,
    src: 'getppid.c', args: () => [], calib: 2000,
  },
  {
    id: 'openread', title: 'open/read/close small file', unit: 'µs/iter', scale: 1e3,
    src: 'openread.c', args: () => [SMALL_FILE], calib: 500,
  },
  {
    id: 'forkexec', title: 'fork+exec+wait (static true)', unit: 'ms/iter', scale: 1e6,
    src: 'forkexec.c', args: () => [TINY_TRUE], calib: 20,
  },
  {
    id: 'pipe', title: 'pipe ping-pong, 1 byte', unit: 'µs/round trip', scale: 1e3,
    src: 'pipe.c', args: () => [], calib: 500,
  },
  {
    id: 'unixpp', title: 'Unix stream socket ping-pong, 1 byte', unit: 'µs/round trip', scale: 1e3,
    src: 'unixpp.c', args: () => [], calib: 500,
  },
  {
    id: 'tcpstream', title: 'loopback TCP throughput, 64 KiB writes', unit: 'µs/64 KiB', scale: 1e3,
    src: 'tcpstream.c', args: () => [], calib: 200,
  },
  {
    id: 'tcpconn', title: 'loopback TCP connect+accept+close', unit: 'µs/connection', scale: 1e3,
    src: 'tcpconn.c', args: () => [], calib: 200,
  },
  {
    id: 'mmap', title: 'mmap+touch+munmap, 64 KiB', unit: 'µs/iter', scale: 1e3,
    src: 'mmap.c', args: () => [], calib: 200,
  },
  {
    id: 'pagefault', title: 'map 8 MiB, touch every page, unmap', unit: 'ms/iter', scale: 1e6,
    src: 'pagefault.c', args: () => [], calib: 3,
  },
  {
    id: 'cpu', title: 'CPU-bound loop, 10M rounds', unit: 'ms/iter', scale: 1e6,
    src: 'cpu.c', args: () => [], calib: 3,
  },
  {
    id: 'pipebw', title: 'pipe throughput, 64 KiB writes', unit: 'µs/64 KiB', scale: 1e3,
    src: 'pipebw.c', args: () => [], calib: 100,
  },
  {
    id: 'epoll', title: 'epoll_wait, 1000 idle fds + 1 active', unit: 'µs/iter', scale: 1e3,
    src: 'epoll.c', args: () => [], calib: 200,
  },
  { id: 'true', title: 'wall time of `do /bin/true`', unit: 'ms', wall: true },
  {
    id: 'futex', title: 'futex ping-pong, 2 threads', unit: 'µs/round trip', scale: 1e3,
    src: 'futex.c', args: () => [], calib: 500,
  },
  {
    id: 'thread', title: 'pthread_create + join', unit: 'µs/thread', scale: 1e3,
    src: 'thread.c', args: () => [], calib: 200,
  },
  {
    id: 'signal', title: 'raise(SIGUSR1) to a handler and back', unit: 'µs/signal', scale: 1e3,
    src: 'signal.c', args: () => [], calib: 500,
  },
  {
    id: 'compute', title: 'CPU-bound, 4 threads, no syscalls', unit: 'ms/unit', scale: 1e6,
    src: 'compute.c', args: () => [], calib: 8,
  },
  {
    id: 'clock', title: 'clock_gettime(CLOCK_MONOTONIC)', unit: 'ns/call', scale: 1,
    src: 'clock.c', args: () => [], calib: 20000,
  },
  {
    id: 'seqread', title: 'sequential read of 256 MiB, 1 MiB reads', unit: 'ms', scale: 1e6,
    src: 'seqio.c', args: () => ['read', BIG_FILE], calib: 1,
  },
  {
    id: 'seqwrite', title: 'sequential write of 256 MiB, to the host', unit: 'ms', scale: 1e6,
    src: 'seqio.c', args: () => ['write', join(SCRATCH, 'w.bin'), '256'], calib: 1, doFlags: TO_HOST, scratch: true,
  },
  {
    id: 'smallfiles', title: 'create+stat+unlink 10,000 small files, on the host', unit: 'ms', scale: 1e6,
    src: 'smallfiles.c', args: () => [SCRATCH, '10000'], calib: 1, minIters: 1, doFlags: TO_HOST, scratch: true,
  },
  {
    id: 'untar', title: 'tar -xf a source tree, to the host', unit: 'ms', scale: 1e6,
    src: 'spawn.c', args: () => ['untar', SCRATCH, '/usr/bin/tar', '-xf', SRC_TAR, '-C', '{}'], calib: 1,
    minIters: 1, doFlags: TO_HOST, scratch: true,
  },
  {
    // busybox's ls: coreutils' ls uses statx, which Debian's gVisor fails with EINVAL here.
    id: 'lsR', title: '`busybox ls -lR /usr`', unit: 's', scale: 1e9,
    src: 'spawn.c', args: () => ['lsR', '-', '/usr/bin/busybox', 'ls', '-lR', '/usr'], calib: 1, minIters: 1,
  },
];

// -------------------------------------------------------------- options ----

function usage(msg) {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  process.stderr.write(
    'usage: node bench/run.mjs [--only ' + CASES.map((c) => c.id).join(',') + ']\n' +
    '                          [--reps N] [--no-gvisor] [--no-kvm] [--json]\n' +
    '                          [--target-ms MS] [--true-runs N] [--timeout S]\n' +
    '                          [--ours PATH]   (another runsc to use as "ours"; default bin/runsc)\n');
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
  const o = { only: CASES.map((c) => c.id), reps: 3, gvisor: true, kvm: true, json: false,
    targetMs: 1500, trueRuns: 20, timeoutS: 120, ours: null };
  const num = (name, v, min) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) usage(`${name} needs a number ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let val;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { val = a.slice(eq + 1); a = a.slice(0, eq); }
    const next = () => (val !== undefined ? val : argv[++i]);
    switch (a) {
      case '--only': {
        const v = next();
        if (!v) usage('--only needs a list');
        o.only = v.split(',').map((s) => s.trim()).filter(Boolean);
        for (const id of o.only) if (!CASES.some((c) => c.id === id)) usage(`unknown case '${id}'`);
        break;
      }
      case '--reps': o.reps = Math.floor(num('--reps', next(), 1)); break;
      case '--no-gvisor': o.gvisor = false; break;
      case '--no-kvm': o.kvm = false; break;
      case '--json': o.json = true; break;
      case '--target-ms': o.targetMs = num('--target-ms', next(), 1); break;
      case '--true-runs': o.trueRuns = Math.floor(num('--true-runs', next(), 1)); break;
      case '--timeout': o.timeoutS = num('--timeout', next(), 1); break;
      case '--ours': o.ours = next(); if (!o.ours) usage('--ours needs a path'); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument '${argv[i]}'`);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.ours) OUR_RUNSC = resolve(opts.ours);
const log = (s) => process.stderr.write(s + '\n');

// -------------------------------------------------------------- runners ----

const RUNNERS = [
  { id: 'native', title: 'native', prefix: [] },
  { id: 'ours', title: 'our runsc', prefix: [OUR_RUNSC, 'do'] },
  { id: 'kvm', title: 'our runsc kvm', prefix: [OUR_RUNSC, '--platform=kvm', 'do'] },
  { id: 'gvisor', title: 'gVisor', prefix: [GVISOR_RUNSC, ...GVISOR_FLAGS, 'do'] },
];

// Why a runner can't run at all (checked once), or null.
function runnerUnavailable(r) {
  if (r.id === 'gvisor' && !opts.gvisor) return 'skipped (--no-gvisor)';
  if (r.id === 'kvm' && !opts.kvm) return 'skipped (--no-kvm)';
  if (r.id === 'kvm') {
    try { closeSync(openSync('/dev/kvm', 'r+')); } catch (e) { return `failed: /dev/kvm unusable (${e.code})`; }
  }
  if (r.id === 'gvisor' && !existsSync(GVISOR_RUNSC))
    return `failed: ${GVISOR_RUNSC} not installed (apt-get install -y runsc)`;
  return null;
}

// ---------------------------------------------------------------- build ----

function build() {
  mkdirSync(BUILD, { recursive: true });
  if (!existsSync(BIG_FILE)) {
    const mib = Buffer.alloc(1 << 20);
    for (let i = 0; i < mib.length; i++) mib[i] = (i * 131 + (i >> 11)) & 0xff;
    const fd = openSync(BIG_FILE + '.tmp', 'w');
    for (let i = 0; i < 256; i++) writeSync(fd, mib);
    closeSync(fd);
    renameSync(BIG_FILE + '.tmp', BIG_FILE);
  }
  if (!existsSync(SRC_TAR)) {
    const r = spawnSync('tar', ['-cf', SRC_TAR + '.tmp', '-C', ...SRC_TREE], { encoding: 'utf8' });
    if (r.status !== 0) { log(`bench: cannot make ${SRC_TAR}: ${r.stderr}`); process.exit(1); }
    renameSync(SRC_TAR + '.tmp', SRC_TAR);
  }
  if (!existsSync(SMALL_FILE)) {
    // 100 bytes of text: the "small file" of the open/read/close case.
    writeFileSync(SMALL_FILE, 'the quick brown fox jumps over the lazy dog. '.repeat(3).slice(0, 99) + '\n');
  }
  const header = join(BENCH_DIR, 'bench.h');
  const jobs = [
    { out: TINY_TRUE, src: join(BENCH_DIR, 'true.c'),
      flags: ['-static', '-nostdlib', '-O2', '-fno-stack-protector', '-fcf-protection=none'] },
    ...CASES.filter((c) => c.src).map((c) => ({
      out: join(BUILD, c.id), src: join(BENCH_DIR, c.src), deps: [header],
      flags: ['-static', '-O2', '-Wall', '-pthread'] })),
  ];
  for (const j of jobs) {
    const mtime = (p) => statSync(p).mtimeMs;
    if (existsSync(j.out) && [j.src, ...(j.deps || [])].every((s) => mtime(s) <= mtime(j.out))) continue;
    const r = spawnSync('gcc', [...j.flags, '-o', j.out, j.src], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      log(`bench: gcc failed for ${j.src}:\n${r.error ? r.error.message : r.stderr}`);
      process.exit(1);
    }
  }
}

// ------------------------------------------------------------ execution ----

function firstLine(s) {
  return (s || '').split('\n').map((l) => l.trim()).find((l) => l.length > 0) || '';
}

// Run argv, resolve to { ok, code, signal, stdout, stderr, wallMs, error }.
function run(argv, timeoutMs) {
  return new Promise((resolveP) => {
    let stdout = '', stderr = '', done = false, timedOut = false;
    const t0 = process.hrtime.bigint();
    let child;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    } catch (e) {
      resolveP({ ok: false, error: e.message });
      return;
    }
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (d) => { if (stdout.length < 1 << 20) stdout += d; });
    child.stderr.on('data', (d) => { if (stderr.length < 1 << 20) stderr += d; });
    const finish = (res) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolveP(res);
    };
    child.on('error', (e) => finish({
      ok: false, stdout, stderr,
      error: e.code === 'ENOENT' ? `${argv[0]}: not found` : e.code === 'EACCES' ? `${argv[0]}: not executable` : e.message,
    }));
    let wallMs;
    child.on('exit', () => { wallMs = Number(process.hrtime.bigint() - t0) / 1e6; });
    child.on('close', (code, signal) => {
      if (wallMs === undefined) wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (timedOut) return finish({ ok: false, error: `timed out after ${timeoutMs / 1000} s`, stdout, stderr });
      finish({ ok: code === 0, code, signal, stdout, stderr, wallMs });
    });
  });
}

function describeFailure(res) {
  if (res.error) return res.error;
  const line = firstLine(res.stderr) || firstLine(res.stdout);
  if (line) return line;
  return res.signal ? `killed by ${res.signal}` : `exit code ${res.code}`;
}

class Failed extends Error {}

// One run of a C micro-benchmark; returns its parsed JSON line.
async function runMicro(runner, c, iters) {
  if (c.scratch) {
    rmSync(SCRATCH, { recursive: true, force: true });
    mkdirSync(SCRATCH, { recursive: true });
  }
  const flags = runner.id === 'native' ? [] : c.doFlags ?? [];
  const argv = [...runner.prefix, ...flags, join(BUILD, c.id), String(iters), ...c.args()];
  const res = await run(argv, opts.timeoutS * 1000);
  if (!res.ok) throw new Failed(describeFailure(res));
  const line = res.stdout.split('\n').reverse().find((l) => l.startsWith('{"bench":'));
  let parsed;
  try { parsed = line && JSON.parse(line); } catch { parsed = undefined; }
  if (!parsed || parsed.bench !== c.id || parsed.iters !== iters || !(parsed.elapsed_ns > 0))
    throw new Failed(`no result line in output${firstLine(res.stdout) ? ` (stdout: ${firstLine(res.stdout).slice(0, 80)})` : ''}`);
  return parsed;
}

async function measureMicro(runner, c) {
  // Calibrate (and warm up): grow the count until a run takes ≥ 50 ms.
  let iters = c.calib, r;
  for (let k = 0; ; k++) {
    r = await runMicro(runner, c, iters);
    if (r.elapsed_ns >= 50e6 || k >= 6) break;
    iters *= 10;
  }
  const perOp = r.elapsed_ns / r.iters;
  const n = Math.max(c.minIters ?? 5, Math.min(2e9, Math.round((opts.targetMs * 1e6) / perOp)));
  const reps = [];
  for (let i = 0; i < opts.reps; i++) {
    const x = await runMicro(runner, c, n);
    reps.push(x.elapsed_ns / x.iters / c.scale);
  }
  return { iters: n, reps };
}

async function measureWall(runner) {
  const argv = [...(runner.prefix.length ? runner.prefix : []), '/bin/true'];
  const once = async () => {
    const res = await run(argv, opts.timeoutS * 1000);
    if (!res.ok) throw new Failed(describeFailure(res));
    return res.wallMs;
  };
  await once(); // warm-up, not counted
  const reps = [];
  for (let i = 0; i < opts.trueRuns; i++) reps.push(await once());
  return { runs: opts.trueRuns, reps };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ----------------------------------------------------------------- main ----

function machineInfo() {
  const info = {
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model?.trim() || 'unknown',
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    gvisor: null,
    date: new Date().toISOString(),
  };
  if (opts.gvisor && existsSync(GVISOR_RUNSC)) {
    const r = spawnSync(GVISOR_RUNSC, ['--version'], { encoding: 'utf8' });
    info.gvisor = firstLine(r.stdout) || null;
  }
  try {
    const head = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
    if (head.status === 0) info.commit = head.stdout.trim();
  } catch { /* not a git checkout */ }
  return info;
}

async function main() {
  build();
  const info = machineInfo();
  const cases = CASES.filter((c) => opts.only.includes(c.id));
  const results = {}; // results[case][runner] = { median, reps, iters } | { error }

  for (const c of cases) {
    results[c.id] = {};
    for (const r of RUNNERS) {
      const why = runnerUnavailable(r);
      if (why) { results[c.id][r.id] = { error: why }; continue; }
      log(`bench: ${c.id} / ${r.title} …`);
      try {
        const m = c.wall ? await measureWall(r) : await measureMicro(r, c);
        results[c.id][r.id] = { median: median(m.reps), ...m };
        log(`bench:   median ${fmt(results[c.id][r.id].median)} ${c.unit}`);
      } catch (e) {
        const msg = e instanceof Failed ? e.message : `harness error: ${e && e.message}`;
        results[c.id][r.id] = { error: msg.startsWith('failed:') || msg.startsWith('skipped') ? msg : `failed: ${msg}` };
        log(`bench:   ${results[c.id][r.id].error}`);
      }
    }
  }

  const ratio = (a, b) => (a && b && a.median !== undefined && b.median !== undefined ? a.median / b.median : null);
  const rows = cases.map((c) => {
    const x = results[c.id];
    return {
      case: c.id, title: c.title, unit: c.unit,
      native: x.native, ours: x.ours, kvm: x.kvm, gvisor: x.gvisor,
      oursOverNative: ratio(x.ours, x.native),
      kvmOverOurs: ratio(x.kvm, x.ours),
      oursOverGvisor: ratio(x.ours, x.gvisor),
      gvisorOverNative: ratio(x.gvisor, x.native),
    };
  });

  if (opts.json) {
    process.stdout.write(JSON.stringify({
      machine: info,
      options: { reps: opts.reps, trueRuns: opts.trueRuns, targetMs: opts.targetMs, gvisor: opts.gvisor },
      commands: {
        native: 'bench/.build/CASE ITERS [ARG]',
        ours: `${OUR_RUNSC} do bench/.build/CASE ITERS [ARG]`,
        kvm: `${OUR_RUNSC} --platform=kvm do bench/.build/CASE ITERS [ARG]`,
        gvisor: `${GVISOR_RUNSC} ${GVISOR_FLAGS.join(' ')} do bench/.build/CASE ITERS [ARG]`,
      },
      results: rows,
    }, null, 2) + '\n');
  } else {
    printTable(info, rows);
  }
  rmSync(SCRATCH, { recursive: true, force: true });
}

function fmt(v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '—';
  if (v >= 1000) return v.toFixed(0);
  if (v >= 100) return v.toFixed(1);
  if (v >= 10) return v.toFixed(2);
  if (v >= 1) return v.toFixed(3);
  return v.toPrecision(3);
}
const fmtRatio = (v) => (v === null ? '—' : (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + '×');
const cell = (m) => (!m ? '—' : m.error ? m.error : fmt(m.median));

function printTable(info, rows) {
  const out = [];
  out.push('');
  out.push(`machine: ${info.cpus} CPU (${info.cpuModel}), kernel ${info.kernel}, node ${info.node}` +
    (info.gvisor ? `, gVisor ${info.gvisor}` : ''));
  out.push(`medians of ${opts.reps} repetitions (micro-benchmarks, ~${opts.targetMs} ms each) and of ${opts.trueRuns} runs (/bin/true wall time)`);
  out.push('');
  const head = ['case', 'unit', 'native', 'our runsc', 'ours kvm', 'gVisor', 'ours/native', 'kvm/ours', 'ours/gVisor', 'gVisor/native'];
  const body = rows.map((r) => [r.case, r.unit, cell(r.native), cell(r.ours), cell(r.kvm), cell(r.gvisor),
    fmtRatio(r.oursOverNative), fmtRatio(r.kvmOverOurs), fmtRatio(r.oursOverGvisor), fmtRatio(r.gvisorOverNative)]);
  // Long failure messages: clip in the table, print whole below.
  const MAXW = 48;
  const clip = (s) => (s.length > MAXW ? s.slice(0, MAXW - 1) + '…' : s);
  const tbl = [head, ...body.map((row) => row.map(clip))];
  const w = head.map((_, i) => Math.max(...tbl.map((row) => [...row[i]].length)));
  const pad = (s, n, right) => (right ? ' '.repeat(n - [...s].length) + s : s + ' '.repeat(n - [...s].length));
  const line = (row) => row.map((s, i) => pad(s, w[i], i >= 2)).join('  ');
  out.push(line(tbl[0]));
  out.push(w.map((n) => '-'.repeat(n)).join('  '));
  for (const row of tbl.slice(1)) out.push(line(row));
  out.push('');
  out.push('repetitions:');
  for (const r of rows) {
    for (const k of ['native', 'ours', 'kvm', 'gvisor']) {
      const m = r[k];
      if (!m) continue;
      const name = RUNNERS.find((x) => x.id === k).title;
      if (m.error) out.push(`  ${r.case.padEnd(9)} ${name.padEnd(13)} ${m.error}`);
      else out.push(`  ${r.case.padEnd(9)} ${name.padEnd(13)} ${m.reps.map(fmt).join(' ')} ${r.unit}` +
        (m.iters ? `  (${m.iters} iterations each)` : `  (${m.runs} runs)`));
    }
  }
  out.push('');
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  log(`bench: harness error: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
