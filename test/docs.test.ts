// docs/compatibility.md is generated from the syscall table: it must be what
// `runsc syscalls --markdown` prints now (regenerate with `npm run docs`).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from './harness';

it('docs/compatibility.md matches the syscall table', () => {
  const r = spawnSync(path.join(REPO, 'bin', 'runsc'), ['syscalls', '--markdown'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const page = fs.readFileSync(path.join(REPO, 'docs', 'compatibility.md'), 'utf8');
  expect(page, 'docs/compatibility.md is stale: run `npm run docs`').toBe(r.stdout);
});
