// The 9P2000.L codec: every message round-trips, the wire layout of a few
// messages matches the bytes the Linux kernel sends, and no input (random,
// truncated or corrupted) can throw out of the decoders.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import {
  DecodeError, Decoder, Encoder, FrameReader, MESSAGES, P9, QTDIR, decode, decodeDirents, encode, encodeDirent,
  msgName, writeAll, type DirEntry, type Msg, type MsgName,
} from '../src/p9';
import { socketpair, close } from '../src/ffi/libc';

// A deterministic PRNG, so a failing fuzz case can be replayed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A message of type `name` whose every field holds a distinctive, non-zero value. */
function sample(name: MsgName, r: () => number): Msg {
  const m: Record<string, unknown> = { type: name, tag: Math.floor(r() * 0xffff) };
  const u = (bits: number): number => Math.floor(r() * 2 ** bits);
  for (const [field, kind] of MESSAGES[name][1] as readonly (readonly [string, string])[]) {
    switch (kind) {
      case 'u8': m[field] = u(8); break;
      case 'u16': m[field] = u(16); break;
      case 'u32': m[field] = u(32); break;
      case 'u64': m[field] = (BigInt(u(32)) << 32n) | BigInt(u(32)); break;
      case 's': m[field] = `${field}-é-${u(16)}`; break;
      case 'qid': m[field] = { type: QTDIR, version: u(32), path: 0xfedcba9876543210n }; break;
      case 'wnames': m[field] = ['a', 'bé', '..', 'x'.repeat(255)]; break;
      case 'wqids': m[field] = [{ type: 0, version: 1, path: 2n }, { type: 2, version: 3, path: 2n ** 64n - 1n }]; break;
      case 'data': m[field] = Uint8Array.from({ length: 37 }, () => u(8)); break;
      default: throw new Error(`unknown kind ${kind}`);
    }
  }
  return m as unknown as Msg;
}

const NAMES = Object.keys(MESSAGES) as MsgName[];

describe('9P message table', () => {
  it('has the Linux kernel numbers', () => {
    // include/net/9p/9p.h, enum p9_msg_t
    expect(P9.Rlerror).toBe(7);
    expect(P9.Tstatfs).toBe(8);
    expect(P9.Tlopen).toBe(12);
    expect(P9.Tlcreate).toBe(14);
    expect(P9.Tsymlink).toBe(16);
    expect(P9.Tmknod).toBe(18);
    expect(P9.Trename).toBe(20);
    expect(P9.Treadlink).toBe(22);
    expect(P9.Tgetattr).toBe(24);
    expect(P9.Tsetattr).toBe(26);
    expect(P9.Txattrwalk).toBe(30);
    expect(P9.Txattrcreate).toBe(32);
    expect(P9.Treaddir).toBe(40);
    expect(P9.Tfsync).toBe(50);
    expect(P9.Tlock).toBe(52);
    expect(P9.Tgetlock).toBe(54);
    expect(P9.Tlink).toBe(70);
    expect(P9.Tmkdir).toBe(72);
    expect(P9.Trenameat).toBe(74);
    expect(P9.Tunlinkat).toBe(76);
    expect(P9.Tversion).toBe(100);
    expect(P9.Tauth).toBe(102);
    expect(P9.Tattach).toBe(104);
    expect(P9.Tflush).toBe(108);
    expect(P9.Twalk).toBe(110);
    expect(P9.Tread).toBe(116);
    expect(P9.Twrite).toBe(118);
    expect(P9.Tclunk).toBe(120);
    expect(P9.Tremove).toBe(122);
  });

  it('pairs every T-message with the R-message one above it', () => {
    for (const name of NAMES) {
      if (name.startsWith('T')) expect(msgName(P9[name] + 1)).toBe(`R${name.slice(1)}`);
    }
    const numbers = NAMES.map((n) => P9[n]);
    expect(new Set(numbers).size).toBe(numbers.length);
  });
});

