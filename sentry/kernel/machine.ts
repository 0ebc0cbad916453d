// What the sandbox says about its machine, in one place for uname, sysinfo,
// sched_getaffinity, /proc and /sys: one CPU (every stub runs on the Sentry's
// CPU), the kernel release, and memory figures. MemTotal is the host's RAM
// (what the sandbox may use); every other memory figure is the sandbox's own
// use of its memory file, so nothing about other host processes shows.
import { totalmem } from 'node:os';
import type { Kernel } from './kernel';

export const CPUS = 1;
export const RELEASE = '6.1.0';
export const VERSION = '#1 SMP runsc-ts';

export interface Memory { total: number; used: number; free: number }

/** The sandbox's RAM: the host's, which it may use all of. */
export function ramBytes(): number {
  return totalmem();
}

export function memory(k: Kernel): Memory {
  const total = ramBytes();
  const used = Math.min(total, k.mf.residentBytes());
  return { total, used, free: total - used };
}
