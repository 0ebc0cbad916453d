// runsc under podman (`podman --runtime`): podman drives the runtime through
// conmon with runc's command line, a path other than containerd's shim. The
// storage and run roots are private temporary directories, so a system
// podman's state is never touched; the image is a busybox tree imported with
// `podman import`.
//
// Runs as root where podman exists or can be installed with apt-get (set
// RUNSC_SKIP_PODMAN=1 to skip); in CI (CI set) it never skips.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const RUNSC = path.resolve(__dirname, '..', 'bin', 'runsc');
const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function ensurePodman(): boolean {
  // In CI nothing skips: a daemon that cannot be installed fails the tests.
  const ci = Boolean(process.env['CI']);
  if (!ci && (process.env['RUNSC_SKIP_PODMAN'] || process.getuid?.() !== 0 || !fs.existsSync('/bin/busybox'))) return false;
  if (have('podman')) return true;
  if (have('apt-get')) {
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'podman'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'ignore', timeout: 300_000,
    });
  }
  return ci || have('podman');
}

const canRun = ensurePodman();
const dir = canRun ? fs.mkdtempSync(path.join(os.tmpdir(), 'pm-')) : '';

interface Result { status: number | null; stdout: string; stderr: string }

/** Runs podman asynchronously: a container run can outlast vitest's RPC timeout, which a blocked worker would miss. */
function podman(args: string[], timeout = 60_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile('podman', ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--cgroup-manager=cgroupfs',
      '--events-backend=file', '--runtime', RUNSC, ...args], { encoding: 'utf8', timeout }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({ status: err ? (typeof code === 'number' ? code : null) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!canRun)('podman --runtime runsc', () => {
  beforeAll(async () => {
    const rootfs = path.join(dir, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(rootfs, 'tmp'), { mode: 0o1777 });
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of ['sh', 'echo', 'id', 'sleep']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
    const tar = path.join(dir, 'rootfs.tar');
    expect(spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']).status).toBe(0);
    const imp = await podman(['import', tar, 'runsc-busybox']);
    expect(imp.status, imp.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (!canRun) return;
    await podman(['rm', '-af', '-t', '0'], 60_000);
    spawnSync('sh', ['-c', `grep -o ' ${dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  it('podman run and podman exec: stdout, exit codes, env, user', async () => {
    const r = await podman(['run', '--rm', '--network=none', '-e', 'FOO=bar', '--user', '3:4', 'runsc-busybox', 'sh', '-c', 'echo "$FOO"; id; exit 5']);
    expect(r.stdout).toBe('bar\nuid=3 gid=4 groups=4\n');
    expect(r.status, r.stderr).toBe(5);
    expect((await podman(['run', '-d', '--name', 'pexec', '--network=none', 'runsc-busybox', 'sleep', '1000'])).status).toBe(0);
    expect(await podman(['exec', 'pexec', 'sh', '-c', 'echo in-exec; exit 6'])).toMatchObject({ status: 6, stdout: 'in-exec\n' });
    expect((await podman(['stop', '-t', '30', 'pexec'])).status).toBe(0);
    expect((await podman(['inspect', '-f', '{{.State.ExitCode}}', 'pexec'])).stdout.trim()).toBe('143');
  });
});
