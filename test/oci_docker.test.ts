// runsc under the real docker: a private dockerd (its own --data-root,
// --exec-root, --pidfile and socket under a temporary directory, so a system
// daemon is never touched) with runsc registered via daemon.json's
// "runtimes", a busybox image made with `docker import`, and `docker run
// --runtime=runsc`. Docker drives runsc through containerd-shim-runc-v2 with
// runc's command line, so this is the path test/oci.test.ts imitates.
//
// Runs only as root on a machine where dockerd exists or docker.io can be
// installed with apt-get (set RUNSC_SKIP_DOCKER=1 to skip); in CI (CI set)
// it never skips: a missing daemon fails it. The daemon is stopped by its pid
// and the directory removed at the end. Docker's own containerd serves the
// `ctr run --runc-binary` case (the path a Kubernetes RuntimeClass takes).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const RUNSC = path.resolve(__dirname, '..', 'bin', 'runsc');
const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function ensureDocker(): boolean {
  // In CI nothing skips: a daemon that cannot be installed fails the tests.
  const ci = Boolean(process.env['CI']);
  if (!ci && (process.env['RUNSC_SKIP_DOCKER'] || process.getuid?.() !== 0 || !fs.existsSync('/bin/busybox'))) return false;
  if (have('dockerd') && fs.existsSync('/usr/bin/docker')) return true;
  if (have('apt-get')) {
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'docker.io'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'ignore', timeout: 300_000,
    });
  }
  return ci || have('dockerd') && fs.existsSync('/usr/bin/docker');
}

const canRun = ensureDocker();
const dir = canRun ? fs.mkdtempSync(path.join(os.tmpdir(), 'dk-')) : '';
const sock = path.join(dir, 'docker.sock');
let daemonPid = 0;
/** The containerd dockerd starts (under its --exec-root), and a namespace of our own in it. */
const containerdSock = path.join(dir, 'exec', 'containerd', 'containerd.sock');
const CTR_NS = 'runsc-test';
const BRIDGE = `rsbr${process.pid % 100000}`;
const WEB_PORT = 20000 + (process.pid % 20000);

/** Drives a docker command on a pty the way a user's terminal would (Debian's python3 pty module): see the script. */
const PTY_SCRIPT = `
import os, pty, sys, time, select, fcntl, termios, struct
def setsize(fd, r, c): fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
pid, fd = pty.fork()
if pid == 0:
    os.execv('/usr/bin/docker', ['docker'] + sys.argv[1:])
setsize(fd, 30, 100)
buf = b''
def readfor(secs, until):
    global buf
    end = time.time() + secs
    while time.time() < end and until not in buf:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: d = os.read(fd, 4096)
            except OSError: return
            if not d: return
            buf += d
readfor(20, b'# ')
os.write(fd, b'echo hi-$((1+2)); stty size\\r')
readfor(10, b'30 100')
# Job control: ^C reaches the foreground job only, and a background job is listed.
os.write(fd, b'sleep 100\\r')
time.sleep(1)
os.write(fd, b'\\x03')
os.write(fd, b'echo after-int-$?\\r')
readfor(10, b'after-int-130')
os.write(fd, b'sleep 50 & jobs\\r')
readfor(10, b'Running')
# The new size travels docker -> dockerd -> shim -> the pty master: ask until it is there.
setsize(fd, 40, 120)
end = time.time() + 30
while time.time() < end and b'40 120' not in buf:
    os.write(fd, b'stty size\\r')
    readfor(2, b'40 120')
os.write(fd, b'exit 4\\r')
readfor(10, b'never')
_, st = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(st))
`;

