// The sandbox process of an OCI container (`runsc sandbox`, hidden; started
// by `create`). It brings up everything the container needs — one Gofer for
// the root filesystem and one per bind-mount source, the VFS with the spec's
// mounts, the Kernel — and then serves its control socket (runsc/control.ts):
//
//   {"op":"start","state":S}   runs the startContainer hooks (state S on their
//                              stdin), then process.args as init (pid 1)
//   {"op":"kill","sig":N,"all":bool}
//                              sends N to init (or to every process) in the Sentry
//   {"op":"exec","process":P} + stdio fds
//                              starts P (an OCI process object) in the sandbox;
//                              the connection then carries {"op":"signal","sig":N}
//                              to it and, last, {"exit":STATUS}
//
// It runs confined (runsc/sandbox_launch.ts has the fds `create` passes:
// stdio, the readiness pipe, the control socket's listener, STATE/exit):
// once everything is up it pivots into an empty root and installs the
// Sentry's seccomp filter (runsc/confine.ts), so it never opens a host path
// after that. Readiness (or a one-line reason it cannot be created) goes to
// the pipe. The process exits with the container's exit status (128+N when
// signal N killed init) and writes that code to STATE/exit first for
// `runsc wait`. While init runs, the Kernel's loop owns the thread; the
// control socket's watcher rings the Kernel's doorbell to get a turn
// (SIGKILL does not ask: `runsc kill` kills the launcher, whose death kills
// this process).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isatty } from 'node:tty';
import { makeLogger, type Logger } from '../src/log';
import { parseSpec, isBind, isReadOnly, RLIMITS, SpecError, type Spec, type MountSpec, type ProcessSpec, parseProcessObject } from '../src/oci/spec';
import { errnoMessage } from '../src/abi/errno';
import { capMask } from '../src/abi/caps';
import { SI_USER, F_SETFD, FD_CLOEXEC, TIOCGSID, TIOCSCTTY } from '../src/abi/linux';
import { GoferClient } from '../sentry/fsgofer/client';
import { VFS } from '../sentry/vfs/vfs';
import { FDTable } from '../sentry/vfs/fdtable';
import { traceMark, traceStart } from '../src/trace';
import type { Tree } from './gofer';
import { Kernel, defaultRlimits, type StartArgs } from '../sentry/kernel/kernel';
import { ramBytes } from '../sentry/kernel/machine';
import * as unix from '../src/ffi/unix';
import * as libc from '../src/ffi/libc';
import type { PlatformName } from '../sentry/platform/create';
import { ControlServer, type Connection, type Request } from './control';
import { Cgroup, parseResources, type CgroupPaths } from './cgroup';
import { joinSandboxNetns, sandboxNetns } from './netns';
import { confineSentry } from './confine';
import { SANDBOX_FD } from './sandbox_launch';
import { startGofer } from './gofer';
import { installStdio } from './stdio';
import { HostFD, type HostTerminal } from '../sentry/vfs/host';
import { hooksOf, runHooksInSandbox, type Hook } from './hooks';

export interface SandboxOptions {
  id: string;
  bundle: string;
  /** The container's state directory (--root/ID). */
  stateDir: string;
  strace: boolean;
  debug: boolean;
  debugLog: string | undefined;
  logFormat: 'text' | 'json';
  platform: PlatformName;
  /** --overlay2=root:memory: the root's writes go to an in-memory upper layer, the rootfs is served read-only. */
  overlay?: boolean;
  fileAccess?: 'exclusive' | 'shared';
  /** host: the workload's inet sockets are the host's, in the spec's network namespace (runsc/netns.ts). */
  network?: string;
  /** The cgroup to enter before starting anything (create made it). */
  cgroup?: CgroupPaths;
  /** --total-memory: the sandbox's memory, over linux.resources.memory.limit. */
  totalMemory?: number;
  /** Host fds init gets as its fds 3, 4, … (runc's --preserve-fds; create passes them from SANDBOX_FD.preserved on). */
  preservedFds?: number[];
}

