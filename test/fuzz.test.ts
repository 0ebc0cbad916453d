// Fuzzing inside the sandbox, bounded for CI (docs/security.md has longer
// runs): our own fuzzer over the whole syscall table (test/fuzz.mjs, which
// also checks the Sentry's fds do not grow), and trinity (Debian's syscall
// fuzzer). Either way the Sentry must log no bug, stay up and end on time.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO, RUNSC, describeRun, killAll, run } from './harness';

afterAll(killAll);

it('our fuzzer: random and boundary arguments to every implemented syscall, 20 s', () => {
  const r = spawnSync(process.execPath, [path.join(REPO, 'test', 'fuzz.mjs'), '--seconds', '20', '--seed', '2'], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { calls: number; sentryBugs: number };
  expect(result.sentryBugs).toBe(0);
  expect(result.calls).toBeGreaterThan(500);
}, 130_000);

it('trinity: 1500 syscalls inside the sandbox', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-trinity-'));
  const log = path.join(dir, 'sentry.log');
  // --dangerous: trinity runs as the sandbox's root; sockets, perf and DRM fds
  // are left out (the Sentry has no such families; trinity would retry forever).
  const r = await run(RUNSC, ['--debug-log', log, 'do', '--cwd', '/tmp', 'trinity', '--dangerous', '-N', '1500', '-C', '2', '-q', '-l', 'off',
    '-a', '64', '--disable-fds=sockets,perf,drm', '-s', '7'], { timeoutMs: 150_000 });
  const msg = describeRun('runsc do trinity', r);
  expect(r.status, msg).toBe(0);
  expect(r.stdout + r.stderr, msg).toMatch(/Ran \d+ syscalls/);
  expect(fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('sentry bug')), 'Sentry bugs').toEqual([]);
}, 160_000);
