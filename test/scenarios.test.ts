// Scripted scenarios with real Debian binaries (busybox-static, GNU coreutils,
// bash, Debian's /usr/bin/python3) and the acceptance checks for
// `runsc do`. Where meaningful the sandboxed run is compared with a native
// run of the same command; "native:" tests check the scenarios themselves.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_ENV, KVM_UNUSABLE, assertExit, assertSameAsNative, describeRun, killAll, runNative, runSandboxed, type RunResult,
} from './harness';

// Always Debian's interpreter, never a pyenv shim found on PATH.
const PYTHON = '/usr/bin/python3';
const BUSYBOX = '/bin/busybox';

let fixture = '';

beforeAll(() => {
  // A fixed directory tree on the host; the sandbox sees it through its
  // read-only view of the host root.
  fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-scenario-'));
  const lines = ['banana', 'apple', 'cherry', 'apple', 'foo bar', 'banana', 'apple', 'zebra foo', ''];
  fs.writeFileSync(path.join(fixture, 'a.txt'), lines.join('\n'));
  fs.writeFileSync(path.join(fixture, 'b.txt'), 'one\ntwo\nthree\nfour\nfive\n');
  fs.mkdirSync(path.join(fixture, 'sub'));
  fs.writeFileSync(path.join(fixture, 'sub', 'c.txt'), 'nested file\n');
  fs.symlinkSync('a.txt', path.join(fixture, 'link'));
  fs.writeFileSync(path.join(fixture, 'host-owned.txt'), 'original\n');
  fs.chmodSync(path.join(fixture, 'a.txt'), 0o644);
  fs.chmodSync(path.join(fixture, 'b.txt'), 0o600);
  fs.chmodSync(path.join(fixture, 'sub'), 0o755);
  fs.chmodSync(fixture, 0o755);
});

afterAll(() => {
  killAll();
  if (fixture) fs.rmSync(fixture, { recursive: true, force: true });
});

interface Scenario {
  name: string;
  cmd: string;
  args: string[];
  /** Expected exit status (default 0). */
  status?: number;
  /** Exact expected stdout, checked natively and sandboxed. */
  stdout?: string;
  /** Compare the sandboxed run with the native one (default true). */
  compare?: boolean;
}

const sh = (name: string, script: string, extra: Partial<Scenario> = {}): Scenario =>
  ({ name, cmd: '/bin/sh', args: ['-c', script], ...extra });
const bb = (name: string, script: string, extra: Partial<Scenario> = {}): Scenario =>
  ({ name, cmd: BUSYBOX, args: ['sh', '-c', `B=${BUSYBOX}; ${script}`], ...extra });
const bash = (name: string, script: string, extra: Partial<Scenario> = {}): Scenario =>
  ({ name, cmd: '/bin/bash', args: ['-c', script], ...extra });
const py = (name: string, script: string, extra: Partial<Scenario> = {}): Scenario =>
  ({ name, cmd: PYTHON, args: ['-c', script], ...extra });