/** The kernel's "no limit" (sentry/kernel/kernel.ts RLIM_INFINITY). */
const RLIM_INFINITY = Number.MAX_SAFE_INTEGER;
/** SIGINT, SIGQUIT, SIGTSTP: what a terminal's keys generate. */
const TERMINAL_KEY_SIGNALS = new Set([2, 3, 20]);
/** Signals whose default action is to do nothing: a container still in `created` ignores them. */
const IGNORED_BY_DEFAULT = new Set([17, 18, 23, 28]);

/** The trees a container's Gofer serves: one Gofer process for all of them, as gVisor's. */
class Gofers {
  readonly pids: number[] = [];
  /** Each tree (a directory and a mode), with its socket once a Gofer serves it and its client once connected. */
  private readonly trees = new Map<string, { tree: Tree; fd: number; client: GoferClient | null }>();
  /** Called when the connection to any Gofer fails. */
  onDead: ((why: string) => void) | null = null;

  constructor(private readonly log: Logger, private readonly errFd: number | 'ignore') {}

  /** Adds dir to the trees the next Gofer started will serve (if none serves it yet); its entry. */
  want(dir: string, readOnly: boolean): { tree: Tree; fd: number; client: GoferClient | null } {
    const key = `${readOnly ? 'ro' : 'rw'}:${dir}`;
    let t = this.trees.get(key);
    if (!t) this.trees.set(key, t = { tree: { dir, readOnly }, fd: -1, client: null });
    return t;
  }

  /** A client of dir's tree; if no Gofer serves it yet, one is started for it and every other tree wanted. */
  serve(dir: string, readOnly: boolean): GoferClient {
    const t = this.want(dir, readOnly);
    if (t.fd < 0) {
      const pending = [...this.trees.values()].filter((e) => e.fd < 0);
      const h = startGofer(pending.map((e) => e.tree), this.log, this.errFd);
      if (h.pid) this.pids.push(h.pid);
      pending.forEach((e, i) => { e.fd = h.fds[i]!; });
    }
    if (!t.client) {
      t.client = new GoferClient(t.fd, true);
      t.client.onDead = (why) => this.onDead?.(`lost the Gofer of ${dir}: ${why}`);
    }
    return t.client;
  }
}

/** The directory a bind mount's Gofer serves, and the file in it when the source is one; null for binds the Sentry provides itself. */
function bindSource(bundle: string, m: MountSpec, field: string): { dir: string; file?: string } | null {
  // The Sentry's own /dev/shm (tmpfs) stands in for engines' shared-memory binds.
  if (path.posix.normalize(m.destination) === '/dev/shm') return null;
  const source = path.resolve(bundle, m.source);
  let st: fs.Stats;
  try {
    st = fs.statSync(source);
  } catch {
    throw new SpecError(`${field}.source`, `${source}: no such file or directory`);
  }
  // A file: its directory's Gofer, and the mount's root is that one file.
  return st.isDirectory() ? { dir: source } : { dir: path.dirname(source), file: path.basename(source) };
}

/** mode=NNNN among a tmpfs mount's options (octal), or the default. */
function modeOption(options: string[], dflt: number): number {
  for (const o of options) {
    const m = /^mode=([0-7]{1,4})$/.exec(o);
    if (m) return parseInt(m[1]!, 8);
  }
  return dflt;
}

function mountFailed(field: string, dest: string, r: number): never {
  throw new SpecError(field, `cannot mount at ${dest}: ${errnoMessage(-r)}`);
}

/** Applies one entry of spec.mounts to the VFS (see docs/oci.md for what each type becomes); src is a bind's bindSource. */
function applyMount(vfs: VFS, gofers: Gofers, m: MountSpec, src: ReturnType<typeof bindSource>, field: string, log: Logger): void {
  const dest = path.posix.normalize(m.destination);
  if (isBind(m)) {
    if (!src) return;
    const ro = isReadOnly(m);
    const r = vfs.mountGofer(dest, gofers.serve(src.dir, ro), ro, src.file);
    if (r < 0) mountFailed(`${field}.destination`, dest, r);
    return;
  }
  switch (m.type) {
    case 'tmpfs': {
      // /dev is the Sentry's devfs and /dev/shm its tmpfs already.
      if (dest === '/dev' || dest === '/dev/shm') return;
      const r = vfs.mountTmpfs(dest, modeOption(m.options, 0o1777), isReadOnly(m));
      if (r < 0) mountFailed(`${field}.destination`, dest, r);
      return;
    }
    case 'proc':
      if (dest !== '/proc') log.warn({ dest }, 'proc is mounted at /proc only');
      return;
    case 'sysfs':
    case 'cgroup':
    case 'cgroup2': {
      // No sysfs or cgroupfs in the Sentry yet: an empty read-only directory.
      const r = vfs.mountTmpfs(dest, 0o555, true);
      if (r < 0) mountFailed(`${field}.destination`, dest, r);
      return;
    }
    case 'devpts':
    case 'mqueue':
      // Served by the Sentry's devfs (/dev/pts is not yet a devpts).
      return;
    default:
      throw new SpecError(`${field}.type`, `mount type ${JSON.stringify(m.type)} is not supported`);
  }
}

