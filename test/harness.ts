// Test helpers: build C programs at test time, run a command natively and
// under `bin/runsc do`, and compare the two runs with a readable diff.
//
// Used by conformance.test.ts, scenarios.test.ts and hostile.test.ts. Every
// process started here runs in its own process group and is killed (the whole
// group) on timeout or by killAll(), which each test file calls in afterAll.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..');
/**
 * The sandbox CLI under test: the repo's bin/runsc, or RUNSC_UNDER_TEST (a
 * command line split on spaces, e.g. "/usr/bin/runsc --network=none" to run
 * the same suite against the real gVisor as a reference implementation).
 */
const RUNSC_CMD: readonly string[] = process.env['RUNSC_UNDER_TEST']?.trim().split(/\s+/) ?? [path.join(REPO, 'bin', 'runsc')];
export const RUNSC = RUNSC_CMD[0]!;
const RUNSC_ARGS = RUNSC_CMD.slice(1);
/** Compiled test programs; ignored by git. */
export const BUILD_DIR = path.join(REPO, 'test', '.build');

/** A fixed, minimal environment so native and sandboxed runs see the same. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C',
  LC_ALL: 'C',
  TERM: 'dumb',
  TZ: 'UTC',
};

export type Variant = 'static' | 'dynamic';
export const VARIANTS: readonly Variant[] = ['static', 'dynamic'];

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status, or null when killed by a signal or never started. */
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set when the process could not be started (e.g. ENOENT). */
  spawnError?: string;
  durationMs: number;
}

export interface RunOptions {
  /** runsc's --platform for sandboxed runs (its default, ptrace, when unset). */
  platform?: 'ptrace' | 'kvm';
  cwd?: string;
  /** Replaces the environment entirely; defaults to BASE_ENV. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed. Stdin is always a closed-or-drained pipe. */
  input?: string;
  /** Kill the whole process group after this long (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const live = new Set<number>();

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}

/** Kills every process group this module started that is still running. */
export function killAll(): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  live.clear();
}
process.once('exit', killAll);

/** Runs a command (no shell) and collects its output. Never rejects. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(cmd, [...args], {
        cwd: opts.cwd ?? REPO,
        env: opts.env ?? { ...BASE_ENV },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // own process group, so a timeout can kill descendants too
      });
    } catch (e) {
      resolve({ stdout: '', stderr: '', status: null, signal: null, timedOut: false, spawnError: String(e), durationMs: 0 });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: string | undefined;
    const pid = child.pid;
    if (pid !== undefined) live.add(pid);
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      // The program may exit without reading its input (EPIPE).
    });
    child.stdin.end(opts.input ?? '');
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (pid !== undefined) {
        // Reap stragglers the program left in its group (e.g. a daemonised child).
        killGroup(pid, 'SIGKILL');
        live.delete(pid);
      }
      const r: RunResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        status,
        signal,
        timedOut,
        durationMs: Date.now() - started,
      };
      if (spawnError !== undefined) r.spawnError = spawnError;
      resolve(r);
    });
  });
}

/** Runs a command directly on the host. */
export function runNative(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  return run(cmd, args, opts);
}

/** Runs `bin/runsc [--platform=P] do CMD ARGS...` with the same options. */
export function runSandboxed(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  const platform = opts.platform ? [`--platform=${opts.platform}`] : [];
  return run(RUNSC, [...RUNSC_ARGS, ...platform, 'do', cmd, ...args], opts);
}

/**
 * Why the KVM platform cannot be tested here, or null when /dev/kvm opens
 * read-write (then the suites run their sandboxed cases on kvm too). Printed
 * once, plainly, when it cannot.
 */
export const KVM_UNUSABLE: string | null = (() => {
  if (process.env['RUNSC_UNDER_TEST']) return 'RUNSC_UNDER_TEST is set (another runsc is under test)';
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
    return null;
  } catch (e) {
    return `/dev/kvm: ${(e as Error).message}`;
  }
})();
if (KVM_UNUSABLE) console.warn(`KVM platform NOT tested: ${KVM_UNUSABLE}`);

/** Runs both and returns both results; the native run goes first. */
export async function runBoth(
  cmd: string,
  args: readonly string[] = [],
  opts: RunOptions = {},
): Promise<{ native: RunResult; sandboxed: RunResult }> {
  const native = await runNative(cmd, args, opts);
  const sandboxed = await runSandboxed(cmd, args, opts);
  return { native, sandboxed };
}

