// The kernel's /proc: per-process directories generated from the Sentry's own
// processes, tasks and address spaces (never from the host). The system-wide
// files are in procsys.ts.
import type { Kernel } from './kernel';
import { capsStatus } from './caps';
import type { Task } from './task';
import type { Process } from './process';
import { SIG_DFL, SIG_IGN } from './process';
import { processCpu, taskCpu, type CpuTime } from './cputime';
import type { ProcDir, ProcFile, ProcNode, ProcProvider } from '../vfs/procfs';
import { fdDir, mountId, mountinfoText, mountsText } from '../vfs/procfs';
import { pathOf } from '../vfs/path';
import type { Vma } from '../mm/address-space';
import { PAGE } from '../mm/memfile';
import { PROT_READ, PROT_WRITE, PROT_EXEC } from '../../src/abi/linux';
import { EACCES, EINVAL, ENOENT } from '../../src/abi/errno';
import { CPUS } from './machine';
import { oomScoreAdj, setOomScoreAdj, OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX } from './oom';
import { file, systemFiles, TICK_NS } from './procsys';

const ticks = (ns: bigint): number => Number(ns / TICK_NS);
const O_CLOEXEC = 0o2000000;
const RLIM_INFINITY = Number.MAX_SAFE_INTEGER;

const nul = (xs: string[]) => Buffer.from(xs.map((x) => x + '\0').join(''), 'utf8');
const kB = (bytes: number): string => `${String(Math.round(bytes / 1024)).padStart(8)} kB`;

function firstTask(p: Process): Task | null {
  return p.zombie ? null : ([...p.tasks][0] ?? null);
}

function perms(v: Vma): string {
  return `${v.prot & PROT_READ ? 'r' : '-'}${v.prot & PROT_WRITE ? 'w' : '-'}${v.prot & PROT_EXEC ? 'x' : '-'}${v.shared ? 's' : 'p'}`;
}

function mapsLine(v: Vma): string {
  const head = `${v.start.toString(16).padStart(8, '0')}-${v.end.toString(16).padStart(8, '0')} ${perms(v)} ${v.fileOffset.toString(16).padStart(8, '0')} 00:00 0`;
  return v.name ? `${head.padEnd(72)} ${v.name}\n` : `${head}\n`;
}

/** Resident bytes of one mapping: the pages of the memory file behind it that hold data. */
function vmaRss(k: Kernel, v: Vma): number {
  return v.pastEof ? 0 : k.mf.residentPages(v.off, v.end - v.start) * PAGE;
}

/** Sizes of an address space, in bytes. */
interface MemSizes { vsize: number; rss: number; rssFile: number; rssShmem: number; data: number; stack: number; exe: number }

function memSizes(k: Kernel, t: Task): MemSizes {
  const s: MemSizes = { vsize: 0, rss: 0, rssFile: 0, rssShmem: 0, data: 0, stack: 0, exe: 0 };
  for (const v of t.mm.mappings()) {
    const len = v.end - v.start;
    const rss = vmaRss(k, v);
    s.vsize += len;
    s.rss += rss;
    if (v.name.startsWith('/')) s.rssFile += rss;
    else if (v.shared) s.rssShmem += rss;
    if (v.name === '[stack]') s.stack += len;
    else if (!v.shared && v.prot & PROT_WRITE) s.data += len;
    if (v.prot & PROT_EXEC && v.name === t.proc.exe?.displayName()) s.exe += len;
  }
  return s;
}

function stateOf(p: Process, t: Task | null, reader: Task): string {
  if (p.zombie || !t) return 'Z (zombie)';
  return t === reader ? 'R (running)' : 'S (sleeping)';
}

/** Signal masks of ignored and caught signals, as status and stat show them. */
function handled(p: Process): { ign: bigint; cgt: bigint } {
  let ign = 0n;
  let cgt = 0n;
  p.actions.forEach((a, sig) => {
    if (sig === 0) return;
    if (a.handler === SIG_IGN) ign |= 1n << BigInt(sig - 1);
    else if (a.handler !== SIG_DFL) cgt |= 1n << BigInt(sig - 1);
  });
  return { ign, cgt };
}

const NO_MEMORY: MemSizes = { vsize: 0, rss: 0, rssFile: 0, rssShmem: 0, data: 0, stack: 0, exe: 0 };

