// Terminals, end to end. (conformance/pty.c covers the pty system calls one
// by one; it runs with the other conformance programs.)
//
// - Inside the sandbox: an interactive shell driven through a Sentry
//   pseudo-terminal by python's pty module, and by util-linux `script`, with
//   line editing and ^C; each compared with the same run natively.
// - Around the sandbox: `runsc do bash -i` on a host pseudo-terminal made by
//   the test, as a user at a terminal runs it (isatty, job control with ^C,
//   ^Z, fg and SIGTTIN, window
//   size and SIGWINCH, ^C to the foreground job, /dev/tty and /dev/console),
//   compared with bash run natively on a host pseudo-terminal.
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, RUNSC, assertExit, assertSameAsNative, killAll, run, runBoth } from './harness';

afterAll(killAll);

const DIR = path.join(REPO, 'test', 'tty');
const PYTHON = '/usr/bin/python3';

describe('a pseudo-terminal inside the sandbox', () => {
  it('python pty drives an interactive shell: isatty, line editing, ^C to the foreground job', async () => {
    const { native, sandboxed } = await runBoth(PYTHON, [path.join(DIR, 'shell_in_pty.py')], { timeoutMs: 60_000 });
    assertExit('native', native);
    expect(native.stdout).toContain('^C echoed: True');
    assertSameAsNative('shell_in_pty.py', native, sandboxed);
  }, 120_000);

  it('script -qc runs a command on a pty of its own', async () => {
    const cmd = 'test -t 0 && echo isatty; stty size; tty | cut -c1-9; sh -c "kill -INT \\$\\$"; echo after';
    const { native, sandboxed } = await runBoth('/usr/bin/script', ['-qec', cmd, '/dev/null'], { timeoutMs: 60_000 });
    assertExit('native', native);
    expect(native.stdout).toContain('isatty');
    assertSameAsNative('script -qc', native, sandboxed);
  }, 120_000);
});

describe('runsc do on a host terminal', () => {
  it('gives an interactive bash: a tty, job control (^C, ^Z, fg, a stopped background reader), window size, SIGWINCH, /dev/tty, /dev/console', { timeout: 120_000 }, async () => {
    const driver = path.join(DIR, 'host_pty.py');
    const [native, sandboxed] = await Promise.all([
      run(PYTHON, [driver, '--native'], { timeoutMs: 90_000 }),
      run(PYTHON, [driver, RUNSC], { timeoutMs: 90_000 }),
    ]);
    assertExit('native', native);
    expect(native.stdout).toContain('runsc exit: 5');
    assertSameAsNative('host_pty.py', native, sandboxed);
  });
});