describe('9P round trip', () => {
  const r = rng(1);
  for (const name of NAMES) {
    it(name, () => {
      const m = sample(name, r);
      const bytes = encode(m);
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true)).toBe(bytes.length);
      expect(bytes[4]).toBe(P9[name]);
      const back = decode(bytes);
      expect(back).not.toBeInstanceOf(DecodeError);
      expect(back).toEqual(m);
      // Every strict prefix is a clean error, never a throw.
      for (let n = 0; n < bytes.length; n++) {
        const d = decode(bytes.subarray(0, n));
        expect(d).toBeInstanceOf(DecodeError);
      }
      // Trailing garbage is refused too.
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      new DataView(longer.buffer).setUint32(0, longer.length, true);
      expect(decode(longer)).toBeInstanceOf(DecodeError);
    });
  }

  it('empty walks and zero-length data', () => {
    for (const m of [
      { type: 'Twalk', tag: 1, fid: 1, newfid: 2, wnames: [] },
      { type: 'Rwalk', tag: 1, wqids: [] },
      { type: 'Rread', tag: 1, data: new Uint8Array(0) },
      { type: 'Rclunk', tag: 1 },
    ] as Msg[]) expect(decode(encode(m))).toEqual(m);
  });

  it('encodes Tversion byte for byte as Linux does', () => {
    const bytes = encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      '15000000' + '64' + 'ffff' + '00200000' + '0800' + Buffer.from('9P2000.L').toString('hex'));
  });

  it('lays out Rgetattr (160 bytes) and Rstatfs (67 bytes) as fixed fields', () => {
    // size[4] type[1] tag[2] valid[8] qid[13] mode[4] uid[4] gid[4] + 15 u64 fields
    expect(encode(sample('Rgetattr', rng(2))).length).toBe(7 + 8 + 13 + 12 + 15 * 8);
    // size[4] type[1] tag[2] type[4] bsize[4] blocks bfree bavail files ffree fsid[8 each] namelen[4]
    expect(encode(sample('Rstatfs', rng(2))).length).toBe(7 + 4 + 4 + 6 * 8 + 4);
  });

  it('wraps negative u32 and u64 values as the wire does', () => {
    const m = decode(encode({ type: 'Tsetattr', tag: 1, fid: 1, valid: 6, mode: 0, uid: -1, gid: -1, size: -1n,
      atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n }));
    expect(m).toMatchObject({ uid: 0xffffffff, gid: 0xffffffff, size: 2n ** 64n - 1n });
  });
});

describe('9P decoder rejects malformed input', () => {
  it('unknown type, bad size field, absurd counts', () => {
    const bad = (hex: string): unknown => decode(Uint8Array.from(Buffer.from(hex, 'hex')));
    expect(bad('')).toBeInstanceOf(DecodeError);
    expect(bad('0700000000ffff')).toMatchObject({ tag: 0xffff }); // type 0 is no message
    expect((bad('0700000000ffff') as DecodeError).message).toMatch(/unknown message type/);
    expect(bad('0800000078010000')).toBeInstanceOf(DecodeError); // size 8, 8 bytes, but Tclunk needs fid[4]
    expect(bad('ffffffff7801000000000000')).toBeInstanceOf(DecodeError); // size field lies
    // Rwalk claiming 65535 qids in 2 bytes of body.
    expect(bad('0b0000006f0100ffff0000')).toBeInstanceOf(DecodeError);
    // Rread claiming 4 GiB of data.
    expect(bad('0f000000750100ffffffff00000000')).toBeInstanceOf(DecodeError);
  });

  it('invalid UTF-8 in a string decodes lossily, not with a throw', () => {
    const e = new Encoder();
    e.u32(0); e.u8(P9.Rreadlink); e.u16(1); e.u16(2); e.raw(Uint8Array.of(0xff, 0xfe));
    e.patchU32(0, e.off);
    const m = decode(e.bytes());
    expect(m).toMatchObject({ type: 'Rreadlink', target: '\ufffd\ufffd' });
  });

  it('sticky error: reads after the first failure return zeros', () => {
    const d = new Decoder(Uint8Array.of(1, 2));
    expect(d.u32()).toBe(0);
    expect(d.err).toMatch(/truncated/);
    expect(d.u8()).toBe(0); // would have succeeded alone
    expect(d.str()).toBe('');
    expect(d.u64()).toBe(0n);
    expect(d.remaining).toBe(0);
  });

  it('fuzz: random bytes, corrupted and truncated messages never throw', () => {
    const r = rng(42);
    const valid = NAMES.map((n) => encode(sample(n, r)));
    let decoded = 0;
    for (let i = 0; i < 20000; i++) {
      let buf: Uint8Array;
      const mode = i % 4;
      if (mode === 0) {
        buf = Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      } else {
        buf = valid[Math.floor(r() * valid.length)]!.slice();
        const flips = 1 + Math.floor(r() * 4);
        for (let k = 0; k < flips; k++) buf[Math.floor(r() * buf.length)] = Math.floor(r() * 256);
        if (mode === 2) buf = buf.subarray(0, Math.floor(r() * buf.length));
        if (mode === 3) new DataView(buf.buffer, buf.byteOffset).setUint32(0, buf.length, true); // keep size honest
      }
      let out: unknown;
      expect(() => { out = decode(buf); }).not.toThrow();
      if (!(out instanceof DecodeError)) decoded++;
      expect(() => decodeDirents(buf)).not.toThrow();
    }
    expect(decoded).toBeGreaterThan(0); // honest-size corruptions often still decode
  });
});