/** /proc/[pid]/stat; t is null for a zombie. */
function stat(k: Kernel, p: Process, t: Task | null, reader: Task, cpu: CpuTime, threads: number): string {
  const start = ticks(p.startTimeNs - k.monotonicNs() + k.uptimeNs());
  const m = t ? memSizes(k, t) : NO_MEMORY;
  const { ign, cgt } = handled(p);
  const kids = p.childCpu;
  const f = [
    t?.tid ?? p.pid, `(${p.comm})`, stateOf(p, t, reader)[0], p.parent?.pid ?? 0, p.pgid, p.sid, 0, -1, 0x400000,
    0, 0, 0, 0, ticks(cpu.userNs), ticks(cpu.sysNs), ticks(kids.userNs), ticks(kids.sysNs), 20, 0, threads, 0, start,
    m.vsize, m.rss / PAGE, p.rlimits[5]![0] === RLIM_INFINITY ? '18446744073709551615' : p.rlimits[5]![0],
    0, 0, 0, 0, 0, Number((t?.pending ?? 0n) & 0xffffffffn), Number((t?.sigmask ?? 0n) & 0xffffffffn),
    Number(ign & 0xffffffffn), Number(cgt & 0xffffffffn), 0, 0, 0, p.exitSignal, 0, 0, 0, 0, 0, 0, 0, 0,
    t?.mm.brkStart ?? 0, 0, 0, 0, 0, p.zombie ? p.exitStatus ?? 0 : 0,
  ];
  return f.join(' ') + '\n';
}

function status(k: Kernel, p: Process, t: Task, reader: Task, threads: number): string {
  const c = t.creds;
  const m = memSizes(k, t);
  const { ign, cgt } = handled(p);
  const hex = (x: bigint) => x.toString(16).padStart(16, '0');
  return [
    `Name:\t${p.comm}`, `Umask:\t${t.fs.umask.toString(8).padStart(4, '0')}`, `State:\t${stateOf(p, t, reader)}`,
    `Tgid:\t${p.pid}`, `Ngid:\t0`, `Pid:\t${t.tid}`, `PPid:\t${p.parent?.pid ?? 0}`, `TracerPid:\t0`,
    `Uid:\t${c.uid}\t${c.euid}\t${c.suid}\t${c.fsuid}`, `Gid:\t${c.gid}\t${c.egid}\t${c.sgid}\t${c.fsgid}`,
    `FDSize:\t${t.fds.limit}`, `Groups:\t${c.groups.join(' ')}`,
    `NStgid:\t${p.pid}`, `NSpid:\t${t.tid}`, `NSpgid:\t${p.pgid}`, `NSsid:\t${p.sid}`,
    `VmPeak:\t${kB(m.vsize)}`, `VmSize:\t${kB(m.vsize)}`, `VmLck:\t${kB(0)}`, `VmPin:\t${kB(0)}`,
    `VmHWM:\t${kB(m.rss)}`, `VmRSS:\t${kB(m.rss)}`, `RssAnon:\t${kB(m.rss - m.rssFile - m.rssShmem)}`,
    `RssFile:\t${kB(m.rssFile)}`, `RssShmem:\t${kB(m.rssShmem)}`, `VmData:\t${kB(m.data)}`, `VmStk:\t${kB(m.stack)}`,
    `VmExe:\t${kB(m.exe)}`, `VmLib:\t${kB(0)}`, `VmPTE:\t${kB(0)}`, `VmSwap:\t${kB(0)}`,
    `Threads:\t${threads}`, `SigQ:\t0/${p.rlimits[11]![0]}`,
    `SigPnd:\t${hex(t.pending)}`, `ShdPnd:\t${hex(p.pending)}`, `SigBlk:\t${hex(t.sigmask)}`,
    `SigIgn:\t${hex(ign)}`, `SigCgt:\t${hex(cgt)}`,
    ...capsStatus(c),
    `NoNewPrivs:\t${t.noNewPrivs ? 1 : 0}`, `Seccomp:\t0`,
    `Cpus_allowed:\t${((1 << CPUS) - 1).toString(16)}`, `Cpus_allowed_list:\t0${CPUS > 1 ? `-${CPUS - 1}` : ''}`,
    `Mems_allowed:\t1`, `Mems_allowed_list:\t0`,
  ].join('\n') + '\n';
}

function zombieStatus(p: Process): string {
  return `Name:\t${p.comm}\nState:\tZ (zombie)\nTgid:\t${p.pid}\nPid:\t${p.pid}\nPPid:\t${p.parent?.pid ?? 0}\nThreads:\t1\n`;
}

