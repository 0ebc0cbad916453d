// The VFS on the real Gofer: a temporary host tree served over a socketpair,
// used as the overlay's read-only lower layer (the host must not change) and
// directly (writes must reach the host).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { close, socketpair } from '../src/ffi/libc';
import { EACCES, ELOOP, ENOENT, ENOTEMPTY } from '../src/abi/errno';
import { AT_FDCWD, O_APPEND, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFLNK, S_IFMT } from '../src/abi/linux';
import { Dirent64, DIRENT64_NAME_OFFSET } from '../src/abi/layout';
import { GoferClient } from '../sentry/fsgofer/client';
import type { Task } from '../sentry/kernel/task';
import { FDTable } from '../sentry/vfs/fdtable';
import type { FileDescription, Stat } from '../sentry/vfs/file';
import { VFS } from '../sentry/vfs/vfs';

const REPO = path.resolve(__dirname, '..');
const BUNDLE = path.join(REPO, 'test/.build/gofer-vfs.js');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Gofer { proc: ChildProcess; fd: number; exit: Promise<unknown> }
const started: Gofer[] = [];
const tmpDirs: string[] = [];

function startGofer(root: string, readOnly: boolean): GoferClient {
  const sv = new Int32Array(2);
  if (socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0x80000 /* SOCK_CLOEXEC */, 0, sv) !== 0) throw new Error('socketpair');
  const proc = spawn(process.execPath, [BUNDLE, '--root', root, '--fd', '3', ...(readOnly ? ['--read-only'] : [])], {
    stdio: ['ignore', 'inherit', 'inherit', sv[1]!],
  });
  close(sv[1]!);
  const exit = new Promise((resolve) => proc.on('exit', resolve));
  started.push({ proc, fd: sv[0]!, exit });
  const c = new GoferClient(sv[0]!);
  expect(c.failure).toBeNull();
  return c;
}

function mkTree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfs-gofer-'));
  tmpDirs.push(dir);
  fs.mkdirSync(`${dir}/etc`);
  fs.writeFileSync(`${dir}/etc/passwd`, 'root:x:0:0\n');
  fs.mkdirSync(`${dir}/usr/lib`, { recursive: true });
  fs.writeFileSync(`${dir}/usr/lib/libc.so`, Buffer.alloc(300000, 0x41));
  fs.symlinkSync('usr/lib', `${dir}/lib`);
  fs.symlinkSync('/etc/passwd', `${dir}/abs`);
  fs.symlinkSync('loop', `${dir}/loop`);
  fs.mkdirSync(`${dir}/data`);
  for (const n of ['a', 'b', 'c']) fs.writeFileSync(`${dir}/data/${n}`, `host ${n}`);
  fs.mkdirSync(`${dir}/tmp`, { mode: 0o777 });
  return dir;
}

function makeTask(vfs: VFS): Task {
  return {
    tid: 1, pid: 1, kernel: { vfs }, fds: new FDTable(), fs: vfs.newFSContext('/'),
    creds: { uid: 0, euid: 0, suid: 0, fsuid: 0, gid: 0, egid: 0, sgid: 0, fsgid: 0, groups: [] },
    sendSignal: () => undefined,
  } as unknown as Task;
}

function open(vfs: VFS, t: Task, p: string, flags = O_RDONLY, mode = 0o644): FileDescription {
  const f = vfs.open(t, AT_FDCWD, p, flags, mode);
  if (typeof f === 'number') throw new Error(`open ${p}: errno ${-f}`);
  return f;
}

function readAll(t: Task, f: FileDescription): string {
  const r = f.read(t, 1 << 20, 0);
  if (typeof r === 'number' || r instanceof Promise) throw new Error(`read: ${String(r)}`);
  return dec(r);
}

function names(t: Task, f: FileDescription): string[] {
  const out: string[] = [];
  for (;;) {
    const b = f.getdents(t, 4096);
    if (typeof b === 'number') throw new Error(`getdents ${b}`);
    if (b.length === 0) break;
    for (let off = 0; off < b.length;) {
      const h = Dirent64.decode(b, off);
      out.push(dec(b.subarray(off + DIRENT64_NAME_OFFSET, b.indexOf(0, off + DIRENT64_NAME_OFFSET))));
      off += h.d_reclen;
    }
  }
  return out.sort();
}

beforeAll(async () => {
  await build({
    entryPoints: [path.join(REPO, 'gofer/main.ts')], outfile: BUNDLE, bundle: true, platform: 'node',
    target: 'node20', format: 'cjs', external: ['koffi', 'pino'], logLevel: 'warning',
  });
}, 30_000);