/** Where execvp would look for args[0] under env's PATH. */
function candidates(cmd: string, env: string[]): string[] {
  if (cmd.includes('/')) return [cmd];
  const p = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return p.split(':').map((d) => `${d || '.'}/${cmd}`);
}

/** runc's create-time check: the program exists in the container and is a file. */
function findProgram(vfs: VFS, cwd: string, cmd: string, env: string[]): string | null {
  for (const c of candidates(cmd, env)) {
    const abs = path.posix.resolve(cwd, c);
    const loc = vfs.resolve(null, vfs.root, vfs.root, abs, true);
    if (typeof loc !== 'number' && loc.d.inode.isRegular) return null;
  }
  return cmd.includes('/')
    ? `exec: ${JSON.stringify(cmd)}: stat ${cmd}: no such file or directory`
    : `exec: ${JSON.stringify(cmd)}: executable file not found in $PATH`;
}

function tellCreate(msg: string): void {
  try {
    fs.writeSync(SANDBOX_FD.ready, `${msg.replace(/\n/g, ' ')}\n`);
    fs.closeSync(SANDBOX_FD.ready);
  } catch {
    // create went away: nothing to tell.
  }
}

interface Built {
  spec: Spec;
  /** The spec's startContainer hooks (runsc/hooks.ts). */
  hooks: Hook[];
  kernel: Kernel;
  vfs: VFS;
  fds: FDTable;
  gofers: Gofers;
}

/** Room left in the host cgroup for the Sentry's heap to grow while the sandbox runs. */
const SENTRY_GROWTH = 64 << 20;
/** The least memory a container's workload is given, however small its limit. */
const MIN_WORKLOAD_MEMORY = 16 << 20;

/** Resident bytes of a host process (0 if it is gone). */
function rssOf(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  } catch {
    return 0;
  }
}

/**
 * The workload's memory under linux.resources.memory.limit: the limit less
 * what the sandbox's own host processes (this one and its Gofers) use of the
 * host cgroup, and room for the Sentry to grow, so the Sentry's OOM killer
 * acts before the host cgroup's.
 */
function workloadMemory(limit: number | undefined, helpers: number[]): number | undefined {
  if (limit === undefined || limit <= 0) return undefined;
  let own = process.memoryUsage.rss() + SENTRY_GROWTH;
  for (const pid of helpers) own += rssOf(pid);
  return Math.max(MIN_WORKLOAD_MEMORY, limit - own);
}