function statm(k: Kernel, t: Task): string {
  const m = memSizes(k, t);
  const pg = (b: number) => Math.ceil(b / PAGE);
  return `${pg(m.vsize)} ${pg(m.rss)} ${pg(m.rssFile + m.rssShmem)} ${pg(m.exe)} 0 ${pg(m.data + m.stack)} 0\n`;
}

function smaps(k: Kernel, t: Task): string {
  return t.mm.mappings().map((v) => {
    const rss = vmaRss(k, v);
    const shared = v.shared || v.backing.refs > 1;
    const flags = ['rd', 'wr', 'ex'].filter((_, i) => v.prot & [PROT_READ, PROT_WRITE, PROT_EXEC][i]!);
    if (v.shared) flags.push('sh');
    return mapsLine(v) + [
      `Size:           ${kB(v.end - v.start)}`, `KernelPageSize: ${kB(PAGE)}`, `MMUPageSize:    ${kB(PAGE)}`,
      `Rss:            ${kB(rss)}`, `Pss:            ${kB(shared ? rss / v.backing.refs : rss)}`,
      `Shared_Clean:   ${kB(0)}`, `Shared_Dirty:   ${kB(shared ? rss : 0)}`,
      `Private_Clean:  ${kB(0)}`, `Private_Dirty:  ${kB(shared ? 0 : rss)}`,
      `Referenced:     ${kB(rss)}`, `Anonymous:      ${kB(v.name.startsWith('/') || v.shared ? 0 : rss)}`,
      `Swap:           ${kB(0)}`, `Locked:         ${kB(0)}`, `VmFlags: ${flags.join(' ')}`,
    ].join('\n') + '\n';
  }).join('');
}

const LIMITS: [string, string][] = [
  ['Max cpu time', 'seconds'], ['Max file size', 'bytes'], ['Max data size', 'bytes'], ['Max stack size', 'bytes'],
  ['Max core file size', 'bytes'], ['Max resident set', 'bytes'], ['Max processes', 'processes'],
  ['Max open files', 'files'], ['Max locked memory', 'bytes'], ['Max address space', 'bytes'],
  ['Max file locks', 'locks'], ['Max pending signals', 'signals'], ['Max msgqueue size', 'bytes'],
  ['Max nice priority', ''], ['Max realtime priority', ''], ['Max realtime timeout', 'us'],
];

function limits(p: Process): string {
  const v = (n: number) => (n === RLIM_INFINITY ? 'unlimited' : String(n));
  const row = (a: string, b: string, c: string, d: string) => `${a.padEnd(25)} ${b.padEnd(20)} ${c.padEnd(20)} ${d.padEnd(10)}\n`;
  return row('Limit', 'Soft Limit', 'Hard Limit', 'Units') +
    LIMITS.map(([name, unit], i) => row(name, v(p.rlimits[i]![0]), v(p.rlimits[i]![1]), unit)).join('');
}

function fdinfoDir(k: Kernel, target: () => Task | null): ProcDir {
  return {
    kind: 'dir',
    mode: 0o500,
    list: () => target()?.fds.fds().map(String) ?? [],
    lookup: (_t, name) => {
      const tt = target();
      const fd = Number(name);
      const f = tt && /^\d+$/.test(name) ? tt.fds.get(fd) : undefined;
      if (!tt || !f) return null;
      return file((reader) => {
        const flags = f.flags | (tt.fds.getCloexec(fd) ? O_CLOEXEC : 0);
        const ino = f.stat(reader).ino;
        const mnt = f.loc ? mountId(k.vfs, f.loc.mnt) : 0;
        return `pos:\t${f.offset}\nflags:\t0${flags.toString(8).padStart(7, '0')}\nmnt_id:\t${mnt}\nino:\t${ino}\n`;
      });
    },
  };
}

function oomFile(p: Process): ProcFile {
  return {
    kind: 'file',
    mode: 0o644,
    read: () => `${oomScoreAdj(p)}\n`,
    write: (t, data) => {
      const s = Buffer.from(data).toString('utf8').trim();
      if (!/^-?\d+$/.test(s)) return -EINVAL;
      const v = Number(s);
      if (v < OOM_SCORE_ADJ_MIN || v > OOM_SCORE_ADJ_MAX) return -EINVAL;
      // Lowering it needs CAP_SYS_RESOURCE.
      if (v < oomScoreAdj(p) && t.creds.euid !== 0) return -EACCES;
      setOomScoreAdj(p, v);
      return data.length;
    },
  };
}

