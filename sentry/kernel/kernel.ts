// The kernel: everything one sandbox shares. Filled in by the kernel core.
import type { VFS } from '../vfs/vfs';

export interface Kernel {
  readonly vfs: VFS;
}
