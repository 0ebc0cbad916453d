// The kernel's /proc: per-process directories generated from the Sentry's own
// processes, tasks and address spaces (never from the host), plus the
// system-wide files programs commonly read.
import type { Kernel } from './kernel';
import { capsStatus } from './caps';
import type { Task } from './task';
import type { Process } from './process';
import type { ProcDir, ProcFile, ProcNode, ProcProvider } from '../vfs/procfs';
import { fdDir, mountsText } from '../vfs/procfs';
import { pathOf } from '../vfs/path';
import { PROT_READ, PROT_WRITE, PROT_EXEC } from '../../src/abi/linux';
import { ENOENT } from '../../src/abi/errno';
import { totalmem, freemem } from 'node:os';

function leader(k: Kernel, pid: number): Task | null {
  const p = k.processes.get(pid);
  return p && !p.zombie ? ([...p.tasks][0] ?? null) : null;
}

const file = (read: (t: Task) => string | Uint8Array): ProcFile => ({ kind: 'file', read });
const nul = (xs: string[]) => Buffer.from(xs.map((x) => x + '\0').join(''), 'utf8');

function maps(t: Task): string {
  return t.mm.mappings().map((v) => {
    const perms = `${v.prot & PROT_READ ? 'r' : '-'}${v.prot & PROT_WRITE ? 'w' : '-'}${v.prot & PROT_EXEC ? 'x' : '-'}${v.shared ? 's' : 'p'}`;
    const head = `${v.start.toString(16).padStart(8, '0')}-${v.end.toString(16).padStart(8, '0')} ${perms} ${v.fileOffset.toString(16).padStart(8, '0')} 00:00 0`;
    return v.name ? `${head.padEnd(72)} ${v.name}\n` : `${head}\n`;
  }).join('');
}

function state(p: Process): string {
  return p.zombie ? 'Z (zombie)' : 'S (sleeping)';
}

function stat(k: Kernel, p: Process, t: Task): string {
  const start = Number((p.startTimeNs - k.monotonicNs() + k.uptimeNs()) / 10_000_000n);
  const vsize = t.mm.mappings().reduce((n, v) => n + (v.end - v.start), 0);
  const f = [
    p.pid, `(${p.comm})`, state(p)[0], p.parent?.pid ?? 0, p.pgid, p.sid, 0, -1, 0x400000, 0, 0, 0, 0,
    0, 0, 0, 0, 20, 0, p.tasks.size, 0, start, vsize, 0, '18446744073709551615', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    p.exitSignal, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  ];
  return f.join(' ') + '\n';
}

function status(p: Process, t: Task): string {
  const c = t.creds;
  const vm = Math.round(t.mm.mappings().reduce((n, v) => n + (v.end - v.start), 0) / 1024);
  return [
    `Name:\t${p.comm}`, `Umask:\t${t.fs.umask.toString(8).padStart(4, '0')}`, `State:\t${state(p)}`,
    `Tgid:\t${p.pid}`, `Ngid:\t0`, `Pid:\t${p.pid}`, `PPid:\t${p.parent?.pid ?? 0}`, `TracerPid:\t0`,
    `Uid:\t${c.uid}\t${c.euid}\t${c.suid}\t${c.fsuid}`, `Gid:\t${c.gid}\t${c.egid}\t${c.sgid}\t${c.fsgid}`,
    `FDSize:\t${t.fds.limit}`, `Groups:\t${c.groups.join(' ')}`, `VmSize:\t${vm} kB`, `Threads:\t${p.tasks.size}`,
    `SigPnd:\t${t.pending.toString(16).padStart(16, '0')}`, `ShdPnd:\t${p.pending.toString(16).padStart(16, '0')}`,
    `SigBlk:\t${t.sigmask.toString(16).padStart(16, '0')}`,
    ...capsStatus(c),
  ].join('\n') + '\n';
}

function pidDir(k: Kernel, pid: number): ProcDir | null {
  const target = () => leader(k, pid);
  if (!target()) return null;
  const entries: Record<string, (t: Task) => ProcNode | null> = {
    exe: () => ({
      kind: 'symlink',
      readlink: () => target()?.proc.exe?.displayName() ?? -ENOENT,
      follow: () => target()?.proc.exe ?? null,
    }),
    cwd: () => ({ kind: 'symlink', readlink: () => { const x = target(); return x ? pathOf(x.fs.cwd, x.fs.root) ?? '/' : -ENOENT; }, follow: () => target()?.fs.cwd ?? null }),
    root: () => ({ kind: 'symlink', readlink: () => '/', follow: () => target()?.fs.root ?? null }),
    fd: () => fdDir(() => target()),
    cmdline: () => file(() => nul(target()?.proc.argv ?? [])),
    environ: () => file(() => nul(target()?.proc.envp ?? [])),
    comm: () => file(() => `${target()?.proc.comm ?? ''}\n`),
    maps: () => file(() => { const x = target(); return x ? maps(x) : ''; }),
    stat: () => file(() => { const x = target(); return x ? stat(k, x.proc, x) : ''; }),
    status: () => file(() => { const x = target(); return x ? status(x.proc, x) : ''; }),
    mounts: () => file(() => mountsText(k.vfs)),
  };
  return {
    kind: 'dir',
    list: () => Object.keys(entries),
    lookup: (t, name) => entries[name]?.(t) ?? null,
  };
}

export function procProvider(k: Kernel): ProcProvider {
  const top: Record<string, ProcFile> = {
    mounts: file(() => mountsText(k.vfs)),
    uptime: file(() => {
      const s = Number(k.uptimeNs()) / 1e9;
      return `${s.toFixed(2)} ${s.toFixed(2)}\n`;
    }),
    meminfo: file(() => `MemTotal:       ${Math.round(totalmem() / 1024)} kB\nMemFree:        ${Math.round(freemem() / 1024)} kB\nMemAvailable:   ${Math.round(freemem() / 1024)} kB\n`),
    version: file(() => 'Linux version 6.1.0 (runsc-ts) #1 SMP\n'),
    loadavg: file(() => `0.00 0.00 0.00 1/${k.processes.size} ${k.processes.size}\n`),
    stat: file(() => `cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\nbtime ${Math.floor(Number(k.realtimeNs() - k.uptimeNs()) / 1e9)}\nprocesses ${k.processes.size}\n`),
  };
  return {
    root: {
      kind: 'dir',
      list: () => [...[...k.processes.values()].filter((p) => !p.zombie).map((p) => String(p.pid)), ...Object.keys(top)],
      lookup: (_t, name) => (/^\d+$/.test(name) ? pidDir(k, Number(name)) : top[name] ?? null),
    },
  };
}
