// The Gofer, end to end: the real process (bundled from gofer/main.ts) serves
// a temporary tree over a socketpair, and every GoferClient call is checked
// against what Node's fs says about the same tree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { socketpair, close, fcntl, write as rawWrite } from '../src/ffi/libc';
import { GoferClient, QTDIR, QTFILE, QTSYMLINK, SETATTR_MODE, SETATTR_SIZE, SETATTR_MTIME, SETATTR_MTIME_SET,
  SETATTR_ATIME, SETATTR_ATIME_SET, type DirEntry } from '../sentry/fsgofer/client';
import {
  EACCES, EAGAIN, EBADF, EEXIST, ENXIO, EINVAL, EIO, EISDIR, ELOOP, ENOENT, ENOTDIR, ENOTEMPTY, EOPNOTSUPP, EPERM, EROFS,
} from '../src/abi/errno';
import {
  AT_REMOVEDIR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR,
  O_TRUNC, O_WRONLY, S_IFIFO, S_IFREG,
} from '../src/abi/linux';
import { FrameReader, decode, encode, writeAll } from '../src/p9';

const REPO = path.resolve(__dirname, '..');
const BUNDLE = path.join(REPO, 'test/.build/gofer.js');
const isRoot = process.getuid?.() === 0;

interface Gofer { proc: ChildProcess; fd: number; exit: Promise<number | null>; client: GoferClient | null }
const started: Gofer[] = [];
const tmpDirs: string[] = [];

/** Starts the Gofer on `root`; returns our end of the socketpair. */
function startGofer(root: string, extra: string[] = []): Gofer {
  const sv = new Int32Array(2);
  if (socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0x80000 /* SOCK_CLOEXEC */, 0, sv) !== 0) {
    throw new Error('socketpair failed');
  }
  const proc = spawn(process.execPath, [BUNDLE, '--root', root, '--fd', '3', ...extra], {
    stdio: ['ignore', 'inherit', 'inherit', sv[1]!],
  });
  close(sv[1]!);
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const g: Gofer = { proc, fd: sv[0]!, exit, client: null };
  started.push(g);
  return g;
}

function stopGofer(g: Gofer): Promise<number | null> {
  if (g.fd >= 0) { close(g.fd); g.fd = -1; }
  return g.exit;
}

let root = '';
let g: Gofer;
let c: GoferClient;
let rootFid = 0;
const BIG = Buffer.alloc(3 * 1024 * 1024 + 123);

function mkTree(dir: string): void {
  fs.writeFileSync(`${dir}/file.txt`, 'hello world\n');
  fs.writeFileSync(`${dir}/empty`, '');
  for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + (i >> 13)) & 0xff;
  fs.writeFileSync(`${dir}/big.bin`, BIG);
  fs.mkdirSync(`${dir}/dir/sub`, { recursive: true });
  fs.writeFileSync(`${dir}/dir/a`, 'a');
  fs.writeFileSync(`${dir}/dir/b`, 'bb');
  fs.chmodSync(`${dir}/dir/b`, 0o640);
  fs.symlinkSync('file.txt', `${dir}/link`);
  fs.symlinkSync('does/not/exist', `${dir}/dangling`);
  fs.symlinkSync('dir', `${dir}/dirlink`);
  execFileSync('mkfifo', [`${dir}/fifo`]);
  if (isRoot) execFileSync('mknod', [`${dir}/nulldev`, 'c', '1', '3']);
  fs.mkdirSync(`${dir}/many`);
  for (let i = 0; i < 300; i++) fs.writeFileSync(`${dir}/many/entry-with-a-longish-name-${i}`, '');
  fs.writeFileSync(`${dir}/ünïcode`, 'u');
}

beforeAll(async () => {
  await build({
    entryPoints: [path.join(REPO, 'gofer/main.ts')], outfile: BUNDLE, bundle: true, platform: 'node',
    target: 'node20', format: 'cjs', external: ['koffi', 'pino'], logLevel: 'warning',
  });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'gofer-test-'));
  tmpDirs.push(root);
  mkTree(root);
  g = startGofer(root);
  c = new GoferClient(g.fd);
  g.client = c;
  expect(c.failure).toBeNull();
  const fid = c.attach('/');
  expect(fid).toBeGreaterThan(0);
  rootFid = fid;
}, 30_000);

