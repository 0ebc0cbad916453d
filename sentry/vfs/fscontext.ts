// A task's filesystem context: root, working directory and umask. Shared by
// tasks created with CLONE_FS; fork() without CLONE_FS clones it.
import type { Location } from './dentry';

export class FSContext {
  constructor(public root: Location, public cwd: Location, public umask = 0o022) {}

  clone(): FSContext {
    return new FSContext({ ...this.root }, { ...this.cwd }, this.umask);
  }
}
