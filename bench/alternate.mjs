#!/usr/bin/env node
// Wall time of whole commands, taking turns: each command once per round, so
// that changes in the machine's load hit them alike. For start-up costs
// (docs/benchmarks.md: runsc's own commands, `do /bin/true` against gVisor's).
//
//   node bench/alternate.mjs [--runs N] 'CMD ARGS…' 'CMD ARGS…' …
//
// Prints the median and the minimum of N runs (default 15) of each, spawn to
// exit; the commands' output is discarded. Arguments are split on spaces.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const at = args.indexOf('--runs');
const runs = at >= 0 ? Number(args.splice(at, 2)[1]) : 15;
const cmds = args.map((c) => c.split(' ').filter(Boolean));
if (cmds.length === 0 || !(runs > 0)) {
  process.stderr.write("usage: node bench/alternate.mjs [--runs N] 'CMD ARGS…' …\n");
  process.exit(2);
}
const times = cmds.map(() => []);
for (let i = 0; i < runs; i++) {
  cmds.forEach(([cmd, ...rest], j) => {
    const t0 = process.hrtime.bigint();
    spawnSync(cmd, rest, { stdio: 'ignore' });
    times[j].push(Number(process.hrtime.bigint() - t0) / 1e6);
  });
}
cmds.forEach((c, j) => {
  const t = times[j].sort((a, b) => a - b);
  process.stdout.write(`${t[Math.floor(t.length / 2)].toFixed(0)} ms (min ${t[0].toFixed(0)})  ${c.join(' ')}\n`);
});