const scenarios: Scenario[] = [
  // busybox-static: every applet is called through the busybox binary.
  bb('busybox: seq | awk sum', '$B seq 1 100 | $B awk \'{ s += $1 } END { print s }\'', { stdout: '5050\n' }),
  bb('busybox: sort | uniq -c | sort -rn | head',
    '$B cat a.txt | $B sort | $B uniq -c | $B sort -rn | $B head -n 2'),
  bb('busybox: grep, sed, tr, cut', '$B grep -n foo a.txt; $B sed \'s/a/4/g\' a.txt | $B tr a-z A-Z | $B cut -c1-4'),
  bb('busybox: wc, head, tail', '$B wc -l a.txt b.txt; $B head -n 2 b.txt; $B tail -n 2 b.txt; $B head -c 5 a.txt; echo'),
  bb('busybox: find | sort, ls', '$B find . -name "*.txt" | $B sort; $B ls -1 sub'),
  bb('busybox: tar round trip', '$B tar cf - a.txt sub | $B tar tf - | $B sort'),
  bb('busybox: gzip | gunzip | md5sum', '$B gzip -c a.txt | $B gzip -dc | $B md5sum; $B md5sum a.txt b.txt'),
  bb('busybox: xargs, expr, seq', '$B seq 1 6 | $B xargs -n 2 echo; $B expr 6 \\* 7; $B expr length hello'),
  bb('busybox: sh pipeline status and subshell', 'false | true; echo "pipe $?"; (exit 3); echo "sub $?"; x=$( $B echo hi ); echo "$x"'),

  // GNU coreutils through dash.
  // Not '..': its link count is the host's, which other programs change meanwhile.
  sh('coreutils: ls -la without times', 'ls -la --time-style=+ . sub | sed "s/  */ /g" | grep -v " \\.\\.$"'),
  sh('coreutils: cat, sort, wc', 'cat a.txt b.txt | sort | wc; sort -u a.txt; wc -c b.txt'),
  sh('coreutils: md5sum, sha256sum', 'md5sum a.txt b.txt sub/c.txt; sha256sum a.txt'),
  sh('coreutils: mkdir -p, cp, mv, rm under /tmp',
    'd=$(mktemp -d /tmp/runsc-cu.XXXXXX) && mkdir -p "$d/x/y/z" && cp a.txt "$d/x/y/" && cp -r sub "$d/x/" ' +
      '&& mv "$d/x/y/a.txt" "$d/x/moved.txt" && (cd "$d" && find . | sort) && cat "$d/x/moved.txt" | head -n 1 ' +
      '&& rm -r "$d" && test ! -e "$d" && echo removed'),

  // bash.
  bash('bash: functions, loops, arithmetic', [
    'fib() { local a=0 b=1 i; for ((i = 0; i < $1; i++)); do local t=$((a + b)); a=$b; b=$t; done; echo $a; }',
    'for n in 1 5 10 20; do echo "fib($n)=$(fib $n)"; done',
    'i=0; while [ $i -lt 3 ]; do i=$((i + 1)); done; echo "i=$i"',
    'echo $(( (7 * 6) % 5 + 2 ** 10 ))',
  ].join('\n')),
  bash('bash: subshells, here-docs, command substitution, pipelines, $?', [
    'x=outer; (x=inner; echo "in $x"); echo "out $x"',
    'cat <<EOF | tr a-z A-Z',
    'here doc line $x',
    'EOF',
    "cat <<'EOF'",
    'literal $x',
    'EOF',
    'n=$(wc -l < a.txt); echo "lines: $n"',
    'false; echo "status $?"; true; echo "status $?"',
    'bash -c "exit 9"; echo "child $?"',
    'set -o pipefail; false | true; echo "pipefail $?"',
    'declare -A m=([k]=v); echo "${m[k]} ${#m[@]}"; arr=(c a b); echo "${arr[@]}" | tr " " "\\n" | sort | tr "\\n" " "; echo',
  ].join('\n')),

  // Debian's python3.
  py('python3: os, sys, json, re, hashlib with files under /tmp', [
    'import os, sys, json, re, hashlib, tempfile, shutil',
    'd = tempfile.mkdtemp(prefix="runsc-py-", dir="/tmp")',
    'p = os.path.join(d, "data.json")',
    'with open(p, "w") as f: json.dump({"b": [1, 2, 3], "a": "x" * 10}, f, sort_keys=True)',
    'with open(p) as f: text = f.read()',
    'print(text)',
    'print(json.loads(text)["b"])',
    'print(hashlib.sha256(text.encode()).hexdigest())',
    'print(hashlib.md5(open("a.txt", "rb").read()).hexdigest())',
    'print(re.findall(r"[a-z]+a\\b", open("a.txt").read()))',
    'os.mkdir(os.path.join(d, "sub"))',
    'os.rename(p, os.path.join(d, "sub", "moved.json"))',
    'print(sorted(os.listdir(d)), sorted(os.listdir(os.path.join(d, "sub"))))',
    'print(os.stat(os.path.join(d, "sub", "moved.json")).st_size)',
    'print(sys.version_info[0], sys.byteorder, sys.argv)',
    'shutil.rmtree(d)',
    'print(os.path.exists(d))',
  ].join('\n')),
  py('python3: subprocess and exit code', [
    'import subprocess, sys',
    'r = subprocess.run(["/bin/sh", "-c", "echo from child; exit 4"], capture_output=True, text=True)',
    'print(repr(r.stdout), r.returncode)',
    'sys.exit(5)',
  ].join('\n'), { status: 5 }),
];

function check(label: string, s: Scenario, r: RunResult): void {
  assertExit(label, r, s.status ?? 0);
  if (s.stdout !== undefined) expect(r.stdout, describeRun(label, r)).toBe(s.stdout);
}

describe('scenarios', () => {
  describe.each(scenarios)('$name', (s) => {
    it('native', async () => {
      const r = await runNative(s.cmd, s.args, { cwd: fixture });
      check(`native ${s.name}`, s, r);
      expect(r.stdout.length).toBeGreaterThan(0);
    });
    // Each scenario once on each platform (kvm where /dev/kvm is usable).
    for (const platform of KVM_UNUSABLE ? ['ptrace'] as const : ['ptrace', 'kvm'] as const) {
      it(platform === 'ptrace' ? 'runsc' : `runsc --platform=${platform}`, async () => {
        const sandboxed = await runSandboxed(s.cmd, s.args, { cwd: fixture, platform });
        if (s.compare !== false) {
          const native = await runNative(s.cmd, s.args, { cwd: fixture });
          assertSameAsNative(`${s.name} (${platform})`, native, sandboxed);
        }
        check(`runsc ${s.name} (${platform})`, s, sandboxed);
      });
    }
  });
});

