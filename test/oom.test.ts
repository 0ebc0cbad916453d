// The Sentry's memory accounting (issue 7 item 3; docs/security.md "Resource
// limits"): with --total-memory=64m the sandbox has 64 MiB. A memory bomb is
// OOM-killed by the Sentry (SIGKILL, logged, in dmesg) while the host's OOM
// killer never fires and the sandbox stays usable; oom_score_adj steers the
// choice; tmpfs fills up with ENOSPC; /proc/meminfo, free and sysinfo show
// the budget. These run only under runsc: natively the bomb would meet the
// host's OOM killer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { KVM_UNUSABLE, REPO, RUNSC, buildC, describeRun, killAll, run, type RunResult } from './harness';

afterAll(killAll);

const BUDGET = ['--total-memory=64m'];
const bomb = (): string => buildC(path.join(REPO, 'test', 'oom', 'bomb.c'), 'dynamic');
const steer = (): string => buildC(path.join(REPO, 'test', 'oom', 'steer.c'), 'static');

/** runsc --total-memory=64m [--platform=kvm] do /bin/sh -c script. */
function sandboxSh(script: string, platform: 'ptrace' | 'kvm' = 'ptrace'): Promise<RunResult> {
  return run(RUNSC, [...BUDGET, `--platform=${platform}`, 'do', '/bin/sh', '-c', script], { cwd: '/', timeoutMs: 60_000 });
}

/** The platforms to run on: kvm too where /dev/kvm is usable (its faults come from the guest's page tables). */
const PLATFORMS = KVM_UNUSABLE ? ['ptrace'] as const : ['ptrace', 'kvm'] as const;

/** The host kernel's count of OOM kills (/proc/vmstat oom_kill). */
function hostOomKills(): number {
  return Number(/^oom_kill (\d+)$/m.exec(fs.readFileSync('/proc/vmstat', 'utf8'))?.[1] ?? 0);
}

/** The "used" column of free's Mem: line, in KiB. */
function freeUsedKib(out: string, label: string): number {
  const m = new RegExp(`^${label}\\nMem:\\s+(\\d+)\\s+(\\d+)`, 'm').exec(out);
  expect(m, `free after ${label}`).not.toBeNull();
  return Number(m![2]);
}

it.each(PLATFORMS)('a memory bomb is OOM-killed by the Sentry (%s); the shell reports 137, the host OOM killer never fires, the sandbox stays usable', async (platform) => {
  const before = hostOomKills();
  const r = await sandboxSh(`echo start; free -k | grep Mem:; ${bomb()}; echo "bomb status $?"; echo after; free -k | grep Mem:; ` +
    'dmesg | grep "Out of memory"; seq 1 20000 | sort -n | tail -1', platform);
  const msg = describeRun(`runsc --platform=${platform} do (bomb)`, r);
  expect(r.status, msg).toBe(0);
  expect(r.stdout, msg).toContain('bomb status 137\n');
  // Linux's kernel log line, read through syslog(2) by dmesg.
  expect(r.stdout, msg).toMatch(/^(?:\[[ \d.]+\] )?Out of memory: Killed process \d+ \([^)]*bomb[^)]*\) total-vm:\d+kB, anon-rss:\d+kB, .*oom_score_adj:0$/m);
  // The Sentry's own log says so too.
  expect(r.stderr, msg).toMatch(/Out of memory: Killed process \d+ \([^)]*bomb[^)]*\)/);
  // Its memory came back, and a following pipeline runs normally.
  expect(freeUsedKib(r.stdout, 'after'), msg).toBeLessThan(freeUsedKib(r.stdout, 'start') + 8 * 1024);
  expect(r.stdout, msg).toMatch(/^20000$/m);
  expect(hostOomKills()).toBe(before);
}, 90_000);

it('oom_score_adj steers the OOM killer: the bigger process dies first, unless its oom_score_adj says otherwise', async () => {
  const bin = steer();
  const cases: [string, string, string][] = [
    // 40 MiB holder vs a bomb that reaches about 20 MiB: the holder is the bigger.
    ['0', '40', 'parent oom_score_adj 0, holder\'s 0\nfirst to die: holder, killed by signal 9\nthen: bomb, killed by signal 9\n'],
    // -1000: never chosen; the bomb dies and the holder is ended by its parent.
    ['-1000', '40', 'parent oom_score_adj 0, holder\'s -1000\nfirst to die: bomb, killed by signal 9\nthen: holder, killed by signal 15\n'],
    // +1000: chosen over a bomb twelve times its size.
    ['1000', '4', 'parent oom_score_adj 0, holder\'s 1000\nfirst to die: holder, killed by signal 9\nthen: bomb, killed by signal 9\n'],
  ];
  for (const [adj, mib, want] of cases) {
    const r = await run(RUNSC, [...BUDGET, 'do', bin, adj, mib], { cwd: '/', timeoutMs: 60_000 });
    const msg = describeRun(`runsc do steer ${adj} ${mib}`, r);
    expect(r.status, msg).toBe(0);
    expect(r.stdout, msg).toBe(want);
  }
}, 120_000);

