// runsc on the Kubernetes path: a private containerd (Debian's 1.6, its own
// root, state and socket under a temporary directory) configured with the
// runtime docs/oci.md gives (the config.toml block and the RuntimeClass's
// handler are read out of that page, so the recipe and this test cannot
// drift), driven through the CRI calls the kubelet makes (test/cri.ts):
// RunPodSandbox with the handler, CreateContainer, StartContainer,
// ContainerStatus, ExecSync, StopContainer, RemoveContainer, StopPodSandbox,
// RemovePodSandbox. containerd reaches runsc through containerd-shim-runc-v2
// with BinaryName, as on a node.
//
// No registry and no CNI: the images (busybox and a pause built with gcc) are
// an OCI image layout the test writes and `ctr images import`s, and the pods
// use the node's network (NamespaceMode NODE), for which containerd runs no
// CNI plugin. Runs as root where containerd exists or can be installed (set
// RUNSC_SKIP_CONTAINERD=1 to skip); in CI it never skips. Everything it
// starts is stopped by pid and its mounts undone at the end.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CriRuntime, GrpcClient, containerConfig, podSandboxConfig, type PodConfig } from './cri';

const ROOT = path.resolve(__dirname, '..');
const RUNSC = path.join(ROOT, 'bin', 'runsc');
const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function ensureContainerd(): boolean {
  const ci = Boolean(process.env['CI']);
  if (!ci && (process.env['RUNSC_SKIP_CONTAINERD'] || process.getuid?.() !== 0 || !fs.existsSync('/bin/busybox') || !have('gcc'))) return false;
  const present = (): boolean => have('containerd') && have('ctr') && have('containerd-shim-runc-v2');
  if (!present() && have('apt-get')) {
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'containerd'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'ignore', timeout: 300_000,
    });
  }
  return ci || present();
}

/** The fenced block of `lang` in the section of docs/oci.md headed `heading`. */
function docBlock(heading: string, lang: string): string {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'oci.md'), 'utf8');
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/oci.md has no section "${heading}"`);
  const section = doc.slice(start + 1).split(/\n## /)[0]!;
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section);
  if (!m) throw new Error(`docs/oci.md's "${heading}" has no ${lang} block`);
  return m[1]!;
}

const canRun = ensureContainerd();
const dir = canRun ? fs.mkdtempSync(path.join(os.tmpdir(), 'cri-')) : '';
const sock = path.join(dir, 'containerd.sock');
/** The runc shim's --root for runsc (the recipe's `Root` option, so nothing lands in /run/containerd/runc). */
const runscRoot = path.join(dir, 'runsc-root');
const BUSYBOX = 'docker.io/library/runsc-busybox:latest';
const PAUSE = 'registry.test/runsc-pause:1';
let daemonPid = 0;
let cri: CriRuntime;
let grpc: GrpcClient;
let handler = '';
const pods: string[] = [];

const PAUSE_C = `#include <signal.h>
#include <unistd.h>
static void done(int sig) { (void)sig; _exit(0); }
int main(void) {
  signal(SIGTERM, done);
  signal(SIGINT, done);
  for (;;) pause();
}
`;

/**
 * Writes an OCI image layout holding one single-layer image per entry
 * (name → rootfs directory and command) into out, as a tar `ctr images
 * import` reads (the image's name in the io.containerd.image.name annotation).
 */
function ociArchive(images: Record<string, { rootfs: string; cmd: string[] }>, out: string): void {
  const layout = path.join(dir, 'layout');
  const blobs = path.join(layout, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const blob = (data: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } => {
    const hex = createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(path.join(blobs, hex), data);
    return { mediaType, digest: `sha256:${hex}`, size: data.length };
  };
  const manifests = Object.entries(images).map(([name, { rootfs, cmd }]) => {
    const tar = spawnSync('tar', ['--numeric-owner', '-C', rootfs, '-c', '.'], { maxBuffer: 64 << 20 });
    if (tar.status !== 0) throw new Error(`tar ${rootfs}: ${String(tar.stderr)}`);
    const layer = blob(tar.stdout, 'application/vnd.oci.image.layer.v1.tar');
    const config = blob(Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/', Cmd: cmd },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    })), 'application/vnd.oci.image.config.v1+json');
    const manifest = blob(Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer],
    })), 'application/vnd.oci.image.manifest.v1+json');
    return { ...manifest, platform: { architecture: 'amd64', os: 'linux' }, annotations: { 'io.containerd.image.name': name } };
  });
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  const r = spawnSync('tar', ['-C', layout, '-cf', out, '.']);
  if (r.status !== 0) throw new Error(`tar: ${String(r.stderr)}`);
}

