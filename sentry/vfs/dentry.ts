// Dentries and mounts: the VFS's name tree. A Dentry names one inode under
// its parent; a Mount grafts a filesystem's root dentry over a mountpoint
// dentry. A Location (mount + dentry) is what a path resolves to and what
// root, cwd and an open directory hold.
//
// Dentries are cached in their parent (like Linux's dcache) unless the
// filesystem asks not to (procfs, whose names are generated per task).
// Every name change goes through the VFS, which keeps this tree in step.
import type { Inode } from './inode';

export class Mount {
  constructor(
    readonly root: Dentry,
    /** The mount this one is mounted in; null for the root mount. */
    readonly parent: Mount | null,
    /** The dentry in parent this mount covers. */
    readonly mountpoint: Dentry | null,
    /** The filesystem type shown in /proc/mounts. */
    readonly fsType: string,
    /** Mount options shown in /proc/mounts. */
    readonly options: string,
  ) {}
}

export class Dentry {
  /** Cached children by name. */
  readonly children = new Map<string, Dentry>();
  /** The mount covering this dentry, if one does. */
  mounted: Mount | null = null;
  /** Set once the name was unlinked or replaced. */
  dead = false;

  constructor(public name: string, public parent: Dentry | null, readonly inode: Inode) {}

  isRoot(): boolean { return this.parent === null; }
}

export interface Location {
  mnt: Mount;
  d: Dentry;
}

export function sameLocation(a: Location, b: Location): boolean {
  return a.mnt === b.mnt && a.d === b.d;
}
