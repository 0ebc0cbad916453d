// Losing the Gofer: killing its process in the middle of a run gives the
// workload EIO on the file operation in flight, then the sandbox ends (runsc
// exits with a message and status 128) without hanging and without leaving a
// process of its tree behind.
import { afterAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUNSC } from './harness';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gofer-faults-'));
const started: number[] = [];

afterAll(() => {
  for (const pid of started) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone already */ }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every descendant of pid, from /proc/PID/task/TID/children. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number): void => {
    let tids: string[];
    try { tids = fs.readdirSync(`/proc/${p}/task`); } catch { return; }
    for (const tid of tids) {
      let kids = '';
      try { kids = fs.readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8'); } catch { continue; }
      for (const k of kids.split(' ').filter(Boolean).map(Number)) { out.push(k); visit(k); }
    }
  };
  visit(pid);
  return out;
}

const cmdline = (pid: number): string => {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; }
};

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

it('killing the Gofer mid-run: the workload gets EIO, runsc exits 128, nothing is left behind', async () => {
  // Every iteration looks up a name never seen before, so each one is a 9P walk.
  const script = `i=0; while :; do i=$((i+1)); test -e ${tmp}/n$i; done`;
  const child = spawn(RUNSC, ['--strace', 'do', '--force-overlay=false', '/bin/sh', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  started.push(child.pid!);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-64 * 1024); });
  let early: number | null | undefined;
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => { early = code; r(code); }));

  // Wait until the workload runs its loop (slow when the machine is loaded).
  let gofer = 0;
  for (let i = 0; i < 600 && early === undefined && !(gofer && stderr.includes('/n1"')); i++) {
    await sleep(50);
    gofer ||= descendants(child.pid!).find((p) => cmdline(p).includes('gofer.js')) ?? 0;
  }
  expect(gofer, `the Gofer process (runsc exit ${early}; stderr: ${stderr.slice(-2000)})`).toBeGreaterThan(0);
  expect(stderr).toContain('/n1"');
  const tree = descendants(child.pid!);
  expect(tree.length).toBeGreaterThanOrEqual(2); // the Gofer and the workload's stub at least

  process.kill(gofer, 'SIGKILL');
  const code = await Promise.race([exited, sleep(20_000).then(() => 'hung' as const)]);
  expect(code, 'runsc must exit, not hang').not.toBe('hung');
  expect(code).toBe(128);
  expect(stderr).toMatch(/newfstatat\(-100, "[^"]+\/n\d+", 0x[0-9a-f]+, 0x0\) = -1 EIO/);
  expect(stderr).toMatch(/runsc: (lost the Gofer|the Gofer \(pid \d+\) died)/);

  // No orphans: every process of the sandbox's tree is gone (stubs die with runsc).
  for (let i = 0; i < 100 && tree.some(alive); i++) await sleep(50);
  expect(tree.filter(alive).map((p) => `${p}: ${cmdline(p)}`)).toEqual([]);
}, 60_000);
