// The Gofer under attack: the real process, through the real client, on a
// temporary tree with a secret file outside it. Security contract (issue 3,
// part 4): no walk, symlink, "..", /proc magic link or rename race reads or
// writes anything outside the served tree, and the Gofer survives.
//
// Each hostile case runs twice: against the confined Gofer (mount namespace,
// pivot_root, capabilities dropped, seccomp; needs root) and with
// --no-confine, which proves the fd-relative resolution holds on its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { socketpair, close } from '../src/ffi/libc';
import { GoferClient, SETATTR_MODE, SETATTR_SIZE, SETATTR_MTIME, SETATTR_MTIME_SET, SETATTR_UID } from '../sentry/fsgofer/client';
import { ELOOP, ENOENT, ENOTDIR, EINVAL, EROFS, EACCES } from '../src/abi/errno';
import { AT_REMOVEDIR, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../src/abi/linux';

const REPO = path.resolve(__dirname, '..');
const BUNDLE = path.join(REPO, 'test/.build/gofer-hostile.js');
const isRoot = process.getuid?.() === 0;
const SECRET = 'OUTSIDE-SECRET-0xdeadbeef\n';
const INSIDE = 'inside\n';

interface Gofer { proc: ChildProcess; fd: number; exit: Promise<number | null>; c: GoferClient; root: number }
const gofers: Gofer[] = [];
const children: ChildProcess[] = [];
const mounts: string[] = [];
let base = '';

function startGofer(tree: string, extra: string[]): Gofer {
  const sv = new Int32Array(2);
  if (socketpair(1, 1 | 0x80000, 0, sv) !== 0) throw new Error('socketpair failed');
  const proc = spawn(process.execPath, [BUNDLE, '--root', tree, '--fd', '3', ...extra], { stdio: ['ignore', 'inherit', 'inherit', sv[1]!] });
  close(sv[1]!);
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const c = new GoferClient(sv[0]!);
  expect(c.failure).toBeNull();
  const root = c.attach('/');
  expect(root).toBeGreaterThan(0);
  const g = { proc, fd: sv[0]!, exit, c, root };
  gofers.push(g);
  return g;
}

/** Walks, opens read-only and reads everything: the contents, or -errno of the first step that failed. */
function readVia(g: Gofer, names: string[], from = g.root): string | number {
  const w = g.c.walk(from, names);
  if (typeof w === 'number') return w;
  try {
    const o = g.c.lopen(w.fid, O_RDONLY);
    if (typeof o === 'number') return o;
    const d = g.c.read(w.fid, 0, 1 << 16);
    return typeof d === 'number' ? d : Buffer.from(d).toString();
  } finally { g.c.clunk(w.fid); }
}

function ino(p: string): bigint { return fs.lstatSync(p, { bigint: true }).ino; }

/** Every name, type, mode, owner, size, mtime and content below dir, as one string. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p, { bigint: true });
      let body = '';
      if (st.isFile()) body = fs.readFileSync(p, 'base64');
      else if (st.isSymbolicLink()) body = fs.readlinkSync(p);
      out.push(`${path.relative(dir, p)} ${st.mode} ${st.uid}:${st.gid} ${st.size} ${st.mtimeNs} ${st.nlink} ${body}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join('\n');
}

/** A tree at base/NAME holding the hostile links, and base/outside-NAME with the secret. */
function makeTree(name: string): { tree: string; outside: string } {
  const tree = path.join(base, name);
  const outside = path.join(base, `outside-${name}`);
  fs.mkdirSync(`${tree}/dir/sub/deep`, { recursive: true });
  fs.mkdirSync(`${outside}/secretdir`, { recursive: true });
  fs.writeFileSync(`${outside}/secret`, SECRET);
  fs.writeFileSync(`${outside}/secretdir/secret`, SECRET);
  fs.writeFileSync(`${tree}/file`, INSIDE);
  fs.writeFileSync(`${tree}/dir/sub/file`, INSIDE);
  fs.symlinkSync(`${outside}/secret`, `${tree}/abs`); // absolute host path
  fs.symlinkSync(outside, `${tree}/outdir`); // a directory outside
  fs.symlinkSync('/etc/shadow', `${tree}/shadow`);
  fs.symlinkSync('/etc', `${tree}/etc`);
  fs.symlinkSync(`../../../../outside-${name}/secret`, `${tree}/dir/sub/rel`); // relative, escaping with ../
  fs.symlinkSync(`../../../../../../../../..${outside}/secret`, `${tree}/dir/sub/deep/rel2`);
  fs.symlinkSync('/proc/self/root', `${tree}/procroot`);
  fs.symlinkSync('/proc/1/root', `${tree}/initroot`);
  fs.symlinkSync('/proc/self/cwd', `${tree}/proccwd`);
  fs.symlinkSync('/proc/self/fd/3', `${tree}/procfd`);
  fs.mkdirSync(`${tree}/race/inner`, { recursive: true });
  fs.writeFileSync(`${tree}/race/secret`, INSIDE);
  fs.writeFileSync(`${tree}/racefile`, INSIDE);
  return { tree, outside };
}

/**
 * A separate process that swaps tree/race (a directory) with a symlink to
 * outside, and tree/racefile with a symlink to outside/secret, in a tight loop.
 */
function startSwapper(tree: string, outside: string): ChildProcess {
  const script = `
    const fs = require('fs'); process.chdir(${JSON.stringify(tree)});
    const out = ${JSON.stringify(outside)};
    for (;;) {
      try { fs.renameSync('race', 'race.real'); fs.symlinkSync(out, 'race'); } catch {}
      try { fs.renameSync('racefile', 'racefile.real'); fs.symlinkSync(out + '/secret', 'racefile'); } catch {}
      try { fs.unlinkSync('race'); fs.renameSync('race.real', 'race'); } catch {}
      try { fs.unlinkSync('racefile'); fs.renameSync('racefile.real', 'racefile'); } catch {}
    }`;
  const p = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  children.push(p);
  return p;
}

function stopChild(p: ChildProcess): void {
  if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) process.kill(p.pid, 'SIGKILL');
}

