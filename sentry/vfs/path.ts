// Turning a Location back into a path (getcwd, /proc/self/fd, /proc/self/cwd).
import type { Location } from './dentry';

/**
 * The absolute path of loc as seen from root (the global root when omitted).
 * Returns null when loc is not under root.
 */
export function pathOf(loc: Location, root?: Location): string | null {
  const parts: string[] = [];
  let { mnt, d } = loc;
  for (;;) {
    if (root && mnt === root.mnt && d === root.d) break;
    if (d === mnt.root) {
      if (!mnt.parent || !mnt.mountpoint) {
        if (root) return null;
        break;
      }
      d = mnt.mountpoint;
      mnt = mnt.parent;
      continue;
    }
    if (!d.parent) return null;
    parts.push(d.name);
    d = d.parent;
  }
  return '/' + parts.reverse().join('/');
}

/** What readlink(/proc/self/fd/N) shows: the path, with " (deleted)" once unlinked. */
export function displayPath(loc: Location): string {
  const p = pathOf(loc) ?? '/';
  return loc.d.dead ? `${p} (deleted)` : p;
}
