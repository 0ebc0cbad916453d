// The system-wide files of /proc: memory, CPU and load figures, the kernel's
// version and limits, and /proc/sys. Every value comes from the sandbox
// (its processes, its memory file, its CPU accounting), never from the host.
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import type { Kernel } from './kernel';
import type { ProcDir, ProcFile, ProcNode } from '../vfs/procfs';
import { mountsText } from '../vfs/procfs';
import { processCpu } from './cputime';
import { CPUS, memory, RELEASE, VERSION } from './machine';
import type { Task } from './task';

export const TICK_NS = 10_000_000n;

export const file = (read: (t: Task) => string | Uint8Array, mode?: number): ProcFile => ({ kind: 'file', read, mode });

/** Highest pid the sandbox hands out (Linux's default on 64-bit). */
const PID_MAX = 4194304;
const FILE_MAX = 9223372036854775807n;
const NR_OPEN = 1048576;

/** CPU time of every live process and of everything reaped, in ticks, and the idle rest. */
function cpuTicks(k: Kernel): { user: number; system: number; idle: number } {
  let user = 0n;
  let sys = 0n;
  for (const p of k.processes.values()) {
    const c = processCpu(p);
    user += c.userNs + (p === k.init ? p.childCpu.userNs : 0n);
    sys += c.sysNs + (p === k.init ? p.childCpu.sysNs : 0n);
  }
  const up = k.uptimeNs() * BigInt(CPUS);
  const idle = up > user + sys ? up - user - sys : 0n;
  return { user: Number(user / TICK_NS), system: Number(sys / TICK_NS), idle: Number(idle / TICK_NS) };
}

function procStat(k: Kernel): string {
  const c = cpuTicks(k);
  const line = (name: string) => `${name} ${c.user} 0 ${c.system} ${c.idle} 0 0 0 0 0 0\n`;
  const running = [...k.processes.values()].filter((p) => !p.zombie).length;
  let s = line('cpu ');
  for (let i = 0; i < CPUS; i++) s += line(`cpu${i}`);
  return s + 'intr 0\nctxt 0\n' +
    `btime ${Math.floor(Number((k.realtimeNs() - k.uptimeNs()) / 1_000_000_000n))}\n` +
    `processes ${k.lastPid()}\nprocs_running 1\nprocs_blocked ${Math.max(0, running - 1)}\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n`;
}

function meminfo(k: Kernel): string {
  const m = memory(k);
  const row = (name: string, bytes: number) => `${`${name}:`.padEnd(16)}${String(Math.floor(bytes / 1024)).padStart(8)} kB\n`;
  return row('MemTotal', m.total) + row('MemFree', m.free) + row('MemAvailable', m.free) + row('Buffers', 0) +
    row('Cached', 0) + row('SwapCached', 0) + row('Active', m.used) + row('Inactive', 0) + row('SwapTotal', 0) +
    row('SwapFree', 0) + row('Dirty', 0) + row('Writeback', 0) + row('AnonPages', m.used) + row('Mapped', 0) +
    row('Shmem', 0) + row('Slab', 0) + row('SReclaimable', 0) + row('SUnreclaim', 0) + row('CommitLimit', m.total) +
    row('Committed_AS', m.used);
}

function cpuinfo(): string {
  // The CPU is the host's (its cpuid answers the workload directly); the sandbox shows CPUS of it.
  const model = cpus()[0]?.model ?? 'unknown';
  const mhz = cpus()[0]?.speed ?? 0;
  let s = '';
  for (let i = 0; i < CPUS; i++) {
    s += `processor\t: ${i}\nvendor_id\t: ${/AMD/.test(model) ? 'AuthenticAMD' : 'GenuineIntel'}\nmodel name\t: ${model}\n` +
      `cpu MHz\t\t: ${mhz.toFixed(3)}\ncache size\t: 0 KB\nphysical id\t: 0\nsiblings\t: ${CPUS}\ncore id\t\t: ${i}\n` +
      `cpu cores\t: ${CPUS}\napicid\t\t: ${i}\nfpu\t\t: yes\nwp\t\t: yes\nbogomips\t: ${(mhz * 2).toFixed(2)}\n` +
      `clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\n\n`;
  }
  return s;
}

function uptime(k: Kernel): string {
  const up = Number(k.uptimeNs()) / 1e9;
  const idle = cpuTicks(k).idle / 100;
  return `${up.toFixed(2)} ${idle.toFixed(2)}\n`;
}

function loadavg(k: Kernel): string {
  const live = [...k.processes.values()].filter((p) => !p.zombie);
  const threads = live.reduce((n, p) => n + p.tasks.size, 0);
  return `0.00 0.00 0.00 1/${threads} ${k.lastPid()}\n`;
}

const FILESYSTEMS = ['sysfs', 'tmpfs', 'proc', 'devtmpfs', 'devpts', 'overlay', '9p'];

function dir(entries: Record<string, ProcNode>): ProcDir {
  return { kind: 'dir', list: () => Object.keys(entries), lookup: (_t, n) => entries[n] ?? null };
}

const value = (v: () => string | number | bigint): ProcFile => file(() => `${v()}\n`);

export function systemFiles(k: Kernel): Record<string, ProcNode> {
  const bootId = randomUUID();
  return {
    mounts: file(() => mountsText(k.vfs)),
    stat: file(() => procStat(k)),
    meminfo: file(() => meminfo(k)),
    cpuinfo: file(cpuinfo),
    uptime: file(() => uptime(k)),
    loadavg: file(() => loadavg(k)),
    version: file(() => `Linux version ${RELEASE} (runsc-ts) ${VERSION}\n`),
    filesystems: file(() => FILESYSTEMS.map((f) => `nodev\t${f}\n`).join('')),
    sys: dir({
      kernel: dir({
        hostname: value(() => k.hostname),
        osrelease: value(() => RELEASE),
        ostype: value(() => 'Linux'),
        version: value(() => VERSION),
        pid_max: value(() => PID_MAX),
        ngroups_max: value(() => 65536),
        random: dir({
          boot_id: value(() => bootId),
          uuid: value(() => randomUUID()),
        }),
      }),
      vm: dir({
        overcommit_memory: value(() => 0),
        max_map_count: value(() => 65530),
      }),
      fs: dir({
        'file-max': value(() => FILE_MAX),
        nr_open: value(() => NR_OPEN),
      }),
    }),
  };
}
