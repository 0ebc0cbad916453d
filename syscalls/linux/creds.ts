// Credentials: the setuid and setgid families, setfsuid/setfsgid, setgroups,
// and capget/capset, with Linux's permission rules: CAP_SETUID (CAP_SETGID)
// allows any id, otherwise a task may only move between ids it already
// holds. Capability sets follow uid changes as capabilities(7) describes
// (sentry/kernel/caps.ts); a change of effective or filesystem ids makes
// the process non-dumpable, as Linux does with suid_dumpable at 0.
import type { SyscallRow, SyscallArgs } from '../types';
import type { Task, Credentials } from '../../sentry/kernel/task';
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EFAULT, EPERM, ESRCH } from '../../src/abi/errno';
import { CAP_SETGID, CAP_SETUID, capable, capsOf, capsetAllowed, uidsChanged } from '../../sentry/kernel/caps';

/** (uid_t)-1: leave this id as it is. */
const KEEP = 0xffffffff;
const CAP_V1 = 0x19980330;
const CAP_V2 = 0x20071026;
const CAP_V3 = 0x20080522;
const NGROUPS_MAX = 65536;

type Ids = 'uid' | 'gid';
const names = {
  uid: { r: 'uid', e: 'euid', s: 'suid', fs: 'fsuid', cap: CAP_SETUID },
  gid: { r: 'gid', e: 'egid', s: 'sgid', fs: 'fsgid', cap: CAP_SETGID },
} as const;

/** Commits new ids: capabilities follow uid changes; dumpability drops when effective or fs ids change. */
function commit(t: Task, kind: Ids, r: number, e: number, s: number, fs: number): void {
  const c = t.creds;
  const n = names[kind];
  const old = { uid: c.uid, euid: c.euid, suid: c.suid, fsuid: c.fsuid };
  const changedEffective = c[n.e] !== e || c[n.fs] !== fs;
  c[n.r] = r;
  c[n.e] = e;
  c[n.s] = s;
  c[n.fs] = fs;
  if (kind === 'uid') uidsChanged(c, old);
  if (changedEffective) t.proc.dumpable = 0;
}

function held(c: Credentials, kind: Ids): number[] {
  const n = names[kind];
  return [c[n.r], c[n.e], c[n.s]];
}

/** setresuid/setresgid: each id must be one already held, unless privileged. */
function setres(t: Task, kind: Ids, r: number, e: number, s: number): number {
  const c = t.creds;
  const n = names[kind];
  if (!capable(c, n.cap) && [r, e, s].some((id) => id !== KEEP && !held(c, kind).includes(id))) return -EPERM;
  const ne = e === KEEP ? c[n.e] : e;
  commit(t, kind, r === KEEP ? c[n.r] : r, ne, s === KEEP ? c[n.s] : s, ne);
  return 0;
}

/** setreuid/setregid: the saved id follows the new effective one when the real id is set or the effective one leaves it. */
function setre(t: Task, kind: Ids, r: number, e: number): number {
  const c = t.creds;
  const n = names[kind];
  if (!capable(c, n.cap)) {
    if (r !== KEEP && r !== c[n.r] && r !== c[n.e]) return -EPERM;
    if (e !== KEEP && !held(c, kind).includes(e)) return -EPERM;
  }
  const nr = r === KEEP ? c[n.r] : r;
  const ne = e === KEEP ? c[n.e] : e;
  const ns = r !== KEEP || (e !== KEEP && e !== c[n.r]) ? ne : c[n.s];
  commit(t, kind, nr, ne, ns, ne);
  return 0;
}

/** setuid/setgid: all ids when privileged, else the effective one to the real or saved id. */
function set(t: Task, kind: Ids, id: number): number {
  if (id === KEEP) return -EINVAL;
  const c = t.creds;
  const n = names[kind];
  if (capable(c, n.cap)) commit(t, kind, id, id, id, id);
  else if (id === c[n.r] || id === c[n.s]) commit(t, kind, c[n.r], id, c[n.s], id);
  else return -EPERM;
  return 0;
}

/** setfsuid/setfsgid: returns the old id whether or not it changed. */
function setfs(t: Task, kind: Ids, id: number): number {
  const c = t.creds;
  const n = names[kind];
  const old = c[n.fs];
  if (id !== KEEP && (capable(c, n.cap) || [...held(c, kind), old].includes(id))) commit(t, kind, c[n.r], c[n.e], c[n.s], id);
  return old;
}

function setgroups(t: Task, a: SyscallArgs): number {
  const n = a.int(0);
  if (n < 0 || n > NGROUPS_MAX) return -EINVAL;
  if (!capable(t.creds, CAP_SETGID)) return -EPERM;
  const raw = n ? t.mm.read(a.u64(1), n * 4) : new Uint8Array(0);
  if (!raw) return -EFAULT;
  const dv = new DataView(raw.buffer);
  t.creds.groups = Array.from({ length: n }, (_, i) => dv.getUint32(i * 4, true));
  return 0;
}