afterAll(async () => {
  for (const g of started) {
    close(g.fd);
    const timer = setTimeout(() => g.proc.kill('SIGKILL'), 5000);
    await g.exit;
    clearTimeout(timer);
  }
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('VFS over the Gofer, overlay on', () => {
  let dir = '';
  let vfs: VFS;
  let t: Task;
  beforeAll(() => {
    dir = mkTree();
    vfs = new VFS({ gofer: startGofer(dir, true), overlay: true });
    t = makeTask(vfs);
  });

  it('reads host files through symlinks the Sentry resolves', () => {
    expect(readAll(t, open(vfs, t, '/abs'))).toBe('root:x:0:0\n');
    const lib = readAll(t, open(vfs, t, '/lib/libc.so'));
    expect(lib.length).toBe(300000);
    expect(vfs.open(t, AT_FDCWD, '/loop', O_RDONLY, 0)).toBe(-ELOOP);
    expect(((vfs.stat(t, AT_FDCWD, '/lib', false, false) as Stat).mode & S_IFMT)).toBe(S_IFLNK);
    expect(names(t, open(vfs, t, '/', O_RDONLY | O_DIRECTORY))).toEqual(
      ['.', '..', 'abs', 'data', 'dev', 'etc', 'lib', 'loop', 'proc', 'sys', 'tmp', 'usr']);
    const m = open(vfs, t, '/usr/lib/libc.so').mappable();
    expect(m?.cacheKey.startsWith('gofer:')).toBe(true);
    expect(m?.size()).toBe(300000);
    expect(m?.readAt(299998, 10).length).toBe(2);
  });

  it('keeps every write in memory: the host tree does not change', () => {
    open(vfs, t, '/etc/passwd', O_WRONLY | O_APPEND).write(t, enc('me:x:1:1\n'), -1);
    expect(readAll(t, open(vfs, t, '/etc/passwd'))).toBe('root:x:0:0\nme:x:1:1\n');
    expect(vfs.unlink(t, AT_FDCWD, '/data/a')).toBe(0);
    expect(vfs.rename(t, AT_FDCWD, '/data/b', AT_FDCWD, '/tmp/b', 0)).toBe(0);
    open(vfs, t, '/data/new', O_CREAT | O_WRONLY).write(t, enc('n'), -1);
    expect(vfs.mkdir(t, AT_FDCWD, '/data/dir', 0o755)).toBe(0);
    expect(names(t, open(vfs, t, '/data', O_RDONLY | O_DIRECTORY))).toEqual(['.', '..', 'c', 'dir', 'new']);
    expect(vfs.rmdir(t, AT_FDCWD, '/usr')).toBe(-ENOTEMPTY);
    expect(fs.readFileSync(`${dir}/etc/passwd`, 'utf8')).toBe('root:x:0:0\n');
    expect(fs.readdirSync(`${dir}/data`).sort()).toEqual(['a', 'b', 'c']);
    expect(fs.readdirSync(`${dir}/tmp`)).toEqual([]);
  });
});

describe('VFS over the Gofer, overlay off', () => {
  let dir = '';
  let vfs: VFS;
  let t: Task;
  beforeAll(() => {
    dir = mkTree();
    vfs = new VFS({ gofer: startGofer(dir, false), overlay: false });
    t = makeTask(vfs);
  });

  it('writes go to the host', () => {
    const f = open(vfs, t, '/tmp/new.txt', O_CREAT | O_RDWR | O_TRUNC, 0o640);
    expect(f.write(t, enc('hello host'), -1)).toBe(10);
    expect(fs.readFileSync(`${dir}/tmp/new.txt`, 'utf8')).toBe('hello host');
    expect(fs.statSync(`${dir}/tmp/new.txt`).mode & 0o777).toBe(0o640 & ~0o022);
    expect(vfs.mkdir(t, AT_FDCWD, '/tmp/d', 0o755)).toBe(0);
    expect(vfs.rename(t, AT_FDCWD, '/tmp/new.txt', AT_FDCWD, '/tmp/d/moved', 0)).toBe(0);
    expect(fs.readFileSync(`${dir}/tmp/d/moved`, 'utf8')).toBe('hello host');
    expect(readAll(t, open(vfs, t, '/tmp/d/moved'))).toBe('hello host');
    expect(vfs.symlink(t, 'moved', AT_FDCWD, '/tmp/d/sl')).toBe(0);
    expect(fs.readlinkSync(`${dir}/tmp/d/sl`)).toBe('moved');
    expect(readAll(t, open(vfs, t, '/tmp/d/sl'))).toBe('hello host');
    expect(vfs.truncatePath(t, AT_FDCWD, '/tmp/d/moved', 5)).toBe(0);
    expect(fs.readFileSync(`${dir}/tmp/d/moved`, 'utf8')).toBe('hello');
    const loc = vfs.resolveAt(t, AT_FDCWD, '/tmp/d/moved', true, false);
    if (typeof loc === 'number') throw new Error('resolve');
    expect(vfs.setattr(t, loc, { mode: 0o600 })).toBe(0);
    expect(fs.statSync(`${dir}/tmp/d/moved`).mode & 0o777).toBe(0o600);
    expect(vfs.unlink(t, AT_FDCWD, '/tmp/d/sl')).toBe(0);
    expect(vfs.unlink(t, AT_FDCWD, '/tmp/d/moved')).toBe(0);
    expect(vfs.rmdir(t, AT_FDCWD, '/tmp/d')).toBe(0);
    expect(fs.readdirSync(`${dir}/tmp`)).toEqual([]);
    expect(vfs.open(t, AT_FDCWD, '/tmp/d/moved', O_RDONLY, 0)).toBe(-ENOENT);
    expect(EACCES).toBe(13);
  });
});
