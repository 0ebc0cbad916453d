// Start-up machinery: the V8 code caches the build makes for the bundles
// (src/codecache.ts) and the RUNSC_TRACE marks (src/trace.ts) that
// `node bench/oci.mjs --trace` reads. Timings are measured in bench/, never
// asserted here: these tests check that the caches are usable and that the
// marks are there, in each process's own order.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSpec } from '../src/oci/spec';

const REPO = path.resolve(__dirname, '..');
const DIST = path.join(REPO, 'dist');
const RUNSC = path.join(REPO, 'bin', 'runsc');
const BUSYBOX = '/bin/busybox';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-'));

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Mark { pid: number; who: string; what: string; t: number }

function readTrace(file: string): Mark[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Mark);
}

/** The marks of one process, in the order it wrote them. */
const marksOf = (marks: Mark[], who: string): string[][] => {
  const pids = [...new Set(marks.filter((m) => m.who === who).map((m) => m.pid))];
  return pids.map((pid) => marks.filter((m) => m.pid === pid).map((m) => m.what));
};

describe('start-up', () => {
  it.each(['runsc', 'gofer'])('the build made a code cache for dist/%s.bundle.js that this Node accepts', (name) => {
    const file = path.join(DIST, `${name}.bundle.js`);
    expect(fs.statSync(`${file}.cache`).size).toBeGreaterThan(10_000);
    // Compiled as the loader compiles it, in a Node with the loader's (default) flags.
    const check = `const fs = require('fs'), vm = require('vm'), { wrap } = require('module');
      const s = new vm.Script(wrap(fs.readFileSync(${JSON.stringify(file)}, 'utf8')), { filename: ${JSON.stringify(file)}, cachedData: fs.readFileSync(${JSON.stringify(`${file}.cache`)}) });
      process.stdout.write(String(s.cachedDataRejected));`;
    const r = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('false');
  });

  it('RUNSC_TRACE: a command marks its Node start, bootstrap, load and exit', () => {
    const trace = path.join(tmp, 'features.jsonl');
    const r = spawnSync(RUNSC, ['features'], { encoding: 'utf8', env: { ...process.env, RUNSC_TRACE: trace } });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('ociVersionMax');
    const marks = readTrace(trace);
    expect(marksOf(marks, 'runsc features')).toEqual([['node-start', 'bootstrapped', 'loaded', 'exit']]);
    const t = marks.map((m) => m.t);
    expect(t).toEqual([...t].sort((a, b) => a - b));
    expect(Math.abs(t[0]! - Date.now())).toBeLessThan(60_000);
  });

  it.skipIf(process.getuid?.() !== 0)('RUNSC_TRACE: runsc do, whose Gofer makes the host tree read-only, runs and is traced', () => {
    const trace = path.join(tmp, 'do.jsonl');
    const r = spawnSync(RUNSC, ['do', '/bin/true'], { encoding: 'utf8', env: { ...process.env, RUNSC_TRACE: trace }, timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const marks = readTrace(trace);
    expect(marksOf(marks, 'runsc do')).toEqual([['node-start', 'bootstrapped', 'loaded', 'sandbox-built', 'start', 'exit']]);
    expect(marksOf(marks, 'gofer')).toEqual([['node-start', 'bootstrapped', 'loaded', 'confining']]);
  });

  it.skipIf(process.getuid?.() !== 0 || !fs.existsSync(BUSYBOX))('one Gofer serves the rootfs and the bind mounts (rw, ro, the host\'s /), traced', () => {
    const dir = path.join(tmp, 'bundle');
    fs.mkdirSync(path.join(dir, 'rootfs', 'bin'), { recursive: true });
    for (const d of ['rw', 'ro']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'ro', 'kept'), 'as it was\n');
    fs.copyFileSync(BUSYBOX, path.join(dir, 'rootfs', 'bin', 'sh'));
    const c = defaultSpec() as Record<string, any>;
    c['process'].args = ['sh', '-c', 'echo written > /rw/new; read l < /ro/kept; echo $l; echo no > /ro/kept || echo refused; echo no > /ro/new || echo refused; read l < /host/etc/hostname && echo host'];
    c['process'].terminal = false;
    c['mounts'].push({ destination: '/rw', type: 'bind', source: path.join(dir, 'rw'), options: ['rbind', 'rw'] });
    c['mounts'].push({ destination: '/ro', type: 'bind', source: path.join(dir, 'ro'), options: ['rbind', 'ro'] });
    c['mounts'].push({ destination: '/host', type: 'bind', source: '/', options: ['rbind', 'ro'] });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
    const trace = path.join(tmp, 'run.jsonl');
    const r = spawnSync(RUNSC, ['--root', path.join(tmp, 'state'), 'run', '--bundle', dir, 'traced'], {
      encoding: 'utf8', env: { ...process.env, RUNSC_TRACE: trace }, timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('as it was\nrefused\nrefused\nhost\n');
    expect(r.stderr).toMatch(/Read-only file system[^]*Read-only file system/);
    expect(fs.readFileSync(path.join(dir, 'rw', 'new'), 'utf8')).toBe('written\n');
    expect(fs.readFileSync(path.join(dir, 'ro', 'kept'), 'utf8')).toBe('as it was\n');
    expect(fs.existsSync(path.join(dir, 'ro', 'new'))).toBe(false);
    const marks = readTrace(trace);
    expect(marksOf(marks, 'runsc run')).toEqual([['node-start', 'bootstrapped', 'loaded', 'sandbox-answered', 'created', 'exit']]);
    expect(marksOf(marks, 'sandbox')).toEqual([
      ['node-start', 'bootstrapped', 'loaded', 'gofers-attached', 'kernel-built', 'ready', 'start', 'init-started', 'exit'],
    ]);
    // One Gofer for all four trees; it stops tracing as it confines itself.
    expect(marksOf(marks, 'gofer')).toEqual([['node-start', 'bootstrapped', 'loaded', 'confining']]);
  });
});
