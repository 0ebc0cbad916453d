// VFS unit tests: the fd table, pipes, path resolution, the overlay and the
// file syscalls' handlers, against an in-memory lower tree and a fake task
// (no ptrace, no gofer). test/vfs_gofer.test.ts runs the same VFS on the real Gofer.
import { describe, expect, it } from 'vitest';
import {
  EACCES, EAGAIN, EBADF, EEXIST, EFAULT, EINVAL, EISDIR, ELOOP, EMFILE, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY,
  EPIPE, ERANGE, ESPIPE, EXDEV,
} from '../src/abi/errno';
import { Dirent64, DIRENT64_NAME_OFFSET, Stat as StatLayout } from '../src/abi/layout';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, F_DUPFD, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC,
  O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_TRUNC,
  O_WRONLY, RENAME_NOREPLACE, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, SEEK_END, SEEK_SET, SIGPIPE,
} from '../src/abi/linux';
import type { Task } from '../sentry/kernel/task';
import type { UserMemory } from '../sentry/mm/usermem';
import type { WaitQueue } from '../sentry/kernel/waiter';
import { FDTable } from '../sentry/vfs/fdtable';
import { anonStat, FileDescription, type Stat } from '../sentry/vfs/file';
import type { Inode } from '../sentry/vfs/inode';
import { MemFS, MemInode } from '../sentry/vfs/memfs';
import { newPipe } from '../sentry/vfs/pipe';
import { VFS } from '../sentry/vfs/vfs';
import { fsRows } from '../syscalls/linux/fs';
import type { SyscallArgs } from '../syscalls/types';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const ROOT = { uid: 0, gid: 0 };

// ---- a fake task ----

const MEM_BASE = 0x10000;
const MEM_SIZE = 1 << 20;

class FakeMem implements UserMemory {
  readonly buf = new Uint8Array(MEM_SIZE);
  private ok(addr: number, len: number): boolean { return addr >= MEM_BASE && addr + len <= MEM_BASE + MEM_SIZE; }
  read(addr: number, len: number): Uint8Array | null {
    return this.ok(addr, len) ? this.buf.slice(addr - MEM_BASE, addr - MEM_BASE + len) : null;
  }
  write(addr: number, data: Uint8Array): boolean {
    if (!this.ok(addr, data.length)) return false;
    this.buf.set(data, addr - MEM_BASE);
    return true;
  }
  readCString(addr: number, max: number): string | null | undefined {
    if (!this.ok(addr, 1)) return null;
    const start = addr - MEM_BASE;
    const end = this.buf.indexOf(0, start);
    if (end < 0 || end - start > max) return undefined;
    return dec(this.buf.subarray(start, end));
  }
  readU32(addr: number): number | null {
    const b = this.read(addr, 4);
    return b ? new DataView(b.buffer).getUint32(0, true) : null;
  }
  readU64(addr: number): bigint | null {
    const b = this.read(addr, 8);
    return b ? new DataView(b.buffer).getBigUint64(0, true) : null;
  }
  writeU32(addr: number, v: number): boolean {
    const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return this.write(addr, b);
  }
  writeU64(addr: number, v: bigint): boolean {
    const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, true); return this.write(addr, b);
  }
  /** Places a NUL-terminated string at addr; returns addr. */
  str(addr: number, s: string): number { this.write(addr, enc(s + '\0')); return addr; }
}

interface FakeTask extends Task { signals: number[]; mem: FakeMem }

function makeTask(vfs: VFS, uid = 0): FakeTask {
  const mem = new FakeMem();
  const signals: number[] = [];
  const t = {
    tid: 100, pid: 100, kernel: { vfs }, proc: { pid: 100, sid: 100, pgid: 100 }, mm: mem, mem, fds: new FDTable(), fs: vfs.newFSContext('/'),
    creds: { uid, euid: uid, suid: uid, fsuid: uid, gid: uid, egid: uid, sgid: uid, fsgid: uid, groups: [] },
    signals,
    waitFor(ready: () => boolean, queues: WaitQueue[]): Promise<number> {
      return new Promise((resolve) => {
        const unsubs: (() => void)[] = [];
        const check = (): void => {
          for (const u of unsubs) u();
          unsubs.length = 0;
          if (ready()) { resolve(0); return; }
          for (const q of queues) unsubs.push(q.subscribe(check));
        };
        check();
      });
    },
    readPath(addr: number): string | number {
      const s = mem.readCString(addr, 4096);
      if (s === null) return -EFAULT;
      if (s === undefined) return -ENAMETOOLONG;
      if (s === '') return -ENOENT;
      return s;
    },
    sendSignal(signo: number): void { signals.push(signo); },
  };
  return t as unknown as FakeTask;
}