function build(o: SandboxOptions, log: Logger, errFd: number | 'ignore'): Built {
  let text: string;
  try {
    text = fs.readFileSync(path.join(o.bundle, 'config.json'), 'utf8');
  } catch (e) {
    throw new SpecError('config.json', `cannot read ${path.join(o.bundle, 'config.json')}: ${(e as Error).message}`);
  }
  const spec = parseSpec(text);
  const proc = spec.process!;
  const rootfs = path.resolve(o.bundle, spec.root.path);
  if (!fs.existsSync(rootfs) || !fs.statSync(rootfs).isDirectory()) throw new SpecError('root.path', `${rootfs} is not a directory`);
  const gofers = new Gofers(log, errFd);
  // A read-only root is served --read-only (writes fail with EROFS); a
  // writable one is written through, as with runc, unless --overlay2=root:memory
  // keeps the writes in memory over a read-only rootfs.
  const overlay = o.overlay === true && !spec.root.readonly;
  // Every tree first, so that one Gofer serves them all.
  gofers.want(rootfs, spec.root.readonly || overlay);
  const sources = spec.mounts.map((m, i) => isBind(m) ? bindSource(o.bundle, m, `mounts[${i}]`) : null);
  spec.mounts.forEach((m, i) => { if (sources[i]) gofers.want(sources[i].dir, isReadOnly(m)); });
  const vfs = new VFS({ gofer: gofers.serve(rootfs, spec.root.readonly || overlay), overlay, fileAccess: o.fileAccess });
  spec.mounts.forEach((m, i) => applyMount(vfs, gofers, m, sources[i] ?? null, `mounts[${i}]`, log));
  traceMark('gofers-attached');
  // maskedPaths: a directory in the container's tree is covered by an empty
  // read-only one. /proc and /sys paths are not served by the Sentry at all.
  for (const p of spec.linux.maskedPaths) {
    if (p.startsWith('/proc/') || p.startsWith('/sys/')) continue;
    const loc = vfs.resolve(null, vfs.root, vfs.root, p, true);
    if (typeof loc !== 'number' && loc.d.inode.isDir) vfs.mountTmpfs(p, 0o555, true);
  }
  const kernel = new Kernel({
    vfs, log, strace: o.strace, hostname: spec.hostname || os.hostname(), platform: o.platform, hostNetwork: o.network === 'host',
    totalMemory: o.totalMemory ?? workloadMemory(parseResources(spec.linux.resources).memory?.limit, gofers.pids),
  });
  traceMark('kernel-built');
  for (const pid of gofers.pids) { kernel.platform.pin(pid); kernel.watchVital(pid, 'a Gofer'); }
  gofers.onDead = (why) => kernel.shutdown(why);
  const fds = new FDTable();
  installStdio(vfs, fds);
  for (const hostFd of o.preservedFds ?? []) fds.install(vfs.hostFile(hostFd), false);
  try {
    vfs.newFSContext(proc.cwd);
  } catch {
    throw new SpecError('process.cwd', `${proc.cwd} is not a directory in the container`);
  }
  const missing = findProgram(vfs, proc.cwd, proc.args[0]!, proc.env);
  if (missing) throw new SpecError('process.args', missing);
  return { spec, hooks: hooksOf(text, 'startContainer'), kernel, vfs, fds, gofers };
}

/** What the Kernel needs to start proc (init's or an exec'd process's) with fds. */
function startArgs(vfs: VFS, proc: ProcessSpec, fds: FDTable): StartArgs {
  const rlimits = defaultRlimits();
  for (const l of proc.rlimits) rlimits[RLIMITS[l.type]!] = [Math.min(l.soft, RLIM_INFINITY), Math.min(l.hard, RLIM_INFINITY)];
  let fs0;
  try {
    fs0 = vfs.newFSContext(proc.cwd);
  } catch {
    throw new SpecError('process.cwd', `${proc.cwd} is not a directory in the container`);
  }
  if (proc.user.umask !== undefined) fs0.umask = proc.user.umask;
  const { uid, gid, additionalGids } = proc.user;
  const sets = proc.capabilities;
  // The spec's sets are the process's before its execve, as runc leaves them; the kernel's exec rules then apply.
  const caps = sets && {
    eff: capMask(sets['effective'] ?? []), prm: capMask(sets['permitted'] ?? []), inh: capMask(sets['inheritable'] ?? []),
    bnd: capMask(sets['bounding'] ?? []), amb: capMask(sets['ambient'] ?? []), keep: false,
  };
  return {
    paths: candidates(proc.args[0]!, proc.env).map((c) => path.posix.resolve(proc.cwd, c)),
    argv: proc.args, envp: proc.env, fds, fs: fs0, rlimits, noNewPrivs: proc.noNewPrivileges,
    creds: { uid, euid: uid, suid: uid, fsuid: uid, gid, egid: gid, sgid: gid, fsgid: gid, groups: additionalGids, ...(caps && { caps }) },
  };
}

/** The exit code a wait status stands for (128+N for death by signal N). */
const exitCode = (status: number): number => status & 0x7f ? 128 + (status & 0x7f) : (status >> 8) & 0xff;