it('tmpfs fills up with ENOSPC at half the sandbox\'s memory; removing the file gives the memory back; holes cost nothing', async () => {
  const r = await sandboxSh('free -k | grep Mem: | sed "s/^/before /"; dd if=/dev/zero of=/dev/shm/fill bs=1M count=100; echo "dd status $?"; ' +
    'df -k /dev/shm | tail -1; rm /dev/shm/fill; free -k | grep Mem: | sed "s/^/after /"; ' +
    // A sparse file's holes read as zeros and cost nothing.
    'truncate -s 256M /dev/shm/sparse && cat /dev/shm/sparse | wc -c');
  const msg = describeRun('runsc do (tmpfs fill)', r);
  expect(r.status, msg).toBe(0);
  expect(r.stderr, msg).toContain('No space left on device');
  expect(r.stderr, msg).toContain('32+0 records out');
  expect(r.stdout, msg).toContain('dd status 1\n');
  expect(r.stdout, msg).toMatch(/^tmpfs\s+32768\s+32768\s+0\s+100% \/dev\/shm$/m);
  const used = (label: string): number => Number(new RegExp(`^${label} Mem:\\s+\\d+\\s+(\\d+)`, 'm').exec(r.stdout)?.[1]);
  expect(used('after'), msg).toBeLessThan(used('before') + 4 * 1024);
  expect(r.stdout, msg).toMatch(/^268435456$/m);
  // No process was killed for it: file data gets ENOSPC, never the OOM killer.
  expect(r.stderr, msg).not.toContain('Out of memory');
}, 60_000);

it('mlock of more than the sandbox has fails with EAGAIN and MAP_POPULATE is best effort, with no OOM kill', async () => {
  const bin = buildC(path.join(REPO, 'test', 'oom', 'lockbig.c'), 'static');
  const r = await run(RUNSC, [...BUDGET, 'do', bin, '100'], { cwd: '/', timeoutMs: 60_000 });
  const msg = describeRun('runsc do lockbig 100', r);
  expect(r.status, msg).toBe(0);
  expect(r.stdout, msg).toBe('mlock: Resource temporarily unavailable\nMAP_POPULATE: mapped\n');
  expect(r.stderr, msg).not.toContain('Out of memory');
}, 60_000);

it('/proc/meminfo, free (procps), free (busybox, sysinfo(2)) and oom_score show the budget and the real use', async () => {
  const r = await sandboxSh('grep -E "^(MemTotal|MemFree|MemAvailable):" /proc/meminfo; free -k | grep Mem:; ' +
    'busybox free | grep Mem:; cat /proc/self/oom_score_adj; echo 500 > /proc/self/oom_score_adj; cat /proc/self/oom_score_adj; ' +
    'echo 1001 > /proc/self/oom_score_adj || echo refused; cat /proc/self/oom_score');
  const msg = describeRun('runsc do (meminfo)', r);
  expect(r.status, msg).toBe(0);
  expect(r.stdout, msg).toMatch(/^MemTotal:\s+65536 kB$/m);
  const free = Number(/^MemFree:\s+(\d+) kB$/m.exec(r.stdout)?.[1]);
  // Something is in use (the shell, grep, their libraries), well under the budget.
  expect(free, msg).toBeGreaterThan(32 * 1024);
  expect(free, msg).toBeLessThan(65536);
  expect(r.stdout, msg).toMatch(/^Mem:\s+65536\s+\d+\s+\d+/m);
  // busybox free reads sysinfo(2): the same total (mem_unit 1, in KiB).
  expect(r.stdout.match(/^Mem:\s+65536\s/gm)?.length, msg).toBe(2);
  expect(r.stdout, msg).toMatch(/^0\n500\n/m);
  expect(r.stdout, msg).toContain('refused\n');
  // oom_score: (1000 + badness in thousandths of the memory) * 2/3, the shell's adj of 500 included.
  const score = Number(r.stdout.trim().split('\n').at(-1));
  expect(score, msg).toBeGreaterThanOrEqual(1000);
  expect(score, msg).toBeLessThanOrEqual(2000);
}, 60_000);