beforeAll(async () => {
  await build({
    entryPoints: [path.join(REPO, 'gofer/main.ts')], outfile: BUNDLE, bundle: true, platform: 'node',
    target: 'node20', format: 'cjs', external: ['koffi', 'pino'], logLevel: 'warning',
  });
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'gofer-hostile-'));
}, 30_000);

afterAll(async () => {
  for (const p of children) stopChild(p);
  for (const g of gofers) {
    close(g.fd);
    if (g.proc.exitCode === null && g.proc.signalCode === null) {
      const t = setTimeout(() => g.proc.kill('SIGKILL'), 5000);
      await g.exit;
      clearTimeout(t);
    }
  }
  for (const m of mounts) spawnSyncQuiet('umount', ['-l', m]);
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

function spawnSyncQuiet(cmd: string, args: string[]): number {
  return require('node:child_process').spawnSync(cmd, args, { stdio: 'ignore' }).status as number;
}

const MODES = [
  ...(isRoot ? [{ mode: 'confined', flags: [] as string[] }] : []),
  { mode: 'unconfined (--no-confine)', flags: ['--no-confine'] },
];

describe.each(MODES)('gofer hostile, $mode', ({ mode, flags }) => {
  const tag = mode.startsWith('confined') ? 'c' : 'u';
  let ro: Gofer; let roTree = ''; let roOutside = '';

  beforeAll(() => {
    ({ tree: roTree, outside: roOutside } = makeTree(`ro-${tag}`));
    ro = startGofer(roTree, [...flags, '--read-only']);
  });

  it('(a) ".." from the root and from subdirectories never leaves the tree', () => {
    const { c } = ro;
    const rootIno = ino(roTree);
    const up = c.walk(ro.root, Array(40).fill('..'));
    if (typeof up === 'number') throw new Error(String(up));
    expect(up.qids.every((q) => q.path === rootIno)).toBe(true);
    // Outside the tree, its siblings would be there: they are not.
    expect(c.walk(up.fid, [`outside-ro-${tag}`])).toBe(-ENOENT);
    expect(c.walk(up.fid, [path.basename(roTree)])).toBe(-ENOENT);
    expect(c.walk(ro.root, ['dir', 'sub', 'deep', '..', '..', '..', '..', '..', path.basename(roTree)])).toBe(-ENOENT);
    const deep = c.walk(ro.root, ['dir', 'sub', 'deep']);
    if (typeof deep === 'number') throw new Error(String(deep));
    const back = c.walk(deep.fid, Array(20).fill('..'));
    if (typeof back === 'number') throw new Error(String(back));
    expect(back.qids.map((q) => q.path).slice(0, 4)).toEqual([ino(`${roTree}/dir/sub`), ino(`${roTree}/dir`), rootIno, rootIno]);
    expect(c.walk(deep.fid, [...Array(10).fill('..'), `outside-ro-${tag}`, 'secret'])).toBe(-ENOENT);
    expect(c.walk(deep.fid, [...Array(10).fill('..'), 'file']).constructor).toBe(Object);
    expect(c.attach('/../../..')).toBe(-EINVAL);
    expect(c.attach(`/dir/../../outside-ro-${tag}`)).toBe(-EINVAL);
    // The listing at the top of any ".." chain is the tree's.
    expect(typeof c.lopen(back.fid, O_RDONLY | O_DIRECTORY)).toBe('object');
    const ents = c.readdir(back.fid, 0n, 65536);
    if (typeof ents === 'number') throw new Error(String(ents));
    expect(ents.map((e) => e.name).sort()).toEqual(fs.readdirSync(roTree).sort());
    for (const f of [up.fid, deep.fid, back.fid]) c.clunk(f);
  });

  it('(b) symlinks to absolute host paths, /etc/shadow and ../../.. escapes are never followed', () => {
    for (const names of [['abs'], ['shadow'], ['dir', 'sub', 'rel'], ['dir', 'sub', 'deep', 'rel2'], ['outdir'], ['etc']]) {
      const r = readVia(ro, names);
      expect(r, names.join('/')).toBe(-ELOOP); // a symlink cannot be opened
    }
    for (const names of [['outdir', 'secret'], ['outdir', 'secretdir', 'secret'], ['etc', 'shadow'], ['etc', 'passwd'],
      ['dir', 'sub', 'rel', 'x']]) {
      expect(readVia(ro, names), names.join('/')).toBe(-ENOENT); // partial walk: stops at the symlink
    }
    const od = ro.c.walk(ro.root, ['outdir']);
    if (typeof od === 'number') throw new Error(String(od));
    expect(ro.c.walk(od.fid, ['secret'])).toBe(-ENOTDIR);
    expect(ro.c.lopen(od.fid, O_RDONLY | O_DIRECTORY)).toBe(-ELOOP);
    expect(ro.c.readlink(od.fid)).toBe(fs.readlinkSync(`${roTree}/outdir`)); // the link itself is just a string
    ro.c.clunk(od.fid);
    expect(ro.c.attach('/outdir/secret')).toBe(-ENOTDIR);
    expect(ro.c.attach('/etc/shadow')).toBe(-ENOTDIR);
    expect(readVia(ro, ['file'])).toBe(INSIDE);
  });

  it('(d) /proc magic links lead nowhere', () => {
    for (const l of ['procroot', 'initroot', 'proccwd', 'procfd']) {
      expect(readVia(ro, [l]), l).toBe(-ELOOP);
      expect(readVia(ro, [l, 'etc', 'passwd']), l).toBe(-ENOENT);
      expect(readVia(ro, [l, `outside-ro-${tag}`, 'secret']), l).toBe(-ENOENT);
    }
  });

  it('(d) a real procfs mounted inside the tree: no magic link is followed, no /proc file is opened', () => {
    if (!isRoot) return; // mounting proc needs root
    const { tree } = makeTree(`proc-${tag}`);
    fs.mkdirSync(`${tree}/proc`);
    expect(spawnSyncQuiet('mount', ['-t', 'proc', 'proc', `${tree}/proc`])).toBe(0);
    mounts.push(`${tree}/proc`);
    const g = startGofer(tree, [...flags, '--read-only']);
    const pid = String(g.proc.pid);
    for (const names of [['proc', 'self', 'root', 'etc', 'shadow'], ['proc', pid, 'root', 'etc', 'passwd'],
      ['proc', '1', 'root', 'etc', 'passwd'], ['proc', pid, 'cwd', 'etc'], ['proc', pid, 'fd', '3'],
      ['proc', 'thread-self', 'root']]) {
      const r = readVia(g, names);
      expect(r, names.join('/')).toBeLessThan(0);
      expect([-ENOENT, -ELOOP, -EACCES], names.join('/')).toContain(r);
    }
    for (const names of [['proc', pid, 'environ'], ['proc', pid, 'mem'], ['proc', '1', 'environ'], ['proc', 'version']]) {
      expect(readVia(g, names), names.join('/')).toBe(-EACCES);
    }
    expect(g.c.alive).toBe(true);
  });

  it('(e) --read-only: every write is EROFS and the host tree is unchanged', () => {
    const before = snapshot(roTree);
    const outBefore = snapshot(roOutside);
    const { c } = ro;
    const d = c.walk(ro.root, ['dir']);
    if (typeof d === 'number') throw new Error(String(d));
    expect(c.lcreate(d.fid, 'new', O_WRONLY | O_CREAT, 0o644)).toBe(-EROFS);
    expect(c.mkdir(d.fid, 'nd', 0o755)).toBe(-EROFS);
    expect(c.symlink(d.fid, 'nl', '/etc/shadow')).toBe(-EROFS);
    expect(c.mknod(d.fid, 'nn', 0o100644, 0, 0)).toBe(-EROFS);
    expect(c.unlinkat(d.fid, 'sub', AT_REMOVEDIR)).toBe(-EROFS);
    expect(c.renameat(ro.root, 'file', d.fid, 'moved')).toBe(-EROFS);
    for (const [names, flags2] of [[['file'], O_WRONLY], [['file'], O_RDWR], [['file'], O_RDONLY | O_TRUNC], [['abs'], O_WRONLY]] as const) {
      const w = c.walk(ro.root, [...names]);
      if (typeof w === 'number') throw new Error(String(w));
      expect(c.lopen(w.fid, flags2)).toBe(-EROFS);
      expect(c.setattr(w.fid, { valid: SETATTR_SIZE, size: 0 })).toBe(-EROFS);
      expect(c.setattr(w.fid, { valid: SETATTR_MODE, mode: 0o777 })).toBe(-EROFS);
      expect(c.setattr(w.fid, { valid: SETATTR_MTIME | SETATTR_MTIME_SET, mtimeSec: 1, mtimeNsec: 0 })).toBe(-EROFS);
      expect(c.remove(w.fid)).toBe(-EROFS);
    }
    c.clunk(d.fid);
    expect(snapshot(roTree)).toBe(before);
    expect(snapshot(roOutside)).toBe(outBefore);
    if (mode === 'confined') {
      // Beyond the Gofer's own checks, the kernel refuses writes: every mount it sees is read-only.
      const info = fs.readFileSync(`/proc/${ro.proc.pid}/mountinfo`, 'utf8').trim().split('\n');
      expect(info.length).toBeGreaterThan(0);
      for (const line of info) expect(line.split(' ')[5]!.split(','), line).toContain('ro');
    }
  });

  it('(c) a directory and a file swapped with symlinks to outside in a tight loop: never an outside byte', async () => {
    const { tree, outside } = makeTree(`race-${tag}`);
    const g = startGofer(tree, [...flags, '--read-only']);
    const swapper = startSwapper(tree, outside);
    await new Promise((r) => setTimeout(r, 100));
    const tally = { inside: 0, failed: 0, outside: 0 };
    const count = (r: string | number): void => {
      if (r === INSIDE) tally.inside++;
      else if (typeof r === 'number') tally.failed++;
      else tally.outside++;
    };
    for (let i = 0; i < 3000; i++) {
      count(readVia(g, ['race', 'secret']));
      count(readVia(g, ['racefile']));
      // Two steps, with a window between them: the directory walked first, then its child.
      const dir = g.c.walk(g.root, ['race']);
      if (typeof dir !== 'number') {
        count(readVia(g, ['secret'], dir.fid));
        g.c.clunk(dir.fid);
      }
    }
    stopChild(swapper);
    expect(tally.outside).toBe(0);
    expect(tally.inside).toBeGreaterThan(0);
    expect(tally.failed).toBeGreaterThan(0); // the race really ran
    expect(g.c.alive).toBe(true);
    expect(g.proc.exitCode).toBeNull();
    expect(readVia(g, ['file'])).toBe(INSIDE);
  }, 60_000);

  it('(f) write mode: creating, renaming, unlinking and setattr through symlinked parents never touch outside', async () => {
    const { tree, outside } = makeTree(`rw-${tag}`);
    const outBefore = snapshot(outside);
    const g = startGofer(tree, flags);
    const { c } = g;
    const od = c.walk(g.root, ['outdir']);
    if (typeof od === 'number') throw new Error(String(od));
    expect(c.lcreate(od.fid, 'pwned', O_WRONLY | O_CREAT, 0o644)).toBe(-ENOTDIR);
    expect(c.mkdir(od.fid, 'pwned', 0o755)).toBe(-ENOTDIR);
    expect(c.symlink(od.fid, 'pwned', 'x')).toBe(-ENOTDIR);
    expect(c.mknod(od.fid, 'pwned', 0o100644, 0, 0)).toBe(-ENOTDIR);
    expect(c.unlinkat(od.fid, 'secret', 0)).toBe(-ENOTDIR);
    expect(c.renameat(g.root, 'file', od.fid, 'secret')).toBe(-ENOTDIR);
    expect(c.renameat(od.fid, 'secret', g.root, 'stolen')).toBe(-ENOTDIR);
    expect(c.renameat(g.root, 'file', g.root, 'outdir/secret')).toBe(-EINVAL);
    // Opening an existing symlink name for writing, or creating over it, fails; the target is untouched.
    const r = c.walk(g.root, []);
    if (typeof r === 'number') throw new Error(String(r));
    expect(c.lcreate(r.fid, 'abs', O_WRONLY | O_CREAT | O_TRUNC, 0o644)).toBe(-ELOOP);
    c.clunk(r.fid);
    for (const l of ['abs', 'shadow', 'outdir', 'procroot']) {
      const w = c.walk(g.root, [l]);
      if (typeof w === 'number') throw new Error(String(w));
      expect(c.lopen(w.fid, O_WRONLY | O_TRUNC)).toBe(-ELOOP);
      expect(c.setattr(w.fid, { valid: SETATTR_SIZE, size: 0 })).toBe(-EINVAL);
      expect(c.setattr(w.fid, { valid: SETATTR_MODE, mode: 0o777 })).toBeLessThan(0);
      // chown and utimes act on the link itself, never on its target.
      expect(c.setattr(w.fid, { valid: SETATTR_MTIME | SETATTR_MTIME_SET, mtimeSec: 12345, mtimeNsec: 0 })).toBe(0);
      if (isRoot) expect(c.setattr(w.fid, { valid: SETATTR_UID, uid: 4242 })).toBe(0);
      expect(c.link(g.root, w.fid, `hl-${l}`)).toBe(0); // a hard link to the link, not to its target
      expect(readVia(g, [`hl-${l}`])).toBe(-ELOOP);
      c.clunk(w.fid);
    }
    expect(fs.lstatSync(`${tree}/abs`).mtimeMs).toBe(12345_000);
    // Unlinking and renaming the symlinks removes and moves the links only.
    expect(c.renameat(g.root, 'outdir', g.root, 'outdir2')).toBe(0);
    expect(c.unlinkat(g.root, 'outdir2', 0)).toBe(0);
    expect(c.unlinkat(g.root, 'abs', 0)).toBe(0);
    // A race in write mode: tree/race swapped with a symlink to outside while files are created under it.
    const swapper = startSwapper(tree, outside);
    await new Promise((res) => setTimeout(res, 100));
    let made = 0;
    for (let i = 0; i < 2000; i++) {
      const d = c.walk(g.root, ['race']);
      if (typeof d === 'number') continue;
      const x = c.walk(d.fid, []);
      if (typeof x !== 'number') {
        c.mkdir(x.fid, `d${i}`, 0o755);
        if (typeof c.lcreate(x.fid, `f${i}`, O_WRONLY | O_CREAT, 0o644) === 'object') {
          c.write(x.fid, 0, Buffer.from('pwned'));
          made++;
        }
        c.clunk(x.fid);
      }
      c.renameat(d.fid, `d${i}`, d.fid, `e${i}`);
      c.unlinkat(d.fid, 'secret', 0);
      c.clunk(d.fid);
    }
    stopChild(swapper);
    expect(made).toBeGreaterThan(0);
    expect(snapshot(outside)).toBe(outBefore);
    expect(fs.readFileSync(`${outside}/secret`, 'utf8')).toBe(SECRET);
    expect(fs.readFileSync('/etc/shadow').length).toBeGreaterThan(0);
    expect(c.alive).toBe(true);
  }, 60_000);

  if (mode === 'confined') {
    it('the confined Gofer: own mount namespace, root is the tree, caps dropped, no_new_privs, seccomp on every thread', () => {
      const pid = ro.proc.pid!;
      expect(fs.statSync(`/proc/${pid}/ns/mnt`).ino).not.toBe(fs.statSync('/proc/self/ns/mnt').ino);
      expect(fs.readdirSync(`/proc/${pid}/root`).sort()).toEqual(fs.readdirSync(roTree).sort());
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(status).toMatch(/CapEff:\s+000000000000001f/);
      expect(status).toMatch(/CapPrm:\s+000000000000001f/);
      expect(status).toMatch(/CapBnd:\s+000000000000001f/);
      expect(status).toMatch(/CapAmb:\s+0000000000000000/);
      for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
        const ts = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
        expect(ts, `thread ${t}`).toMatch(/NoNewPrivs:\s+1/);
        expect(ts, `thread ${t}`).toMatch(/Seccomp:\s+2/);
        expect(fs.readdirSync(`/proc/${pid}/task/${t}/root`).sort(), `thread ${t}`).toEqual(fs.readdirSync(roTree).sort());
      }
    });
  }
});

describe('gofer confinement is not optional', () => {
  it('refuses to start unconfined when it cannot confine (not root), unless --no-confine', async () => {
    if (!isRoot) return;
    const sv = new Int32Array(2);
    socketpair(1, 1 | 0x80000, 0, sv);
    const tree = makeTree('nobody').tree;
    let err = '';
    const p = spawn(process.execPath, [BUNDLE, '--root', tree, '--fd', '3'], { stdio: ['ignore', 'ignore', 'pipe', sv[1]!], uid: 65534, gid: 65534 });
    p.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    close(sv[1]!);
    const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    close(sv[0]!);
    expect(code).toBe(1);
    expect(err).toMatch(/cannot confine.*needs root.*--no-confine/);
  });
});
