// The config.json parser (src/oci/spec.ts): what it accepts, the defaults it
// fills in, and the one-line errors naming the field for what it refuses.
import { describe, expect, it } from 'vitest';
import { parseSpec, defaultSpec, features, isBind, isReadOnly } from '../src/oci/spec';

const base = (): Record<string, any> => ({ ociVersion: '1.0.2', root: { path: 'rootfs' }, process: { args: ['sh'], cwd: '/' } });
const err = (edit: (c: Record<string, any>) => void): string => {
  const c = base();
  edit(c);
  try {
    parseSpec(JSON.stringify(c));
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('OCI spec parser', () => {
  it('fills in defaults and keeps what it reads', () => {
    const s = parseSpec(JSON.stringify(base()));
    expect(s.process).toMatchObject({ args: ['sh'], env: [], cwd: '/', terminal: false, user: { uid: 0, gid: 0, additionalGids: [] }, rlimits: [] });
    expect(s.root).toEqual({ path: 'rootfs', readonly: false });
    expect(s).toMatchObject({ hostname: '', mounts: [], annotations: {}, linux: { maskedPaths: [], readonlyPaths: [] } });
  });

  it('accepts the default spec runsc spec writes, and rlimits of 2^64-1 (infinity)', () => {
    const c = defaultSpec() as Record<string, any>;
    c['process'].rlimits.push({ type: 'RLIMIT_CORE', hard: 18446744073709551615, soft: 18446744073709551615 });
    const s = parseSpec(JSON.stringify(c));
    expect(s.mounts.find((m) => m.destination === '/sys')!.options).toContain('ro');
    expect(s.process!.rlimits).toHaveLength(2);
  });

  it('refuses with one line naming the field', () => {
    expect(err((c) => { c['ociVersion'] = 2; })).toBe('ociVersion: must be a string, not 2');
    expect(err((c) => { c['ociVersion'] = '2.0.0'; })).toMatch(/^ociVersion: "2.0.0" is not a 1.x version/);
    expect(err((c) => { delete c['root']; })).toBe('root: must be an object, not undefined');
    expect(err((c) => { c['process'].args = []; })).toBe('process.args: must name the program to run');
    expect(err((c) => { c['process'].args = ['sh', 3]; })).toBe('process.args[1]: must be a string, not 3');
    expect(err((c) => { c['process'].cwd = 'tmp'; })).toBe('process.cwd: must be an absolute path, not "tmp"');
    expect(err((c) => { c['process'].env = ['NOEQUALS']; })).toBe('process.env[0]: must look like NAME=value, not "NOEQUALS"');
    expect(err((c) => { c['process'].user = { uid: -1 }; })).toBe('process.user.uid: must be a non-negative integer below 2^32, not -1');
    expect(err((c) => { c['process'].user = { uid: 0, gid: 0, additionalGids: [1, 'x'] }; })).toBe('process.user.additionalGids[1]: must be a non-negative integer below 2^32, not "x"');
    expect(err((c) => { c['process'].rlimits = [{ type: 'RLIMIT_BOGUS', hard: 1, soft: 1 }]; })).toBe('process.rlimits[0].type: unknown rlimit "RLIMIT_BOGUS"');
    expect(err((c) => { c['process'].rlimits = [{ type: 'RLIMIT_NOFILE', hard: 1, soft: 2 }]; })).toBe('process.rlimits[0].soft: 2 is above the hard limit 1');
    expect(err((c) => { c['mounts'] = [{ destination: 'rel', type: 'tmpfs' }]; })).toBe('mounts[0].destination: must be an absolute path, not "rel"');
    expect(err((c) => { c['mounts'] = [{ destination: '/x', options: 'ro' }]; })).toBe('mounts[0].options: must be an array, not "ro"');
    expect(err((c) => { c['linux'] = { namespaces: [{ type: 'bogus' }] }; })).toBe('linux.namespaces[0].type: unknown namespace type "bogus"');
    expect(err((c) => { c['annotations'] = { a: 1 }; })).toBe('annotations.a: must be a string, not 1');
    expect(err((c) => { c['hostname'] = 'x'.repeat(65); })).toMatch(/^hostname: is longer than 64 bytes/);
    expect(err((c) => { delete c['process']; })).toBe('process: is required to create a container');
    expect(() => parseSpec('{')).toThrow(/^config.json: not valid JSON/);
  });

  it('classifies mounts and reports features', () => {
    expect(isBind({ destination: '/a', type: '', source: '/b', options: ['rbind', 'ro'] })).toBe(true);
    expect(isBind({ destination: '/a', type: 'tmpfs', source: 'tmpfs', options: [] })).toBe(false);
    expect(isReadOnly({ destination: '/a', type: 'bind', source: '/b', options: ['ro'] })).toBe(true);
    expect(features()).toMatchObject({ ociVersionMin: '1.0.0', linux: { namespaces: expect.arrayContaining(['pid']) } });
  });
});
