// runsc under the real docker: a private dockerd (its own --data-root,
// --exec-root, --pidfile and socket under a temporary directory, so a system
// daemon is never touched) with runsc registered via daemon.json's
// "runtimes", a busybox image made with `docker import`, and `docker run
// --runtime=runsc`. Docker drives runsc through containerd-shim-runc-v2 with
// runc's command line, so this is the path test/oci.test.ts imitates.
//
// Runs only as root on a machine where dockerd exists or docker.io can be
// installed with apt-get (set RUNSC_SKIP_DOCKER=1 to skip). The daemon is
// stopped by its pid and the directory removed at the end.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const RUNSC = path.resolve(__dirname, '..', 'bin', 'runsc');
const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function ensureDocker(): boolean {
  if (process.env['RUNSC_SKIP_DOCKER'] || process.getuid?.() !== 0 || !fs.existsSync('/bin/busybox')) return false;
  if (have('dockerd') && fs.existsSync('/usr/bin/docker')) return true;
  if (!have('apt-get')) return false;
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'docker.io'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'ignore', timeout: 300_000,
  });
  return r.status === 0 && have('dockerd');
}

const canRun = ensureDocker();
const dir = canRun ? fs.mkdtempSync(path.join(os.tmpdir(), 'dk-')) : '';
const sock = path.join(dir, 'docker.sock');
let daemonPid = 0;

function docker(args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/usr/bin/docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describe.skipIf(!canRun)('docker --runtime=runsc', () => {
  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({ runtimes: { runsc: { path: RUNSC } } }));
    const r = spawnSync('sh', ['-c', `dockerd "$@" >>${path.join(dir, 'dockerd.log')} 2>&1 </dev/null & echo $!`, 'sh',
      '--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
      '--pidfile', path.join(dir, 'dockerd.pid'), '-H', `unix://${sock}`, '--iptables=false', '--ip6tables=false', '--bridge=none',
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    daemonPid = Number(r.stdout.trim());
    const deadline = Date.now() + 60_000;
    while (docker(['version'], 5_000).status !== 0) {
      if (Date.now() > deadline) throw new Error('dockerd did not come up');
      await new Promise((res) => setTimeout(res, 250));
    }
    const rootfs = path.join(dir, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(rootfs, 'tmp'), { mode: 0o1777 });
    fs.mkdirSync(path.join(rootfs, 'etc'));
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of ['sh', 'echo', 'cat', 'id', 'pwd', 'sleep', 'hostname']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
    const imp = spawnSync('sh', ['-c', `tar -C ${rootfs} -c . | /usr/bin/docker import - runsc-busybox`], {
      env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, encoding: 'utf8',
    });
    expect(imp.status, imp.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (!canRun) return;
    docker(['rm', '-f', 'stopme', 'killme', 'rmme'], 30_000);
    const pid = Number(fs.existsSync(path.join(dir, 'dockerd.pid')) ? fs.readFileSync(path.join(dir, 'dockerd.pid'), 'utf8') : daemonPid);
    if (pid > 0) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && fs.existsSync(`/proc/${pid}`)) await new Promise((r) => setTimeout(r, 100));
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    spawnSync('sh', ['-c', `grep -o ' ${dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('runs a command: stdout, exit code, env, cwd, user, hostname', () => {
    const r = docker(['run', '--rm', '--runtime=runsc', '-e', 'FOO=bar', '-w', '/tmp', '--user', '1000:1001', '--hostname', 'boxed',
      'runsc-busybox', 'sh', '-c', 'echo "$FOO"; pwd; id; hostname; echo to-stderr >&2; exit 5']);
    expect(r.stderr).toContain('to-stderr');
    expect(r.stdout).toBe('bar\n/tmp\nuid=1000 gid=1001 groups=1001\nboxed\n');
    expect(r.status).toBe(5);
  });

  it('-v bind mounts persist on the host; --read-only and --tmpfs', () => {
    const vol = path.join(dir, 'vol');
    fs.mkdirSync(vol);
    const r = docker(['run', '--rm', '--runtime=runsc', '--read-only', '--tmpfs', '/scratch', '-v', `${vol}:/vol`, 'runsc-busybox', 'sh', '-c',
      'echo persisted > /vol/f; echo in-tmpfs > /scratch/t && cat /scratch/t; echo x > /x || echo refused']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('in-tmpfs\nrefused\n');
    expect(r.stderr).toContain('Read-only file system');
    expect(fs.readFileSync(path.join(vol, 'f'), 'utf8')).toBe('persisted\n');
  });

  it('docker stop (SIGTERM), docker kill -s, docker rm -f', () => {
    expect(docker(['run', '-d', '--name', 'stopme', '--runtime=runsc', 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
    expect(docker(['stop', 'stopme']).status).toBe(0);
    expect(docker(['inspect', '-f', '{{.State.ExitCode}}', 'stopme']).stdout.trim()).toBe('143');
    expect(docker(['run', '-d', '--name', 'killme', '--runtime=runsc', 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
    expect(docker(['kill', '-s', 'USR1', 'killme']).status).toBe(0);
    expect(docker(['wait', 'killme']).stdout.trim()).toBe('138');
    expect(docker(['run', '-d', '--name', 'rmme', '--runtime=runsc', 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
    expect(docker(['rm', '-f', 'rmme']).status).toBe(0);
    expect(docker(['ps', '-aq', '--filter', 'name=rmme']).stdout.trim()).toBe('');
  });
});