afterAll(async () => {
  for (const s of started) {
    if (s.fd >= 0) { close(s.fd); s.fd = -1; }
    if (s.proc.exitCode === null && s.proc.signalCode === null) {
      const t = setTimeout(() => s.proc.kill('SIGKILL'), 5000);
      await s.exit;
      clearTimeout(t);
    }
  }
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Whether fd is close-on-exec (F_GETFD). */
const fcntlCloexec = (fd: number): boolean => (fcntl(fd, 1, 0) & 1) === 1;

/** Walks `names` from the root, expecting success. */
function walk(names: string[], from = rootFid): number {
  const r = c.walk(from, names);
  if (typeof r === 'number') throw new Error(`walk ${names.join('/')}: errno ${-r}`);
  return r.fid;
}

function readAll(fid: number): DirEntry[] {
  const out: DirEntry[] = [];
  let off = 0n;
  for (;;) {
    const ents = c.readdir(fid, off, 1024);
    if (typeof ents === 'number') throw new Error(`readdir: errno ${-ents}`);
    if (ents.length === 0) return out;
    out.push(...ents);
    off = ents[ents.length - 1]!.offset;
  }
}

describe('gofer: attach, walk, getattr', () => {
  it('getattr of every top-level name matches lstat', () => {
    for (const name of fs.readdirSync(root)) {
      const fid = walk([name]);
      const a = c.getattr(fid);
      if (typeof a === 'number') throw new Error(`getattr ${name}: ${a}`);
      const st = fs.lstatSync(`${root}/${name}`, { bigint: true });
      expect(a.mode, name).toBe(Number(st.mode));
      expect(a.qid.path, name).toBe(st.ino);
      expect(a.size, name).toBe(Number(st.size));
      expect(a.nlink, name).toBe(Number(st.nlink));
      expect(a.uid, name).toBe(Number(st.uid));
      expect(a.gid, name).toBe(Number(st.gid));
      expect(a.rdev, name).toBe(Number(st.rdev));
      expect(a.blksize, name).toBe(Number(st.blksize));
      expect(a.blocks, name).toBe(Number(st.blocks));
      expect(BigInt(a.mtimeSec) * 1_000_000_000n + BigInt(a.mtimeNsec), name).toBe(st.mtimeNs);
      expect(BigInt(a.ctimeSec) * 1_000_000_000n + BigInt(a.ctimeNsec), name).toBe(st.ctimeNs);
      const qt = st.isDirectory() ? QTDIR : st.isSymbolicLink() ? QTSYMLINK : QTFILE;
      expect(a.qid.type, name).toBe(qt);
      c.clunk(fid);
    }
  });

  it('root getattr and qids along a multi-name walk', () => {
    const a = c.getattr(rootFid);
    expect(a).toMatchObject({ qid: { type: QTDIR, path: fs.statSync(root, { bigint: true }).ino } });
    const r = c.walk(rootFid, ['dir', 'sub']);
    if (typeof r === 'number') throw new Error(String(r));
    expect(r.qids.map((q) => q.path)).toEqual([
      fs.lstatSync(`${root}/dir`, { bigint: true }).ino, fs.lstatSync(`${root}/dir/sub`, { bigint: true }).ino]);
    expect(r.qids.every((q) => q.type === QTDIR)).toBe(true);
    c.clunk(r.fid);
  });

  it('walk([]) clones; ".." stays at the root; "dir/.." is the root', () => {
    const clone = c.walk(rootFid, []);
    if (typeof clone === 'number') throw new Error(String(clone));
    expect(clone.fid).not.toBe(rootFid);
    expect(clone.qids).toEqual([]);
    const rootIno = fs.statSync(root, { bigint: true }).ino;
    expect((c.getattr(clone.fid) as { qid: { path: bigint } }).qid.path).toBe(rootIno);
    const up = c.walk(rootFid, ['..', '..']);
    if (typeof up === 'number') throw new Error(String(up));
    expect(up.qids.map((q) => q.path)).toEqual([rootIno, rootIno]);
    const back = c.walk(rootFid, ['dir', '..']);
    if (typeof back === 'number') throw new Error(String(back));
    expect(back.qids[1]!.path).toBe(rootIno);
    for (const f of [clone.fid, up.fid, back.fid]) c.clunk(f);
  });

  it('errors: ENOENT, ENOTDIR, EINVAL names, partial walks leave no fid behind', () => {
    expect(c.walk(rootFid, ['nope'])).toBe(-ENOENT);
    expect(c.walk(rootFid, ['dir', 'nope'])).toBe(-ENOENT); // partial walk
    expect(c.walk(rootFid, ['file.txt', 'x'])).toBe(-ENOENT); // partial walk (ENOTDIR at step 2)
    const file = walk(['file.txt']);
    expect(c.walk(file, ['x'])).toBe(-ENOTDIR);
    c.clunk(file);
    expect(c.walk(rootFid, ['.'])).toBe(-EINVAL);
    expect(c.walk(rootFid, ['dir/a'])).toBe(-EINVAL);
    expect(c.walk(rootFid, [''])).toBe(-EINVAL);
    expect(c.walk(rootFid, ['x'.repeat(300)])).toBe(-36 /* ENAMETOOLONG */);
    expect(c.walk(rootFid, ['x'.repeat(70_000)])).toBe(-36); // too long for any 9P string: refused by the client
    expect(c.alive).toBe(true);
    // The fids the failed walks allocated were released on both sides: new walks still work.
    for (let i = 0; i < 5; i++) c.clunk(walk(['dir', 'a']));
  });

  it('symlinks are never followed by walk', () => {
    const link = c.walk(rootFid, ['link']);
    if (typeof link === 'number') throw new Error(String(link));
    expect(link.qids[0]!.type).toBe(QTSYMLINK);
    expect(link.qids[0]!.path).toBe(fs.lstatSync(`${root}/link`, { bigint: true }).ino);
    expect(c.walk(link.fid, ['x'])).toBe(-ENOTDIR);
    const dl = walk(['dirlink']);
    expect(c.walk(dl, ['a'])).toBe(-ENOTDIR);
    expect(c.walk(rootFid, ['dirlink', 'a'])).toBe(-ENOENT); // partial walk, not dir/a
    expect(typeof c.walk(rootFid, ['dangling'])).toBe('object');
    c.clunk(link.fid);
    c.clunk(dl);
  });

  it('long walks are split into Twalks of 16 names', () => {
    const names = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'dir' : '..'));
    const r = c.walk(rootFid, [...names, 'dir', 'sub']);
    if (typeof r === 'number') throw new Error(String(r));
    expect(r.qids.length).toBe(42);
    expect(r.qids[41]!.path).toBe(fs.lstatSync(`${root}/dir/sub`, { bigint: true }).ino);
    c.clunk(r.fid);
    expect(c.walk(rootFid, [...names, 'nope'])).toBe(-ENOENT);
  });

  it('attach to a subdirectory aname', () => {
    const fid = c.attach('/dir/sub');
    expect(fid).toBeGreaterThan(0);
    expect((c.getattr(fid) as { qid: { path: bigint } }).qid.path).toBe(fs.statSync(`${root}/dir/sub`, { bigint: true }).ino);
    c.clunk(fid);
    expect(c.attach('/nope')).toBe(-ENOENT);
    expect(c.attach('/link/x')).toBe(-ENOTDIR);
  });
});