function args(...v: (number | bigint)[]): SyscallArgs {
  const n = (i: number): number => Number(v[i] ?? 0);
  return {
    int: (i) => n(i) | 0,
    uint: (i) => n(i) >>> 0,
    u64: (i) => n(i),
    i64: (i) => n(i),
    big: (i) => BigInt(v[i] ?? 0),
  };
}

const H = Object.fromEntries(fsRows.map((r) => [r.name, r.handler]));
async function sys(t: Task, name: string, ...v: (number | bigint)[]): Promise<number> {
  const h = H[name];
  if (!h) throw new Error(`no row for ${name}`);
  return await h(t, args(...v));
}

// ---- a lower tree ----

function lowerTree(): Inode {
  const fs = new MemFS();
  const root = fs.newDir(0o755, ROOT);
  const etc = root.mkdir(null, 'etc', 0o755, ROOT) as MemInode;
  (etc.create(null, 'passwd', 0o644, ROOT) as MemInode).writeAt(0, enc('root:x:0:0\n'));
  (etc.create(null, 'secret', 0o600, ROOT) as MemInode).writeAt(0, enc('s3cret'));
  const usr = root.mkdir(null, 'usr', 0o755, ROOT) as MemInode;
  const lib = usr.mkdir(null, 'lib', 0o755, ROOT) as MemInode;
  (lib.create(null, 'libc.so', 0o755, ROOT) as MemInode).writeAt(0, enc('\x7fELF-libc'));
  root.symlink(null, 'lib', 'usr/lib', ROOT);
  root.symlink(null, 'abs', '/etc/passwd', ROOT);
  root.symlink(null, 'loop', 'loop', ROOT);
  root.symlink(null, 'up', '../../../etc', ROOT);
  root.symlink(null, 'dangling', 'nowhere/file', ROOT);
  const data = root.mkdir(null, 'data', 0o755, ROOT) as MemInode;
  for (const n of ['a', 'b', 'c']) (data.create(null, n, 0o644, ROOT) as MemInode).writeAt(0, enc(`lower ${n}`));
  const sub = data.mkdir(null, 'sub', 0o755, ROOT) as MemInode;
  (sub.create(null, 'deep', 0o644, ROOT) as MemInode).writeAt(0, enc('deep'));
  root.mkdir(null, 'tmp', 0o1777, ROOT);
  fs.readonly = true;
  return root;
}

function newVFS(): { vfs: VFS; lower: Inode } {
  const lower = lowerTree();
  return { vfs: new VFS({ gofer: null, overlay: true, lower }), lower };
}

function readAll(t: Task, f: FileDescription): string {
  const r = f.read(t, 1 << 16, 0);
  if (typeof r === 'number' || r instanceof Promise) throw new Error(`read: ${String(r)}`);
  return dec(r);
}

function open(vfs: VFS, t: Task, path: string, flags = O_RDONLY, mode = 0o644): FileDescription {
  const f = vfs.open(t, AT_FDCWD, path, flags, mode);
  if (typeof f === 'number') throw new Error(`open ${path}: errno ${-f}`);
  return f;
}

/** The names getdents64 returns for an open directory. */
function listNames(t: Task, f: FileDescription): string[] {
  const names: string[] = [];
  for (;;) {
    const b = f.getdents(t, 4096);
    if (typeof b === 'number') throw new Error(`getdents: ${b}`);
    if (b.length === 0) break;
    for (let off = 0; off < b.length;) {
      const h = Dirent64.decode(b, off);
      const nameEnd = b.indexOf(0, off + DIRENT64_NAME_OFFSET);
      names.push(dec(b.subarray(off + DIRENT64_NAME_OFFSET, nameEnd)));
      off += h.d_reclen;
    }
  }
  return names.sort();
}

// =====================================================================

class DummyFile extends FileDescription {
  released = 0;
  override stat(): Stat { return anonStat(S_IFREG, 1n, 1); }
  protected override release(): void { this.released++; }
}

