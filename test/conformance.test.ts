// Differential conformance: each C program in test/conformance/ is built
// static and dynamic, run natively and under `bin/runsc do`, and the sandboxed
// run must print exactly what the native one printed and exit the same way.
//
// The "native" tests check the programs themselves (they must pass on any
// Linux host); the "runsc" tests check the sandbox against them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  KVM_UNUSABLE, REPO, VARIANTS, assertExit, assertSameAsNative, buildC, describeRun, killAll, runNative, runSandboxed,
  type RunResult, type Variant,
} from './harness';

const SRC_DIR = path.join(REPO, 'test', 'conformance');
const programs = fs.readdirSync(SRC_DIR).filter((f) => f.endsWith('.c')).sort();

afterAll(killAll);

/** Programs whose sandboxed run is known to differ from Linux, each with why. Shrink this list. */
const KNOWN_DIVERGENCES: Readonly<Record<string, string>> = {
};

// One native run per binary, shared by the native and the runsc test.
const nativeRuns = new Map<string, Promise<RunResult>>();
function nativeRun(bin: string): Promise<RunResult> {
  let p = nativeRuns.get(bin);
  if (!p) {
    p = runNative(bin, [], { cwd: '/', timeoutMs: 10_000 });
    nativeRuns.set(bin, p);
  }
  return p;
}

it('has conformance programs', () => {
  expect(programs.length).toBeGreaterThanOrEqual(9);
});

describe.each(programs)('%s', (file) => {
  const src = path.join(SRC_DIR, file);
  describe.each(VARIANTS as Variant[])('%s', (variant) => {
    it('native: exits 0 and prints results', async () => {
      const bin = buildC(src, variant);
      const native = await nativeRun(bin);
      assertExit(`native ${file} (${variant})`, native);
      expect(native.stdout.length, describeRun('native', native)).toBeGreaterThan(0);
    });

    const divergence = KNOWN_DIVERGENCES[file];
    // Every program runs on both platforms (kvm where /dev/kvm is usable); on
    // kvm only dynamically linked, which goes through more (ld.so, libc's
    // CPU-dependent paths), to keep the suite's time down.
    const platforms = KVM_UNUSABLE || variant === 'static' ? ['ptrace'] as const : ['ptrace', 'kvm'] as const;
    for (const platform of platforms) {
      const name = platform === 'ptrace' ? 'runsc' : `runsc --platform=${platform}`;
      (divergence ? it.skip : it)(`${name}: same stdout and exit status as native${divergence ? ` (skipped: ${divergence})` : ''}`, async () => {
        const bin = buildC(src, variant);
        const native = await nativeRun(bin);
        assertExit(`native ${file} (${variant})`, native);
        const sandboxed = await runSandboxed(bin, [], { cwd: '/', timeoutMs: 20_000, platform });
        assertSameAsNative(`${file} (${variant}, ${platform})`, native, sandboxed);
      });
    }
  });
});