/** The files of /proc/[pid] (per process) and /proc/[pid]/task/[tid] (per thread: `thread` is set). */
function taskEntries(k: Kernel, p: Process, thread: Task | null): Record<string, (reader: Task) => ProcNode | null> {
  // A process's files describe its first live thread; a thread's describe that thread.
  const target = (): Task | null => (thread ? (thread.exited ? null : thread) : firstTask(p));
  const withTask = (fn: (x: Task, reader: Task) => string | Uint8Array, mode?: number) =>
    (): ProcFile => file((reader) => { const x = target(); return x ? fn(x, reader) : ''; }, mode);
  const cpu = (): CpuTime => (thread ? taskCpu(thread) : processCpu(p));
  const threads = () => p.tasks.size;
  const e: Record<string, (reader: Task) => ProcNode | null> = {
    exe: () => ({ kind: 'symlink', readlink: () => p.exe?.displayName() ?? -ENOENT, follow: () => p.exe ?? null }),
    cwd: () => ({ kind: 'symlink', readlink: () => { const x = target(); return x ? pathOf(x.fs.cwd, x.fs.root) ?? '/' : -ENOENT; }, follow: () => target()?.fs.cwd ?? null }),
    root: () => ({ kind: 'symlink', readlink: () => '/', follow: () => target()?.fs.root ?? null }),
    fd: () => fdDir(() => target()),
    fdinfo: () => fdinfoDir(k, target),
    cmdline: () => file(() => nul(p.argv)),
    environ: () => ({ ...file(() => nul(p.envp), 0o400), uid: target()?.creds.euid ?? 0, gid: target()?.creds.egid ?? 0 }),
    comm: () => ({
      ...file(() => `${p.comm}\n`, 0o644),
      // A process may rename its own threads (as prctl(PR_SET_NAME) does).
      write: (t, data) => {
        if (t.proc !== p) return -EINVAL;
        p.comm = Buffer.from(data).toString('utf8').replace(/\n$/, '').slice(0, 15);
        return data.length;
      },
    }),
    maps: withTask((x) => x.mm.mappings().map(mapsLine).join('')),
    smaps: withTask((x) => smaps(k, x)),
    stat: () => file((r) => stat(k, p, target(), r, cpu(), threads())),
    statm: withTask((x) => statm(k, x)),
    status: () => file((r) => { const x = target(); return x ? status(k, p, x, r, threads()) : zombieStatus(p); }),
    limits: () => file(() => limits(p)),
    mounts: () => file(() => mountsText(k.vfs)),
    mountinfo: () => file(() => mountinfoText(k.vfs)),
    cgroup: () => file(() => '0::/\n'),
    oom_score_adj: () => oomFile(p),
    oom_score: () => file(() => `${k.oom.score(p)}\n`),
  };
  if (!thread) e.task = () => taskDir(k, p);
  return e;
}

function dirOf(entries: Record<string, (reader: Task) => ProcNode | null>, uid?: number, gid?: number): ProcDir {
  return { kind: 'dir', uid, gid, list: () => Object.keys(entries), lookup: (t, name) => entries[name]?.(t) ?? null };
}

function taskDir(k: Kernel, p: Process): ProcDir {
  return {
    kind: 'dir',
    list: () => [...p.tasks].map((t) => String(t.tid)),
    lookup: (_t, name) => {
      const t = [...p.tasks].find((x) => String(x.tid) === name);
      return t ? dirOf(taskEntries(k, p, t), t.creds.euid, t.creds.egid) : null;
    },
  };
}

function pidDir(k: Kernel, pid: number): ProcDir | null {
  const p = k.processes.get(pid);
  if (!p) return null;
  const t = firstTask(p);
  return dirOf(taskEntries(k, p, null), t?.creds.euid, t?.creds.egid);
}

export function procProvider(k: Kernel): ProcProvider {
  const top = systemFiles(k);
  return {
    root: {
      kind: 'dir',
      list: () => [...[...k.processes.keys()].map(String), ...Object.keys(top)],
      lookup: (_t, name) => (/^\d+$/.test(name) ? pidDir(k, Number(name)) : top[name] ?? null),
    },
  };
}
