// Permission checks: mode bits against a task's filesystem credentials, then
// the capabilities that override them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
// CAP_FOWNER), as Linux's generic_permission. Capabilities follow fsuid 0 by
// default (caps.ts), so root bypasses the checks unless its sets say otherwise.
import { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, capsOf } from '../kernel/caps';
import type { Credentials, Task } from '../kernel/task';
import { S_IFDIR, S_IFMT, S_ISVTX } from './linuxconst';

export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

/** Filesystem ids and the effective capabilities that override permission checks. */
export interface PermSubject { uid: number; gid: number; groups: number[]; caps: bigint }

const has = (s: PermSubject, cap: number): boolean => (s.caps & (1n << BigInt(cap))) !== 0n;

export function fsSubject(t: Task | null): PermSubject | null {
  if (!t) return null;
  const c: Credentials = t.creds;
  return { uid: c.fsuid, gid: c.fsgid, groups: c.groups, caps: capsOf(c).eff };
}

/** access(2) without AT_EACCESS checks with the real ids: root's permitted capabilities, anyone else's none. */
export function realSubject(t: Task | null): PermSubject | null {
  if (!t) return null;
  const c = t.creds;
  return { uid: c.uid, gid: c.gid, groups: c.groups, caps: c.uid === 0 ? capsOf(c).prm : 0n };
}

/** Whether subject may access a file with (mode, uid, gid) for want (MAY_* bits). null subject: the kernel itself. */
export function permits(s: PermSubject | null, mode: number, uid: number, gid: number, want: number): boolean {
  if (!s) return true;
  let bits: number;
  if (s.uid === uid) bits = mode >> 6;
  else if (s.gid === gid || s.groups.includes(gid)) bits = mode >> 3;
  else bits = mode;
  if ((bits & 7 & want) === want) return true;
  const isDir = (mode & S_IFMT) === S_IFDIR;
  if (has(s, CAP_DAC_OVERRIDE) && ((want & MAY_EXEC) === 0 || isDir || (mode & 0o111) !== 0)) return true;
  return has(s, CAP_DAC_READ_SEARCH) && (want & MAY_WRITE) === 0 && (isDir || (want & MAY_EXEC) === 0);
}

/** Whether s may search every directory whatever its mode (CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH). */
export const searchesAnyDir = (s: PermSubject): boolean => has(s, CAP_DAC_OVERRIDE) || has(s, CAP_DAC_READ_SEARCH);

/** The sticky-directory rule for unlink/rename: may s remove an entry owned by fileUid from a dir? */
export function stickyAllows(s: PermSubject | null, dirMode: number, dirUid: number, fileUid: number): boolean {
  if (!s || has(s, CAP_FOWNER) || (dirMode & S_ISVTX) === 0) return true;
  return s.uid === fileUid || s.uid === dirUid;
}