describe('FDTable', () => {
  it('installs at the lowest free fd, honours minFd and the limit', () => {
    const ft = new FDTable();
    expect(ft.install(new DummyFile(O_RDONLY), false)).toBe(0);
    expect(ft.install(new DummyFile(O_RDONLY), false)).toBe(1);
    expect(ft.install(new DummyFile(O_RDONLY), false, 10)).toBe(10);
    expect(ft.install(new DummyFile(O_RDONLY), false)).toBe(2);
    expect(ft.close(1)).toBe(0);
    expect(ft.install(new DummyFile(O_RDONLY), false)).toBe(1);
    expect(ft.close(99)).toBe(-EBADF);
    ft.limit = 4;
    expect(ft.install(new DummyFile(O_RDONLY), false)).toBe(3);
    expect(ft.install(new DummyFile(O_RDONLY), false)).toBe(-EMFILE);
  });

  it('installAt closes what was there; fork shares descriptions; closeOnExec', () => {
    const ft = new FDTable();
    const a = new DummyFile(O_RDONLY), b = new DummyFile(O_RDONLY);
    ft.install(a, false);
    ft.installAt(0, b, true);
    expect(a.released).toBe(1);
    expect(ft.getCloexec(0)).toBe(true);
    const child = ft.fork();
    expect(child.get(0)).toBe(b);
    ft.close(0);
    expect(b.released).toBe(0);
    child.closeOnExec();
    expect(child.get(0)).toBeUndefined();
    expect(b.released).toBe(1);
  });
});

describe('pipes', () => {
  it('reads what was written, then EOF once the writer is gone', async () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const [r, w] = newPipe(0);
    expect(await w.write(t, enc('hello'), -1)).toBe(5);
    expect(dec((await r.read(t, 100, -1)) as Uint8Array)).toBe('hello');
    const pending = r.read(t, 100, -1);
    expect(pending).toBeInstanceOf(Promise);
    w.write(t, enc('later'), -1);
    expect(dec((await pending) as Uint8Array)).toBe('later');
    w.decRef();
    expect(((await r.read(t, 100, -1)) as Uint8Array).length).toBe(0);
  });

  it('EPIPE and SIGPIPE without readers', async () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const [r, w] = newPipe(0);
    r.decRef();
    expect(await w.write(t, enc('x'), -1)).toBe(-EPIPE);
    expect(t.signals).toEqual([SIGPIPE]);
  });

  it('holds 16 pages; O_NONBLOCK gives EAGAIN; small writes are atomic', async () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const [r, w] = newPipe(O_NONBLOCK);
    expect(await r.read(t, 10, -1)).toBe(-EAGAIN);
    expect(await w.write(t, new Uint8Array(65536 - 100), -1)).toBe(65536 - 100);
    // Sixteen page slots are in use, the last with 96 bytes free.
    expect(await w.write(t, new Uint8Array(200), -1)).toBe(-EAGAIN); // ≤ PIPE_BUF: all or nothing
    expect(await w.write(t, new Uint8Array(5000), -1)).toBe(-EAGAIN); // its 904-byte remainder does not fit the last page
    expect(await w.write(t, new Uint8Array(1), -1)).toBe(1); // fits the last page
    expect(((await r.read(t, 70000, -1)) as Uint8Array).length).toBe(65536 - 99);
  });

  it('a blocking big write completes as the reader drains', async () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const [r, w] = newPipe(0);
    const big = new Uint8Array(200000).fill(7);
    const wp = w.write(t, big, -1);
    let got = 0;
    while (got < big.length) got += ((await r.read(t, 65536, -1)) as Uint8Array).length;
    expect(await wp).toBe(big.length);
  });

  it('pipe2, dup2, fcntl through the syscall rows', async () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const A = MEM_BASE;
    expect(await sys(t, 'pipe2', A, O_CLOEXEC | O_NONBLOCK)).toBe(0);
    const rfd = t.mem.readU32(A)!, wfd = t.mem.readU32(A + 4)!;
    expect([rfd, wfd]).toEqual([0, 1]);
    expect(await sys(t, 'fcntl', rfd, F_GETFD)).toBe(FD_CLOEXEC);
    expect(await sys(t, 'fcntl', rfd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    expect(await sys(t, 'fcntl', rfd, F_SETFL, 0)).toBe(0);
    expect(await sys(t, 'fcntl', rfd, F_GETFL) & O_NONBLOCK).toBe(0);
    expect(await sys(t, 'fcntl', rfd, F_SETFD, 0)).toBe(0);
    expect(await sys(t, 'fcntl', rfd, F_GETFD)).toBe(0);
    expect(await sys(t, 'fcntl', wfd, F_DUPFD, 5)).toBe(5);
    expect(await sys(t, 'dup2', 5, 7)).toBe(7);
    expect(await sys(t, 'dup3', 7, 7, 0)).toBe(-EINVAL);
    expect(await sys(t, 'pipe2', A, 0x1)).toBe(-EINVAL);
    t.mem.str(A + 100, 'abc');
    expect(await sys(t, 'write', 7, A + 100, 3)).toBe(3);
    expect(await sys(t, 'read', rfd, A + 200, 10)).toBe(3);
    expect(dec(t.mem.read(A + 200, 3)!)).toBe('abc');
    expect(await sys(t, 'lseek', rfd, 0, SEEK_SET)).toBe(-ESPIPE);
    expect(await sys(t, 'pread64', rfd, A, 1, 0)).toBe(-ESPIPE);
    expect(await sys(t, 'read', wfd, A, 1)).toBe(-EBADF);
    expect(await sys(t, 'write', 7, 0x10, 1)).toBe(-EFAULT);
    expect(await sys(t, 'close', 7)).toBe(0);
    expect(await sys(t, 'close', 7)).toBe(-EBADF);
  });
});