/** Reads a cap_user_header_t: the number of 32-bit words per set, or -errno (an unknown version is answered with ours). */
function capHeader(t: Task, addr: number, probe: boolean): { words: number; pid: number } | number {
  const raw = t.mm.read(addr, 8);
  if (!raw) return -EFAULT;
  const dv = new DataView(raw.buffer, raw.byteOffset, 8);
  const version = dv.getUint32(0, true);
  const words = version === CAP_V1 ? 1 : version === CAP_V2 || version === CAP_V3 ? 2 : 0;
  if (!words) {
    if (!t.mm.writeU32(addr, CAP_V3)) return -EFAULT;
    return probe ? 0 : -EINVAL;
  }
  return { words, pid: dv.getInt32(4, true) };
}

function capget(t: Task, a: SyscallArgs): number {
  const h = capHeader(t, a.u64(0), a.u64(1) === 0);
  if (typeof h === 'number') return h;
  if (h.pid < 0) return -EINVAL;
  const target = h.pid === 0 ? t : t.kernel.taskByTid(h.pid);
  if (!target) return -ESRCH;
  if (!a.u64(1)) return 0;
  const s = capsOf(target.creds);
  const out = new DataView(new ArrayBuffer(12 * h.words));
  for (let i = 0; i < h.words; i++) {
    const word = (v: bigint) => Number((v >> BigInt(32 * i)) & 0xffffffffn);
    out.setUint32(12 * i, word(s.eff), true);
    out.setUint32(12 * i + 4, word(s.prm), true);
    out.setUint32(12 * i + 8, word(s.inh), true);
  }
  return t.mm.write(a.u64(1), new Uint8Array(out.buffer)) ? 0 : -EFAULT;
}

function capset(t: Task, a: SyscallArgs): number {
  const h = capHeader(t, a.u64(0), false);
  if (typeof h === 'number') return h;
  if (h.pid !== 0 && h.pid !== t.tid) return -EPERM;
  const raw = t.mm.read(a.u64(1), 12 * h.words);
  if (!raw) return -EFAULT;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const set = (field: number) => {
    let v = 0n;
    for (let i = 0; i < h.words; i++) v |= BigInt(dv.getUint32(12 * i + field, true)) << BigInt(32 * i);
    return v;
  };
  const eff = set(0);
  const prm = set(4);
  const inh = set(8);
  if (!capsetAllowed(t.creds, eff, prm, inh)) return -EPERM;
  const s = capsOf(t.creds);
  s.eff = eff;
  s.prm = prm;
  s.inh = inh;
  s.amb &= prm & inh;
  return 0;
}

export const credsRows: SyscallRow[] = [
  { nr: SYS.setgroups, name: 'setgroups', handler: setgroups, args: ['int', 'ptr'], support: 'full' },
  { nr: SYS.setuid, name: 'setuid', handler: (t, a) => set(t, 'uid', a.uint(0)), args: ['int'], support: 'full' },
  { nr: SYS.setgid, name: 'setgid', handler: (t, a) => set(t, 'gid', a.uint(0)), args: ['int'], support: 'full' },
  { nr: SYS.setreuid, name: 'setreuid', handler: (t, a) => setre(t, 'uid', a.uint(0), a.uint(1)), args: ['int', 'int'], support: 'full' },
  { nr: SYS.setregid, name: 'setregid', handler: (t, a) => setre(t, 'gid', a.uint(0), a.uint(1)), args: ['int', 'int'], support: 'full' },
  { nr: SYS.setresuid, name: 'setresuid', handler: (t, a) => setres(t, 'uid', a.uint(0), a.uint(1), a.uint(2)), args: ['int', 'int', 'int'], support: 'full' },
  { nr: SYS.setresgid, name: 'setresgid', handler: (t, a) => setres(t, 'gid', a.uint(0), a.uint(1), a.uint(2)), args: ['int', 'int', 'int'], support: 'full' },
  { nr: SYS.setfsuid, name: 'setfsuid', handler: (t, a) => setfs(t, 'uid', a.uint(0)), args: ['int'], support: 'full' },
  { nr: SYS.setfsgid, name: 'setfsgid', handler: (t, a) => setfs(t, 'gid', a.uint(0)), args: ['int'], support: 'full' },
  { nr: SYS.capget, name: 'capget', handler: capget, args: ['ptr', 'ptr'], support: 'full' },
  { nr: SYS.capset, name: 'capset', handler: capset, args: ['ptr', 'ptr'], support: 'partial', note: 'Capabilities govern the credential, rlimit, scheduling and prctl calls; file permission checks follow fsuid 0.' },
];
