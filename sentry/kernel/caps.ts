// Capabilities: each task's effective, permitted, inheritable, bounding and
// ambient sets, and Linux's rules for how they follow uid changes (the
// "root is special" emulation of capabilities(7)) and execve. Files carry
// no capabilities here, so across execve root gets its bounding set and
// anyone else only its ambient set.
import { CAP_NAMES } from '../../src/abi/caps';
import type { Credentials } from './task';

export const CAP_CHOWN = 0;
export const CAP_DAC_OVERRIDE = 1;
export const CAP_DAC_READ_SEARCH = 2;
export const CAP_FOWNER = 3;
export const CAP_FSETID = 4;
export const CAP_KILL = 5;
export const CAP_SETGID = 6;
export const CAP_SETUID = 7;
export const CAP_SETPCAP = 8;
export const CAP_SYS_ADMIN = 21;
export const CAP_SYS_NICE = 23;
export const CAP_SYS_RESOURCE = 24;
export const CAP_SYSLOG = 34;
export const CAP_LAST_CAP = CAP_NAMES.length - 1;
export const ALL_CAPS = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n;
/** The capabilities that follow fsuid 0 (CAP_FS_MASK): CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE, MKNOD, MAC_OVERRIDE. */
const FS_CAPS = 0x1fn | (1n << 9n) | (1n << 27n) | (1n << 32n);

/** A task's capability sets; kept in its Credentials so that clone copies them. */
export interface CapSets {
  eff: bigint;
  prm: bigint;
  inh: bigint;
  bnd: bigint;
  amb: bigint;
  /** PR_SET_KEEPCAPS: permitted survives the switch away from uid 0. */
  keep: boolean;
}

/** c's capability sets; credentials made without them start as Linux's do, full for uid 0, empty otherwise. */
export function capsOf(c: Credentials): CapSets {
  if (!c.caps) {
    const all = c.euid === 0 ? ALL_CAPS : 0n;
    c.caps = { eff: all, prm: c.uid === 0 || c.euid === 0 ? ALL_CAPS : 0n, inh: 0n, bnd: ALL_CAPS, amb: 0n, keep: false };
  }
  return c.caps;
}

export const capable = (c: Credentials, cap: number): boolean => (capsOf(c).eff & (1n << BigInt(cap))) !== 0n;

/**
 * Applies a change of uids (old ids saved by the caller before changing c)
 * to the capability sets, as Linux's cap_emulate_setxuid and the fsuid rule.
 */
export function uidsChanged(c: Credentials, old: { uid: number; euid: number; suid: number; fsuid: number }): void {
  const s = capsOf(c);
  const hadRoot = old.uid === 0 || old.euid === 0 || old.suid === 0;
  const hasRoot = c.uid === 0 || c.euid === 0 || c.suid === 0;
  if (hadRoot && !hasRoot && !s.keep) {
    s.prm = 0n;
    s.amb = 0n;
  }
  if (old.euid === 0 && c.euid !== 0) s.eff = 0n;
  if (old.euid !== 0 && c.euid === 0) s.eff = s.prm;
  if (old.fsuid === 0 && c.fsuid !== 0) s.eff &= ~FS_CAPS;
  if (old.fsuid !== 0 && c.fsuid === 0) s.eff |= s.prm & FS_CAPS;
  s.eff &= s.prm;
}

/** execve: new sets from the old ones (files have no capabilities of their own). */
export function execCaps(c: Credentials): void {
  const s = capsOf(c);
  s.amb &= s.prm & s.inh;
  const root = c.uid === 0 || c.euid === 0;
  s.prm = root ? (s.inh | s.bnd) & ALL_CAPS : s.amb;
  s.eff = c.euid === 0 ? s.prm : s.amb;
  s.keep = false;
}

/** capset's rules: 0 or a reason to refuse (EPERM). */
export function capsetAllowed(c: Credentials, eff: bigint, prm: bigint, inh: bigint): boolean {
  const s = capsOf(c);
  if (!capable(c, CAP_SETPCAP) && inh & ~(s.inh | s.prm)) return false;
  if (inh & ~(s.inh | s.bnd)) return false;
  if (prm & ~s.prm) return false;
  return (eff & ~prm) === 0n;
}

/** /proc/[pid]/status lines for the sets. */
export function capsStatus(c: Credentials): string[] {
  const s = capsOf(c);
  const hex = (v: bigint) => v.toString(16).padStart(16, '0');
  return [`CapInh:\t${hex(s.inh)}`, `CapPrm:\t${hex(s.prm)}`, `CapEff:\t${hex(s.eff)}`, `CapBnd:\t${hex(s.bnd)}`, `CapAmb:\t${hex(s.amb)}`];
}