describe('path resolution', () => {
  it('follows symlinks, relative and absolute, in the middle and at the end', () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    expect(readAll(t, open(vfs, t, '/lib/libc.so'))).toBe('\x7fELF-libc');
    expect(readAll(t, open(vfs, t, '/abs'))).toBe('root:x:0:0\n');
    expect(readAll(t, open(vfs, t, 'up/passwd'))).toBe('root:x:0:0\n'); // '..' stops at the root
    expect(readAll(t, open(vfs, t, '/../../etc/./passwd'))).toBe('root:x:0:0\n');
    const st = vfs.stat(t, AT_FDCWD, '/abs', false, false) as Stat;
    expect(st.mode & S_IFMT).toBe(S_IFLNK);
    expect((vfs.stat(t, AT_FDCWD, '/abs', true, false) as Stat).mode & S_IFMT).toBe(S_IFREG);
  });

  it('ELOOP, ENOTDIR, ENOENT, trailing slashes, ENAMETOOLONG', () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    expect(vfs.open(t, AT_FDCWD, '/loop', O_RDONLY, 0)).toBe(-ELOOP);
    expect(vfs.open(t, AT_FDCWD, '/abs', O_RDONLY | O_NOFOLLOW, 0)).toBe(-ELOOP);
    expect(vfs.open(t, AT_FDCWD, '/etc/passwd/x', O_RDONLY, 0)).toBe(-ENOTDIR);
    expect(vfs.open(t, AT_FDCWD, '/etc/passwd/', O_RDONLY, 0)).toBe(-ENOTDIR);
    expect(vfs.open(t, AT_FDCWD, '/etc/nope', O_RDONLY, 0)).toBe(-ENOENT);
    expect(vfs.open(t, AT_FDCWD, '/dangling', O_RDONLY, 0)).toBe(-ENOENT);
    expect(vfs.open(t, AT_FDCWD, '/etc/passwd', O_RDONLY | O_DIRECTORY, 0)).toBe(-ENOTDIR);
    expect(vfs.open(t, AT_FDCWD, '/etc', O_WRONLY, 0)).toBe(-EISDIR);
    expect(vfs.open(t, AT_FDCWD, '/etc', O_CREAT | O_RDONLY, 0)).toBe(-EISDIR);
    expect(vfs.open(t, AT_FDCWD, '/etc/new/', O_CREAT | O_RDWR, 0)).toBe(-EISDIR);
    expect(vfs.open(t, AT_FDCWD, '/' + 'x'.repeat(300), O_RDONLY, 0)).toBe(-ENAMETOOLONG);
    expect(vfs.open(t, AT_FDCWD, '/x/'.repeat(1500), O_RDONLY, 0)).toBe(-ENAMETOOLONG);
    // 40 links are allowed, 41 are not.
    const mk = (n: number): void => {
      for (let i = 0; i < n; i++) vfs.symlink(t, i === 0 ? '/etc/passwd' : `/tmp/l${n}_${i - 1}`, AT_FDCWD, `/tmp/l${n}_${i}`);
    };
    mk(40);
    mk(41);
    expect(typeof vfs.open(t, AT_FDCWD, '/tmp/l40_39', O_RDONLY, 0)).toBe('object');
    expect(vfs.open(t, AT_FDCWD, '/tmp/l41_40', O_RDONLY, 0)).toBe(-ELOOP);
  });

  it('dirfd-relative lookups, AT_EMPTY_PATH, O_PATH, chdir and getcwd', async () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const dir = open(vfs, t, '/usr', O_RDONLY | O_DIRECTORY);
    const dfd = t.fds.install(dir, false);
    expect(readAll(t, vfs.open(t, dfd, 'lib/libc.so', O_RDONLY, 0) as FileDescription)).toBe('\x7fELF-libc');
    const file = t.fds.install(open(vfs, t, '/etc/passwd'), false);
    expect(vfs.open(t, file, 'x', O_RDONLY, 0)).toBe(-ENOTDIR);
    expect(vfs.open(t, 99, 'x', O_RDONLY, 0)).toBe(-EBADF);
    expect((vfs.stat(t, file, '', true, true) as Stat).size).toBe(11);
    const p = open(vfs, t, '/abs', O_PATH | O_NOFOLLOW);
    expect(p.stat(t).mode & S_IFMT).toBe(S_IFLNK);
    const A = MEM_BASE;
    t.mem.str(A, '/usr/lib');
    expect(await sys(t, 'chdir', A)).toBe(0);
    expect(await sys(t, 'getcwd', A + 100, 100)).toBe('/usr/lib'.length + 1);
    expect(t.mem.readCString(A + 100, 100)).toBe('/usr/lib');
    expect(await sys(t, 'getcwd', A + 100, 3)).toBe(-ERANGE);
    expect(readAll(t, open(vfs, t, 'libc.so'))).toBe('\x7fELF-libc');
    expect(await sys(t, 'fchdir', dfd)).toBe(0);
    expect(vfs.getcwd(t)).toBe('/usr');
  });

  it('permission checks for a non-root task', () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs, 1000);
    expect(vfs.open(t, AT_FDCWD, '/etc/secret', O_RDONLY, 0)).toBe(-EACCES);
    expect(vfs.open(t, AT_FDCWD, '/etc/passwd', O_WRONLY, 0)).toBe(-EACCES);
    expect(vfs.mkdir(t, AT_FDCWD, '/etc/x', 0o755)).toBe(-EACCES);
    expect(vfs.mkdir(t, AT_FDCWD, '/tmp/mine', 0o700)).toBe(0);
    const root = makeTask(vfs, 0);
    expect(readAll(root, open(vfs, root, '/etc/secret'))).toBe('s3cret');
    // Sticky /tmp: others' files cannot be removed.
    root.fs.cwd = t.fs.cwd;
    expect(vfs.open(root, AT_FDCWD, '/tmp/rootfile', O_CREAT | O_WRONLY, 0o666)).toBeInstanceOf(FileDescription);
    expect(vfs.unlink(t, AT_FDCWD, '/tmp/rootfile')).toBe(-1 /* EPERM */);
  });
});

