// devfs: the Sentry's /dev. Device files are implemented here, never opened
// on the host: null, zero, full, random, urandom (node:crypto, getrandom
// quality), tty (the caller's controlling terminal), console (the terminal
// runsc gives the sandbox, if any), ptmx (tty/devpts.ts), and the usual
// symlinks into /proc/self/fd. /dev/shm and /dev/pts are mounted by the VFS.
import { randomFillSync } from 'node:crypto';
import { ENOSPC, ENXIO } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import { DevPtsFS, makedev, PtmxInode } from './tty/devpts';
import { controllingTerminal, type Terminal } from './tty/terminal';
import type { Location } from './dentry';
import { FileDescription, type ReadResult, type Stat } from './file';
import { Inode, nowSpec, type TimeSpec } from './inode';
import { S_IFCHR } from './linuxconst';
import { MemFS, MemInode, newIno } from './memfs';

export { makedev };

type DevRead = (len: number) => ReadResult;
type DevWrite = (data: Uint8Array) => number;

/** What opening a device yields instead of a plain device file, if anything. */
type DevOpen = (t: Task, flags: number) => FileDescription | number | undefined;

interface DevSpec { major: number; minor: number; read: DevRead; write: DevWrite; open?: DevOpen }

const zeros: DevRead = (len) => new Uint8Array(len);
const discard: DevWrite = (d) => d.length;
const random: DevRead = (len) => {
  const b = new Uint8Array(len);
  randomFillSync(b);
  return b;
};

const DEVICES: Record<string, DevSpec> = {
  null: { major: 1, minor: 3, read: () => new Uint8Array(0), write: discard },
  zero: { major: 1, minor: 5, read: zeros, write: discard },
  full: { major: 1, minor: 7, read: zeros, write: () => -ENOSPC },
  random: { major: 1, minor: 8, read: random, write: discard },
  urandom: { major: 1, minor: 9, read: random, write: discard },
  tty: {
    major: 5, minor: 0, read: () => -ENXIO, write: () => -ENXIO,
    open: (t, flags) => controllingTerminal(t.kernel, t.proc)?.reopen(t, flags) ?? -ENXIO,
  },
};

export class DeviceInode extends Inode {
  readonly ino = newIno();
  readonly type = S_IFCHR;
  private readonly time: TimeSpec = nowSpec();
  constructor(readonly fs: MemFS, readonly spec: DevSpec) { super(); }

  stat(): Stat {
    const [s, ns] = this.time;
    return {
      dev: this.fs.dev, ino: this.ino, mode: S_IFCHR | 0o666, nlink: 1, uid: 0, gid: 0,
      rdev: makedev(this.spec.major, this.spec.minor), size: 0, blksize: 4096, blocks: 0,
      atimeSec: s, atimeNsec: ns, mtimeSec: s, mtimeNsec: ns, ctimeSec: s, ctimeNsec: ns,
    };
  }

  override prepareWrite(): number { return 0; }
  override truncate(size: number): number { return 0; }

  override open(t: Task, flags: number, loc: Location): FileDescription | number {
    const f = this.spec.open?.(t, flags);
    if (typeof f === 'object') f.loc ??= loc;
    return f ?? new DeviceFD(this, flags, loc);
  }
}

class DeviceFD extends FileDescription {
  constructor(readonly inode: DeviceInode, flags: number, loc: Location) { super(flags, loc); }
  override get positional(): boolean { return true; }
  override read(t: Task, len: number, offset: number): ReadResult { return this.inode.spec.read(len); }
  override write(t: Task, data: Uint8Array, offset: number): number { return this.inode.spec.write(data); }
  override lseek(t: Task, offset: number, whence: number): number { this.offset = 0; return 0; }
  override stat(t: Task): Stat { return this.inode.stat(); }
  override truncate(t: Task, size: number): number { return 0; }
  override fsync(t: Task): number { return 0; }
  override displayName(): string { return `/dev/${Object.entries(DEVICES).find(([, s]) => s === this.inode.spec)?.[0] ?? '?'}`; }
}

export class DevFS {
  readonly fs = new MemFS(false);
  readonly root: MemInode;
  readonly pts = new DevPtsFS();
  /** What /dev/console opens (setConsole); ENXIO until runsc gives the sandbox a terminal. */
  private console: Terminal | null = null;

  constructor() {
    const root = { uid: 0, gid: 0 };
    this.root = this.fs.newDir(0o755, root);
    for (const [name, spec] of Object.entries(DEVICES)) this.root.add(name, new DeviceInode(this.fs, spec));
    this.root.add('ptmx', new PtmxInode(this.fs, 0o666, this.pts));
    this.root.add('console', new DeviceInode(this.fs, {
      major: 5, minor: 1, read: () => -ENXIO, write: () => -ENXIO,
      open: (t, flags) => this.console?.reopen(t, flags) ?? -ENXIO,
    }));
    const links: [string, string][] = [
      ['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'],
      ['stderr', '/proc/self/fd/2'],
    ];
    for (const [name, target] of links) this.root.symlink(null, name, target, root);
    this.root.mkdir(null, 'shm', 0o1777, root);
    this.root.mkdir(null, 'pts', 0o755, root);
  }

  /** Makes /dev/console open term (a host terminal runsc was given). */
  setConsole(term: Terminal): void {
    this.console = term;
  }
}
