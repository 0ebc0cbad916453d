// A minimal sysfs: what glibc, procps and language runtimes read to count
// CPUs (/sys/devices/system/cpu/{online,possible,present}) and an empty
// /sys/fs/cgroup. Read-only; the CPU count is the sandbox's.
import { MemFS, type MemInode } from './memfs';
import { S_IFREG } from './linuxconst';

const SYSFS_MAGIC = 0x62656572;
const ROOT = { uid: 0, gid: 0 };

export class SysFS {
  readonly fs = new MemFS(false, SYSFS_MAGIC);
  readonly root: MemInode;

  constructor(cpus: number) {
    this.root = this.fs.newDir(0o555, ROOT);
    const range = cpus > 1 ? `0-${cpus - 1}\n` : '0\n';
    const cpu = this.dirs('devices/system/cpu');
    for (const name of ['online', 'possible', 'present']) this.file(cpu, name, range);
    for (let i = 0; i < cpus; i++) this.dirs(`devices/system/cpu/cpu${i}`);
    this.dirs('fs/cgroup');
    this.fs.readonly = true;
  }

  /** The directory at path under the root, made as needed. */
  private dirs(path: string): MemInode {
    let d = this.root;
    for (const name of path.split('/')) {
      const next = d.lookup(null, name);
      d = (typeof next === 'number' ? d.mkdir(null, name, 0o555, ROOT) : next) as MemInode;
    }
    return d;
  }

  private file(dir: MemInode, name: string, text: string): void {
    const f = dir.mknod(null, name, S_IFREG | 0o444, 0, ROOT) as MemInode;
    f.setData(new TextEncoder().encode(text));
  }
}