describe('overlay', () => {
  it('copies up on write and leaves the lower layer alone', () => {
    const { vfs, lower } = newVFS();
    const t = makeTask(vfs);
    const f = open(vfs, t, '/etc/passwd', O_WRONLY | O_APPEND);
    expect(f.write(t, enc('user:x:1000:1000\n'), -1)).toBe(17);
    expect(readAll(t, open(vfs, t, '/etc/passwd'))).toBe('root:x:0:0\nuser:x:1000:1000\n');
    const lowerPasswd = ((lower.lookup(null, 'etc') as Inode).lookup(null, 'passwd') as Inode);
    expect(dec(lowerPasswd.readAt(0, 100) as Uint8Array)).toBe('root:x:0:0\n');
    // O_TRUNC copies up empty.
    open(vfs, t, '/data/a', O_WRONLY | O_TRUNC);
    expect(readAll(t, open(vfs, t, '/data/a'))).toBe('');
    // Inode numbers survive copy-up.
    const before = vfs.stat(t, AT_FDCWD, '/data/b', true, false) as Stat;
    open(vfs, t, '/data/b', O_RDWR).write(t, enc('X'), 0);
    expect((vfs.stat(t, AT_FDCWD, '/data/b', true, false) as Stat).ino).toBe(before.ino);
    expect(readAll(t, open(vfs, t, '/data/b'))).toBe('Xower b');
  });

  it('whiteouts hide lower names; readdir merges the layers', () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    expect(vfs.unlink(t, AT_FDCWD, '/data/a')).toBe(0);
    expect(vfs.open(t, AT_FDCWD, '/data/a', O_RDONLY, 0)).toBe(-ENOENT);
    open(vfs, t, '/data/new', O_CREAT | O_WRONLY).write(t, enc('n'), -1);
    expect(listNames(t, open(vfs, t, '/data', O_RDONLY | O_DIRECTORY))).toEqual(['.', '..', 'b', 'c', 'new', 'sub']);
    // Re-creating a whited-out name gives a fresh, empty file.
    open(vfs, t, '/data/a', O_CREAT | O_WRONLY);
    expect(readAll(t, open(vfs, t, '/data/a'))).toBe('');
    // rmdir of a lower directory needs it empty, counting lower entries.
    expect(vfs.rmdir(t, AT_FDCWD, '/data/sub')).toBe(-ENOTEMPTY);
    expect(vfs.unlink(t, AT_FDCWD, '/data/sub/deep')).toBe(0);
    expect(vfs.rmdir(t, AT_FDCWD, '/data/sub')).toBe(0);
    // A directory made over a whiteout is opaque: lower contents do not show through.
    expect(vfs.mkdir(t, AT_FDCWD, '/data/sub', 0o755)).toBe(0);
    expect(listNames(t, open(vfs, t, '/data/sub', O_RDONLY | O_DIRECTORY))).toEqual(['.', '..']);
    expect(vfs.rmdir(t, AT_FDCWD, '/etc')).toBe(-ENOTEMPTY);
    expect(vfs.unlink(t, AT_FDCWD, '/etc')).toBe(-EISDIR);
    expect(vfs.rmdir(t, AT_FDCWD, '/etc/passwd')).toBe(-ENOTDIR);
  });

  it('rename: files across directories, NOREPLACE, lower directories EXDEV', () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    expect(vfs.rename(t, AT_FDCWD, '/data/c', AT_FDCWD, '/tmp/c2', 0)).toBe(0);
    expect(vfs.open(t, AT_FDCWD, '/data/c', O_RDONLY, 0)).toBe(-ENOENT);
    expect(readAll(t, open(vfs, t, '/tmp/c2'))).toBe('lower c');
    expect(vfs.rename(t, AT_FDCWD, '/data/b', AT_FDCWD, '/tmp/c2', RENAME_NOREPLACE)).toBe(-EEXIST);
    expect(vfs.rename(t, AT_FDCWD, '/data/b', AT_FDCWD, '/tmp/c2', 0)).toBe(0);
    expect(readAll(t, open(vfs, t, '/tmp/c2'))).toBe('lower b');
    expect(vfs.rename(t, AT_FDCWD, '/usr', AT_FDCWD, '/usr2', 0)).toBe(-EXDEV);
    expect(vfs.mkdir(t, AT_FDCWD, '/tmp/d', 0o755)).toBe(0);
    expect(vfs.rename(t, AT_FDCWD, '/tmp/d', AT_FDCWD, '/tmp/d/e', 0)).toBe(-EINVAL);
    expect(vfs.rename(t, AT_FDCWD, '/tmp/d', AT_FDCWD, '/tmp/e', 0)).toBe(0);
    expect(vfs.rename(t, AT_FDCWD, '/tmp/e', AT_FDCWD, '/tmp/c2', 0)).toBe(-ENOTDIR);
    expect(vfs.rename(t, AT_FDCWD, '/tmp/c2', AT_FDCWD, '/tmp/e', 0)).toBe(-EISDIR);
    t.fs.cwd = vfs.resolveAt(t, AT_FDCWD, '/tmp/e', true, false) as never;
    expect(vfs.getcwd(t)).toBe('/tmp/e');
    expect(vfs.rename(t, AT_FDCWD, '/tmp/e', AT_FDCWD, '/tmp/f', 0)).toBe(0);
    expect(vfs.getcwd(t)).toBe('/tmp/f');
  });

  it('hard links, symlinks, O_EXCL, creating through a dangling symlink', () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const src = vfs.resolveAt(t, AT_FDCWD, '/etc/passwd', true, false);
    expect(vfs.link(t, src as never, AT_FDCWD, '/tmp/pw')).toBe(0);
    expect((vfs.stat(t, AT_FDCWD, '/tmp/pw', true, false) as Stat).ino)
      .toBe((vfs.stat(t, AT_FDCWD, '/etc/passwd', true, false) as Stat).ino);
    expect(vfs.open(t, AT_FDCWD, '/tmp/pw', O_CREAT | O_EXCL | O_WRONLY, 0o644)).toBe(-EEXIST);
    expect(vfs.symlink(t, 'target-file', AT_FDCWD, '/tmp/sl')).toBe(0);
    expect(vfs.readlink(t, AT_FDCWD, '/tmp/sl')).toBe('target-file');
    open(vfs, t, '/tmp/sl', O_CREAT | O_WRONLY).write(t, enc('via link'), -1);
    expect(readAll(t, open(vfs, t, '/tmp/target-file'))).toBe('via link');
    expect(vfs.symlink(t, 'x', AT_FDCWD, '/tmp/sl')).toBe(-EEXIST);
    expect(vfs.mkdir(t, AT_FDCWD, '/', 0o755)).toBe(-EEXIST);
  });
});

