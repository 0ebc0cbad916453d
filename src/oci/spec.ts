// OCI runtime-spec types (the subset runsc reads) and a validating parser for
// a bundle's config.json. Every error is one line naming the field, e.g.
// `process.user.uid: must be a non-negative integer, not "root"`, so that a
// container engine can show it to the user as is. Fields runsc does not read
// are kept (the whole document stays available) but not checked: the spec
// says a runtime must ignore properties it does not know.
//
// Reference: github.com/opencontainers/runtime-spec config.md, config-linux.md
// and specs-go/config.go. Imports nothing.

export const OCI_VERSION = '1.1.0';

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids: number[];
}

export interface Rlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface ProcessSpec {
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  user: User;
  args: string[];
  env: string[];
  cwd: string;
  rlimits: Rlimit[];
  noNewPrivileges: boolean;
  capabilities?: Record<string, string[]>;
}

export interface MountSpec {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface LinuxSpec {
  namespaces: { type: string; path?: string }[];
  /** Where the sandbox's host processes' cgroup goes (relative to each hierarchy's root). */
  cgroupsPath?: string;
  maskedPaths: string[];
  readonlyPaths: string[];
  resources?: Record<string, unknown>;
}

export interface Spec {
  ociVersion: string;
  process: ProcessSpec | null;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: MountSpec[];
  annotations: Record<string, string>;
  linux: LinuxSpec;
}

/** A config.json that cannot be used: the message is one line naming the field. */
export class SpecError extends Error {
  constructor(readonly field: string, why: string) {
    super(`${field}: ${why}`);
  }
}

/** rlimit types by name, with their RLIMIT_* numbers. */
export const RLIMITS: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

const NAMESPACES = new Set(['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time']);

type Json = unknown;

function show(v: Json): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: Json, field: string): Record<string, Json> {
  if (!isObject(v)) throw new SpecError(field, `must be an object, not ${show(v)}`);
  return v;
}

function str(v: Json, field: string): string {
  if (typeof v !== 'string') throw new SpecError(field, `must be a string, not ${show(v)}`);
  return v;
}

function bool(v: Json, field: string): boolean {
  if (typeof v !== 'boolean') throw new SpecError(field, `must be true or false, not ${show(v)}`);
  return v;
}

/** A non-negative integer that fits in 32 bits (ids) or 64 bits (limits, as a double). */
function uint(v: Json, field: string, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new SpecError(field, `must be a non-negative integer${max === 0xffffffff ? ' below 2^32' : ''}, not ${show(v)}`);
  }
  return v;
}

function arr<T>(v: Json, field: string, each: (x: Json, f: string) => T): T[] {
  if (!Array.isArray(v)) throw new SpecError(field, `must be an array, not ${show(v)}`);
  return v.map((x, i) => each(x, `${field}[${i}]`));
}

function absPath(v: Json, field: string): string {
  const s = str(v, field);
  if (!s.startsWith('/')) throw new SpecError(field, `must be an absolute path, not ${show(s)}`);
  return s;
}

/** Optional members: absent (or null) gives the default. */
function opt<T>(o: Record<string, Json>, key: string, field: string, parse: (v: Json, f: string) => T, dflt: T): T {
  const v = o[key];
  return v === undefined || v === null ? dflt : parse(v, `${field}.${key}`);
}

function parseUser(v: Json, field: string): User {
  const o = obj(v, field);
  if (o['username'] !== undefined && o['uid'] === undefined) throw new SpecError(`${field}.username`, 'is for Windows; give uid and gid');
  const user: User = {
    uid: opt(o, 'uid', field, uint, 0),
    gid: opt(o, 'gid', field, uint, 0),
    additionalGids: opt(o, 'additionalGids', field, (x, f) => arr(x, f, uint), []),
  };
  if (o['umask'] !== undefined && o['umask'] !== null) user.umask = uint(o['umask'], `${field}.umask`, 0o777);
  return user;
}

function parseRlimit(v: Json, field: string): Rlimit {
  const o = obj(v, field);
  const type = str(o['type'], `${field}.type`);
  if (!(type in RLIMITS)) throw new SpecError(`${field}.type`, `unknown rlimit ${show(type)}`);
  const hard = uint(o['hard'], `${field}.hard`, 2 ** 64);
  const soft = uint(o['soft'], `${field}.soft`, 2 ** 64);
  if (soft > hard) throw new SpecError(`${field}.soft`, `${soft} is above the hard limit ${hard}`);
  return { type, hard, soft };
}

function parseEnv(v: Json, field: string): string {
  const s = str(v, field);
  if (!/^[^=]+=/.test(s)) throw new SpecError(field, `must look like NAME=value, not ${show(s)}`);
  return s;
}

