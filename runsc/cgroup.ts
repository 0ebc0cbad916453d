// The cgroup of a container's host processes: the sandbox process (the
// Sentry), its stubs and its Gofers all live in it, so linux.resources
// (memory, pids, cpu) bound the whole sandbox, the freezer pauses it, and
// its usage is what `events --stats` (and the shim, for `docker stats`)
// reads. cgroups v1 (one hierarchy per controller, as on these machines) and
// v2 (one unified hierarchy, when /sys/fs/cgroup/cgroup.controllers exists).
//
// Where: linux.cgroupsPath, absolute (from each hierarchy's root) or
// relative (to the caller's own cgroup), as runc reads it; with
// --systemd-cgroup, "slice:prefix:name" means /slice/prefix-name.scope.
// Without a cgroupsPath: runsc-ID under the caller's own cgroup.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SpecError } from '../src/oci/spec';

const ROOT = '/sys/fs/cgroup';
/** v1 controllers a sandbox joins (named hierarchies such as name=systemd are left alone). */
const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer', 'blkio', 'devices', 'net_cls', 'net_prio', 'perf_event', 'hugetlb'];
const V2_CONTROLLERS = ['cpu', 'memory', 'pids'];

/** Where a container's cgroup is: v2's one directory, or v1's directory per controller. */
export interface CgroupPaths {
  version: 1 | 2;
  /** v1: controller → directory (co-mounted controllers share one); v2: '' → directory. */
  dirs: Record<string, string>;
}

/** The parts of linux.resources runsc applies. */
export interface Resources {
  memory?: { limit?: number; reservation?: number; swap?: number };
  pids?: { limit?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
}

/** Usage figures, as `events --stats` reports them. */
export interface Usage {
  memory: { usage: number; limit: number; maxUsage: number; cache: number; raw: Record<string, number> };
  cpu: { total: number; user: number; kernel: number };
  pids: { current: number; limit: number };
}

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function num(file: string): number {
  const s = read(file);
  return s === null || s === 'max' ? 0 : Number(s);
}

/** Mount points of the v1 hierarchies by controller, from /proc/self/mountinfo. */
function v1Mounts(): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const [fstype, , opts] = post.split(' ');
    if (fstype !== 'cgroup') continue;
    const mountPoint = pre.split(' ')[4]!;
    for (const o of (opts ?? '').split(',')) if (V1_CONTROLLERS.includes(o)) m.set(o, mountPoint);
  }
  return m;
}

/** The caller's own cgroup in each hierarchy (controller, or '' for v2), from /proc/self/cgroup. */
function ownCgroups(): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (ctrls === undefined || p === undefined) continue;
    for (const c of ctrls === '' ? [''] : ctrls.split(',')) m.set(c, p);
  }
  return m;
}

export const cgroupVersion = (): 1 | 2 => fs.existsSync(path.join(ROOT, 'cgroup.controllers')) ? 2 : 1;

/** The cgroup a container with this spec gets (nothing is created). */
export function cgroupPaths(id: string, cgroupsPath: string | undefined, systemd: boolean): CgroupPaths {
  let rel = cgroupsPath ?? '';
  if (systemd && /^[^:/]*:[^:/]*:[^:/]+$/.test(rel)) {
    const [slice, prefix, name] = rel.split(':') as [string, string, string];
    rel = `/${slice || 'system.slice'}/${prefix ? `${prefix}-` : ''}${name}.scope`;
  }
  if (rel === '') rel = `runsc-${id}`;
  if (rel.split('/').includes('..')) throw new SpecError('linux.cgroupsPath', `must not contain "..": ${JSON.stringify(rel)}`);
  const own = ownCgroups();
  const under = (ctrl: string, mount: string): string =>
    path.join(mount, rel.startsWith('/') ? rel : path.join(own.get(ctrl) ?? '/', rel));
  if (cgroupVersion() === 2) return { version: 2, dirs: { '': under('', ROOT) } };
  const dirs: Record<string, string> = {};
  for (const [ctrl, mount] of v1Mounts()) dirs[ctrl] = under(ctrl, mount);
  return { version: 1, dirs };
}

/** Reads the resources runsc applies out of linux.resources (or an `update` document), checking each. */
export function parseResources(v: Record<string, unknown> | undefined, field = 'linux.resources'): Resources {
  const r: Resources = {};
  if (!v) return r;
  const int = (o: Record<string, unknown>, k: string, f: string): number | undefined => {
    const x = o[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'number' || !Number.isInteger(x)) throw new SpecError(`${f}.${k}`, `must be an integer, not ${JSON.stringify(x)}`);
    return x;
  };
  const objAt = (k: string): Record<string, unknown> | null => {
    const x = v[k];
    if (x === undefined || x === null) return null;
    if (typeof x !== 'object' || Array.isArray(x)) throw new SpecError(`${field}.${k}`, 'must be an object');
    return x as Record<string, unknown>;
  };
  const mem = objAt('memory');
  if (mem) r.memory = { limit: int(mem, 'limit', `${field}.memory`), reservation: int(mem, 'reservation', `${field}.memory`), swap: int(mem, 'swap', `${field}.memory`) };
  const pids = objAt('pids');
  if (pids) r.pids = { limit: int(pids, 'limit', `${field}.pids`) };
  const cpu = objAt('cpu');
  if (cpu) {
    const s = (k: string): string | undefined => typeof cpu[k] === 'string' && cpu[k] !== '' ? cpu[k] as string : undefined;
    r.cpu = { shares: int(cpu, 'shares', `${field}.cpu`), quota: int(cpu, 'quota', `${field}.cpu`), period: int(cpu, 'period', `${field}.cpu`), cpus: s('cpus'), mems: s('mems') };
  }
  return r;
}

