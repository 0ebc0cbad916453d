// Permission checks: mode bits against a task's filesystem credentials, with
// root (fsuid 0) bypassing read/write checks and execute checks on
// directories, as CAP_DAC_OVERRIDE does on Linux.
import type { Credentials, Task } from '../kernel/task';
import { S_IFDIR, S_IFMT, S_ISVTX } from './linuxconst';

export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

export interface PermSubject { uid: number; gid: number; groups: number[] }

export function fsSubject(t: Task | null): PermSubject | null {
  if (!t) return null;
  const c: Credentials = t.creds;
  return { uid: c.fsuid, gid: c.fsgid, groups: c.groups };
}

/** access(2) without AT_EACCESS checks with the real ids. */
export function realSubject(t: Task | null): PermSubject | null {
  if (!t) return null;
  return { uid: t.creds.uid, gid: t.creds.gid, groups: t.creds.groups };
}

/** Whether subject may access a file with (mode, uid, gid) for want (MAY_* bits). null subject: the kernel itself. */
export function permits(s: PermSubject | null, mode: number, uid: number, gid: number, want: number): boolean {
  if (!s) return true;
  if (s.uid === 0) {
    if ((want & MAY_EXEC) === 0) return true;
    return (mode & S_IFMT) === S_IFDIR || (mode & 0o111) !== 0;
  }
  let bits: number;
  if (s.uid === uid) bits = mode >> 6;
  else if (s.gid === gid || s.groups.includes(gid)) bits = mode >> 3;
  else bits = mode;
  return (bits & 7 & want) === want;
}

/** The sticky-directory rule for unlink/rename: may s remove an entry owned by fileUid from a dir? */
export function stickyAllows(s: PermSubject | null, dirMode: number, dirUid: number, fileUid: number): boolean {
  if (!s || s.uid === 0 || (dirMode & S_ISVTX) === 0) return true;
  return s.uid === fileUid || s.uid === dirUid;
}
