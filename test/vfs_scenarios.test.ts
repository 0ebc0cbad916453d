// The process and system tools of procps and busybox inside the sandbox:
// ps, top, free, df and uptime read /proc, /sys and statfs, so their output
// shows the sandbox's own processes and figures. What they print differs from
// a native run (other processes, memory, times), so each check is on shape:
// the tool exits 0, says nothing on stderr, and shows what must be there.
import { afterAll, describe, expect, it } from 'vitest';
import { assertExit, describeRun, killAll, runSandboxed, type RunResult } from './harness';

afterAll(killAll);

const BUSYBOX = '/bin/busybox';

async function tool(cmd: string, args: string[]): Promise<RunResult> {
  const r = await runSandboxed(cmd, args, { cwd: '/', timeoutMs: 30_000 });
  assertExit(`${cmd} ${args.join(' ')}`, r, 0);
  expect(r.stderr, describeRun(cmd, r)).toBe('');
  return r;
}

/** The numbers of the line starting with label. */
function numbers(out: string, label: string): number[] {
  const line = out.split('\n').find((l) => l.trimStart().startsWith(label));
  expect(line, out).toBeDefined();
  return line!.slice(line!.indexOf(label) + label.length).trim().split(/\s+/).map(Number);
}

describe.each([
  ['procps', (c: string) => [`/usr/bin/${c}`, []] as const],
  ['busybox', (c: string) => [BUSYBOX, [c]] as const],
])('%s', (suite, bin) => {
  const call = (c: string, args: string[]) => { const [cmd, pre] = bin(c); return tool(cmd, [...pre, ...args]); };

  it('ps lists the sandbox\'s processes, its own included, with their command lines', async () => {
    const [cmd, pre] = bin('ps');
    const ps = [cmd, ...pre, ...(suite === 'procps' ? ['aux'] : [])].join(' ');
    // ps runs once sleep has exec'd.
    const r = await tool('/bin/sh', ['-c', `sleep 5 & until grep -q sleep /proc/$!/cmdline; do :; done; ${ps}; kill $!`]);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0], r.stdout).toMatch(/PID.*(COMMAND|CMD)/);
    expect(lines.some((l) => /^\s*\S+\s+1\s/.test(l) || /^\s*1\s/.test(l)), r.stdout).toBe(true);
    expect(lines.some((l) => /sleep 5$/.test(l)), r.stdout).toBe(true);
    expect(lines.some((l) => /\bps( aux)?$/.test(l)), r.stdout).toBe(true);
    // Only the sandbox's processes: the shell, sleep and ps.
    expect(lines.length - 1, r.stdout).toBe(3);
  });

  it('top -b -n 1 shows the task summary, CPU and memory lines and itself', async () => {
    const r = await call('top', ['-b', '-n', '1']);
    expect(r.stdout, r.stdout).toMatch(/Mem/);
    expect(r.stdout, r.stdout).toMatch(/^\s*PID\b/m);
    expect(r.stdout, r.stdout).toMatch(/^\s*1\s.*\btop\b/m);
  });

  it('free shows total = used + free (+ caches) with the sandbox\'s use', async () => {
    const r = await call('free', []);
    const [total, used, free] = numbers(r.stdout, 'Mem:');
    expect(total, r.stdout).toBeGreaterThan(0);
    expect(used, r.stdout).toBeGreaterThan(0);
    expect(free, r.stdout).toBeGreaterThan(0);
    expect(Math.abs(total! - used! - free!), r.stdout).toBeLessThanOrEqual(total! / 100);
  });

  it('df shows the root, /dev and /dev/shm with sizes', async () => {
    const r = await call('df', []);
    expect(r.stdout, r.stdout).toMatch(/\s\/\n/);
    const shm = r.stdout.split('\n').find((l) => l.endsWith(' /dev/shm'));
    expect(shm, r.stdout).toBeDefined();
    const [size, used, avail] = shm!.split(/\s+/).slice(1, 4).map(Number);
    expect(size, r.stdout).toBeGreaterThan(0);
    expect(used! + avail!, r.stdout).toBe(size);
  });

  it('uptime shows how long the sandbox has been up and the load', async () => {
    const r = await call('uptime', []);
    expect(r.stdout, r.stdout).toMatch(/up\s+(0 min|\d+:\d+|\d+ min).*load average: \d+\.\d+, \d+\.\d+, \d+\.\d+/);
  });
});

it('df counts what is written to /dev/shm', async () => {
  const r = await tool('/bin/sh', ['-c', 'df -k /dev/shm | tail -1; head -c 8388608 /dev/zero > /dev/shm/f; df -k /dev/shm | tail -1']);
  const [before, after] = r.stdout.trim().split('\n').map((l) => Number(l.split(/\s+/)[2]));
  expect(after! - before!, r.stdout).toBe(8192);
});

it('python3 reads the CPU count, load and kernel release from the sandbox', async () => {
  const r = await tool('/usr/bin/python3', ['-c', [
    'import os, platform',
    'print(os.cpu_count(), len(os.sched_getaffinity(0)), platform.system())',
    'print(len(os.getloadavg()), platform.release() == os.uname().release)',
  ].join('\n')]);
  expect(r.stdout).toBe('1 1 Linux\n3 True\n');
});
