// The KVM platform's failure modes: a missing or unusable device is a clear
// error naming the fix, and a vCPU stuck in ring 0 fails its process with a
// diagnosis, never a hang. (Its behaviour is covered by the
// conformance programs and scenarios, which run on both platforms.)
import { describe, expect, it } from 'vitest';
import { MemoryFile } from '../sentry/mm/memfile';
import { KvmPlatform, KvmUnavailable } from '../sentry/platform/kvm/kvm';
import { buildRing0, CODE_PAGE } from '../sentry/platform/kvm/ring0';
import { KVM_UNUSABLE, run, RUNSC } from './harness';

describe('kvm platform', () => {
  it('a missing device is an error that names the fix', () => {
    expect(() => new KvmPlatform(new MemoryFile(), '/nonexistent/kvm')).toThrow(KvmUnavailable);
    expect(() => new KvmPlatform(new MemoryFile(), '/nonexistent/kvm')).toThrow(/does not exist: load KVM .* or use --platform=ptrace/);
  });

  it('a device that is not KVM is an error that names the fix', () => {
    expect(() => new KvmPlatform(new MemoryFile(), '/dev/null')).toThrow(/is not a KVM device .*use --platform=ptrace/);
  });

  it.skipIf(KVM_UNUSABLE)('runsc --platform=kvm do runs a program and reports its exit status', async () => {
    const r = await run(RUNSC, ['--platform=kvm', 'do', '/bin/sh', '-c', 'echo on kvm; exit 3']);
    expect(r.stdout).toBe('on kvm\n');
    expect(r.status).toBe(3);
  });

  // With a stop wanted (a deadline already due) and without (no deadline, nothing else to run).
  it.skipIf(KVM_UNUSABLE).each([['due', true], ['none', false]] as const)('a vCPU stuck in ring 0 kills its context with a diagnosis (deadline %s)', (_, due) => {
    const mf = new MemoryFile();
    const platform = new KvmPlatform(mf);
    // Ring 0's pages are the memory file's first allocation: turn the path
    // back to ring 3 into `jmp .`, a ring 0 that never gets out.
    const ring0 = buildRing0();
    const code = mf.viewOf(CODE_PAGE * 4096, 4096)!;
    expect(code).toEqual(ring0.pages[CODE_PAGE]);
    code.set([0xeb, 0xfe], ring0.restore);
    const ctx = platform.newProcess();
    ctx.resume();
    const stop = platform.wait(due ? process.hrtime.bigint() : null);
    expect(stop).toMatchObject({ kind: 'killed', detail: expect.stringMatching(/stayed in ring 0 for a second of CPU time/) });
  });

  it('--platform accepts only ptrace and kvm', async () => {
    const r = await run(RUNSC, ['--platform=xen', 'do', '/bin/true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ptrace, kvm/);
  });
});