describe('dirents', () => {
  it('round-trip and reject truncation', () => {
    const ents: DirEntry[] = [
      { qid: { type: QTDIR, version: 0, path: 12n }, offset: 1n, type: 4, name: 'dir' },
      { qid: { type: 0, version: 0, path: 2n ** 63n }, offset: 2n, type: 8, name: 'fïle' },
    ];
    const e = new Encoder(8);
    for (const ent of ents) encodeDirent(e, ent);
    const bytes = e.bytes().slice();
    expect(decodeDirents(bytes)).toEqual(ents);
    expect(decodeDirents(new Uint8Array(0))).toEqual([]);
    for (let n = 1; n < bytes.length; n++) {
      const ok = n === 24 + 3; // exactly the first entry
      const d = decodeDirents(bytes.subarray(0, n));
      if (ok) expect(d).toEqual([ents[0]]); else expect(d).toBeInstanceOf(DecodeError);
    }
  });
});

describe('FrameReader and writeAll over a socketpair', () => {
  it('reassembles frames split across writes and splits frames sharing a read', () => {
    const sv = new Int32Array(2);
    expect(socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0x80000 /* SOCK_CLOEXEC */, 0, sv)).toBe(0);
    try {
      const msgs: Msg[] = [
        { type: 'Tclunk', tag: 1, fid: 9 },
        { type: 'Rread', tag: 2, data: Uint8Array.from({ length: 100_000 }, (_, i) => i & 0xff) },
        { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' },
      ];
      const all = Buffer.concat(msgs.map((m) => encode(m)));
      const reader = new FrameReader(sv[1]!, 1 << 20);
      // Write the first 3 bytes, then read nothing yet; then the rest in odd pieces from a writer
      // that stays ahead of the reader (the socket buffer holds it all).
      expect(writeAll(sv[0]!, all.subarray(0, 3))).toBe(0);
      expect(writeAll(sv[0]!, all.subarray(3, 50))).toBe(0);
      expect(writeAll(sv[0]!, all.subarray(50))).toBe(0);
      for (const m of msgs) {
        const f = reader.next();
        expect(f).toBeInstanceOf(Uint8Array);
        expect(decode(f as Uint8Array)).toEqual(m);
      }
      // Oversized frame: -EMSGSIZE, not a huge allocation.
      const small = new FrameReader(sv[1]!, 4096);
      expect(writeAll(sv[0]!, encode(msgs[1]!))).toBe(0);
      expect(small.next()).toBe(-90);
      // Drain what small did not take, then EOF mid-frame and clean EOF.
      const junk = Buffer.alloc(200_000);
      try { fs.readSync(sv[1]!, junk, 0, junk.length, null); } catch { /* nothing left */ }
      expect(writeAll(sv[0]!, encode(msgs[0]!).subarray(0, 5))).toBe(0);
      close(sv[0]!);
      sv[0] = -1;
      const r2 = new FrameReader(sv[1]!, 4096);
      expect(r2.next()).toBe(-71); // EPROTO: EOF inside a message
    } finally {
      if (sv[0]! >= 0) close(sv[0]!);
      close(sv[1]!);
    }
  });
});