describe('devfs and procfs', () => {
  it('/dev/null, /dev/zero, /dev/full, /dev/urandom, /dev/tty', () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const nul = open(vfs, t, '/dev/null', O_RDWR);
    expect(nul.write(t, enc('gone'), -1)).toBe(4);
    expect((nul.read(t, 10, -1) as Uint8Array).length).toBe(0);
    expect(nul.stat(t).mode & S_IFMT).toBe(S_IFCHR);
    expect([...(open(vfs, t, '/dev/zero').read(t, 4, -1) as Uint8Array)]).toEqual([0, 0, 0, 0]);
    expect(open(vfs, t, '/dev/full', O_WRONLY).write(t, enc('x'), -1)).toBe(-28 /* ENOSPC */);
    const r = open(vfs, t, '/dev/urandom').read(t, 64, -1) as Uint8Array;
    expect(r.length).toBe(64);
    expect(r.some((b) => b !== 0)).toBe(true);
    expect(vfs.open(t, AT_FDCWD, '/dev/tty', O_RDWR, 0)).toBe(-6 /* ENXIO */);
    expect(listNames(t, open(vfs, t, '/dev', O_RDONLY | O_DIRECTORY))).toContain('urandom');
  });

  it('/proc/self, /proc/self/fd magic links, /dev/stdout → the same pipe', () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const [r, w] = newPipe(0);
    t.fds.install(r, false);
    t.fds.install(w, false);
    expect(vfs.readlink(t, AT_FDCWD, '/proc/self')).toBe('100');
    expect(vfs.readlink(t, AT_FDCWD, '/proc/self/fd/1')).toMatch(/^pipe:\[\d+\]$/);
    const out = open(vfs, t, '/dev/fd/1', O_WRONLY);
    expect(out.write(t, enc('via proc'), -1)).toBe(8);
    expect(dec(r.read(t, 100, -1) as Uint8Array)).toBe('via proc');
    const d = t.fds.install(open(vfs, t, '/etc/passwd'), false);
    expect(vfs.readlink(t, AT_FDCWD, `/proc/self/fd/${d}`)).toBe('/etc/passwd');
    expect(listNames(t, open(vfs, t, '/proc/self/fd', O_RDONLY | O_DIRECTORY))).toEqual(['.', '..', '0', '1', String(d)]);
    expect(readAll(t, open(vfs, t, '/proc/mounts'))).toContain('proc /proc proc');
  });
});