function parseProcess(v: Json, field: string): ProcessSpec {
  const o = obj(v, field);
  const args = opt(o, 'args', field, (x, f) => arr(x, f, str), [] as string[]);
  if (args.length === 0 && typeof o['commandLine'] !== 'string') throw new SpecError(`${field}.args`, 'must name the program to run');
  const cwd = absPath(o['cwd'] ?? '/', `${field}.cwd`);
  const p: ProcessSpec = {
    terminal: opt(o, 'terminal', field, bool, false),
    user: opt(o, 'user', field, parseUser, { uid: 0, gid: 0, additionalGids: [] }),
    args,
    env: opt(o, 'env', field, (x, f) => arr(x, f, parseEnv), []),
    cwd,
    rlimits: opt(o, 'rlimits', field, (x, f) => arr(x, f, parseRlimit), []),
    noNewPrivileges: opt(o, 'noNewPrivileges', field, bool, false),
  };
  if (o['consoleSize'] !== undefined && o['consoleSize'] !== null) {
    const c = obj(o['consoleSize'], `${field}.consoleSize`);
    p.consoleSize = { height: uint(c['height'], `${field}.consoleSize.height`), width: uint(c['width'], `${field}.consoleSize.width`) };
  }
  if (o['capabilities'] !== undefined && o['capabilities'] !== null) {
    const c = obj(o['capabilities'], `${field}.capabilities`);
    const caps: Record<string, string[]> = {};
    for (const [k, list] of Object.entries(c)) {
      if (list === null) continue;
      caps[k] = arr(list, `${field}.capabilities.${k}`, (x, f) => {
        const s = str(x, f);
        if (!/^CAP_[A-Z_]+$/.test(s)) throw new SpecError(f, `not a capability name: ${show(s)}`);
        return s;
      });
    }
    p.capabilities = caps;
  }
  return p;
}

function parseMount(v: Json, field: string): MountSpec {
  const o = obj(v, field);
  return {
    destination: absPath(o['destination'], `${field}.destination`),
    type: opt(o, 'type', field, str, ''),
    source: opt(o, 'source', field, str, ''),
    options: opt(o, 'options', field, (x, f) => arr(x, f, str), []),
  };
}

function parseLinux(v: Json, field: string): LinuxSpec {
  const o = obj(v, field);
  const l: LinuxSpec = {
    namespaces: opt(o, 'namespaces', field, (x, f) => arr(x, f, (n, nf) => {
      const no = obj(n, nf);
      const type = str(no['type'], `${nf}.type`);
      if (!NAMESPACES.has(type)) throw new SpecError(`${nf}.type`, `unknown namespace type ${show(type)}`);
      const ns: { type: string; path?: string } = { type };
      if (no['path'] !== undefined && no['path'] !== null && no['path'] !== '') ns.path = absPath(no['path'], `${nf}.path`);
      return ns;
    }), []),
    maskedPaths: opt(o, 'maskedPaths', field, (x, f) => arr(x, f, absPath), []),
    readonlyPaths: opt(o, 'readonlyPaths', field, (x, f) => arr(x, f, absPath), []),
  };
  if (o['resources'] !== undefined && o['resources'] !== null) l.resources = obj(o['resources'], `${field}.resources`);
  const cg = opt(o, 'cgroupsPath', field, str, '');
  if (cg) l.cgroupsPath = cg;
  return l;
}

/**
 * Parses and checks the text of a config.json. Throws SpecError (one line,
 * naming the field) for anything runsc cannot use. requireProcess: create and
 * run need process; other callers may not.
 */
export function parseSpec(text: string, requireProcess = true): Spec {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SpecError('config.json', `not valid JSON (${(e as Error).message})`);
  }
  const o = obj(doc, 'config.json');
  const ociVersion = str(o['ociVersion'], 'ociVersion');
  if (!/^1\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(ociVersion)) {
    throw new SpecError('ociVersion', `${show(ociVersion)} is not a 1.x version this runtime understands`);
  }
  const r = obj(o['root'], 'root');
  const root = { path: str(r['path'], 'root.path'), readonly: opt(r, 'readonly', 'root', bool, false) };
  if (root.path === '') throw new SpecError('root.path', 'must not be empty');
  const process = o['process'] === undefined || o['process'] === null ? null : parseProcess(o['process'], 'process');
  if (requireProcess && !process) throw new SpecError('process', 'is required to create a container');
  const hostname = opt(o, 'hostname', '', str, '');
  if (hostname.length > 64) throw new SpecError('hostname', `is longer than 64 bytes: ${show(hostname)}`);
  const annotations = opt(o, 'annotations', '', (x, f) => {
    const a = obj(x, f);
    for (const [k, val] of Object.entries(a)) str(val, `annotations.${k}`);
    return a as Record<string, string>;
  }, {});
  return {
    ociVersion,
    process,
    root,
    hostname,
    mounts: opt(o, 'mounts', '', (x, f) => arr(x, f.replace(/^\./, ''), parseMount), []),
    annotations,
    linux: opt(o, 'linux', '', (x, f) => parseLinux(x, f.replace(/^\./, '')), { namespaces: [], maskedPaths: [], readonlyPaths: [] }),
  };
}

/** Checks a process object on its own (`runsc exec --process FILE`); errors name its fields as process.*. */
export function parseProcessObject(v: unknown): ProcessSpec {
  return parseProcess(v, 'process');
}

/** The mount options that make a bind mount (OCI leaves "type" optional for binds). */
export function isBind(m: MountSpec): boolean {
  return m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
}

export function isReadOnly(m: MountSpec): boolean {
  return m.options.includes('ro');
}

/** The default config.json `runsc spec` writes, like `runc spec` (without a terminal, which runsc lacks). */
export function defaultSpec(): Record<string, unknown> {
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runsc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** The OCI features document (`runsc features`), as runtime-spec features.md defines it. */
export function features(): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [],
    mountOptions: ['bind', 'rbind', 'ro', 'rw', 'nosuid', 'nodev', 'noexec', 'relatime', 'strictatime', 'mode', 'size'],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'],
      capabilities: [],
      cgroup: { v1: false, v2: false, systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'dev.runsc-ts.version': '0.1.0' },
  };
}