describe('gofer: lopen, read, readdir, readlink, statfs', () => {
  it('reads a small file, at offsets, and past EOF', () => {
    const fid = walk(['file.txt']);
    const o = c.lopen(fid, O_RDONLY);
    if (typeof o === 'number') throw new Error(String(o));
    expect(o.qid.path).toBe(fs.statSync(`${root}/file.txt`, { bigint: true }).ino);
    expect(o.iounit).toBeGreaterThan(0);
    expect(Buffer.from(c.read(fid, 0, 100) as Uint8Array).toString()).toBe('hello world\n');
    expect(Buffer.from(c.read(fid, 6, 5) as Uint8Array).toString()).toBe('world');
    expect((c.read(fid, 12, 10) as Uint8Array).length).toBe(0);
    expect((c.read(fid, 1000, 10) as Uint8Array).length).toBe(0);
    expect(c.lopen(fid, O_RDONLY)).toBeLessThan(0); // already open
    c.clunk(fid);
  });

  it('reads a file larger than msize in one call, short only at EOF', () => {
    const fid = walk(['big.bin']);
    expect(typeof c.lopen(fid, O_RDONLY)).toBe('object');
    const all = c.read(fid, 0, BIG.length + 1000) as Uint8Array;
    expect(all.length).toBe(BIG.length);
    expect(Buffer.compare(Buffer.from(all), BIG)).toBe(0);
    const mid = c.read(fid, 1_000_000, 2_000_000) as Uint8Array;
    expect(Buffer.compare(Buffer.from(mid), BIG.subarray(1_000_000, 3_000_000))).toBe(0);
    c.clunk(fid);
  });

  it('refuses symlinks (ELOOP) and device nodes (EACCES); reading a directory is EISDIR', () => {
    const link = walk(['link']);
    expect(c.lopen(link, O_RDONLY)).toBe(-ELOOP);
    c.clunk(link);
    if (isRoot) {
      const dev = walk(['nulldev']);
      expect(c.lopen(dev, O_RDONLY)).toBe(-EACCES);
      expect(c.lopen(dev, O_WRONLY)).toBe(-EACCES);
      c.clunk(dev);
    }
    const d = walk(['dir']);
    expect(c.read(d, 0, 10)).toBe(-EBADF); // not open
    expect(typeof c.lopen(d, O_RDONLY)).toBe('object');
    expect(c.read(d, 0, 10)).toBe(-EISDIR);
    c.clunk(d);
    const d2 = walk(['dir']);
    expect(c.lopen(d2, O_WRONLY)).toBe(-EISDIR);
    c.clunk(d2);
  });

  it('opens and reads a FIFO without ever blocking the Gofer', () => {
    const f = walk(['fifo']);
    expect((c.getattr(f) as { mode: number }).mode & 0o170000).toBe(S_IFIFO);
    expect(typeof c.lopen(f, O_RDONLY)).toBe('object');
    expect((c.read(f, 0, 10) as Uint8Array).length).toBe(0); // no writer: EOF
    const wfd = fs.openSync(`${root}/fifo`, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    try {
      expect(c.read(f, 0, 10)).toBe(-EAGAIN); // a writer, but no data
      fs.writeSync(wfd, 'ping');
      expect(Buffer.from(c.read(f, 0, 10) as Uint8Array).toString()).toBe('ping');
    } finally { fs.closeSync(wfd); }
    c.clunk(f);
    const w = walk(['fifo']);
    expect(c.lopen(w, O_WRONLY)).toBe(-ENXIO); // no reader: refused, not a hang
    c.clunk(w);
    const d = walk([]);
    expect(c.lcreate(d, 'fifo', O_WRONLY | O_CREAT, 0o644)).toBe(-ENXIO);
    c.clunk(d);
  });

  it('readdir lists what fs.readdirSync lists, without "." and ".."', () => {
    for (const p of [[], ['dir'], ['many'], ['dir', 'sub']]) {
      const fid = walk(p);
      expect(c.readdir(fid, 0n, 4096)).toBe(-EBADF); // not open yet
      expect(typeof c.lopen(fid, O_RDONLY | O_DIRECTORY)).toBe('object');
      const ents = readAll(fid);
      const dir = path.join(root, ...p);
      expect(ents.map((e) => e.name).sort()).toEqual(fs.readdirSync(dir).sort());
      for (const e of ents) {
        const st = fs.lstatSync(path.join(dir, e.name), { bigint: true });
        expect(e.qid.path).toBe(st.ino);
        const dt = st.isDirectory() ? DT_DIR : st.isSymbolicLink() ? DT_LNK : st.isFIFO() ? DT_FIFO
          : st.isFile() ? DT_REG : e.type;
        expect(e.type, e.name).toBe(dt);
      }
      c.clunk(fid);
    }
  });

  it('readdir offsets are stable cookies; offset 0 rewinds', () => {
    const fid = walk(['many']);
    c.lopen(fid, O_RDONLY);
    const first = c.readdir(fid, 0n, 200) as DirEntry[];
    expect(first.length).toBeGreaterThan(1);
    expect(first.length).toBeLessThan(300);
    const again = c.readdir(fid, first[0]!.offset, 200) as DirEntry[];
    expect(again[0]).toEqual(first[1]);
    expect(c.readdir(fid, 0n, 200)).toEqual(first);
    expect(c.readdir(fid, 0n, 10)).toBe(-EINVAL); // not even one entry fits
    expect(c.readdir(fid, 100000n, 4096)).toEqual([]);
    c.clunk(fid);
    const file = walk(['file.txt']);
    c.lopen(file, O_RDONLY);
    expect(c.readdir(file, 0n, 4096)).toBe(-ENOTDIR);
    c.clunk(file);
  });

  it('readlink returns targets; a non-symlink is EINVAL', () => {
    for (const name of ['link', 'dangling', 'dirlink']) {
      const fid = walk([name]);
      expect(c.readlink(fid)).toBe(fs.readlinkSync(`${root}/${name}`));
      c.clunk(fid);
    }
    const f = walk(['file.txt']);
    expect(c.readlink(f)).toBe(-EINVAL);
    c.clunk(f);
  });

  it('statfs matches fs.statfsSync', () => {
    const s = c.statfs(rootFid);
    if (typeof s === 'number') throw new Error(String(s));
    const h = fs.statfsSync(root);
    expect(s.type).toBe(h.type);
    expect(s.bsize).toBe(h.bsize);
    expect(s.blocks).toBe(h.blocks);
    expect(s.files).toBe(h.files);
    expect(s.namelen).toBe(255);
  });

  it('unknown fids are EBADF', () => {
    expect(c.getattr(999_999)).toBe(-EBADF);
    expect(c.walk(999_999, ['dir'])).toBe(-EBADF);
    expect(c.alive).toBe(true);
  });

  it('non-UTF-8-free names round-trip', () => {
    const fid = walk(['ünïcode']);
    c.lopen(fid, O_RDONLY);
    expect(Buffer.from(c.read(fid, 0, 10) as Uint8Array).toString()).toBe('u');
    c.clunk(fid);
  });
});

describe('gofer: writes', () => {
  let w: string;
  beforeAll(() => {
    w = path.join(root, 'w');
    fs.mkdirSync(w);
  });

  it('lcreate turns the directory fid into the new open file; write and read back', () => {
    const d = walk(['w']);
    const r = c.lcreate(d, 'new.txt', O_RDWR | O_CREAT | O_EXCL, 0o640);
    if (typeof r === 'number') throw new Error(String(r));
    expect(r.qid.type).toBe(QTFILE);
    expect(r.qid.path).toBe(fs.statSync(`${w}/new.txt`, { bigint: true }).ino);
    expect(fs.statSync(`${w}/new.txt`).mode & 0o7777).toBe(0o640); // the Gofer's umask is 0
    expect(c.write(d, 0, Buffer.from('hello'))).toBe(5);
    expect(c.write(d, 3, Buffer.from('p me'))).toBe(4);
    expect(fs.readFileSync(`${w}/new.txt`, 'utf8')).toBe('help me');
    expect(Buffer.from(c.read(d, 0, 100) as Uint8Array).toString()).toBe('help me');
    expect(c.fsync(d)).toBe(0);
    expect(c.fsync(d, true)).toBe(0);
    c.clunk(d);
    const d2 = walk(['w']);
    expect(c.lcreate(d2, 'new.txt', O_RDWR | O_CREAT | O_EXCL, 0o600)).toBe(-EEXIST);
    expect(c.lcreate(d2, 'a/b', O_RDWR | O_CREAT, 0o600)).toBe(-EINVAL);
    c.clunk(d2);
  });

  it('writes larger than msize, O_APPEND and O_TRUNC', () => {
    const d = walk(['w']);
    expect(typeof c.lcreate(d, 'big', O_WRONLY | O_CREAT | O_TRUNC, 0o644)).toBe('object');
    expect(c.write(d, 0, BIG)).toBe(BIG.length);
    expect(c.read(d, 0, 1)).toBe(-EBADF); // write-only
    c.clunk(d);
    expect(Buffer.compare(fs.readFileSync(`${w}/big`), BIG)).toBe(0);
    const f = walk(['w', 'big']);
    expect(typeof c.lopen(f, O_WRONLY | O_TRUNC)).toBe('object');
    c.clunk(f);
    expect(fs.statSync(`${w}/big`).size).toBe(0);
    const a = walk(['w', 'big']);
    c.lopen(a, O_WRONLY | O_APPEND);
    c.write(a, 0, Buffer.from('one'));
    c.write(a, 0, Buffer.from('two'));
    c.clunk(a);
    expect(fs.readFileSync(`${w}/big`, 'utf8')).toBe('onetwo');
    const ro = walk(['w', 'big']);
    c.lopen(ro, O_RDONLY);
    expect(c.write(ro, 0, Buffer.from('x'))).toBe(-EBADF);
    c.clunk(ro);
  });

  it('mkdir, symlink, link, mknod', () => {
    const d = walk(['w']);
    const q = c.mkdir(d, 'sub', 0o750);
    if (typeof q === 'number') throw new Error(String(q));
    expect(q.type).toBe(QTDIR);
    expect(fs.statSync(`${w}/sub`).mode & 0o7777).toBe(0o750);
    expect(c.mkdir(d, 'sub', 0o750)).toBe(-EEXIST);
    const s = c.symlink(d, 'sl', '../file.txt');
    if (typeof s === 'number') throw new Error(String(s));
    expect(s.type).toBe(QTSYMLINK);
    expect(fs.readlinkSync(`${w}/sl`)).toBe('../file.txt');
    const target = walk(['file.txt']);
    expect(c.link(d, target, 'hard')).toBe(0);
    expect(fs.statSync(`${w}/hard`).ino).toBe(fs.statSync(`${root}/file.txt`).ino);
    c.clunk(target);
    const sl = walk(['w', 'sl']);
    expect(c.link(d, sl, 'hardsl')).toBe(0); // links the symlink itself
    expect(fs.lstatSync(`${w}/hardsl`).isSymbolicLink()).toBe(true);
    c.clunk(sl);
    const n = c.mknod(d, 'node', S_IFREG | 0o600, 0, 0);
    expect(typeof n).toBe('object');
    expect(fs.statSync(`${w}/node`).isFile()).toBe(true);
    expect(typeof c.mknod(d, 'fifo', S_IFIFO | 0o600, 0, 0)).toBe('object');
    expect(fs.statSync(`${w}/fifo`).isFIFO()).toBe(true);
    expect(typeof c.mknod(d, 'sock', 0o140000 | 0o600, 0, 0)).toBe('object');
    expect(fs.statSync(`${w}/sock`).isSocket()).toBe(true);
    expect(c.mknod(d, 'chr', 0o020000 | 0o600, 1, 3)).toBe(-EPERM);
    const file = walk(['file.txt']);
    expect(c.mkdir(file, 'x', 0o755)).toBe(-ENOTDIR);
    c.clunk(file);
    c.clunk(d);
  });

  it('renameat moves the file and the fids below it', () => {
    fs.mkdirSync(`${w}/r1/inner`, { recursive: true });
    fs.writeFileSync(`${w}/r1/inner/f`, 'inside');
    const inner = walk(['w', 'r1', 'inner', 'f']);
    const d = walk(['w']);
    expect(c.renameat(d, 'r1', d, 'r2')).toBe(0);
    expect(fs.existsSync(`${w}/r2/inner/f`)).toBe(true);
    c.lopen(inner, O_RDONLY);
    expect(Buffer.from(c.read(inner, 0, 10) as Uint8Array).toString()).toBe('inside');
    expect(c.renameat(d, 'nope', d, 'x')).toBe(-ENOENT);
    expect(c.renameat(d, 'r2', d, '..')).toBe(-EINVAL);
    c.clunk(inner);
    c.clunk(d);
  });

  it('unlinkat and remove', () => {
    fs.writeFileSync(`${w}/u1`, '');
    fs.mkdirSync(`${w}/ud`);
    fs.mkdirSync(`${w}/full`);
    fs.writeFileSync(`${w}/full/x`, '');
    const d = walk(['w']);
    expect(c.unlinkat(d, 'u1', 0)).toBe(0);
    expect(fs.existsSync(`${w}/u1`)).toBe(false);
    expect(c.unlinkat(d, 'u1', 0)).toBe(-ENOENT);
    expect(c.unlinkat(d, 'ud', 0)).toBe(-EISDIR);
    expect(c.unlinkat(d, 'ud', AT_REMOVEDIR)).toBe(0);
    expect(c.unlinkat(d, 'full', AT_REMOVEDIR)).toBe(-ENOTEMPTY);
    const x = walk(['w', 'full', 'x']);
    expect(c.remove(x)).toBe(0);
    expect(fs.existsSync(`${w}/full/x`)).toBe(false);
    const full = walk(['w', 'full']);
    expect(c.remove(full)).toBe(0);
    expect(fs.existsSync(`${w}/full`)).toBe(false);
    c.clunk(d);
  });

  it('setattr: mode, size, times; never through a symlink', () => {
    fs.writeFileSync(`${w}/s`, '0123456789');
    const f = walk(['w', 's']);
    expect(c.setattr(f, { valid: SETATTR_MODE, mode: 0o604 })).toBe(0);
    expect(fs.statSync(`${w}/s`).mode & 0o7777).toBe(0o604);
    expect(c.setattr(f, { valid: SETATTR_SIZE, size: 4 })).toBe(0);
    expect(fs.readFileSync(`${w}/s`, 'utf8')).toBe('0123');
    expect(c.setattr(f, { valid: SETATTR_MTIME | SETATTR_MTIME_SET | SETATTR_ATIME | SETATTR_ATIME_SET,
      mtimeSec: 1_000_000_000, mtimeNsec: 500_000_000, atimeSec: 1_100_000_000, atimeNsec: 0 })).toBe(0);
    const st = fs.statSync(`${w}/s`);
    expect(Math.round(st.mtimeMs)).toBe(1_000_000_000_500);
    expect(Math.round(st.atimeMs)).toBe(1_100_000_000_000);
    const a = c.getattr(f);
    expect(a).toMatchObject({ mtimeSec: 1_000_000_000, size: 4 });
    c.clunk(f);
    fs.symlinkSync('s', `${w}/s-link`);
    const l = walk(['w', 's-link']);
    expect(c.setattr(l, { valid: SETATTR_MODE, mode: 0o777 })).toBe(-EOPNOTSUPP);
    expect(c.setattr(l, { valid: SETATTR_SIZE, size: 0 })).toBe(-EINVAL);
    expect(fs.statSync(`${w}/s`).mode & 0o7777).toBe(0o604);
    expect(fs.statSync(`${w}/s`).size).toBe(4);
    c.clunk(l);
  });
});

describe('gofer: donated host fds (file data without 9P)', () => {
  it('Tlopen of a regular file donates its open fd: same inode, same access mode; none for directories and FIFOs', () => {
    const fid = walk(['big.bin']);
    const o = c.lopen(fid, O_RDONLY);
    if (typeof o === 'number') throw new Error(String(o));
    expect(o.hostFd).toBeGreaterThanOrEqual(0);
    expect(fs.fstatSync(o.hostFd, { bigint: true }).ino).toBe(o.qid.path);
    const buf = Buffer.alloc(4096);
    expect(fs.readSync(o.hostFd, buf, 0, 4096, 1_000_000)).toBe(4096);
    expect(Buffer.compare(buf, BIG.subarray(1_000_000, 1_004_096))).toBe(0);
    expect(() => fs.writeSync(o.hostFd, 'x', 0)).toThrow(/EBADF/); // opened O_RDONLY
    expect(fcntlCloexec(o.hostFd)).toBe(true);
    close(o.hostFd);
    c.clunk(fid);
    for (const name of ['dir', 'fifo']) {
      const f = walk([name]);
      const d = c.lopen(f, O_RDONLY | (name === 'dir' ? O_DIRECTORY : 0));
      if (typeof d === 'number') throw new Error(`${name}: ${d}`);
      expect(d.hostFd).toBe(-1);
      c.clunk(f);
    }
  });

  it('Tlcreate donates the new file open read-write; writes through it reach the host', () => {
    const d = walk(['dir']);
    const r = c.lcreate(d, 'donated.txt', O_RDWR | O_CREAT | O_EXCL, 0o600);
    if (typeof r === 'number') throw new Error(String(r));
    expect(r.hostFd).toBeGreaterThanOrEqual(0);
    expect(fs.writeSync(r.hostFd, 'through the fd', 0)).toBe(14);
    expect(fs.readFileSync(`${root}/dir/donated.txt`, 'utf8')).toBe('through the fd');
    fs.unlinkSync(`${root}/dir/donated.txt`);
    close(r.hostFd);
    c.clunk(d);
  });
});

describe('gofer: pipelined requests (an ordered client)', () => {
  it('walkGetattr and createWalk take one round trip each and stay in step after failures', () => {
    const g2 = startGofer(root);
    const oc = new GoferClient(g2.fd, true);
    g2.client = oc;
    const top = oc.attach('/');
    const w = oc.walkGetattr(top, 'file.txt');
    if (typeof w === 'number') throw new Error(String(w));
    expect(w.attr.size).toBe(12);
    expect(oc.walkGetattr(top, 'missing')).toBe(-ENOENT);
    expect(oc.walkGetattr(w.fid, 'x')).toBe(-ENOTDIR);
    const d = oc.walkGetattr(top, 'dir');
    if (typeof d === 'number') throw new Error(String(d));
    const c = oc.createWalk(d.fid, 'piped.txt', O_RDWR | O_CREAT | O_EXCL, 0o600);
    if (typeof c === 'number') throw new Error(String(c));
    expect(c.attr.qid.path).toBe(fs.statSync(`${root}/dir/piped.txt`, { bigint: true }).ino);
    expect(c.open.hostFd).toBeGreaterThanOrEqual(0);
    expect(fs.writeSync(c.open.hostFd, 'piped', 0)).toBe(5);
    close(c.open.hostFd);
    expect(oc.createWalk(d.fid, 'piped.txt', O_RDWR | O_CREAT | O_EXCL, 0o600)).toBe(-EEXIST);
    // Still in step: the directory fid was not consumed, later calls answer correctly.
    expect((oc.getattr(c.fid) as { size: number }).size).toBe(5);
    expect(oc.walkGetattr(d.fid, 'a')).toMatchObject({ attr: { size: 1 } });
    expect(oc.failure).toBeNull();
    fs.unlinkSync(`${root}/dir/piped.txt`);
  });
});

describe('gofer --read-only', () => {
  let ro: GoferClient;
  let rfid: number;
  beforeAll(() => {
    const gr = startGofer(root, ['--read-only']);
    ro = new GoferClient(gr.fd);
    gr.client = ro;
    rfid = ro.attach('');
  });

  it('reads work, every mutation is EROFS', () => {
    const w = ro.walk(rfid, ['file.txt']);
    if (typeof w === 'number') throw new Error(String(w));
    expect(ro.lopen(w.fid, O_RDWR)).toBe(-EROFS);
    expect(ro.lopen(w.fid, O_RDONLY | O_TRUNC)).toBe(-EROFS);
    expect(typeof ro.lopen(w.fid, O_RDONLY)).toBe('object');
    expect(Buffer.from(ro.read(w.fid, 0, 5) as Uint8Array).toString()).toBe('hello');
    expect(ro.setattr(w.fid, { valid: SETATTR_MODE, mode: 0o777 })).toBe(-EROFS);
    const d = (ro.walk(rfid, ['dir']) as { fid: number }).fid;
    expect(ro.lcreate(d, 'x', O_RDWR | O_CREAT, 0o644)).toBe(-EROFS);
    expect(ro.mkdir(d, 'x', 0o755)).toBe(-EROFS);
    expect(ro.symlink(d, 'x', 'y')).toBe(-EROFS);
    expect(ro.link(d, w.fid, 'x')).toBe(-EROFS);
    expect(ro.mknod(d, 'x', S_IFREG | 0o644, 0, 0)).toBe(-EROFS);
    expect(ro.renameat(d, 'a', d, 'c')).toBe(-EROFS);
    expect(ro.unlinkat(d, 'a', 0)).toBe(-EROFS);
    const a = (ro.walk(rfid, ['dir', 'a']) as { fid: number }).fid;
    expect(ro.remove(a)).toBe(-EROFS);
    expect(fs.existsSync(`${root}/dir/a`)).toBe(true);
    expect(fs.readdirSync(`${root}/dir`).sort()).toEqual(['a', 'b', 'sub']);
  });
});

describe('gofer lifecycle and robustness', () => {
  it('exits 0 when the socket reaches EOF', async () => {
    const gx = startGofer(root);
    const cx = new GoferClient(gx.fd);
    expect(cx.attach('')).toBeGreaterThan(0);
    expect(await stopGofer(gx)).toBe(0);
  });

  it('a dead gofer surfaces as -EIO from every call', async () => {
    const gx = startGofer(root);
    const cx = new GoferClient(gx.fd);
    const fid = cx.attach('');
    gx.proc.kill('SIGKILL');
    await gx.exit;
    expect(cx.walk(fid, ['dir'])).toBe(-EIO);
    expect(cx.getattr(fid)).toBe(-EIO);
    expect(cx.read(fid, 0, 10)).toBe(-EIO);
    expect(cx.readdir(fid, 0n, 100)).toBe(-EIO);
    expect(cx.attach('')).toBe(-EIO);
    expect(cx.alive).toBe(false);
    expect(() => cx.clunk(fid)).not.toThrow();
    await stopGofer(gx);
  });

  it('answers malformed messages with Rlerror and keeps serving; exits 1 on a bad frame size', async () => {
    const gx = startGofer(root);
    const reader = new FrameReader(gx.fd, 1 << 21);
    const rpc = (bytes: Uint8Array): unknown => {
      expect(writeAll(gx.fd, bytes)).toBe(0);
      const f = reader.next();
      return f instanceof Uint8Array ? decode(f) : f;
    };
    expect(rpc(encode({ type: 'Tversion', tag: 0xffff, msize: 65536, version: '9P2000.L' })))
      .toMatchObject({ type: 'Rversion', msize: 65536, version: '9P2000.L' });
    // Unknown message type 200, tag 7.
    expect(rpc(Uint8Array.of(7, 0, 0, 0, 200, 7, 0))).toEqual({ type: 'Rlerror', tag: 7, ecode: EOPNOTSUPP });
    // Tclunk with its fid cut short.
    expect(rpc(Uint8Array.of(9, 0, 0, 0, 120, 8, 0, 1, 0))).toEqual({ type: 'Rlerror', tag: 8, ecode: EINVAL });
    // An R-message sent to the server.
    expect(rpc(encode({ type: 'Rclunk', tag: 9 }))).toEqual({ type: 'Rlerror', tag: 9, ecode: EOPNOTSUPP });
    // Walk names with NUL and "/" are refused, not thrown on.
    expect(rpc(encode({ type: 'Tattach', tag: 10, fid: 1, afid: 0xffffffff, uname: '', aname: '', nUname: 0 })))
      .toMatchObject({ type: 'Rattach' });
    expect(rpc(encode({ type: 'Twalk', tag: 11, fid: 1, newfid: 2, wnames: ['a\0b'] })))
      .toEqual({ type: 'Rlerror', tag: 11, ecode: EINVAL });
    expect(rpc(encode({ type: 'Twalk', tag: 12, fid: 1, newfid: 2, wnames: Array(17).fill('dir') })))
      .toEqual({ type: 'Rlerror', tag: 12, ecode: EINVAL });
    // A frame larger than msize: the stream cannot be trusted any more.
    const huge = new Uint8Array(11);
    new DataView(huge.buffer).setUint32(0, 1 << 20, true);
    rawWrite(gx.fd, huge, huge.length);
    expect(await gx.exit).toBe(1);
    await stopGofer(gx);
  });
});

