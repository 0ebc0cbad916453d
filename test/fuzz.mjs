#!/usr/bin/env node
// Runs the syscall fuzzer (test/hostile/fuzz.c) inside `runsc do` over every
// syscall the table implements, for a bounded time, and checks the Sentry
// survived it: the run ends on time with the fuzzer's count, the Sentry's
// log has no "sentry bug", and the Sentry's host fds and memory did not grow
// without bound meanwhile. test/fuzz.test.ts runs it briefly; run it longer by
// hand:
//
//   node test/fuzz.mjs [--seconds N] [--seed S]
//
// Prints one JSON line {seed, seconds, calls, workers, sentryBugs, fds, rssMiB}
// and exits non-zero when a check fails.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const REPO = path.resolve(import.meta.dirname, '..');
const RUNSC = path.join(REPO, 'bin', 'runsc');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' } } });
const seconds = Number(values.seconds);
const seed = values.seed ?? String(Date.now() % 1_000_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-fuzz-'));
const bin = path.join(dir, 'fuzz');
const cc = spawnSync('gcc', ['-static', '-O1', '-o', bin, path.join(REPO, 'test', 'hostile', 'fuzz.c')], { encoding: 'utf8' });
if (cc.status !== 0) throw new Error(`gcc: ${cc.stderr}`);
const table = JSON.parse(spawnSync(RUNSC, ['syscalls', '--json'], { encoding: 'utf8' }).stdout);
const nrs = table.filter((r) => r.support !== 'none').map((r) => String(r.nr));

const log = path.join(dir, 'sentry.log');
const child = spawn(RUNSC, ['--debug-log', log, 'do', bin, seed, String(seconds), ...nrs], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
let out = '';
let err = '';
child.stdout.on('data', (b) => { out += b; });
child.stderr.on('data', (b) => { err += b; });

/** The Sentry is the launcher's child (runsc/confine.ts). */
const sentry = () => Number(fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
const sample = () => {
  try {
    const s = sentry();
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${s}/status`, 'utf8'))[1]) / 1024;
    return { fds: fs.readdirSync(`/proc/${s}/fd`).length, rssMiB: Math.round(rss) };
  } catch {
    return null;
  }
};
const samples = [];
const sampler = setInterval(() => { const s = sample(); if (s) samples.push(s); }, 1000);
let timedOut = false;
const killer = setTimeout(() => { timedOut = true; process.kill(-child.pid, 'SIGKILL'); }, (seconds + 60) * 1000);
const code = await new Promise((r) => child.on('exit', (c, s) => r(c ?? 128 + (os.constants.signals[s] ?? 0))));
clearInterval(sampler);
clearTimeout(killer);

const m = /calls (\d+) workers (\d+)/.exec(out);
const logText = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
const sentryBugs = logText.split('\n').filter((l) => l.includes('sentry bug')).length;
// Growth between the second sample (start-up over) and the last one.
const first = samples[Math.min(1, samples.length - 1)];
const last = samples[samples.length - 1];
const result = {
  seed: Number(seed), seconds, calls: m ? Number(m[1]) : 0, workers: m ? Number(m[2]) : 0, sentryBugs,
  fds: first && last ? [first.fds, last.fds] : null, rssMiB: first && last ? [first.rssMiB, last.rssMiB] : null,
};
console.log(JSON.stringify(result));
const problems = [];
if (timedOut) problems.push('the sandbox hung (killed past the deadline)');
if (code !== 0) problems.push(`runsc exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
if (!m) problems.push('the fuzzer printed no count');
if (sentryBugs) problems.push(`${sentryBugs} sentry bug(s); log kept at ${log}`);
if (first && last && last.fds > first.fds + 16) problems.push(`the Sentry's host fds grew from ${first.fds} to ${last.fds}`);
for (const p of problems) console.error(`fuzz: ${p}`);
if (problems.length === 0) fs.rmSync(dir, { recursive: true, force: true });
process.exit(problems.length ? 1 : 0);
