// 9P2000.L messages as one table: each row is a message's name, its type
// number and its fields in wire order. Encoding, decoding, the TypeScript
// types of messages and the round-trip tests all come from this table.
//
// Sources for numbers and layouts: the Linux kernel's include/net/9p/9p.h
// (enum p9_msg_t) and net/9p/client.c, and diod's protocol.md.
//
// Every message on the wire is  size[4] type[1] tag[2] body...  where size
// counts the whole message, itself included.
import { Decoder, Encoder, QID_SIZE, type Qid } from './wire';

/** Field kinds. u64 fields are bigint; the rest are numbers or strings. */
type Kind =
  | 'u8' | 'u16' | 'u32' | 'u64'
  | 's'        // string: len[2] utf8[len]
  | 'qid'      // qid[13]
  | 'wnames'   // nwname[2] nwname*(wname[s])
  | 'wqids'    // nwqid[2] nwqid*(qid[13])
  | 'data';    // count[4] bytes[count]

interface KindType {
  u8: number; u16: number; u32: number; u64: bigint; s: string; qid: Qid;
  wnames: string[]; wqids: Qid[]; data: Uint8Array;
}

type Row = readonly [number, readonly (readonly [string, Kind])[]];

/** The message table. Names match the Linux kernel's P9_T* and P9_R* without the prefix. */
export const MESSAGES = {
  // ---- 9P2000.L ----
  Rlerror: [7, [['ecode', 'u32']]],
  Tstatfs: [8, [['fid', 'u32']]],
  Rstatfs: [9, [['fsType', 'u32'], ['bsize', 'u32'], ['blocks', 'u64'], ['bfree', 'u64'], ['bavail', 'u64'],
    ['files', 'u64'], ['ffree', 'u64'], ['fsid', 'u64'], ['namelen', 'u32']]],
  Tlopen: [12, [['fid', 'u32'], ['flags', 'u32']]],
  Rlopen: [13, [['qid', 'qid'], ['iounit', 'u32']]],
  Tlcreate: [14, [['fid', 'u32'], ['name', 's'], ['flags', 'u32'], ['mode', 'u32'], ['gid', 'u32']]],
  Rlcreate: [15, [['qid', 'qid'], ['iounit', 'u32']]],
  Tsymlink: [16, [['fid', 'u32'], ['name', 's'], ['symtgt', 's'], ['gid', 'u32']]],
  Rsymlink: [17, [['qid', 'qid']]],
  Tmknod: [18, [['dfid', 'u32'], ['name', 's'], ['mode', 'u32'], ['major', 'u32'], ['minor', 'u32'], ['gid', 'u32']]],
  Rmknod: [19, [['qid', 'qid']]],
  Trename: [20, [['fid', 'u32'], ['dfid', 'u32'], ['name', 's']]],
  Rrename: [21, []],
  Treadlink: [22, [['fid', 'u32']]],
  Rreadlink: [23, [['target', 's']]],
  Tgetattr: [24, [['fid', 'u32'], ['requestMask', 'u64']]],
  Rgetattr: [25, [['valid', 'u64'], ['qid', 'qid'], ['mode', 'u32'], ['uid', 'u32'], ['gid', 'u32'],
    ['nlink', 'u64'], ['rdev', 'u64'], ['size', 'u64'], ['blksize', 'u64'], ['blocks', 'u64'],
    ['atimeSec', 'u64'], ['atimeNsec', 'u64'], ['mtimeSec', 'u64'], ['mtimeNsec', 'u64'],
    ['ctimeSec', 'u64'], ['ctimeNsec', 'u64'], ['btimeSec', 'u64'], ['btimeNsec', 'u64'],
    ['gen', 'u64'], ['dataVersion', 'u64']]],
  Tsetattr: [26, [['fid', 'u32'], ['valid', 'u32'], ['mode', 'u32'], ['uid', 'u32'], ['gid', 'u32'], ['size', 'u64'],
    ['atimeSec', 'u64'], ['atimeNsec', 'u64'], ['mtimeSec', 'u64'], ['mtimeNsec', 'u64']]],
  Rsetattr: [27, []],
  Txattrwalk: [30, [['fid', 'u32'], ['newfid', 'u32'], ['name', 's']]],
  Rxattrwalk: [31, [['size', 'u64']]],
  Txattrcreate: [32, [['fid', 'u32'], ['name', 's'], ['attrSize', 'u64'], ['flags', 'u32']]],
  Rxattrcreate: [33, []],
  Treaddir: [40, [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']]],
  /** data holds packed dirents: see encodeDirent / decodeDirents. */
  Rreaddir: [41, [['data', 'data']]],
  Tfsync: [50, [['fid', 'u32'], ['datasync', 'u32']]],
  Rfsync: [51, []],
  Tlock: [52, [['fid', 'u32'], ['lockType', 'u8'], ['flags', 'u32'], ['start', 'u64'], ['length', 'u64'],
    ['procId', 'u32'], ['clientId', 's']]],
  Rlock: [53, [['status', 'u8']]],
  Tgetlock: [54, [['fid', 'u32'], ['lockType', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 's']]],
  Rgetlock: [55, [['lockType', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 's']]],
  Tlink: [70, [['dfid', 'u32'], ['fid', 'u32'], ['name', 's']]],
  Rlink: [71, []],
  Tmkdir: [72, [['dfid', 'u32'], ['name', 's'], ['mode', 'u32'], ['gid', 'u32']]],
  Rmkdir: [73, [['qid', 'qid']]],
  Trenameat: [74, [['olddirfid', 'u32'], ['oldname', 's'], ['newdirfid', 'u32'], ['newname', 's']]],
  Rrenameat: [75, []],
  Tunlinkat: [76, [['dirfid', 'u32'], ['name', 's'], ['flags', 'u32']]],
  Runlinkat: [77, []],
  // ---- 9P2000 messages that 9P2000.L keeps ----
  Tversion: [100, [['msize', 'u32'], ['version', 's']]],
  Rversion: [101, [['msize', 'u32'], ['version', 's']]],
  Tauth: [102, [['afid', 'u32'], ['uname', 's'], ['aname', 's'], ['nUname', 'u32']]],
  Rauth: [103, [['aqid', 'qid']]],
  Tattach: [104, [['fid', 'u32'], ['afid', 'u32'], ['uname', 's'], ['aname', 's'], ['nUname', 'u32']]],
  Rattach: [105, [['qid', 'qid']]],
  Tflush: [108, [['oldtag', 'u16']]],
  Rflush: [109, []],
  Twalk: [110, [['fid', 'u32'], ['newfid', 'u32'], ['wnames', 'wnames']]],
  Rwalk: [111, [['wqids', 'wqids']]],
  Tread: [116, [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']]],
  Rread: [117, [['data', 'data']]],
  Twrite: [118, [['fid', 'u32'], ['offset', 'u64'], ['data', 'data']]],
  Rwrite: [119, [['count', 'u32']]],
  Tclunk: [120, [['fid', 'u32']]],
  Rclunk: [121, []],
  Tremove: [122, [['fid', 'u32']]],
  Rremove: [123, []],
} as const satisfies Record<string, Row>;

export type MsgName = keyof typeof MESSAGES;
type Fields<N extends MsgName> = (typeof MESSAGES)[N][1];
type Body<N extends MsgName> = { [F in Fields<N>[number] as F[0]]: KindType[F[1]] };

/** One decoded (or to-be-encoded) message; narrow on `type`. */
export type Msg<N extends MsgName = MsgName> = N extends MsgName ? { type: N; tag: number } & Body<N> : never;

/** Message type numbers by name, e.g. P9.Tversion === 100. */
export const P9 = Object.fromEntries(Object.entries(MESSAGES).map(([k, v]) => [k, v[0]])) as
  { [N in MsgName]: (typeof MESSAGES)[N][0] };

const BY_NUMBER = new Map<number, MsgName>(Object.entries(MESSAGES).map(([k, v]) => [v[0], k as MsgName]));

/** The name of a message type number, or undefined. */
export const msgName = (type: number): MsgName | undefined => BY_NUMBER.get(type);

// ---- constants ----
export const VERSION_9P2000L = '9P2000.L';
export const NOTAG = 0xffff;
export const NOFID = 0xffffffff;
/** n_uname meaning "no numeric uid". */
export const NONUNAME = 0xffffffff;
/** Most names in one Twalk. */
export const MAXWELEM = 16;
/** size[4] type[1] tag[2]. */
export const HEADER_SIZE = 7;
/** Bytes of an Rread (and Rreaddir) before its data: header + count[4]. */
export const RREAD_HEADER = HEADER_SIZE + 4;
/** Bytes of a Twrite before its data: header + fid[4] offset[8] count[4]. */
export const TWRITE_HEADER = HEADER_SIZE + 16;

// qid.type bits
export const QTDIR = 0x80;
export const QTAPPEND = 0x40;
export const QTEXCL = 0x20;
export const QTMOUNT = 0x10;
export const QTAUTH = 0x08;
export const QTTMP = 0x04;
export const QTSYMLINK = 0x02;
export const QTLINK = 0x01;
export const QTFILE = 0x00;

// Tgetattr request_mask / Rgetattr valid bits
export const GETATTR_MODE = 0x1;
export const GETATTR_NLINK = 0x2;
export const GETATTR_UID = 0x4;
export const GETATTR_GID = 0x8;
export const GETATTR_RDEV = 0x10;
export const GETATTR_ATIME = 0x20;
export const GETATTR_MTIME = 0x40;
export const GETATTR_CTIME = 0x80;
export const GETATTR_INO = 0x100;
export const GETATTR_SIZE = 0x200;
export const GETATTR_BLOCKS = 0x400;
export const GETATTR_BTIME = 0x800;
export const GETATTR_GEN = 0x1000;
export const GETATTR_DATA_VERSION = 0x2000;
export const GETATTR_BASIC = 0x7ff;
export const GETATTR_ALL = 0x3fff;

// Tsetattr valid bits
export const SETATTR_MODE = 0x1;
export const SETATTR_UID = 0x2;
export const SETATTR_GID = 0x4;
export const SETATTR_SIZE = 0x8;
export const SETATTR_ATIME = 0x10;
export const SETATTR_MTIME = 0x20;
export const SETATTR_CTIME = 0x40;
export const SETATTR_ATIME_SET = 0x80;
export const SETATTR_MTIME_SET = 0x100;

// Tlopen/Tlcreate flags are Linux x86-64 open(2) flags (diod's P9_DOTL_* have
// the same values), Tunlinkat flags are AT_REMOVEDIR and Rreaddir types are
// DT_*: use the constants in src/abi/linux.ts.

// ---- encoding (trusted data) ----

function putField(e: Encoder, kind: Kind, v: unknown): void {
  switch (kind) {
    case 'u8': e.u8(v as number); break;
    case 'u16': e.u16(v as number); break;
    case 'u32': e.u32(v as number); break;
    case 'u64': e.u64(v as bigint); break;
    case 's': e.str(v as string); break;
    case 'qid': e.qid(v as Qid); break;
    case 'wnames': { const a = v as string[]; e.u16(a.length); for (const s of a) e.str(s); break; }
    case 'wqids': { const a = v as Qid[]; e.u16(a.length); for (const q of a) e.qid(q); break; }
    case 'data': { const d = v as Uint8Array; e.u32(d.length); e.raw(d); break; }
  }
}

/**
 * Encodes `m` into `e` (after reset) and returns a view of the whole message,
 * valid until e's next use. Throws only on a bug (unknown type, string too long).
 */
export function encodeInto(e: Encoder, m: Msg): Uint8Array {
  const row = MESSAGES[m.type] as Row;
  e.reset();
  e.u32(0);
  e.u8(row[0]);
  e.u16(m.tag);
  const rec = m as unknown as Record<string, unknown>;
  for (const [name, kind] of row[1]) putField(e, kind, rec[name]);
  e.patchU32(0, e.off);
  return e.bytes();
}

/** Encodes `m` into a fresh buffer. */
export function encode(m: Msg): Uint8Array {
  return encodeInto(new Encoder(256), m).slice();
}

// ---- decoding (untrusted bytes) ----

/** What a failed decode returns (never thrown). */
export class DecodeError {
  /**
   * @param tag the message's tag when the header was readable, so a server can answer it
   * @param unknownType the header was fine but names no message we know
   */
  constructor(readonly message: string, readonly tag: number | null = null, readonly unknownType = false) {}
}

function getField(d: Decoder, kind: Kind): unknown {
  switch (kind) {
    case 'u8': return d.u8();
    case 'u16': return d.u16();
    case 'u32': return d.u32();
    case 'u64': return d.u64();
    case 's': return d.str();
    case 'qid': return d.qid();
    case 'wnames': {
      const n = d.u16();
      if (!d.fits(n, 2)) return [];
      const a: string[] = [];
      for (let i = 0; i < n; i++) a.push(d.str());
      return a;
    }
    case 'wqids': {
      const n = d.u16();
      if (!d.fits(n, QID_SIZE)) return [];
      const a: Qid[] = [];
      for (let i = 0; i < n; i++) a.push(d.qid());
      return a;
    }
    case 'data': return d.raw(d.u32());
  }
}

/**
 * Decodes one whole message (size field included). Returns a DecodeError,
 * never throws, whatever the bytes. `data` fields are views into `frame`,
 * valid as long as the caller keeps `frame` unchanged.
 */
export function decode(frame: Uint8Array): Msg | DecodeError {
  try {
    const d = new Decoder(frame);
    const size = d.u32();
    const type = d.u8();
    const tag = d.u16();
    if (d.err !== null) return new DecodeError(`short header: ${d.err}`);
    if (size !== frame.length) return new DecodeError(`size field ${size} but frame has ${frame.length} bytes`, tag);
    const name = BY_NUMBER.get(type);
    if (name === undefined) return new DecodeError(`unknown message type ${type}`, tag, true);
    const out: Record<string, unknown> = { type: name, tag };
    const fields = (MESSAGES[name] as Row)[1];
    for (let i = 0; i < fields.length; i++) out[fields[i]![0]] = getField(d, fields[i]![1]);
    if (d.err !== null) return new DecodeError(`${name}: ${d.err}`, tag);
    if (d.off !== frame.length) return new DecodeError(`${name}: ${frame.length - d.off} trailing bytes`, tag);
    return out as unknown as Msg;
  } catch (e) {
    // Unreachable by design; kept so that no input can throw out of decode.
    return new DecodeError(`decoder bug: ${String(e)}`);
  }
}

// ---- directory entries (the payload of Rreaddir) ----

/** One Rreaddir entry: qid[13] offset[8] type[1] name[s]. */
export interface DirEntry {
  qid: Qid;
  /** Cookie to pass as the next Treaddir offset to continue after this entry. */
  offset: bigint;
  /** DT_* value. */
  type: number;
  name: string;
}

/** Encoded size of a dirent with a name of `nameBytes` UTF-8 bytes. */
export const direntSize = (nameBytes: number): number => QID_SIZE + 8 + 1 + 2 + nameBytes;

export function encodeDirent(e: Encoder, ent: DirEntry): void {
  e.qid(ent.qid);
  e.u64(ent.offset);
  e.u8(ent.type);
  e.str(ent.name);
}

/** Decodes Rreaddir data; DecodeError on any malformed entry. Never throws. */
export function decodeDirents(data: Uint8Array): DirEntry[] | DecodeError {
  try {
    const d = new Decoder(data);
    const out: DirEntry[] = [];
    while (d.err === null && d.off < d.end) {
      const qid = d.qid();
      const offset = d.u64();
      const type = d.u8();
      const name = d.str();
      if (d.err === null) out.push({ qid, offset, type, name });
    }
    if (d.err !== null) return new DecodeError(`dirent: ${d.err}`);
    return out;
  } catch (e) {
    return new DecodeError(`decoder bug: ${String(e)}`);
  }
}