export async function runSandbox(o: SandboxOptions): Promise<never> {
  traceStart('sandbox');
  const logFile = o.debugLog ?? path.join(o.stateDir, 'sandbox.log');
  const log = makeLogger({ name: 'runsc-sandbox', level: o.debug ? 'debug' : 'warn', format: o.logFormat, file: logFile });
  let errFd: number | 'ignore' = 'ignore';
  try {
    errFd = fs.openSync(logFile, 'a');
  } catch {
    // No log for the Gofers' stderr.
  }
  const exitWith = (code: number): never => {
    try {
      fs.writeSync(SANDBOX_FD.exit, String(code));
    } catch {
      // Nobody waits.
    }
    // Not process.exit: it would wait for the control socket's watcher, blocked in poll().
    traceMark('exit');
    unix.exitNow(code);
  };

  // The control socket's watcher thread loads while the sandbox is built; requests are served once it is ready.
  let handle: (req: Request, hostFds: number[], conn: Connection) => void = (req, hostFds) => {
    for (const fd of hostFds) unix.close(fd);
    throw new Error('the sandbox is not ready');
  };
  const server = new ControlServer(SANDBOX_FD.control, (req, hostFds, conn) => handle(req, hostFds, conn));
  // A terminal as stdio (process.terminal) becomes this session's controlling terminal, so the
  // signals its keys generate (^C, ^Z, ^\) reach this process, which passes them to the
  // Sentry's foreground process group (runsc/stdio.ts). The launcher leads create's new
  // session, so this process makes one of its own first; a terminal that already has a
  // session (run in the foreground of the caller's own terminal) already does the job.
  if (isatty(0) && unix.ioctlBuf(0, TIOCGSID, new Uint8Array(4)) < 0) {
    unix.setsid();
    unix.ioctlInt(0, TIOCSCTTY, 0);
  }
  // The preserved fds are init's only: not inherited by the Gofers and stubs this process starts.
  for (const fd of o.preservedFds ?? []) libc.fcntl(fd, F_SETFD, FD_CLOEXEC);
  let b: Built;
  try {
    // First, so the Gofers and stubs started from here on are in it too.
    if (o.cgroup) new Cgroup(o.cgroup).enter(process.pid);
    b = build(o, log, errFd);
  } catch (e) {
    tellCreate(e instanceof SpecError ? e.message : `cannot create the sandbox: ${(e as Error).message}`);
    unix.exitNow(1);
  }
  const { spec, kernel, vfs, fds } = b;
  const proc = spec.process!;
  let phase: 'created' | 'running' | 'exited' = 'created';
  /** Runs the startContainer hooks, then starts init; its loop begins once the answer is sent. */
  const start = async (state: Record<string, unknown>): Promise<string | null> => {
    if (phase !== 'created') return phase === 'running' ? 'cannot start an already running container' : 'cannot start a container that has stopped';
    phase = 'running';
    traceMark('start');
    server.wakeKernel((cell) => kernel.externalWakeup(cell));
    const hookFailed = await runHooksInSandbox(kernel, b.hooks, state, (p, table) => startArgs(vfs, p, table));
    if (hookFailed !== null) {
      // The runtime spec: a failed startContainer hook fails start and stops the container.
      phase = 'exited';
      setImmediate(() => exitWith(1));
      return hookFailed;
    }
    const failed = kernel.startInit(startArgs(vfs, proc, fds));
    traceMark('init-started');
    if (failed !== null) {
      phase = 'exited';
      fs.writeSync(2, `runsc: ${failed}\n`);
      setImmediate(() => exitWith(127));
      return failed;
    }
    setImmediate(() => {
      kernel.runLoop().then((code) => {
        phase = 'exited';
        exitWith(code);
      }, (e: unknown) => {
        log.error({ err: (e as Error).stack }, 'the sandbox failed');
        exitWith(128);
      });
    });
    return null;
  };

  const kill = (sig: number, all: boolean): string | null => {
    if (phase === 'exited') return 'container not running';
    if (phase === 'created') {
      // After the answer (sent synchronously by the caller).
      if (!IGNORED_BY_DEFAULT.has(sig)) setImmediate(() => exitWith(128 + sig));
      return null;
    }
    const init = kernel.init;
    if (!init || kernel.result !== null) return 'container not running';
    const info = { signo: sig, code: SI_USER, forced: true };
    if (all) for (const p of [...kernel.processes.values()]) kernel.signals.sendToProcess(p, sig, info);
    else kernel.signals.sendToProcess(init, sig, info);
    return null;
  };

  /** Starts an exec'd process with the stdio fds the client sent (owning them); answers once it runs, and with its status when it ends. */
  const exec = (req: Request, hostFds: number[], conn: Connection): void => {
    let p: ProcessSpec;
    try {
      if (phase !== 'running' || kernel.result !== null) throw new Error('cannot exec in a container that is not running');
      // Stdio, then any preserved fds (exec --preserve-fds): the process's 0, 1, 2, 3, ….
      if (hostFds.length < 3) throw new Error('exec needs 3 stdio fds');
      p = parseProcessObject(req['process']);
      const missing = findProgram(vfs, p.cwd, p.args[0]!, p.env);
      if (missing) throw new Error(missing);
    } catch (e) {
      for (const fd of hostFds) unix.close(fd);
      throw e;
    }
    const table = new FDTable();
    let terminal: HostTerminal | null = null;
    for (const fd of hostFds) {
      const f = vfs.hostFile(fd);
      f.onRelease(() => unix.close(fd));
      table.install(f, false);
      if (f instanceof HostFD) terminal ??= f.terminal;
    }
    let started: number | string;
    try {
      started = kernel.startExternal(startArgs(vfs, p, table), (status) => {
        conn.send({ exit: exitCode(status) });
        conn.close();
      });
    } catch (e) {
      table.closeAll();
      throw e;
    }
    if (typeof started === 'string') {
      table.closeAll();
      throw new Error(started);
    }
    const pid = started;
    conn.send({ ok: true, pid });
    // The client forwards the signals it gets; its hanging up kills the process. The keys
    // of the process's terminal (^C, ^\, ^Z) reach the client, which leads that terminal's
    // session on the host: they are for the foreground group of the session it leads here.
    const signal = (sig: number): void => {
      const target = kernel.processes.get(pid);
      if (!target || target.zombie) return;
      if (TERMINAL_KEY_SIGNALS.has(sig) && terminal && terminal.sid === pid && terminal.fgPgrp) terminal.signalForeground(sig);
      else kernel.signals.sendToProcess(target, sig);
    };
    conn.keep((m) => { if (m.op === 'signal') signal(Number(m['sig'])); }, () => signal(9));
  };

  handle = (req: Request, hostFds: number[], conn: Connection): void => {
    if (req.op === 'exec') {
      exec(req, hostFds, conn);
      return;
    }
    for (const fd of hostFds) unix.close(fd);
    const answer = (err: string | null): void => {
      conn.send(err === null ? { ok: true } : { ok: false, error: err });
      conn.close();
    };
    if (req.op === 'start') {
      void start((req['state'] ?? {}) as Record<string, unknown>).then(answer, (e: unknown) => answer((e as Error).message));
    } else if (req.op === 'kill') {
      answer(kill(Number(req['sig']), req['all'] === true));
    } else if (req.op === 'memory') {
      // runsc update --memory: the workload's memory follows the new limit (-1: the host's).
      if (o.totalMemory === undefined) kernel.mf.limit = workloadMemory(Number(req['limit']), b.gofers.pids) ?? ramBytes();
      answer(null);
    } else if (req.op === 'oom') {
      // How many processes the Sentry's OOM killer has killed (runsc events reports each as an oom event).
      conn.send({ ok: true, kills: kernel.oom.kills });
      conn.close();
    } else {
      answer(`unknown request ${JSON.stringify(req.op)}`);
    }
  };
  try {
    joinSandboxNetns(sandboxNetns(spec, o.network ?? 'none'));
    // Everything the Sentry needs from the host is open: confine it.
    await server.up;
    kernel.platform.prepare();
    confineSentry({ control: true, hostNetwork: o.network === 'host' });
  } catch (e) {
    tellCreate((e as Error).message);
    unix.exitNow(1);
  }
  traceMark('ready');
  tellCreate('ok');
  // Wait: the control socket's watcher keeps the event loop alive until start and exit.
  return new Promise<never>(() => undefined);
}
