// Container state for the OCI commands (runsc/cmd/oci.ts): one directory per
// container under the global --root, holding
//
//   state.json    what `create` recorded (written atomically: temp + rename)
//   sandbox.sock  the control socket the sandbox process serves
//   exit          the container's exit code, written by the sandbox as it exits
//   .lock         held (O_EXCL, with the holder's pid) while a command changes state
//
// A container's status is derived, as runc derives it: stopped once the
// sandbox process is gone (or a zombie, or its pid now names another
// process), running once `start` succeeded, created before that.
//
// Errors for the engine: `OciError`s are written by the CLI as runc writes
// them, JSON lines {"level":"error","msg":…,"time":…} appended to --log.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Cgroup, type CgroupPaths } from './cgroup';

export type Status = 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerState {
  ociVersion: string;
  id: string;
  /** Host pid of the sandbox process. */
  pid: number;
  /** Its start time (field 22 of /proc/PID/stat), so a reused pid is not mistaken for it. */
  pidStart: string;
  bundle: string;
  rootfs: string;
  created: string;
  started: boolean;
  owner: string;
  annotations: Record<string, string>;
  /** The sandbox's cgroup (runsc/cgroup.ts), when runsc manages one. */
  cgroup?: CgroupPaths;
}

/** A failure reported to the engine as one line. */
export class OciError extends Error {}

/** runc's container id rule. */
const ID_RE = /^[\w+\-.]+$/;

export function checkId(id: string): void {
  if (!ID_RE.test(id) || id === '.' || id === '..') throw new OciError(`invalid id format: ${id}`);
}

export function containerDir(root: string, id: string): string {
  checkId(id);
  return path.join(root, id);
}

/** Writes data to file through a temporary file and a rename, so readers see all or nothing. */
export function writeAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export function readState(root: string, id: string): ContainerState {
  const dir = containerDir(root, id);
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'state.json'), 'utf8');
  } catch {
    throw new OciError(`container "${id}" does not exist`);
  }
  return JSON.parse(text) as ContainerState;
}

export function writeState(root: string, s: ContainerState): void {
  writeAtomic(path.join(containerDir(root, s.id), 'state.json'), JSON.stringify(s));
}

/** Field 22 (start time) and field 3 (state) of /proc/PID/stat, or null if there is no such process. */
function procStat(pid: number): { start: string; state: string } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', start: rest[19] ?? '' };
}

export function startTimeOf(pid: number): string {
  return procStat(pid)?.start ?? '';
}

/** The sandbox process is alive (not gone, not a zombie, not a new process under a reused pid). */
export function sandboxAlive(s: ContainerState): boolean {
  if (s.pid <= 0) return false;
  const st = procStat(s.pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return st.start === s.pidStart;
}

export function statusOf(s: ContainerState): Status {
  if (!sandboxAlive(s)) return 'stopped';
  if (s.cgroup && new Cgroup(s.cgroup).frozen()) return 'paused';
  return s.started ? 'running' : 'created';
}

/** The OCI state document `runsc state` prints (runc's fields; pid 0 once stopped, as runc does). */
export function stateJson(s: ContainerState): Record<string, unknown> {
  const status = statusOf(s);
  return {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: status === 'stopped' ? 0 : s.pid,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
    owner: s.owner,
    annotations: s.annotations,
  };
}

/** Ids of the containers under root (directories holding a state.json). */
export function listIds(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((n) => ID_RE.test(n) && fs.existsSync(path.join(root, n, 'state.json'))).sort();
}

/**
 * The control socket's address: the path in the container's directory, or an
 * abstract socket named after it when the path is too long for sun_path.
 */
export function controlAddress(dir: string): string {
  const p = path.join(dir, 'sandbox.sock');
  if (Buffer.byteLength(p) < 100) return p;
  return `\0runsc-${createHash('sha256').update(p).digest('hex').slice(0, 32)}`;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z';
}

/**
 * Takes the container's lock: a file made with O_EXCL holding the holder's
 * pid. A lock whose holder is dead is broken; a live holder is waited for
 * (up to timeoutMs). Concurrent commands from a shim serialise here. Returns
 * the function that releases it.
 */
export function acquireLock(root: string, id: string, timeoutMs = 30_000): () => void {
  const dir = containerDir(root, id);
  const lock = path.join(dir, '.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(lock, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(lock, { force: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new OciError(`container "${id}" does not exist`);
      if (code !== 'EEXIST') throw e;
    }
    let holder = 0;
    try {
      holder = Number(fs.readFileSync(lock, 'utf8'));
    } catch {
      continue;
    }
    if (holder > 0 && !pidAlive(holder)) {
      // Break a dead holder's lock: rename first, so two breakers cannot both win.
      try {
        const stale = `${lock}.stale.${process.pid}`;
        fs.renameSync(lock, stale);
        fs.rmSync(stale, { force: true });
      } catch {
        // Someone else broke it.
      }
      continue;
    }
    if (Date.now() > deadline) throw new OciError(`container "${id}" is locked by process ${holder}`);
    sleepMs(10);
  }
}

/** Runs fn holding the container's lock. */
export function withLock<T>(root: string, id: string, fn: () => T): T {
  const release = acquireLock(root, id);
  try {
    return fn();
  } finally {
    release();
  }
}

/** Runs an async fn holding the container's lock. */
export async function withLockAsync<T>(root: string, id: string, fn: () => Promise<T>): Promise<T> {
  const release = acquireLock(root, id);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** Appends one runc-style log line to file (or writes it to stderr without a file). */
export function logLine(file: string | undefined, format: 'text' | 'json', level: 'error' | 'warning' | 'info' | 'debug', msg: string): void {
  const time = new Date().toISOString();
  const line = format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  if (file) {
    try {
      fs.appendFileSync(file, `${line}\n`);
      return;
    } catch {
      // Fall back to stderr.
    }
  }
  process.stderr.write(`${line}\n`);
}

/** Signal numbers by name (with or without SIG), for `kill`. */
const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21,
  TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
};

export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = s.toUpperCase().replace(/^SIG/, '');
    const n = SIGNALS[name];
    if (n !== undefined) return n;
    const rt = /^RTMIN(?:\+(\d+))?$/.exec(name) ?? /^RTMAX(?:-(\d+))?$/.exec(name);
    if (rt) {
      const off = Number(rt[1] ?? 0);
      const v = name.startsWith('RTMIN') ? 34 + off : 64 - off;
      if (v >= 34 && v <= 64) return v;
    }
  }
  throw new OciError(`unknown signal "${s}"`);
}

/** Host pids of pid and all its descendants (from /proc), pid first. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(e));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.shift()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}
