// The Gofer's acceptance test: make and gcc build a C project inside the
// sandbox on a host directory written through the Gofer
// (`do --force-overlay=false`), and the results persist on the host: the
// objects, a static library made with ar, and a program that runs natively.
// In the same sandbox, a touched source is rebuilt alone (make sees our own
// mtime changes through the attribute cache) and `make clean` removes what it
// built. Then --file-access=shared: changes made on the host while the
// sandbox runs are seen (attributes and listings revalidated). Last, user.*
// xattrs, FIFOs and sockets made through the Gofer behave as natively, and
// device nodes are refused.
import { afterAll, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RUNSC, buildC, describeRun, killAll, run, runNative, type RunOptions } from './harness';

/** `runsc do --force-overlay=false CMD ARGS…`: writes go through the Gofer to the host. */
const onHost = (cmd: string, args: string[], opts: RunOptions) => run(RUNSC, ['do', '--force-overlay=false', cmd, ...args], opts);

const proj = fs.mkdtempSync(path.join(os.tmpdir(), 'gofer-build-'));

afterAll(() => {
  killAll();
  fs.rmSync(proj, { recursive: true, force: true });
});

const FILES: Record<string, string> = {
  'Makefile': [
    'CFLAGS = -O2 -Wall -Werror -Iinclude',
    'OBJS = src/main.o',
    'LIBOBJS = src/add.o src/mul.o src/fmt.o',
    'prog: $(OBJS) libcalc.a',
    '\t$(CC) -o $@ $(OBJS) -L. -lcalc',
    'libcalc.a: $(LIBOBJS)',
    '\t$(AR) rcs $@ $^',
    'src/%.o: src/%.c include/calc.h',
    '\t$(CC) $(CFLAGS) -c -o $@ $<',
    'clean:',
    '\trm -f prog libcalc.a src/*.o',
    '.PHONY: clean',
    '',
  ].join('\n'),
  'include/calc.h': 'int add(int a, int b);\nint mul(int a, int b);\nvoid fmt(char *out, int v);\n',
  'src/add.c': '#include "calc.h"\nint add(int a, int b) { return a + b; }\n',
  'src/mul.c': '#include "calc.h"\nint mul(int a, int b) { return a * b; }\n',
  'src/fmt.c': '#include <stdio.h>\n#include "calc.h"\nvoid fmt(char *out, int v) { sprintf(out, "result=%d", v); }\n',
  'src/main.c': [
    '#include <stdio.h>',
    '#include "calc.h"',
    'int main(void) { char b[64]; fmt(b, add(mul(6, 7), 100)); puts(b); return 0; }',
    '',
  ].join('\n'),
};

it('make + gcc build a C project on a host directory through the Gofer; the results persist on the host', async () => {
  for (const [name, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(proj, name)), { recursive: true });
    fs.writeFileSync(path.join(proj, name), text);
  }
  // Build (two jobs: make runs gcc, which runs cc1, as and collect2/ld, through
  // vfork and pipes), then touch one source and build again, then run it.
  const script = [
    'set -e',
    'make -j2',
    'sleep 1',
    'touch src/mul.c',
    'make > second.log',
    './prog',
  ].join('; ');
  const r = await onHost('/bin/sh', ['-c', script], { cwd: proj, timeoutMs: 240_000 });
  expect(r.status, describeRun('build', r)).toBe(0);
  expect(r.stdout).toContain('result=142');

  // Everything the build made is on the host.
  for (const f of ['src/main.o', 'src/add.o', 'src/mul.o', 'src/fmt.o', 'libcalc.a', 'prog']) {
    expect(fs.statSync(path.join(proj, f)).size, f).toBeGreaterThan(0);
  }
  expect(fs.statSync(path.join(proj, 'prog')).mode & 0o111).not.toBe(0);
  const native = spawnSync(path.join(proj, 'prog'), { encoding: 'utf8' });
  expect(native.stdout).toBe('result=142\n');
  const ar = spawnSync('ar', ['t', path.join(proj, 'libcalc.a')], { encoding: 'utf8' });
  expect(ar.stdout.split('\n').filter(Boolean).sort()).toEqual(['add.o', 'fmt.o', 'mul.o']);
  // The second make rebuilt only the touched source, the library and the program.
  const second = fs.readFileSync(path.join(proj, 'second.log'), 'utf8');
  expect(second).toContain('src/mul.c');
  expect(second).not.toMatch(/-c -o src\/(add|fmt|main)\.o/);

  const clean = await onHost('/usr/bin/make', ['clean'], { cwd: proj });
  expect(clean.status, describeRun('make clean', clean)).toBe(0);
  expect(fs.existsSync(path.join(proj, 'prog'))).toBe(false);
  expect(fs.readdirSync(path.join(proj, 'src')).sort()).toEqual(['add.c', 'fmt.c', 'main.c', 'mul.c']);
}, 300_000);

it('--file-access=shared: a running sandbox sees files changed and created on the host', async () => {
  const dir = fs.mkdtempSync(path.join(proj, 'shared-'));
  fs.writeFileSync(path.join(dir, 'f'), 'short');
  const script = 'stat -c %s f; ls; touch ready; while [ ! -e go ]; do sleep 0.05; done; stat -c %s f; ls';
  const done = run(RUNSC, ['--file-access=shared', 'do', '--force-overlay=false', '/bin/sh', '-c', script], { cwd: dir });
  // The sandbox made `ready` (through the Gofer) after its first look: change things under it.
  for (let i = 0; i < 600 && !fs.existsSync(path.join(dir, 'ready')); i++) await new Promise((r) => setTimeout(r, 50));
  fs.writeFileSync(path.join(dir, 'f'), 'much longer now');
  fs.writeFileSync(path.join(dir, 'new'), '');
  fs.writeFileSync(path.join(dir, 'go'), '');
  const r = await done;
  expect(r.status, describeRun('shared', r)).toBe(0);
  expect(r.stdout).toBe('5\nf\n15\nf\ngo\nnew\nready\n');
}, 60_000);

it('xattrs (user.*), FIFOs and sockets through the Gofer: the same as natively; device nodes refused', async () => {
  const prog = buildC('test/gofer_progs/xattr_mknod.c', 'static');
  const nativeDir = fs.mkdtempSync(path.join(proj, 'native-'));
  const sandboxDir = fs.mkdtempSync(path.join(proj, 'sandboxed-'));
  const native = await runNative(prog, [nativeDir]);
  const sandboxed = await onHost(prog, [sandboxDir], {});
  expect(native.status, describeRun('native', native)).toBe(0);
  expect(sandboxed.status, describeRun('sandboxed', sandboxed)).toBe(0);
  expect(sandboxed.stdout).toBe(native.stdout);
  expect(fs.statSync(path.join(sandboxDir, 'fifo')).isFIFO()).toBe(true);
  const dev = await onHost('/usr/bin/mknod', [path.join(sandboxDir, 'null'), 'c', '1', '3'], {});
  expect(dev.status).not.toBe(0);
  expect(dev.stderr).toMatch(/Operation not permitted/);
  expect(fs.existsSync(path.join(sandboxDir, 'null'))).toBe(false);
}, 60_000);
