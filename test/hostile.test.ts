// Hostile input: test/hostile/garbage.c calls every implemented syscall with
// garbage arguments (NULL, unmapped and kernel addresses, huge lengths,
// negative fds, all-ones flags). The workload must stay alive ("survived")
// and the sandbox must exit normally. This runs ONLY under runsc: garbage
// syscalls on the host are dangerous, so there is deliberately no native run.
// test/hostile/sockets.c does the same to open sockets of every family.
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO, assertExit, buildC, describeRun, implementedSyscalls, killAll, runSandboxed } from './harness';

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
