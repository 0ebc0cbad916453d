// The KVM platform's failure modes: a missing or unusable device is a clear
// error naming the fix, and a vCPU stuck in ring 0 fails its process with a
// diagnosis, never a hang. (Its behaviour is covered by the
// conformance programs and scenarios, which run on both platforms.)
import { describe, expect, it } from 'vitest';
import { MemoryFile } from '../sentry/mm/memfile';
import { KvmPlatform, KvmUnavailable } from '../sentry/platform/kvm/kvm';
import { buildRing0, CODE_PAGE } from '../sentry/platform/kvm/ring0';
import { LAZY_GROUP, PageTables } from '../sentry/platform/kvm/pagetables';
import { PROT_READ, PROT_WRITE } from '../src/abi/linux';
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

  // Page tables alone, no VM: which entries the guest sees, and what the host is told to forget.
  describe('page tables', () => {
    const PAGE = 4096;
    const setup = (): { tables: PageTables; mf: MemoryFile; stale: [number, number][]; freed: number[] } => {
      const mf = new MemoryFile();
      const stale: [number, number][] = [];
      const freed: number[] = [];
      const tables = new PageTables(mf, mf.allocate(PAGE), 400, {
        onTable: () => {},
        onStaleFrames: (off, len) => stale.push([off, len]),
        onTablesFreed: () => freed.push(1),
      });
      return { tables, mf, stale, freed };
    };

    it('frames the host does not hold stay lazy until a fault shows their group', () => {
      const { tables, mf } = setup();
      const off = mf.allocate(2 * LAZY_GROUP * PAGE);
      const base = 0x4000_0000;
      tables.map(base, 2 * LAZY_GROUP * PAGE, PROT_READ | PROT_WRITE, off, null);
      // A fault on the second group's third page shows that group, aligned, and only it.
      expect(tables.materialize(base + (LAZY_GROUP + 2) * PAGE)).toEqual(
        Array.from({ length: LAZY_GROUP }, (_, k) => off + (LAZY_GROUP + k) * PAGE));
      expect(tables.materialize(base + (LAZY_GROUP + 5) * PAGE)).toBeNull();
      expect(tables.materialize(base)).toHaveLength(LAZY_GROUP);
      // An address nothing maps is the workload's fault.
      expect(tables.materialize(base + 4 * LAZY_GROUP * PAGE)).toBeNull();
    });

    it('resident frames are shown at once; changing or removing shown entries reports their frames, by runs', () => {
      const { tables, mf, stale, freed } = setup();
      const off = mf.allocate(4 * PAGE);
      const base = 0x4000_0000;
      // Pages 0 and 1 resident, 2 and 3 not.
      tables.map(base, 4 * PAGE, PROT_READ | PROT_WRITE, off, Uint8Array.of(1, 1, 0, 0));
      expect(tables.materialize(base)).toBeNull();
      expect(tables.materialize(base + 3 * PAGE)).toEqual([off + 2 * PAGE, off + 3 * PAGE]);
      tables.protect(base + 2 * PAGE, 2 * PAGE, PROT_READ);
      expect(stale).toEqual([[off + 2 * PAGE, 2 * PAGE]]);
      tables.unmap(base, 3 * PAGE);
      expect(stale.slice(1)).toEqual([[off, 3 * PAGE]]);
      // Entries never shown are never reported; freeing the tables is.
      tables.map(base + 8 * PAGE, 4 * PAGE, PROT_READ, off, null);
      tables.protect(base + 8 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE);
      tables.unmap(base + 8 * PAGE, 4 * PAGE);
      expect(stale).toHaveLength(2);
      // Emptying all of user space (page 3 is still shown) keeps the tables and reports the frames;
      // freeing the tables is reported.
      tables.map(base, 2 * PAGE, PROT_READ, off, Uint8Array.of(1, 1));
      tables.unmap(0, 2 ** 47);
      expect(stale.slice(2)).toEqual([[off, 2 * PAGE], [off + 3 * PAGE, PAGE]]);
      expect(tables.materialize(base)).toBeNull();
      expect(freed).toHaveLength(0);
      tables.destroy();
      expect(freed).toHaveLength(1);
    });
  });

  it('--platform accepts only ptrace and kvm', async () => {
    const r = await run(RUNSC, ['--platform=xen', 'do', '/bin/true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ptrace, kvm/);
  });
});
