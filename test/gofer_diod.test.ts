// Our 9P2000.L client against a real server: Debian's diod (apt-get install
// diod), serving a temporary directory to one connection on a socketpair
// (`diod -r 3 -w 3`: no listener, no auth). Every operation the client has is
// run against it and checked with Node's fs. diod donates no fds, so the
// gofer filesystem's data path falls back to Tread/Twrite: checked too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { close, socketpair } from '../src/ffi/libc';
import {
  GoferClient, QTDIR, QTFILE, QTSYMLINK, SETATTR_MODE, SETATTR_MTIME, SETATTR_MTIME_SET, SETATTR_SIZE,
  type DirEntry,
} from '../sentry/fsgofer/client';
import { EEXIST, ENOENT, ENOTEMPTY } from '../src/abi/errno';
import { AT_REMOVEDIR, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, S_IFREG } from '../src/abi/linux';
import { GoferFS, GoferInode } from '../sentry/vfs/gofer';

const DIOD = '/usr/sbin/diod';
let root = '';
/** diod's working directory: it raises its own core limit and dumps core as it exits, so the core lands here, not in the tree. */
let cwd = '';
let diod: ChildProcess;
let exited: Promise<unknown>;
let sock = -1;
let c: GoferClient;
let top = 0;

beforeAll(() => {
  if (!fs.existsSync(DIOD)) throw new Error(`${DIOD} is missing: apt-get install -y diod`);
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'gofer-diod-')));
  fs.writeFileSync(`${root}/hello.txt`, 'hello from diod\n');
  fs.mkdirSync(`${root}/dir`);
  for (let i = 0; i < 200; i++) fs.writeFileSync(`${root}/dir/entry-${i}`, String(i));
  fs.symlinkSync('hello.txt', `${root}/link`);
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gofer-diod-cwd-'));
  const sv = new Int32Array(2);
  if (socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0x80000 /* SOCK_CLOEXEC */, 0, sv) !== 0) throw new Error('socketpair');
  diod = spawn(DIOD, ['-f', '-n', '-N', '-r', '3', '-w', '3', '-e', root, '-L', 'stderr', '-c', '/dev/null'], {
    stdio: ['ignore', 'ignore', 'pipe', sv[1]!], cwd,
  });
  let log = '';
  diod.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  exited = new Promise((r) => diod.on('exit', r));
  close(sv[1]!);
  sock = sv[0]!;
  c = new GoferClient(sock);
  expect(c.failure, log).toBeNull();
  expect(c.msize).toBeGreaterThanOrEqual(4096);
  top = c.attach(root, 0);
  expect(top, `attach: ${log}`).toBeGreaterThan(0);
});

afterAll(async () => {
  if (sock >= 0) close(sock); // diod serves one connection: EOF ends it
  const t = setTimeout(() => { if (diod.pid) process.kill(diod.pid, 'SIGKILL'); }, 5000);
  await exited;
  clearTimeout(t);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(cwd, { recursive: true, force: true });
});

function walk(names: string[]): number {
  const r = c.walk(top, names);
  if (typeof r === 'number') throw new Error(`walk ${names.join('/')}: errno ${-r}`);
  return r.fid;
}

