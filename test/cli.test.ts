// runsc's own flags, end to end: --strace, --debug-log, --log-format json,
// do's --cwd, --root, --force-overlay and --quiet, and stdin passing through.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { RUNSC, describeRun, killAll, run } from './harness';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-cli-'));
afterAll(() => {
  killAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('--strace logs each syscall with decoded arguments and results', async () => {
  const r = await run(RUNSC, ['--strace', 'do', '/bin/sh', '-c', 'cat /nonexistent-strace-probe; exit 3']);
  expect(r.status, describeRun('strace', r)).toBe(3);
  expect(r.stderr).toMatch(/openat\(-100, "\/nonexistent-strace-probe", 0x0, 0\) = -1 ENOENT/);
  expect(r.stderr).toMatch(/exit_group\(3\)/);
});

it('--debug-log DIR writes the log to DIR/runsc.log, as JSON with --log-format json', async () => {
  const dir = path.join(tmp, 'logs');
  fs.mkdirSync(dir);
  const r = await run(RUNSC, ['--strace', '--log-format', 'json', '--debug-log', dir, 'do', '/bin/true']);
  expect(r.status, describeRun('debug-log', r)).toBe(0);
  expect(r.stderr).toBe('');
  const lines = fs.readFileSync(path.join(dir, 'runsc.log'), 'utf8').trim().split('\n');
  const first = JSON.parse(lines[0]!) as { msg: string; level: number };
  expect(first.level).toBe(30);
  expect(lines.some((l) => (JSON.parse(l) as { msg: string }).msg.includes('exit_group(0)'))).toBe(true);
});

it('do --cwd sets the working directory', async () => {
  const r = await run(RUNSC, ['do', '--cwd', '/usr', '/bin/pwd']);
  expect(r.stdout).toBe('/usr\n');
});

it('do --root runs in another root filesystem', async () => {
  const root = path.join(tmp, 'rootfs');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  fs.writeFileSync(path.join(root, 'marker'), 'inside the other root\n');
  const r = await run(RUNSC, ['do', '--root', root, '--cwd', '/', '/bin/busybox', 'sh', '-c', 'busybox cat /marker; busybox ls /']);
  expect(r.status, describeRun('--root', r)).toBe(0);
  expect(r.stdout).toMatch(/^inside the other root\n/);
  expect(r.stdout).toMatch(/\bmarker\b/);
  expect(r.stdout).not.toMatch(/\busr\b/);
});

it('do --force-overlay=false writes through to the host tree; the default overlay does not', async () => {
  const dir = path.join(tmp, 'rw');
  fs.mkdirSync(dir);
  const f = path.join(dir, 'written');
  let r = await run(RUNSC, ['do', '/bin/sh', '-c', `echo overlay > ${f}`]);
  expect(r.status, describeRun('overlay', r)).toBe(0);
  expect(fs.existsSync(f)).toBe(false);
  r = await run(RUNSC, ['do', '--force-overlay=false', '/bin/sh', '-c', `echo host > ${f}`]);
  expect(r.status, describeRun('no overlay', r)).toBe(0);
  expect(fs.readFileSync(f, 'utf8')).toBe('host\n');
});

it('do --quiet prints no message of its own for a missing program', async () => {
  const r = await run(RUNSC, ['do', '--quiet', '/no/such/program']);
  expect(r.status).toBe(127);
  expect(r.stderr).toBe('');
});

it('stdin passes through to the workload', async () => {
  const r = await run(RUNSC, ['do', '/bin/sh', '-c', 'wc -l'], { input: 'a\nb\nc\n' });
  expect(r.stdout.trim()).toBe('3');
});

it('runsc syscalls lists the table', async () => {
  const r = await run(RUNSC, ['syscalls', '--json']);
  const rows = JSON.parse(r.stdout) as { nr: number; name: string; support: string }[];
  expect(rows.find((x) => x.name === 'getppid')).toMatchObject({ nr: 110, support: 'full' });
  expect(rows.find((x) => x.name === 'io_uring_setup')).toMatchObject({ nr: 425, support: 'none' });
});