describe('file syscalls', () => {
  it('open/write/lseek/pread/fstat/getdents64/unlink through the rows', async () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const A = MEM_BASE, P = MEM_BASE + 0x1000, B = MEM_BASE + 0x2000;
    t.mem.str(P, '/tmp/f');
    const fd = await sys(t, 'openat', AT_FDCWD, P, O_CREAT | O_RDWR | O_TRUNC, 0o640);
    expect(fd).toBe(0);
    t.mem.str(A, 'hello, world');
    expect(await sys(t, 'write', fd, A, 12)).toBe(12);
    expect(await sys(t, 'lseek', fd, 0, SEEK_END)).toBe(12);
    expect(await sys(t, 'pread64', fd, B, 5, 7)).toBe(5);
    expect(dec(t.mem.read(B, 5)!)).toBe('world');
    expect(await sys(t, 'fstat', fd, B)).toBe(0);
    const st = StatLayout.decode(t.mem.read(B, StatLayout.size)!);
    expect(st.st_size).toBe(12);
    expect(st.st_mode).toBe(S_IFREG | 0o640 & ~0o022);
    expect(await sys(t, 'fstat', fd, 8)).toBe(-EFAULT);
    expect(await sys(t, 'ftruncate', fd, 5)).toBe(0);
    expect(await sys(t, 'newfstatat', AT_FDCWD, P, B, AT_SYMLINK_NOFOLLOW)).toBe(0);
    expect(StatLayout.decode(t.mem.read(B, StatLayout.size)!).st_size).toBe(5);
    expect(await sys(t, 'newfstatat', AT_FDCWD, P, B, 0x4000)).toBe(-EINVAL);
    t.mem.str(P + 100, '');
    expect(await sys(t, 'newfstatat', fd, P + 100, B, AT_EMPTY_PATH)).toBe(0);
    expect(await sys(t, 'newfstatat', fd, P + 100, B, 0)).toBe(-ENOENT);
    t.mem.str(P + 200, '/tmp');
    const dfd = await sys(t, 'open', P + 200, O_RDONLY | O_DIRECTORY, 0);
    const n = await sys(t, 'getdents64', dfd, B, 4096);
    expect(n).toBeGreaterThan(0);
    expect(await sys(t, 'getdents64', dfd, B, 10)).toBe(0); // at the end
    expect(await sys(t, 'lseek', dfd, 0, SEEK_SET)).toBe(0);
    expect(await sys(t, 'getdents64', dfd, B, 10)).toBe(-EINVAL); // one record does not fit
    expect(await sys(t, 'read', dfd, B, 10)).toBe(-EISDIR);
    expect(await sys(t, 'unlinkat', AT_FDCWD, P, AT_REMOVEDIR)).toBe(-ENOTDIR);
    expect(await sys(t, 'unlinkat', AT_FDCWD, P, 0)).toBe(0);
    // The open file stays readable after unlink.
    expect(await sys(t, 'pread64', fd, B, 5, 0)).toBe(5);
    expect(dec(t.mem.read(B, 5)!)).toBe('hello');
    expect(await sys(t, 'umask', 0o077)).toBe(0o022);
    expect(await sys(t, 'access', P + 200, 7)).toBe(0);
    expect(await sys(t, 'access', P, 0)).toBe(-ENOENT);
    expect(await sys(t, 'mkdir', P + 200, 0o755)).toBe(-EEXIST);
  });

  it('readv/writev, chmod, readlink, symlink, utimensat, sendfile', async () => {
    const { vfs } = newVFS();
    const t = makeTask(vfs);
    const A = MEM_BASE, P = MEM_BASE + 0x1000, B = MEM_BASE + 0x2000, IOV = MEM_BASE + 0x3000;
    t.mem.str(P, '/tmp/v');
    const fd = await sys(t, 'creat', P, 0o600);
    t.mem.str(A, 'abc'); t.mem.str(A + 10, 'defgh');
    const iov = new DataView(new ArrayBuffer(32));
    iov.setBigUint64(0, BigInt(A), true); iov.setBigUint64(8, 3n, true);
    iov.setBigUint64(16, BigInt(A + 10), true); iov.setBigUint64(24, 5n, true);
    t.mem.write(IOV, new Uint8Array(iov.buffer));
    expect(await sys(t, 'writev', fd, IOV, 2)).toBe(8);
    expect(await sys(t, 'writev', fd, IOV, -1)).toBe(-EINVAL);
    expect(await sys(t, 'chmod', P, 0o755)).toBe(0);
    expect((vfs.stat(t, AT_FDCWD, '/tmp/v', true, false) as Stat).mode).toBe(S_IFREG | 0o755);
    t.mem.str(P + 100, '/tmp/v-link');
    expect(await sys(t, 'symlink', P, P + 100)).toBe(0);
    expect(await sys(t, 'readlink', P + 100, B, 3)).toBe(3);
    expect(dec(t.mem.read(B, 3)!)).toBe('/tm');
    expect(await sys(t, 'readlink', P, B, 100)).toBe(-EINVAL);
    const ts = new DataView(new ArrayBuffer(32));
    ts.setBigInt64(0, 1000n, true); ts.setBigInt64(8, 5n, true);
    ts.setBigInt64(16, 2000n, true); ts.setBigInt64(24, 6n, true);
    t.mem.write(B, new Uint8Array(ts.buffer));
    expect(await sys(t, 'utimensat', AT_FDCWD, P, B, 0)).toBe(0);
    const st = vfs.stat(t, AT_FDCWD, '/tmp/v', true, false) as Stat;
    expect([st.atimeSec, st.atimeNsec, st.mtimeSec, st.mtimeNsec]).toEqual([1000, 5, 2000, 6]);
    // sendfile from the file into a pipe.
    expect(await sys(t, 'pipe', A + 100)).toBe(0);
    const rfd = t.mem.readU32(A + 100)!, wfd = t.mem.readU32(A + 104)!;
    const rd = await sys(t, 'open', P, O_RDONLY, 0);
    expect(await sys(t, 'sendfile', wfd, rd, 0, 100)).toBe(8);
    expect(await sys(t, 'read', rfd, B, 100)).toBe(8);
    expect(dec(t.mem.read(B, 8)!)).toBe('abcdefgh');
    expect(await sys(t, 'readv', rd, IOV, 2)).toBe(0); // at EOF
    expect(await sys(t, 'lseek', rd, 0, SEEK_SET)).toBe(0);
    expect(await sys(t, 'readv', rd, IOV, 2)).toBe(8);
    expect(dec(t.mem.read(A, 3)!) + dec(t.mem.read(A + 10, 5)!)).toBe('abcdefgh');
  });

  it('every row has a handler and arg formats, and partial rows say why', () => {
    for (const r of fsRows) {
      expect(typeof r.handler).toBe('function');
      if (r.support === 'partial') expect(r.note).toBeTruthy();
    }
    expect(new Set(fsRows.map((r) => r.nr)).size).toBe(fsRows.length);
    expect(S_IFDIR).toBe(0o040000);
  });
});
