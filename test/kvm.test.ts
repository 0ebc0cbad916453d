// The KVM platform's failure modes: a missing or unusable device is a clear
// error naming the fix, never a hang. (Its behaviour is covered by the
// conformance programs and scenarios, which run on both platforms.)
import { describe, expect, it } from 'vitest';
import { MemoryFile } from '../sentry/mm/memfile';
import { KvmPlatform, KvmUnavailable } from '../sentry/platform/kvm/kvm';
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

  it('--platform accepts only ptrace and kvm', async () => {
    const r = await run(RUNSC, ['--platform=xen', 'do', '/bin/true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ptrace, kvm/);
  });
});