function write(file: string, value: string | number, field: string): void {
  try {
    fs.writeFileSync(file, String(value));
  } catch (e) {
    throw new SpecError(field, `cannot write ${value} to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** cgroup v2's cpu.weight for v1's cpu.shares (the conversion runc and the kernel docs use). */
const sharesToWeight = (shares: number): number => Math.round(1 + ((shares - 2) * 9999) / 262142);

export class Cgroup {
  constructor(readonly paths: CgroupPaths) {}

  private dir(ctrl: string): string | undefined {
    return this.paths.dirs[this.paths.version === 2 ? '' : ctrl];
  }

  /** Makes the directories (v2: with the controllers enabled down the path); v1's cpuset gets its parent's cpus and mems. */
  create(): void {
    if (this.paths.version === 2) {
      const dir = this.paths.dirs['']!;
      // Enable the controllers in every ancestor below the root (best effort: some may be unavailable).
      const parts = path.relative(ROOT, dir).split('/');
      for (let i = 0; i < parts.length; i++) {
        const d = path.join(ROOT, ...parts.slice(0, i));
        if (i > 0) fs.mkdirSync(d, { recursive: true });
        for (const c of V2_CONTROLLERS) {
          try { fs.writeFileSync(path.join(d, 'cgroup.subtree_control'), `+${c}`); } catch { /* not available here */ }
        }
      }
      fs.mkdirSync(dir, { recursive: true });
      return;
    }
    for (const [ctrl, dir] of Object.entries(this.paths.dirs)) {
      fs.mkdirSync(dir, { recursive: true });
      if (ctrl === 'cpuset') {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          // Each level needs its own cpus and mems before a task may join.
          const chain: string[] = [];
          for (let d = dir; read(path.join(d, f)) === ''; d = path.dirname(d)) chain.unshift(d);
          for (const d of chain) fs.writeFileSync(path.join(d, f), read(path.join(path.dirname(d), f)) ?? '');
        }
      }
    }
  }

  /** Moves pid (and so everything it starts later) into the cgroup. */
  enter(pid: number): void {
    const seen = new Set<string>();
    for (const dir of Object.values(this.paths.dirs)) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      write(path.join(dir, 'cgroup.procs'), pid, 'linux.cgroupsPath');
    }
  }

  /** Applies r; fields left out stay as they are. */
  apply(r: Resources): void {
    const v2 = this.paths.version === 2;
    const at = (ctrl: string, file: string): string => {
      const d = this.dir(ctrl);
      if (!d) throw new SpecError(`linux.resources.${ctrl}`, `the ${ctrl} controller is not available on this host`);
      return path.join(d, file);
    };
    const m = r.memory;
    if (m) {
      if (m.limit !== undefined) {
        const limit = m.limit > 0 ? m.limit : -1;
        if (v2) write(at('memory', 'memory.max'), limit > 0 ? limit : 'max', 'linux.resources.memory.limit');
        else {
          // memsw must stay >= the limit: raise whichever order keeps that true.
          const memsw = at('memory', 'memory.memsw.limit_in_bytes');
          const swap = m.swap !== undefined ? (m.swap > 0 ? m.swap : -1) : undefined;
          const grow = limit === -1 || limit > num(at('memory', 'memory.limit_in_bytes'));
          if (grow && swap !== undefined && fs.existsSync(memsw)) write(memsw, swap, 'linux.resources.memory.swap');
          write(at('memory', 'memory.limit_in_bytes'), limit, 'linux.resources.memory.limit');
          if (!grow && swap !== undefined && fs.existsSync(memsw)) write(memsw, swap, 'linux.resources.memory.swap');
        }
      }
      if (m.reservation !== undefined) {
        write(at('memory', v2 ? 'memory.low' : 'memory.soft_limit_in_bytes'), m.reservation > 0 ? m.reservation : v2 ? 0 : -1, 'linux.resources.memory.reservation');
      }
      if (v2 && m.swap !== undefined && m.limit !== undefined && m.swap > 0 && fs.existsSync(at('memory', 'memory.swap.max'))) {
        write(at('memory', 'memory.swap.max'), Math.max(0, m.swap - m.limit), 'linux.resources.memory.swap');
      }
    }
    if (r.pids?.limit !== undefined) {
      write(at('pids', 'pids.max'), r.pids.limit > 0 ? r.pids.limit : 'max', 'linux.resources.pids.limit');
    }
    const c = r.cpu;
    if (c) {
      if (c.shares) write(at('cpu', v2 ? 'cpu.weight' : 'cpu.shares'), v2 ? sharesToWeight(c.shares) : c.shares, 'linux.resources.cpu.shares');
      if (c.quota !== undefined || c.period !== undefined) {
        if (v2) {
          const [q, p] = (read(at('cpu', 'cpu.max')) ?? 'max 100000').split(' ');
          const quota = c.quota !== undefined ? (c.quota > 0 ? String(c.quota) : 'max') : q;
          write(at('cpu', 'cpu.max'), `${quota} ${c.period || p}`, 'linux.resources.cpu.quota');
        } else {
          if (c.period) write(at('cpu', 'cpu.cfs_period_us'), c.period, 'linux.resources.cpu.period');
          if (c.quota !== undefined) write(at('cpu', 'cpu.cfs_quota_us'), c.quota > 0 ? c.quota : -1, 'linux.resources.cpu.quota');
        }
      }
      if (c.cpus) write(at('cpuset', 'cpuset.cpus'), c.cpus, 'linux.resources.cpu.cpus');
      if (c.mems) write(at('cpuset', 'cpuset.mems'), c.mems, 'linux.resources.cpu.mems');
    }
  }

  /** Freezes (every host process of the sandbox stops) or thaws it; waits until the kernel says it is done. */
  freeze(frozen: boolean): void {
    const v2 = this.paths.version === 2;
    const file = v2 ? path.join(this.paths.dirs['']!, 'cgroup.freeze') : this.dir('freezer') && path.join(this.dir('freezer')!, 'freezer.state');
    if (!file) throw new SpecError('linux.cgroupsPath', 'the freezer controller is not available on this host');
    write(file, v2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED', 'linux.cgroupsPath');
    const deadline = Date.now() + 10_000;
    while (this.frozen() !== frozen && Date.now() < deadline) {
      if (!v2 && frozen) write(file, 'FROZEN', 'linux.cgroupsPath');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }

  frozen(): boolean {
    if (this.paths.version === 2) return /^frozen 1$/m.test(read(path.join(this.paths.dirs['']!, 'cgroup.events')) ?? '');
    const d = this.dir('freezer');
    return d !== undefined && read(path.join(d, 'freezer.state')) === 'FROZEN';
  }

  usage(): Usage {
    const v2 = this.paths.version === 2;
    const kv = (file: string): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const line of (read(file) ?? '').split('\n')) {
        const [k, val] = line.split(' ');
        if (k && val !== undefined) out[k] = Number(val);
      }
      return out;
    };
    const mem = (f: string): string => path.join(this.dir('memory') ?? '/nonexistent', f);
    const cpu = (f: string): string => path.join(this.dir(v2 ? 'cpu' : 'cpuacct') ?? '/nonexistent', f);
    const pids = (f: string): string => path.join(this.dir('pids') ?? '/nonexistent', f);
    const raw = kv(mem('memory.stat'));
    let cpuUsage: Usage['cpu'];
    if (v2) {
      const s = kv(cpu('cpu.stat'));
      cpuUsage = { total: (s['usage_usec'] ?? 0) * 1000, user: (s['user_usec'] ?? 0) * 1000, kernel: (s['system_usec'] ?? 0) * 1000 };
    } else {
      // cpuacct.stat is in USER_HZ ticks (100 per second).
      const s = kv(cpu('cpuacct.stat'));
      cpuUsage = { total: num(cpu('cpuacct.usage')), user: (s['user'] ?? 0) * 10_000_000, kernel: (s['system'] ?? 0) * 10_000_000 };
    }
    return {
      memory: v2
        ? { usage: num(mem('memory.current')), limit: num(mem('memory.max')), maxUsage: num(mem('memory.peak')), cache: raw['file'] ?? 0, raw }
        : { usage: num(mem('memory.usage_in_bytes')), limit: num(mem('memory.limit_in_bytes')), maxUsage: num(mem('memory.max_usage_in_bytes')), cache: raw['cache'] ?? 0, raw },
      cpu: cpuUsage,
      pids: { current: num(pids('pids.current')), limit: num(pids('pids.max')) },
    };
  }

  /** Host pids in the cgroup. */
  pids(): number[] {
    const d = this.dir(this.paths.version === 2 ? '' : 'pids') ?? Object.values(this.paths.dirs)[0];
    return (read(path.join(d ?? '/nonexistent', 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  }

  /** Removes the directories once their processes are gone (waits up to ms for the last to die). */
  destroy(ms = 5_000): void {
    const deadline = Date.now() + ms;
    for (const dir of new Set(Object.values(this.paths.dirs))) {
      for (;;) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || Date.now() > deadline) break;
          if (code !== 'EBUSY') throw e;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
      }
    }
  }
}