describe('our 9P client against diod', () => {
  it('walk, getattr, lopen, read, readlink, statfs', () => {
    const f = walk(['hello.txt']);
    const a = c.getattr(f);
    if (typeof a === 'number') throw new Error(String(a));
    const st = fs.statSync(`${root}/hello.txt`, { bigint: true });
    expect(a.qid.type).toBe(QTFILE);
    expect(BigInt(a.size)).toBe(st.size);
    expect(BigInt(a.mode)).toBe(st.mode);
    const o = c.lopen(f, O_RDONLY);
    if (typeof o === 'number') throw new Error(String(o));
    expect(o.hostFd).toBe(-1); // a plain 9P server donates nothing
    expect(Buffer.from(c.read(f, 0, 100) as Uint8Array).toString()).toBe('hello from diod\n');
    expect(Buffer.from(c.read(f, 6, 4) as Uint8Array).toString()).toBe('from');
    c.clunk(f);
    const l = walk(['link']);
    expect((c.getattr(l) as { qid: { type: number } }).qid.type).toBe(QTSYMLINK);
    expect(c.readlink(l)).toBe('hello.txt');
    c.clunk(l);
    const s = c.statfs(top);
    if (typeof s === 'number') throw new Error(String(s));
    expect(s.bsize).toBeGreaterThan(0);
    expect(c.walk(top, ['missing'])).toBe(-ENOENT);
  });

  it('readdir lists every entry across several replies', () => {
    const d = walk(['dir']);
    expect(typeof c.lopen(d, O_RDONLY | O_DIRECTORY)).toBe('object');
    const names: string[] = [];
    let off = 0n;
    for (;;) {
      const ents = c.readdir(d, off, 2048) as DirEntry[] | number;
      if (typeof ents === 'number') throw new Error(String(ents));
      if (ents.length === 0) break;
      names.push(...ents.map((e) => e.name));
      off = ents[ents.length - 1]!.offset;
    }
    c.clunk(d);
    expect(names.filter((n) => n !== '.' && n !== '..').sort()).toEqual(fs.readdirSync(`${root}/dir`).sort());
  });

  it('lcreate, write, fsync, setattr, mkdir, symlink, link, mknod, renameat, unlinkat, remove', () => {
    const d = walk([]);
    const r = c.lcreate(d, 'new.txt', O_RDWR | O_CREAT | O_EXCL, 0o640, 0);
    if (typeof r === 'number') throw new Error(String(r));
    expect(r.qid.type).toBe(QTFILE);
    expect(r.hostFd).toBe(-1);
    const big = Buffer.alloc(300_000, 7);
    const wr = c.write(d, 0, big);
    expect(wr, `${c.failure} msize ${c.msize}`).toBe(big.length); // larger than diod's msize: several Twrites
    expect(c.fsync(d)).toBe(0);
    expect(fs.readFileSync(`${root}/new.txt`).equals(big)).toBe(true);
    expect(c.setattr(d, { valid: SETATTR_SIZE, size: 10 })).toBe(0);
    expect(fs.statSync(`${root}/new.txt`).size).toBe(10);
    expect(c.setattr(d, { valid: SETATTR_MODE | SETATTR_MTIME | SETATTR_MTIME_SET, mode: 0o600, mtimeSec: 1e9, mtimeNsec: 0 })).toBe(0);
    expect(fs.statSync(`${root}/new.txt`).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${root}/new.txt`).mtimeMs).toBe(1e12);
    c.clunk(d);

    const q = c.mkdir(top, 'sub', 0o750, 0);
    expect(typeof q === 'object' && q.type).toBe(QTDIR);
    expect(c.mkdir(top, 'sub', 0o750, 0)).toBe(-EEXIST);
    expect(typeof c.symlink(top, 'sl', 'new.txt', 0)).toBe('object');
    expect(fs.readlinkSync(`${root}/sl`)).toBe('new.txt');
    const target = walk(['new.txt']);
    expect(c.link(top, target, 'hard')).toBe(0);
    expect(fs.statSync(`${root}/hard`).ino).toBe(fs.statSync(`${root}/new.txt`).ino);
    c.clunk(target);
    expect(typeof c.mknod(top, 'plain', S_IFREG | 0o600, 0, 0, 0)).toBe('object');
    expect(fs.statSync(`${root}/plain`).isFile()).toBe(true);
    expect(c.renameat(top, 'plain', top, 'moved')).toBe(0);
    expect(fs.existsSync(`${root}/moved`)).toBe(true);
    expect(c.unlinkat(top, 'moved', 0)).toBe(0);
    fs.writeFileSync(`${root}/sub/x`, '');
    expect(c.unlinkat(top, 'sub', AT_REMOVEDIR)).toBe(-ENOTEMPTY);
    const x = walk(['sub', 'x']);
    expect(c.remove(x)).toBe(0);
    expect(c.unlinkat(top, 'sub', AT_REMOVEDIR)).toBe(0);
    expect(fs.existsSync(`${root}/sub`)).toBe(false);
  });

  it('the gofer filesystem over diod: data through Tread/Twrite when no fd is donated', () => {
    const gfs = new GoferFS(c, false, 'shared');
    const fid = c.attach(root, 0);
    const attr = c.getattr(fid);
    if (typeof attr === 'number') throw new Error(String(attr));
    const rootIno = new GoferInode(gfs, fid, attr);
    const f = rootIno.lookup(null, 'hello.txt') as GoferInode;
    const buf = new Uint8Array(5);
    expect(f.readInto(6, [buf])).toBe(5);
    expect(Buffer.from(buf).toString()).toBe('from ');
    expect(f.writeFrom(0, [Buffer.from('HELLO')])).toBe(5);
    expect(fs.readFileSync(`${root}/hello.txt`, 'utf8')).toBe('HELLO from diod\n');
    fs.writeFileSync(`${root}/hello.txt`, 'changed on the host, longer than before\n');
    expect(f.stat().size).toBe(40); // shared: attributes revalidated
  });
});