// ---------------------------------------------------------------------------
// Building C programs

function newestMtime(files: readonly string[]): number {
  let t = 0;
  for (const f of files) t = Math.max(t, fs.statSync(f).mtimeMs);
  return t;
}

/**
 * Compiles one C file with gcc into test/.build/NAME.VARIANT and returns the
 * binary's absolute path. Rebuilds only when the source, or a header beside
 * it, is newer than the binary. Safe when several workers build at once (the
 * output is renamed into place).
 */
export function buildC(src: string, variant: Variant, extraFlags: readonly string[] = []): string {
  const abs = path.resolve(REPO, src);
  const dir = path.dirname(abs);
  const name = path.basename(abs, '.c');
  const sub = path.basename(dir);
  const out = path.join(BUILD_DIR, `${sub}-${name}.${variant}`);
  const headers = fs.readdirSync(dir).filter((f) => f.endsWith('.h')).map((f) => path.join(dir, f));
  const srcTime = newestMtime([abs, ...headers]);
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= srcTime) return out;
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const args = [
    '-std=gnu11', '-O1', '-g0', '-Wall', '-Wno-unused-result',
    ...(variant === 'static' ? ['-static'] : []),
    ...extraFlags,
    '-o', tmp, abs,
  ];
  const r = spawnSync('gcc', args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error || r.status !== 0) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Nothing was written.
    }
    throw new Error(`gcc ${args.join(' ')} failed (status ${r.status}):\n${r.error?.message ?? ''}${r.stderr}`);
  }
  fs.renameSync(tmp, out);
  return out;
}

// ---------------------------------------------------------------------------
// Comparing runs

