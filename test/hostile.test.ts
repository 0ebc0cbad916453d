// The hostile suite (issue 7; docs/security.md): programs under test/hostile/
// that attack the sandbox from inside. garbage.c calls every implemented
// syscall with garbage arguments (NULL, unmapped and kernel addresses, huge
// lengths, negative fds, all-ones flags); escape.c tries the ways out;
// race.c races threads on one fd table and address space; sockets.c does to
// open sockets of every family what garbage.c does to every syscall. The workload gets
// errnos, the Sentry stays up, the host is untouched. These run ONLY under
// runsc: they are dangerous on the host, so there is no native run.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO, RUNSC, assertExit, buildC, describeRun, implementedSyscalls, killAll, run, runSandboxed } from './harness';

afterAll(killAll);

it('garbage arguments to every implemented syscall leave the workload alive (runsc only)', async () => {
  const bin = buildC(path.join(REPO, 'test', 'hostile', 'garbage.c'), 'static');
  const nrs = implementedSyscalls();
  expect(nrs, '`runsc syscalls --json` lists the implemented syscalls').not.toBeNull();
  const sorted = [...new Set(nrs!)].sort((a, b) => a - b);
  const r = await runSandboxed(bin, sorted.map(String), { cwd: '/', timeoutMs: 45_000 });
  const msg = describeRun('runsc do garbage', r);
  assertExit('runsc do garbage', r, 0);
  expect(r.stdout, msg).toMatch(/^survived \d+ calls$/m);
  // Every number was either exercised or deliberately skipped.
  const seen = new Set(
    r.stdout.split('\n').map((l) => /^(?:ok|skip) (\d+)/.exec(l)?.[1]).filter((x): x is string => x !== undefined).map(Number),
  );
  expect(sorted.filter((n) => !seen.has(n)), msg).toEqual([]);
});

it('bad pointers, lying lengths and malformed messages on open sockets of every family (runsc only)', async () => {
  const bin = buildC(path.join(REPO, 'test', 'hostile', 'sockets.c'), 'static');
  const r = await runSandboxed(bin, [], { cwd: '/', timeoutMs: 60_000 });
  const msg = describeRun('runsc do sockets', r);
  assertExit('runsc do sockets', r, 0);
  expect(r.stdout, msg).toBe('survived 8 socket kinds\n');
}, 90_000);

// test/hostile/escape.c: ways out of the sandbox (host files, host processes,
// privileges, devices, raw sockets), each of which must fail with Linux's
// errno in a container. The sandbox's root is a directory holding only the
// program; a host file beside it, a host sentinel process and this process
// must be out of reach, and unharmed afterwards.
it('escape attempts all fail, and the host is unaffected', async () => {
  const bin = buildC(path.join(REPO, 'test', 'hostile', 'escape.c'), 'static');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-hostile-'));
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  fs.copyFileSync(bin, path.join(root, 'escape'));
  fs.chmodSync(path.join(root, 'escape'), 0o755);
  const secret = path.join(dir, 'secret');
  fs.writeFileSync(secret, 'host secret\n');
  const sentinel = spawn('sleep', ['120'], { stdio: 'ignore' });
  try {
    const r = await run(RUNSC, ['do', '--root', root, '--cwd', '/', '/escape', secret, String(sentinel.pid), String(process.pid)]);
    const msg = describeRun('runsc do escape', r);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('FAIL')), msg).toEqual([]);
    expect(r.stdout, msg).toMatch(/^escapes: 0$/m);
    assertExit('runsc do escape', r, 0);
    expect(sentinel.exitCode, 'the host sentinel is alive').toBeNull();
    expect(fs.readFileSync(secret, 'utf8')).toBe('host secret\n');
    expect(fs.readdirSync(dir).sort()).toEqual(['root', 'secret']);
  } finally {
    sentinel.kill('SIGKILL');
  }
});

it('threads racing on one fd table and address space leave the Sentry standing (runsc only)', async () => {
  const bin = buildC(path.join(REPO, 'test', 'hostile', 'race.c'), 'static', ['-pthread']);
  const r = await runSandboxed(bin, ['2'], { cwd: '/' });
  assertExit('runsc do race', r, 0);
  expect(r.stdout, describeRun('runsc do race', r)).toMatch(/^survived \d+ calls$/m);
});