describe('acceptance: runsc do', () => {
  it("/bin/sh -c 'echo hello | wc -c' prints 6 and exits 0", async () => {
    const r = await runSandboxed('/bin/sh', ['-c', 'echo hello | wc -c']);
    assertExit('runsc do /bin/sh -c', r, 0);
    expect(r.stdout.trim(), describeRun('runsc', r)).toBe('6');
  });

  it("sh -c 'exit 42' (found on PATH) exits 42", async () => {
    const r = await runSandboxed('sh', ['-c', 'exit 42']);
    assertExit("runsc do sh -c 'exit 42'", r, 42);
  });

  it("python3 json.dumps(sorted(os.listdir('/'))) prints exactly what it prints natively", async () => {
    const args = ['-c', "import os,json; print(json.dumps(sorted(os.listdir('/'))))"];
    const native = await runNative(PYTHON, args);
    assertExit('native python3', native, 0);
    const sandboxed = await runSandboxed(PYTHON, args);
    assertSameAsNative('python3 listdir(/)', native, sandboxed);
    expect(sandboxed.stdout).toBe(native.stdout);
  });

  it.each([
    ['/nonexistent/program'],
    ['no-such-command-for-runsc-test'],
  ])('a missing program (%s) exits 127 with a one-line error', async (prog) => {
    const r = await runSandboxed(prog, ['arg']);
    const msg = describeRun('runsc do missing', r);
    assertExit(`runsc do ${prog}`, r, 127);
    expect(r.stdout, msg).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, msg).toHaveLength(1);
    expect(lines[0]!.length, msg).toBeGreaterThan(0);
  });

  it.each([
    ['KILL', 9],
    ['TERM', 15],
  ])('a program killed by SIG%s gives 128+N', async (sig, n) => {
    // A child shell kills itself: init, like a pid namespace's init, ignores such signals.
    const args = ['-c', `sh -c 'kill -${sig} $$; sleep 5'; exit $?`];
    const native = await runNative('/bin/sh', args);
    assertExit('native', native, 128 + n);
    const r = await runSandboxed('/bin/sh', args);
    assertExit(`runsc do sh -c "sh -c 'kill -${sig} $$'"`, r, 128 + n);
  });

  it('writes inside the sandbox never reach the host', async () => {
    const fresh = path.join('/tmp', `runsc-escape-${randomBytes(6).toString('hex')}`);
    const owned = path.join(fixture, 'host-owned.txt');
    const script = [
      `echo inside > ${fresh} && cat ${fresh}`,
      `echo changed > ${owned} && cat ${owned}`,
      `rm ${path.join(fixture, 'b.txt')} && test ! -e ${path.join(fixture, 'b.txt')} && echo removed`,
      `mkdir ${fresh}.d && echo made-dir`,
    ].join('\n');
    try {
      const r = await runSandboxed('/bin/sh', ['-c', script]);
      assertExit('runsc do (writes)', r, 0);
      expect(r.stdout, describeRun('runsc', r)).toBe('inside\nchanged\nremoved\nmade-dir\n');
    } finally {
      const leaked = [fresh, `${fresh}.d`].filter((p) => fs.existsSync(p));
      for (const p of leaked) fs.rmSync(p, { recursive: true, force: true });
      expect(leaked, 'files created inside the sandbox appeared on the host').toEqual([]);
      expect(fs.readFileSync(owned, 'utf8')).toBe('original\n');
      expect(fs.existsSync(path.join(fixture, 'b.txt'))).toBe(true);
    }
  });

  it('the working directory passes through', async () => {
    const native = await runNative('/bin/pwd', [], { cwd: fixture });
    assertExit('native pwd', native, 0);
    expect(native.stdout).toBe(`${fs.realpathSync(fixture)}\n`);
    const sandboxed = await runSandboxed('/bin/pwd', [], { cwd: fixture });
    assertSameAsNative('pwd', native, sandboxed);
    const rel = await runSandboxed('/bin/cat', ['sub/c.txt'], { cwd: fixture });
    assertExit('runsc do cat sub/c.txt (relative to cwd)', rel, 0);
    expect(rel.stdout).toBe('nested file\n');
  });

  it('the environment passes through', async () => {
    const env = { ...BASE_ENV, RUNSC_TEST_VAR: 'bar baz=qux', EMPTY_VAR: '' };
    const echo = await runSandboxed('/bin/sh', ['-c', 'printf "%s|%s|%s" "$RUNSC_TEST_VAR" "${EMPTY_VAR-unset}" "$HOME"'], { env });
    assertExit('runsc do sh -c printf $VAR', echo, 0);
    expect(echo.stdout).toBe('bar baz=qux||/root');
    const native = await runNative('/usr/bin/env', [], { env });
    const sandboxed = await runSandboxed('/usr/bin/env', [], { env });
    const sortLines = (s: string) => s.split('\n').filter(Boolean).sort().join('\n');
    assertSameAsNative('env', native, sandboxed, { normalize: sortLines });
  });
});