/** A compact unified-style line diff (- expected, + actual); '' when equal. */
export function lineDiff(expected: string, actual: string, context = 2): string {
  if (expected === actual) return '';
  const a = expected.split('\n');
  const b = actual.split('\n');
  // Trim the common prefix and suffix, then run LCS on what is left.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  type Op = { kind: ' ' | '-' | '+'; text: string; line: number };
  const ops: Op[] = [];
  if (am.length * bm.length <= 4_000_000) {
    const n = am.length;
    const m = bm.length;
    const lcs: Uint32Array[] = [];
    for (let i = 0; i <= n; i++) lcs.push(new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      const row = lcs[i]!;
      const next = lcs[i + 1]!;
      for (let j = m - 1; j >= 0; j--) {
        row[j] = am[i] === bm[j] ? next[j + 1]! + 1 : Math.max(next[j]!, row[j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        ops.push({ kind: ' ', text: am[i]!, line: pre + i + 1 });
        i++;
        j++;
      } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
        ops.push({ kind: '+', text: bm[j]!, line: pre + i + 1 });
        j++;
      } else {
        ops.push({ kind: '-', text: am[i]!, line: pre + i + 1 });
        i++;
      }
    }
  } else {
    for (const [i, t] of am.entries()) ops.push({ kind: '-', text: t, line: pre + i + 1 });
    for (const t of bm) ops.push({ kind: '+', text: t, line: pre + am.length + 1 });
  }
  // Context lines from the common prefix/suffix.
  const before = a.slice(Math.max(0, pre - context), pre).map((t, k) => ({ kind: ' ' as const, text: t, line: pre - Math.min(pre, context) + k + 1 }));
  const after = a.slice(a.length - suf, a.length - suf + context).map((t, k) => ({ kind: ' ' as const, text: t, line: a.length - suf + k + 1 }));
  const all = [...before, ...ops, ...after];
  // Keep changed lines plus `context` lines around them.
  const keep = new Array<boolean>(all.length).fill(false);
  all.forEach((op, k) => {
    if (op.kind !== ' ') for (let d = -context; d <= context; d++) if (k + d >= 0 && k + d < all.length) keep[k + d] = true;
  });
  const lines: string[] = [];
  let gap = false;
  all.forEach((op, k) => {
    if (!keep[k]) {
      gap = true;
      return;
    }
    if (gap || lines.length === 0) lines.push(`@@ line ${op.line}`);
    gap = false;
    lines.push(`${op.kind} ${op.text}`);
  });
  const MAX = 60;
  if (lines.length > MAX) return [...lines.slice(0, MAX), `... ${lines.length - MAX} more diff lines`].join('\n');
  return lines.join('\n');
}

function tail(s: string, n: number): string {
  const lines = s.trimEnd().split('\n');
  return lines.length <= n ? lines.join('\n') : [`... (${lines.length - n} earlier lines)`, ...lines.slice(-n)].join('\n');
}

/** One-line summary of how a run ended. */
export function outcome(r: RunResult): string {
  if (r.spawnError !== undefined) return `could not start: ${r.spawnError}`;
  if (r.timedOut) return `timed out after ${r.durationMs} ms (killed)`;
  if (r.signal !== null) return `killed by ${r.signal}`;
  return `exit status ${r.status}`;
}

/** A readable description of one run, for assertion messages. */
export function describeRun(label: string, r: RunResult): string {
  const parts = [`${label}: ${outcome(r)} in ${r.durationMs} ms`];
  if (r.stdout) parts.push(`--- ${label} stdout (tail) ---\n${tail(r.stdout, 30)}`);
  if (r.stderr) parts.push(`--- ${label} stderr (tail) ---\n${tail(r.stderr, 20)}`);
  return parts.join('\n');
}

export interface CompareOptions {
  /** Compare stderr too (off by default: error wording may mention argv[0]). */
  stderr?: boolean;
  /** Applied to both stdouts before comparing. */
  normalize?: (s: string) => string;
}

/** Describes how a sandboxed run differs from the native one; '' if it does not. */
export function compareRuns(native: RunResult, sandboxed: RunResult, opts: CompareOptions = {}): string {
  const norm = opts.normalize ?? ((s: string) => s);
  const problems: string[] = [];
  if (outcome(native) !== outcome(sandboxed)) {
    problems.push(`outcome differs: native ${outcome(native)}, sandboxed ${outcome(sandboxed)}`);
  }
  // A sandbox that never started has no output worth diffing.
  const d = sandboxed.spawnError === undefined ? lineDiff(norm(native.stdout), norm(sandboxed.stdout)) : '';
  if (d) problems.push(`stdout differs (- native, + sandboxed):\n${d}`);
  if (opts.stderr) {
    const e = lineDiff(native.stderr, sandboxed.stderr);
    if (e) problems.push(`stderr differs (- native, + sandboxed):\n${e}`);
  }
  if (problems.length === 0) return '';
  if (sandboxed.stderr) problems.push(`--- sandboxed stderr (tail) ---\n${tail(sandboxed.stderr, 20)}`);
  return problems.join('\n');
}

/** Throws a readable error when the sandboxed run does not match the native one. */
export function assertSameAsNative(label: string, native: RunResult, sandboxed: RunResult, opts: CompareOptions = {}): void {
  const diff = compareRuns(native, sandboxed, opts);
  if (diff) throw new Error(`${label}: sandboxed run differs from native\n${diff}`);
}

/** Throws a readable error unless the run exited with `status` (default 0). */
export function assertExit(label: string, r: RunResult, status = 0): void {
  if (r.spawnError !== undefined || r.timedOut || r.signal !== null || r.status !== status) {
    throw new Error(`${label}: expected exit status ${status}\n${describeRun(label, r)}`);
  }
}

// ---------------------------------------------------------------------------
// The syscall table, as runsc reports it

/**
 * Syscall numbers `bin/runsc syscalls --json` marks implemented (support other
 * than "none"), or null when the command is missing or its output is not
 * understood. Accepts an array of rows ({nr, support}) or of numbers, or an
 * object holding such an array under "syscalls".
 */
export function implementedSyscalls(): number[] | null {
  const r = spawnSync(RUNSC, [...RUNSC_ARGS, 'syscalls', '--json'], { encoding: 'utf8', timeout: 20_000, env: { ...BASE_ENV } });
  if (r.error || r.status !== 0 || !r.stdout) return null;
  let data: unknown;
  try {
    data = JSON.parse(r.stdout);
  } catch {
    return null;
  }
  if (!Array.isArray(data)) return null;
  const nrs: number[] = [];
  for (const row of data) {
    if (row !== null && typeof row === 'object') {
      const o = row as { nr?: unknown; support?: unknown };
      if (typeof o.nr === 'number' && o.support !== 'none') nrs.push(o.nr);
    }
  }
  return nrs.length > 0 ? nrs : null;
}
