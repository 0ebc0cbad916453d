// The Gofer's seccomp filter, run for real: a child process sets
// no_new_privs, installs the filter (gofer/confine.ts seccompProgram) and
// tries mknodat of each file type and a few denied calls. FIFOs, sockets and
// regular files may be made; device nodes, mount and unshare may not.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';

const REPO = path.resolve(__dirname, '..');
const BUNDLE = path.join(REPO, 'test/.build/gofer-seccomp-probe.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gofer-seccomp-'));

const PROBE = `
import { seccompProgram } from '${REPO}/gofer/confine';
import * as libc from '${REPO}/src/ffi/libc';
const dir = process.argv[2];
if (libc.prctl(38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0) !== 0) throw new Error('no_new_privs');
if (libc.seccompSetFilter(1 /* TSYNC */, seccompProgram()) !== 0) throw new Error('seccomp: ' + libc.errno());
const dirfd = libc.openat(-100, dir, 0o200000 /* O_DIRECTORY */, 0);
const out = {};
const errno = (r) => (r < 0 ? libc.errno() : 0);
for (const [name, mode, dev] of [['fifo', 0o010600, 0], ['sock', 0o140600, 0], ['reg', 0o100600, 0], ['plain', 0o600, 0],
  ['chr', 0o020600, 259], ['blk', 0o060600, 2049]]) out[name] = errno(libc.mknodat(dirfd, name, mode, dev));
out.mount = errno(libc.mount('none', dir, 'tmpfs', 0, null));
out.unshare = errno(libc.unshare(0x00020000));
console.log(JSON.stringify(out));
`;

beforeAll(async () => {
  const src = path.join(REPO, 'test/.build/gofer-seccomp-probe.ts');
  fs.mkdirSync(path.dirname(src), { recursive: true });
  fs.writeFileSync(src, PROBE);
  await build({
    entryPoints: [src], outfile: BUNDLE, bundle: true, platform: 'node', target: 'node20', format: 'cjs',
    external: ['koffi', 'pino'], logLevel: 'warning', nodePaths: [path.join(REPO, 'node_modules')],
  });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('the filter lets mknodat make FIFOs, sockets and regular files only; mount and unshare are EPERM', () => {
  const r = spawnSync(process.execPath, [BUNDLE, dir], { encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') } });
  expect(r.status, r.stderr).toBe(0);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  const EPERM = 1;
  expect(got).toEqual({ fifo: 0, sock: 0, reg: 0, plain: 0, chr: EPERM, blk: EPERM, mount: EPERM, unshare: EPERM });
  expect(fs.statSync(path.join(dir, 'fifo')).isFIFO()).toBe(true);
  expect(fs.existsSync(path.join(dir, 'chr'))).toBe(false);
});
