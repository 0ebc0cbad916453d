// Tasks, threads, signals and time with real programs (issue 4): coreutils'
// timeout, a bash script with background jobs, wait and traps, python3 with
// threads, subprocesses, signal handlers and interval timers; init's
// protection from signals; the vDSO taking clock reads off the syscall path.
// Sandboxed runs are compared with native ones where the outputs are
// deterministic.
import { afterAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { REPO, RUNSC, assertExit, assertSameAsNative, buildC, describeRun, killAll, run, runNative, runSandboxed } from './harness';

// Always Debian's interpreter, never a pyenv shim found on PATH.
const PYTHON = '/usr/bin/python3';

afterAll(killAll);

describe('real programs', () => {
  it('`timeout 1 sleep 5` exits 124 after about a second', async () => {
    const native = await runNative('timeout', ['1', 'sleep', '5']);
    assertExit('native timeout', native, 124);
    const r = await runSandboxed('timeout', ['1', 'sleep', '5']);
    assertExit('runsc do timeout 1 sleep 5', r, 124);
    // Not a timing assertion: the sleep must have been cut short rather than run out.
    expect(r.durationMs, describeRun('runsc', r)).toBeLessThan(4500);
  });

  it('bash: background jobs, wait with statuses, traps (signals to itself and to a child, EXIT)', async () => {
    const script = [
      "trap 'echo trapped USR1' USR1",
      "trap 'echo exiting' EXIT",
      'd=$(mktemp -d /tmp/runsc-bash.XXXXXX)',
      'for i in 1 2 3; do ( sleep 0.$i; echo "job $i" > $d/$i; exit $i ) & pids[$i]=$!; done',
      'for i in 3 1 2; do wait ${pids[$i]}; echo "wait $i: $?"; done',
      'cat $d/1 $d/2 $d/3',
      'kill -USR1 $$',
      'echo "after kill"',
      '( trap \'echo "child got TERM"; exit 7\' TERM; touch $d/ready; while :; do sleep 0.05; done ) &',
      'c=$!',
      'until [ -e $d/ready ]; do sleep 0.02; done',
      'kill -TERM $c; wait $c; echo "child status: $?"',
      'sleep 0.1 & sleep 0.2 & wait; echo "wait all: $?"',
      'wait 12345; echo "wait unknown: $?"',
      'rm -r $d',
    ].join('\n');
    const native = await runNative('/bin/bash', ['-c', script]);
    assertExit('native bash', native, 0);
    expect(native.stdout).toContain('child got TERM');
    const r = await runSandboxed('/bin/bash', ['-c', script]);
    assertSameAsNative('bash jobs', native, r);
  });

  it('python3: threading (locks, conditions), subprocess, signal.signal handlers, signal.setitimer', async () => {
    const script = [
      'import os, signal, subprocess, threading, time',
      'lock, total = threading.Lock(), [0]',
      'def work():',
      '    for _ in range(2000):',
      '        with lock: total[0] += 1',
      'ts = [threading.Thread(target=work) for _ in range(8)]',
      'for t in ts: t.start()',
      'for t in ts: t.join()',
      'print("threads", total[0])',
      'cv, items, got = threading.Condition(), [], []',
      'def consume():',
      '    for _ in range(50):',
      '        with cv:',
      '            cv.wait_for(lambda: items)',
      '            got.append(items.pop(0))',
      'c = threading.Thread(target=consume); c.start()',
      'for i in range(50):',
      '    with cv: items.append(i); cv.notify()',
      'c.join()',
      'print("condition", got == list(range(50)))',
      'seen = []',
      'signal.signal(signal.SIGUSR1, lambda s, f: seen.append(signal.Signals(s).name))',
      'os.kill(os.getpid(), signal.SIGUSR1)',
      'signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)',
      'print("handled", seen)',
      'ticks = []',
      'signal.signal(signal.SIGALRM, lambda s, f: ticks.append(1))',
      'signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)',
      'while len(ticks) < 5: signal.pause()',
      'left = signal.setitimer(signal.ITIMER_REAL, 0)',
      'print("itimer ticks", len(ticks) >= 5, "interval", left[1])',
      'r = subprocess.run(["/bin/sh", "-c", "echo from child; exit 3"], capture_output=True, text=True)',
      'print("run", repr(r.stdout), r.returncode)',
      'p = subprocess.Popen(["sleep", "5"]); p.terminate(); print("terminated", p.wait())',
      'try:',
      '    subprocess.run(["sleep", "5"], timeout=0.3)',
      'except subprocess.TimeoutExpired:',
      '    print("timed out")',
      'out = subprocess.check_output("sleep 0.1 & sleep 0.1 & wait; echo waited", shell=True, text=True)',
      'print(out.strip())',
    ].join('\n');
    const native = await runNative(PYTHON, ['-c', script]);
    assertExit('native python3', native, 0);
    const r = await runSandboxed(PYTHON, ['-c', script]);
    assertSameAsNative('python3 threads/signals', native, r);
    expect(r.stdout).toContain('itimer ticks True');
  });
});

describe('init (pid 1 of the sandbox)', () => {
  // Natively, the same shell is made the init of a new pid namespace.
  const asInit = (script: string) => ['--pid', '--fork', '--kill-child', '/bin/sh', '-c', script];

  it.each([
    ['TERM', 'kill -TERM $$; echo survived TERM'],
    ['KILL', 'kill -KILL $$; echo survived KILL'],
    ['a child\'s TERM', 'sh -c "kill -TERM 1"; echo survived'],
    ['a handled signal', 'trap "echo handled USR1" USR1; kill -USR1 $$; echo after'],
  ])('ignores a default-action signal from inside the sandbox (%s) as a pid namespace\'s init does', async (_name, script) => {
    const native = await runNative('unshare', asInit(script));
    assertExit('native unshare --pid', native, 0);
    const r = await runSandboxed('/bin/sh', ['-c', script]);
    assertSameAsNative(`init: ${script}`, native, r);
  });
});

describe('CPU limits', () => {
  it('RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one (conformance/itimer.c rlimit-cpu)', async () => {
    const bin = buildC(path.join(REPO, 'test', 'conformance', 'itimer.c'), 'static');
    const native = await runNative(bin, ['rlimit-cpu'], { timeoutMs: 60_000 });
    assertExit('native itimer rlimit-cpu', native, 0);
    const r = await runSandboxed(bin, ['rlimit-cpu'], { timeoutMs: 60_000 });
    assertSameAsNative('itimer rlimit-cpu', native, r);
  }, 130_000);
});

describe('the vDSO', () => {
  it('answers clock reads without a syscall (strace sees none of them)', async () => {
    const script = 'import time\nfor _ in range(2000): time.monotonic(); time.time()\nprint("ok")';
    const r = await run(RUNSC, ['--strace', 'do', PYTHON, '-c', script]);
    assertExit('runsc --strace do python3', r, 0);
    expect(r.stdout).toBe('ok\n');
    const traps = r.stderr.split('\n').filter((l) => /\] (clock_gettime|gettimeofday|time)\(/.test(l)).length;
    expect(traps, 'clock syscalls seen by --strace').toBeLessThan(20);
  });
});
