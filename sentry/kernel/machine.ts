// What the sandbox says about its machine, in one place for uname, sysinfo,
// sched_getaffinity, /proc and /sys: one CPU (every stub runs on the Sentry's
// CPU), the kernel release, and memory figures. MemTotal is the sandbox's
// memory limit; every other memory figure is the sandbox's own use of its
// memory file (the pages committed to it), so nothing about other host
// processes shows.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Kernel } from './kernel';

export const CPUS = 1;
export const RELEASE = '6.1.0';
export const VERSION = '#1 SMP runsc-ts';

export interface Memory { total: number; used: number; free: number }

/** A cgroup memory limit file's value in bytes, or null for none ("max", absent, or unreadable). */
function cgroupLimit(path: string): number | null {
  try {
    const v = Number(readFileSync(path, 'utf8').trim());
    // cgroup v1 says "no limit" with a huge number near 2^63.
    return Number.isFinite(v) && v > 0 && v < 2 ** 62 ? v : null;
  } catch {
    return null;
  }
}

/**
 * The sandbox's memory when nothing sets it: the host's RAM, or the memory
 * limit of the cgroup the Sentry runs in when that is smaller.
 */
export function ramBytes(): number {
  let limit = totalmem();
  let cgroups = '';
  try { cgroups = readFileSync('/proc/self/cgroup', 'utf8'); } catch { return limit; }
  for (const line of cgroups.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    const file = controllers === '' ? `/sys/fs/cgroup${path}/memory.max`
      : controllers!.split(',').includes('memory') ? `/sys/fs/cgroup/memory${path}/memory.limit_in_bytes` : null;
    const v = file ? cgroupLimit(file) : null;
    if (v !== null) limit = Math.min(limit, v);
  }
  return limit;
}

export function memory(k: Kernel): Memory {
  const total = k.mf.limit;
  const used = Math.min(total, k.mf.committedBytes());
  return { total, used, free: total - used };
}