function docker(args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/usr/bin/docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describe.skipIf(!canRun)('docker --runtime=runsc', () => {
  beforeAll(async () => {
    // runsc-host: the Sentry's inet sockets are the host stack's, in the container's namespace (docker -p).
    fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({
      runtimes: { runsc: { path: RUNSC }, 'runsc-host': { path: RUNSC, runtimeArgs: ['--network', 'host'] } },
    }));
    // A bridge of the test's own for docker's container network, so no system docker0 is touched.
    spawnSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
    for (const a of [['link', 'add', BRIDGE, 'type', 'bridge'], ['addr', 'add', '172.31.251.1/24', 'dev', BRIDGE], ['link', 'set', BRIDGE, 'up']]) {
      const ip = spawnSync('ip', a, { encoding: 'utf8' });
      expect(ip.status, ip.stderr).toBe(0);
    }
    const r = spawnSync('sh', ['-c', `dockerd "$@" >>${path.join(dir, 'dockerd.log')} 2>&1 </dev/null & echo $!`, 'sh',
      '--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
      '--pidfile', path.join(dir, 'dockerd.pid'), '-H', `unix://${sock}`, '--iptables=false', '--ip6tables=false', `--bridge=${BRIDGE}`,
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
    fs.mkdirSync(path.join(rootfs, 'www'));
    fs.writeFileSync(path.join(rootfs, 'www', 'index.html'), 'served from the sandbox\n');
    for (const a of ['sh', 'echo', 'cat', 'id', 'pwd', 'sleep', 'hostname', 'ps', 'ls', 'stty', 'true', 'grep', 'httpd', 'nc']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
    const imp = spawnSync('sh', ['-c', `tar -C ${rootfs} -c . | /usr/bin/docker import - runsc-busybox`], {
      env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, encoding: 'utf8',
    });
    expect(imp.status, imp.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (!canRun) return;
    docker(['rm', '-f', 'stopme', 'killme', 'rmme', 'execme', 'statme', 'ttyexec', 'web', 'confined', 'confinedhost'], 30_000);
    spawnSync('ctr', ['-a', containerdSock, '-n', CTR_NS, 'containers', 'rm', 'ctr1'], { stdio: 'ignore' });
    spawnSync('ctr', ['-a', containerdSock, '-n', CTR_NS, 'images', 'rm', 'docker.io/library/runsc-busybox:latest'], { stdio: 'ignore' });
    const pid = Number(fs.existsSync(path.join(dir, 'dockerd.pid')) ? fs.readFileSync(path.join(dir, 'dockerd.pid'), 'utf8') : daemonPid);
    if (pid > 0) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && fs.existsSync(`/proc/${pid}`)) await new Promise((r) => setTimeout(r, 100));
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    spawnSync('sh', ['-c', `grep -o ' ${dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    spawnSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
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
    expect(docker(['stop', '-t', '30', 'stopme']).status).toBe(0);
    expect(docker(['inspect', '-f', '{{.State.ExitCode}}', 'stopme']).stdout.trim()).toBe('143');
    expect(docker(['run', '-d', '--name', 'killme', '--runtime=runsc', 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
    expect(docker(['kill', '-s', 'USR1', 'killme']).status).toBe(0);
    expect(docker(['wait', 'killme']).stdout.trim()).toBe('138');
    expect(docker(['run', '-d', '--name', 'rmme', '--runtime=runsc', 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
    expect(docker(['rm', '-f', 'rmme']).status).toBe(0);
    expect(docker(['ps', '-aq', '--filter', 'name=rmme']).stdout.trim()).toBe('');
  });

  it('docker exec: its own stdio and exit code, -e/-w/-u, -d; docker top', () => {
    expect(docker(['run', '-d', '--name', 'execme', '--runtime=runsc', 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
    const r = docker(['exec', '-e', 'X=y', '-w', '/tmp', '-u', '7:8', 'execme', 'sh', '-c', 'echo "$X"; pwd; id -u; echo err >&2; exit 3']);
    expect(r).toMatchObject({ status: 3, stdout: 'y\n/tmp\n7\n' });
    expect(r.stderr).toContain('err');
    expect(docker(['exec', '-d', 'execme', 'sleep', '1000']).status).toBe(0);
    // The container's own view: its init, the detached exec and ps; nothing of the host's.
    const ps = docker(['exec', 'execme', 'ps', '-o', 'pid,comm']).stdout.trim().split('\n').slice(1).map((l) => l.trim());
    expect(ps).toEqual(['1 sleep', expect.stringMatching(/^\d+ sleep$/), expect.stringMatching(/^\d+ ps$/)]);
    const missing = docker(['exec', 'execme', 'nonexistent']);
    expect(missing.stdout + missing.stderr).toContain('executable file not found in $PATH');
    expect(missing.status).toBe(126);
    // docker top lists the sandbox's host processes (runsc ps).
    expect(docker(['top', 'execme']).stdout).toContain('runsc');
  });

  it('sees neither host processes nor host files outside its rootfs and mounts', () => {
    const r = docker(['run', '--rm', '--runtime=runsc', 'runsc-busybox', 'sh', '-c', 'ls /; ls /proc | grep -c "^[0-9]"; cat /etc/hostname >/dev/null; ls /home /root 2>&1 | head -2']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    // The image's own directories and the mountpoints docker asks for, no more.
    expect(lines.slice(0, lines.indexOf('www') + 1)).toEqual(['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'www']);
    // Only the shell and its children are processes.
    expect(Number(lines[lines.indexOf('www') + 1])).toBeLessThanOrEqual(3);
    expect(r.stdout).toContain("ls: /home: No such file or directory");
  });

  it('the Sentry is confined: its own namespaces (docker\'s network namespace with --network=host), an empty root, no capabilities, seccomp on every thread', () => {
    for (const [runtime, name] of [['runsc', 'confined'], ['runsc-host', 'confinedhost']] as const) {
      expect(docker(['run', '-d', '--name', name, `--runtime=${runtime}`, 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
      try {
        // docker's State.Pid is create's pid file: the launcher, whose child is the Sentry.
        const launcher = Number(docker(['inspect', '-f', '{{.State.Pid}}', name]).stdout.trim());
        const [sentry] = fs.readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').trim().split(/\s+/).map(Number);
        const ns = (pid: number | 'self', kind: string): string => fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
        for (const kind of ['mnt', 'pid', 'ipc', 'uts', 'net']) expect(ns(sentry!, kind), `${runtime}: ${kind}`).not.toBe(ns('self', kind));
        // The namespace docker configured (by the pid it was given) is the one whose stack the Sentry's sockets use.
        expect(ns(sentry!, 'net'), runtime).toBe(ns(launcher, 'net'));
        expect(fs.readdirSync(`/proc/${sentry}/root`), `${runtime}: the root holds only /proc`).toEqual(['proc']);
        for (const tid of fs.readdirSync(`/proc/${sentry}/task`)) {
          expect(fs.readFileSync(`/proc/${sentry}/task/${tid}/status`, 'utf8'), `${runtime}: thread ${tid}`).toMatch(/^Seccomp:\s+2$/m);
        }
        // None, or with --network=host only CAP_NET_BIND_SERVICE (docker's port 80 in its namespace).
        expect(fs.readFileSync(`/proc/${sentry}/status`, 'utf8')).toMatch(runtime === 'runsc' ? /^CapEff:\s+0{16}$/m : /^CapEff:\s+0{13}400$/m);
        expect(docker(['exec', name, 'echo', 'still-serving']).stdout).toBe('still-serving\n');
      } finally {
        docker(['rm', '-f', name]);
      }
    }
  });

  it('docker stats --no-stream, docker pause/unpause', () => {
    expect(docker(['run', '-d', '--name', 'statme', '--runtime=runsc', '--memory', '256m', '--pids-limit', '100', 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
    const st = docker(['stats', '--no-stream', '--format', '{{.MemUsage}}|{{.PIDs}}', 'statme']);
    expect(st.status, st.stderr).toBe(0);
    const [mem, pids] = st.stdout.trim().split('|');
    // The sandbox's host processes' memory against the limit; their count (Sentry, Gofers, stubs).
    expect(mem).toMatch(/^[1-9][\d.]*MiB \/ 256MiB$/);
    expect(Number(pids)).toBeGreaterThan(2);
    expect(docker(['pause', 'statme']).status).toBe(0);
    expect(docker(['inspect', '-f', '{{.State.Status}}', 'statme']).stdout.trim()).toBe('paused');
    expect(docker(['unpause', 'statme']).status).toBe(0);
    expect(docker(['exec', 'statme', 'echo', 'after-unpause']).stdout).toBe('after-unpause\n');
    expect(docker(['update', '--memory', '128m', '--memory-swap', '256m', 'statme']).status).toBe(0);
    expect(docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'statme']).stdout).toMatch(/ \/ 128MiB/);
    expect(docker(['rm', '-f', 'statme']).status).toBe(0);
  });

  it('docker run -it and docker exec -it: an interactive shell on a pty with job control (^C, background jobs), resized with the window', async () => {
    // Not pty.py: that would shadow the module it imports.
    const script = path.join(dir, 'drive_tty.py');
    fs.writeFileSync(script, PTY_SCRIPT);
    // Asynchronous, so the test worker keeps answering vitest while the session (tens of seconds) runs.
    const py = (args: string[]): Promise<{ status: number | null; stdout: string }> => new Promise((resolve) => {
      const c = spawn('/usr/bin/python3', [script, ...args], { env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, timeout: 90_000 });
      let out = '';
      c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      c.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      c.on('error', (e) => { out += String(e); });
      c.on('close', (status) => resolve({ status, stdout: out }));
    });
    const expectShell = (r: { status: number | null; stdout: string }): void => {
      expect(r.stdout).toContain('hi-3\r\n30 100\r\n');
      expect(r.stdout).toContain('40 120\r\n');
      // Job control: the terminal is the shell's controlling terminal (^C ended the foreground sleep only).
      expect(r.stdout).not.toContain('job control turned off');
      expect(r.stdout).toContain('after-int-130\r\n');
      expect(r.stdout).toMatch(/\[1\]\+ +Running +sleep 50/);
      expect(r.status).toBe(4);
    };
    expectShell(await py(['run', '-it', '--rm', '--runtime=runsc', 'runsc-busybox', 'sh']));
    expect(docker(['run', '-d', '--name', 'ttyexec', '--runtime=runsc', 'runsc-busybox', 'sleep', '1000']).status).toBe(0);
    expectShell(await py(['exec', '-it', 'ttyexec', 'sh']));
    expect(docker(['rm', '-f', 'ttyexec']).status).toBe(0);
  });

  it('ctr run --runc-binary (containerd\'s runc shim with runsc as its binary)', () => {
    const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };
    const imp = spawnSync('sh', ['-c', `/usr/bin/docker save runsc-busybox | ctr -a ${containerdSock} -n ${CTR_NS} images import -`], { env, encoding: 'utf8', timeout: 60_000 });
    expect(imp.status, imp.stderr).toBe(0);
    const r = spawnSync('ctr', ['-a', containerdSock, '-n', CTR_NS, 'run', '--rm', '--runc-binary', RUNSC, 'docker.io/library/runsc-busybox:latest', 'ctr1',
      'sh', '-c', 'echo hi-from-ctr; exit 3'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toBe('hi-from-ctr\n');
    expect(r.status, r.stderr).toBe(3);
  });

  it('--network=host: docker run -p serves from the sandbox; --network=none stays on the Sentry\'s loopback', async () => {
    expect(docker(['run', '-d', '--name', 'web', '--runtime=runsc-host', '-p', `127.0.0.1:${WEB_PORT}:80`, 'runsc-busybox',
      'httpd', '-f', '-p', '80', '-h', '/www']).status).toBe(0);
    const get = (): Promise<string> => new Promise((resolve) => {
      http.get({ host: '127.0.0.1', port: WEB_PORT, path: '/', timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += d.toString(); });
        res.on('end', () => resolve(body));
      }).on('error', (e) => resolve(`error: ${e.message}`));
    });
    let body = '';
    for (let i = 0; i < 40 && body !== 'served from the sandbox\n'; i++) {
      body = await get();
      if (body !== 'served from the sandbox\n') await new Promise((r) => setTimeout(r, 250));
    }
    expect(body).toBe('served from the sandbox\n');
    expect(docker(['rm', '-f', 'web']).status).toBe(0);
    // The default runtime (--network none): the bridge is out of reach, loopback is the Sentry's own.
    const r = docker(['run', '--rm', '--runtime=runsc', 'runsc-busybox', 'sh', '-c', 'echo x | nc -w 1 172.31.251.1 1']);
    expect(r.stderr).toContain('Network is unreachable');
  });
});