/** containerd's config: the recipe from docs/oci.md, with this test's paths. */
function containerdConfig(): string {
  const recipe = docBlock('containerd', 'toml');
  const binary = /^(\s*)BinaryName = .*$/m;
  if (!binary.test(recipe)) throw new Error('the recipe names no BinaryName');
  return [
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    recipe.replace(binary, `$1BinaryName = "${RUNSC}"\n$1Root = "${runscRoot}"`),
    '[grpc]',
    `  address = "${sock}"`,
    '[ttrpc]',
    `  address = "${sock}.ttrpc"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${PAUSE}"`,
    '  stream_server_address = "127.0.0.1"',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = "${dir}/cni/bin"`,
    `    conf_dir = "${dir}/cni/conf"`,
    '',
  ].join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pids of live processes whose command line mentions s. */
function pidsMentioning(s: string): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid).flatMap((e) => {
    try {
      return fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(s) ? [Number(e)] : [];
    } catch {
      return [];
    }
  });
}

/** The pods' cgroup parent: one of the test's own, removed at the end. */
const CGROUP_PARENT = `/runsc-cri-test-${process.pid}`;
let podSeq = 0;
function newPod(): PodConfig {
  const name = `pod${++podSeq}`;
  return { name, uid: `uid-${process.pid}-${name}`, namespace: 'runsc-test', logDirectory: path.join(dir, 'logs', name), cgroupParent: CGROUP_PARENT };
}

async function waitExited(id: string, ms = 30_000): Promise<Awaited<ReturnType<CriRuntime['containerStatus']>>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await cri.containerStatus(id);
    if (s.state === 'EXITED' || Date.now() > deadline) return s;
    await sleep(100);
  }
}

/** The CRI log file's lines as [stream, text] (containerd writes `TIME STREAM F|P TEXT`). */
function logLines(file: string): [string, string][] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const m = /^\S+ (stdout|stderr) [FP] (.*)$/.exec(l);
    if (!m) throw new Error(`not a CRI log line: ${l}`);
    return [m[1]!, m[2]!];
  });
}

describe.skipIf(!canRun)('containerd CRI with the runsc runtime handler (Kubernetes RuntimeClass)', () => {
  beforeAll(async () => {
    handler = /^handler: (\S+)$/m.exec(docBlock('Kubernetes', 'yaml'))?.[1] ?? '';
    expect(handler).not.toBe('');
    const busybox = path.join(dir, 'busybox');
    fs.mkdirSync(path.join(busybox, 'bin'), { recursive: true });
    for (const d of ['tmp', 'etc', 'dev', 'proc', 'sys']) fs.mkdirSync(path.join(busybox, d), { mode: d === 'tmp' ? 0o1777 : 0o755 });
    fs.copyFileSync('/bin/busybox', path.join(busybox, 'bin', 'busybox'));
    fs.chmodSync(path.join(busybox, 'bin', 'busybox'), 0o755);
    for (const a of ['sh', 'cat', 'echo', 'sleep', 'ls', 'ps', 'true', 'uname']) fs.symlinkSync('busybox', path.join(busybox, 'bin', a));
    const pause = path.join(dir, 'pause');
    fs.mkdirSync(pause);
    fs.writeFileSync(path.join(dir, 'pause.c'), PAUSE_C);
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', path.join(pause, 'pause'), path.join(dir, 'pause.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    ociArchive({ [BUSYBOX]: { rootfs: busybox, cmd: ['sh'] }, [PAUSE]: { rootfs: pause, cmd: ['/pause'] } }, path.join(dir, 'images.tar'));

    fs.mkdirSync(path.join(dir, 'cni', 'conf'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.toml'), containerdConfig());
    const r = spawnSync('sh', ['-c', `containerd --config "$1" >>"$2" 2>&1 </dev/null & echo $!`, 'sh',
      path.join(dir, 'config.toml'), path.join(dir, 'containerd.log')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    daemonPid = Number(r.stdout.trim());
    const deadline = Date.now() + 60_000;
    for (;;) {
      // A session whose connection failed is dead: a new one per attempt.
      grpc = new GrpcClient(sock);
      cri = new CriRuntime(grpc);
      try {
        expect((await cri.version()).runtimeName).toBe('containerd');
        break;
      } catch (e) {
        grpc.close();
        if (Date.now() > deadline) throw new Error(`containerd did not come up: ${String(e)}\n${fs.readFileSync(path.join(dir, 'containerd.log'), 'utf8').slice(-2000)}`);
        await sleep(250);
      }
    }
    const imp = spawnSync('ctr', ['--address', sock, '-n', 'k8s.io', 'images', 'import', path.join(dir, 'images.tar')], { encoding: 'utf8', timeout: 60_000 });
    expect(imp.status, imp.stderr + imp.stdout).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (!canRun) return;
    for (const id of pods) {
      try {
        await cri.stopPodSandbox(id);
        await cri.removePodSandbox(id);
      } catch { /* already gone */ }
    }
    grpc?.close();
    if (daemonPid > 0) {
      try { process.kill(daemonPid, 'SIGTERM'); } catch { /* gone */ }
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && fs.existsSync(`/proc/${daemonPid}`)) await sleep(100);
      try { process.kill(daemonPid, 'SIGKILL'); } catch { /* gone */ }
    }
    // Sandboxes outlive containerd by design: a test that failed half-way leaves some.
    // runsc delete --force kills each and removes its cgroup; then the shims and the rest go.
    const left = path.join(runscRoot, 'k8s.io');
    for (const id of fs.existsSync(left) ? fs.readdirSync(left) : []) {
      spawnSync(RUNSC, ['--root', left, 'delete', '--force', id], { stdio: 'ignore', timeout: 30_000 });
    }
    for (const pid of pidsMentioning(dir)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    spawnSync('sh', ['-c', `grep -o ' ${dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    spawnSync('sh', ['-c', `rmdir /sys/fs/cgroup/*${CGROUP_PARENT} 2>/dev/null`]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('runs a pod\'s container under runsc: the Sentry\'s kernel, exit code, stdout and stderr in the CRI log', async () => {
    const pod = newPod();
    const podConfig = podSandboxConfig(pod);
    const podId = await cri.runPodSandbox(podConfig, handler);
    pods.push(podId);
    expect(await cri.podSandboxState(podId)).toBe('READY');
    const id = await cri.createContainer(podId, containerConfig({
      name: 'app', image: BUSYBOX, logPath: 'app/0.log', env: { GREETING: 'hello from the sandbox' },
      command: ['sh', '-c', 'echo "$GREETING"; cat /proc/version; echo to-stderr >&2; exit 3'],
    }), podConfig);
    expect((await cri.containerStatus(id)).state).toBe('CREATED');
    await cri.startContainer(id);
    const st = await waitExited(id);
    expect(st).toMatchObject({ state: 'EXITED', exitCode: 3, logPath: path.join(pod.logDirectory, 'app/0.log') });
    const lines = logLines(st.logPath);
    expect(lines).toContainEqual(['stdout', 'hello from the sandbox']);
    expect(lines).toContainEqual(['stderr', 'to-stderr']);
    // /proc/version is the Sentry's, not the host's.
    const version = lines.find(([, t]) => t.startsWith('Linux version'))?.[1] ?? '';
    expect(version).toContain('runsc-ts');
    expect(version).not.toBe(fs.readFileSync('/proc/version', 'utf8').trim());
    // The shim drove runsc (its state is under the recipe's Root): the pod's pause sandbox is there, and the
    // container's state went when the shim deleted the exited task.
    expect(fs.readdirSync(path.join(runscRoot, 'k8s.io'))).toContain(podId);
    expect(fs.readdirSync(path.join(runscRoot, 'k8s.io'))).not.toContain(id);
    await cri.removeContainer(id);
    await cri.stopPodSandbox(podId);
    await cri.removePodSandbox(podId);
    pods.splice(pods.indexOf(podId), 1);
    expect(fs.readdirSync(path.join(runscRoot, 'k8s.io'))).not.toContain(podId);
  });

  it('a pod of two containers: both run (each in its own sandbox), ExecSync, StopContainer with a grace period', async () => {
    const pod = newPod();
    const podConfig = podSandboxConfig(pod);
    const podId = await cri.runPodSandbox(podConfig, handler);
    pods.push(podId);
    const ids: string[] = [];
    for (const name of ['web', 'sidecar']) {
      const id = await cri.createContainer(podId, containerConfig({
        name, image: BUSYBOX, logPath: `${name}.log`, command: ['sh', '-c', `echo ${name} up; exec sleep 1000`],
      }), podConfig);
      await cri.startContainer(id);
      ids.push(id);
    }
    for (const id of ids) expect((await cri.containerStatus(id)).state).toBe('RUNNING');
    // Each container sees its own processes only: its init (sleep) and the exec'd ps.
    const ps = await cri.execSync(ids[1]!, ['ps', '-o', 'pid,comm']);
    expect(ps.exitCode).toBe(0);
    expect(ps.stdout.trim().split('\n').slice(1).map((l) => l.trim())).toEqual(['1 sleep', expect.stringMatching(/^\d+ ps$/)]);
    const fail = await cri.execSync(ids[0]!, ['sh', '-c', 'echo oops >&2; exit 7']);
    expect(fail).toMatchObject({ exitCode: 7, stderr: 'oops\n' });
    // sleep has no SIGTERM handler: it ends on the SIGTERM, long before the grace period.
    const t0 = Date.now();
    await cri.stopContainer(ids[0]!, 20);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(await cri.containerStatus(ids[0]!)).toMatchObject({ state: 'EXITED', exitCode: 143 });
    expect((await cri.containerStatus(ids[1]!)).state).toBe('RUNNING');
    for (const name of ['web', 'sidecar']) expect(logLines(path.join(pod.logDirectory, `${name}.log`))).toEqual([['stdout', `${name} up`]]);
    // Stopping the pod stops its remaining container; removing it removes everything.
    await cri.stopPodSandbox(podId);
    expect(await cri.containerStatus(ids[1]!)).toMatchObject({ state: 'EXITED', exitCode: 137 });
    await cri.removePodSandbox(podId);
    pods.splice(pods.indexOf(podId), 1);
    for (const gone of [podId, ...ids]) expect(fs.readdirSync(path.join(runscRoot, 'k8s.io'))).not.toContain(gone);
    // No sandbox process of the pod is left (the shim exits with its last container).
    for (let i = 0; i < 50 && pidsMentioning(runscRoot).length; i++) await sleep(100);
    expect(pidsMentioning(runscRoot)).toEqual([]);
  });
});
