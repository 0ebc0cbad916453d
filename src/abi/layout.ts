// Struct layouts the Sentry exchanges with the workload (Linux x86-64 LP64,
// little endian). Each struct is declared ONCE here, with its members (in C
// order through members(), or with explicit offsets where alignment does not
// place them), its size and the header it comes from; test/abi.test.ts compiles a C probe
// against the real glibc/kernel headers and checks every offset, width,
// signedness and size.
//
// Conventions:
// - Field names are the C member names. A member of a nested struct or an
//   array element is flattened as `outer_inner` / `name0`, `name1`
//   (e.g. timespec members of stat are the kernel's own st_atime/st_atime_nsec;
//   itimerval's it_value.tv_sec is `it_value_sec`).
// - Pointers, size_t and unsigned long are 'u64'; long and time_t are 'i64'.
// - Byte arrays (char[], u8[]) are listed separately as `arrays`
//   ([offset, byte length]); read and write them with plain Uint8Array ops.
// - Named padding is not listed; encode() zero-fills it.
// - Union members overlap: pass only the members of the arm you mean.

export type FieldType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64';

export const FIELD_SIZE: Readonly<Record<FieldType, number>> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8,
};

const TWO32 = 4294967296;

type Getter = (dv: DataView, at: number) => number;
type BigGetter = (dv: DataView, at: number) => bigint;
type Setter = (dv: DataView, at: number, v: number | bigint) => void;

function makeGetter(off: number, t: FieldType): Getter {
  switch (t) {
    case 'u8': return (dv, at) => dv.getUint8(at + off);
    case 'i8': return (dv, at) => dv.getInt8(at + off);
    case 'u16': return (dv, at) => dv.getUint16(at + off, true);
    case 'i16': return (dv, at) => dv.getInt16(at + off, true);
    case 'u32': return (dv, at) => dv.getUint32(at + off, true);
    case 'i32': return (dv, at) => dv.getInt32(at + off, true);
    // Exact up to 2^53; above that the nearest double.
    case 'u64': return (dv, at) => dv.getUint32(at + off, true) + dv.getUint32(at + off + 4, true) * TWO32;
    case 'i64': return (dv, at) => dv.getUint32(at + off, true) + dv.getInt32(at + off + 4, true) * TWO32;
  }
}

function makeBigGetter(off: number, t: FieldType): BigGetter {
  switch (t) {
    case 'u64': return (dv, at) => dv.getBigUint64(at + off, true);
    case 'i64': return (dv, at) => dv.getBigInt64(at + off, true);
    default: {
      const g = makeGetter(off, t);
      return (dv, at) => BigInt(g(dv, at));
    }
  }
}

function makeSetter(off: number, t: FieldType): Setter {
  // Smaller fields wrap modulo 2^n (DataView's ToUint conversion), so -1 is
  // accepted for unsigned fields and 0xffffffff for signed ones.
  switch (t) {
    case 'u8': case 'i8':
      return (dv, at, v) => dv.setUint8(at + off, Number(typeof v === 'bigint' ? BigInt.asUintN(8, v) : v));
    case 'u16': case 'i16':
      return (dv, at, v) => dv.setUint16(at + off, Number(typeof v === 'bigint' ? BigInt.asUintN(16, v) : v), true);
    case 'u32': case 'i32':
      return (dv, at, v) => dv.setUint32(at + off, Number(typeof v === 'bigint' ? BigInt.asUintN(32, v) : v), true);
    case 'u64': case 'i64':
      return (dv, at, v) => {
        if (typeof v === 'bigint') {
          dv.setBigUint64(at + off, BigInt.asUintN(64, v), true);
        } else {
          // Two's complement split that also works for negative numbers.
          const hi = Math.floor(v / TWO32);
          dv.setUint32(at + off, v - hi * TWO32, true);
          dv.setUint32(at + off + 4, hi >>> 0, true);
        }
      };
  }
}

function viewOf(buf: Uint8Array | DataView): DataView {
  return buf instanceof DataView ? buf : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * A fixed-size C struct. `fields` are scalar members; `arrays` are byte-array
 * members ([offset, length]), described for offsets and tests only.
 */
export class Struct<F extends string, A extends string = never> {
  private readonly names: readonly F[];
  private readonly getters: readonly Getter[];
  private readonly bigGetters: readonly BigGetter[];
  private readonly setters: Readonly<Record<string, Setter>>;

  constructor(
    readonly name: string,
    readonly size: number,
    readonly fields: Readonly<Record<F, readonly [offset: number, type: FieldType]>>,
    readonly arrays: Readonly<Record<A, readonly [offset: number, length: number]>> = {} as Record<A, readonly [number, number]>,
  ) {
    const names = Object.keys(fields) as F[];
    const setters: Record<string, Setter> = Object.create(null);
    for (const n of names) {
      const [off, t] = fields[n];
      if (off < 0 || off + FIELD_SIZE[t] > size) throw new Error(`${name}.${n}: [${off}, ${t}] outside size ${size}`);
      setters[n] = makeSetter(off, t);
    }
    for (const n of Object.keys(arrays) as A[]) {
      const [off, len] = arrays[n];
      if (off < 0 || off + len > size) throw new Error(`${name}.${n}: array [${off}, ${len}] outside size ${size}`);
    }
    this.names = names;
    this.getters = names.map((n) => makeGetter(fields[n][0], fields[n][1]));
    this.bigGetters = names.map((n) => makeBigGetter(fields[n][0], fields[n][1]));
    this.setters = setters;
  }

  /** Offset of a field or array member. */
  offset(f: F | A): number {
    return (this.fields as Record<string, readonly [number, unknown]>)[f]?.[0]
      ?? (this.arrays as Record<string, readonly [number, number]>)[f]![0];
  }

  /** A fresh `size`-byte buffer with the given fields set and everything else zero. */
  encode(values: Partial<Record<F, number | bigint>>): Uint8Array {
    const b = new Uint8Array(this.size);
    this.encodeInto(b, 0, values);
    return b;
  }

  /** Writes only the given fields at `at`; other bytes are left as they are. */
  encodeInto(buf: Uint8Array | DataView, at: number, values: Partial<Record<F, number | bigint>>): void {
    const dv = viewOf(buf);
    if (at < 0 || at + this.size > dv.byteLength) {
      throw new RangeError(`${this.name}: ${this.size} bytes at ${at} overflow a ${dv.byteLength}-byte buffer`);
    }
    const setters = this.setters;
    for (const k in values) {
      const v = values[k];
      if (v === undefined) continue;
      const s = setters[k];
      if (s === undefined) throw new Error(`${this.name} has no field ${k}`);
      s(dv, at, v);
    }
  }

  /** All fields as numbers (64-bit values exact up to 2^53; i64 signed). */
  decode(bytes: Uint8Array | DataView, at = 0): Record<F, number> {
    return this.decodeWith(this.getters, bytes, at);
  }

  /** All fields as bigints (u64 unsigned, i64 signed). */
  decodeBig(bytes: Uint8Array | DataView, at = 0): Record<F, bigint> {
    return this.decodeWith(this.bigGetters, bytes, at);
  }

  private decodeWith<V>(getters: readonly ((dv: DataView, at: number) => V)[], bytes: Uint8Array | DataView, at: number): Record<F, V> {
    const dv = viewOf(bytes);
    if (at < 0 || at + this.size > dv.byteLength) {
      throw new RangeError(`${this.name}: need ${this.size} bytes at ${at}, have ${dv.byteLength}`);
    }
    const out = {} as Record<F, V>;
    const names = this.names;
    for (let i = 0; i < names.length; i++) out[names[i]!] = getters[i]!(dv, at);
    return out;
  }

  /** One field, without decoding the rest. */
  get(bytes: Uint8Array | DataView, f: F, at = 0): number {
    const [off, t] = this.fields[f];
    return makeGetter(off, t)(viewOf(bytes), at);
  }
}

/**
 * A struct's scalar members as C declares them, in order, runs of one type
 * grouped as [type, ...names]; each is placed at its natural alignment as the
 * compiler places it (padding between them is implied), and a number skips
 * that many bytes of reserved members. Not for packed structs, unions or
 * members after a byte array or a nested struct: those list their offsets.
 */
export function members<const N extends string>(
  ...groups: readonly (number | readonly [FieldType, ...N[]])[]
): Record<N, readonly [offset: number, type: FieldType]> {
  const out = {} as Record<N, readonly [number, FieldType]>;
  let off = 0;
  for (const g of groups) {
    if (typeof g === 'number') {
      off += g;
      continue;
    }
    const [type, ...names] = g;
    const size = FIELD_SIZE[type];
    for (const n of names) {
      off = Math.ceil(off / size) * size;
      out[n] = [off, type];
      off += size;
    }
  }
  return out;
}

/** Any struct, for tables of them. */
export type AnyStruct = Struct<string, string>;

// ===========================================================================
// Time: <linux/time_types.h> (__kernel_timespec etc.), <linux/time.h>
// ===========================================================================

/** struct timespec (16 bytes). */
export const Timespec = new Struct('timespec', 16, members(['i64', 'tv_sec', 'tv_nsec']));

/** struct timeval (16 bytes). */
export const Timeval = new Struct('timeval', 16, members(['i64', 'tv_sec', 'tv_usec']));

/** struct timezone (gettimeofday's second argument). */
export const Timezone = new Struct('timezone', 8, members(['i32', 'tz_minuteswest', 'tz_dsttime']));

/** struct itimerval: { it_interval, it_value } of timeval. */
export const Itimerval = new Struct('itimerval', 32, members(['i64', 'it_interval_sec', 'it_interval_usec', 'it_value_sec', 'it_value_usec']));

/** struct itimerspec: { it_interval, it_value } of timespec. */
export const Itimerspec = new Struct('itimerspec', 32, members(['i64', 'it_interval_sec', 'it_interval_nsec', 'it_value_sec', 'it_value_nsec']));

/** struct tms: <linux/times.h> (clock_t is long). */
export const Tms = new Struct('tms', 32, members(['i64', 'tms_utime', 'tms_stime', 'tms_cutime', 'tms_cstime']));

// ===========================================================================
// Files: <asm/stat.h>, <linux/stat.h>, <asm-generic/statfs.h>, <linux/fcntl.h>
// ===========================================================================

/** Kernel struct stat, x86-64 (<asm/stat.h>): what stat/fstat/lstat/newfstatat fill, 144 bytes. */
export const Stat = new Struct('stat', 144, members(
  ['u64', 'st_dev', 'st_ino', 'st_nlink'],
  ['u32', 'st_mode', 'st_uid', 'st_gid'],
  ['u64', 'st_rdev'],
  ['i64', 'st_size', 'st_blksize', 'st_blocks'],
  ['u64', 'st_atime', 'st_atime_nsec', 'st_mtime', 'st_mtime_nsec', 'st_ctime', 'st_ctime_nsec'],
  // __unused[3]: 24 bytes at 120
));

/** struct statx (<linux/stat.h>), 256 bytes; timestamps are struct statx_timestamp {i64 tv_sec; u32 tv_nsec; i32 __reserved}. */
export const Statx = new Struct('statx', 256, members(
  ['u32', 'stx_mask', 'stx_blksize'],
  ['u64', 'stx_attributes'],
  ['u32', 'stx_nlink', 'stx_uid', 'stx_gid'],
  ['u16', 'stx_mode'],
  ['u64', 'stx_ino', 'stx_size', 'stx_blocks', 'stx_attributes_mask'],
  ['i64', 'stx_atime_sec'], ['u32', 'stx_atime_nsec'], 4,
  ['i64', 'stx_btime_sec'], ['u32', 'stx_btime_nsec'], 4,
  ['i64', 'stx_ctime_sec'], ['u32', 'stx_ctime_nsec'], 4,
  ['i64', 'stx_mtime_sec'], ['u32', 'stx_mtime_nsec'], 4,
  ['u32', 'stx_rdev_major', 'stx_rdev_minor', 'stx_dev_major', 'stx_dev_minor'],
  ['u64', 'stx_mnt_id'],
  ['u32', 'stx_dio_mem_align', 'stx_dio_offset_align'],
  // __spare3[12]: 96 bytes at 160
));

/** Kernel struct statfs, x86-64 (<asm-generic/statfs.h>, __statfs_word = long), 120 bytes. */
export const Statfs = new Struct('statfs', 120, members(
  ['i64', 'f_type', 'f_bsize'],
  ['u64', 'f_blocks', 'f_bfree', 'f_bavail', 'f_files', 'f_ffree'],
  ['i32', 'f_fsid0', 'f_fsid1'],
  ['i64', 'f_namelen', 'f_frsize', 'f_flags'],
  // f_spare[4]: 32 bytes at 88
));

/** struct iovec (<linux/uio.h>). */
export const Iovec = new Struct('iovec', 16, members(['u64', 'iov_base', 'iov_len']));

/** Header of struct linux_dirent64 (<linux/dirent.h>, kernel-internal; same layout as glibc's dirent64). The NUL-terminated name starts at offset 19 (= size); records are 8-byte aligned, see dirent64RecLen. */
export const Dirent64 = new Struct('linux_dirent64', 19, members(['u64', 'd_ino'], ['i64', 'd_off'], ['u16', 'd_reclen'], ['u8', 'd_type']));
export const DIRENT64_NAME_OFFSET = 19;
/** d_reclen for a name of `nameBytes` UTF-8 bytes (header + name + NUL, rounded up to 8). */
export function dirent64RecLen(nameBytes: number): number {
  return (DIRENT64_NAME_OFFSET + nameBytes + 1 + 7) & ~7;
}

/** struct flock (<asm-generic/fcntl.h>), for F_GETLK/F_SETLK/F_OFD_*. */
export const Flock = new Struct('flock', 32, members(['i16', 'l_type', 'l_whence'], ['i64', 'l_start', 'l_len'], ['i32', 'l_pid']));

/** struct f_owner_ex (<linux/fcntl.h>), for F_GETOWN_EX/F_SETOWN_EX. */
export const FOwnerEx = new Struct('f_owner_ex', 8, members(['i32', 'type', 'pid']));

/** struct open_how (<linux/openat2.h>), openat2's argument (OPEN_HOW_SIZE_VER0 = 24). */
export const OpenHow = new Struct('open_how', 24, members(['u64', 'flags', 'mode', 'resolve']));
export const OPEN_HOW_SIZE_VER0 = 24;

/** struct inotify_event header (<linux/inotify.h>); `len` name bytes follow at 16. */
export const InotifyEvent = new Struct('inotify_event', 16, members(['i32', 'wd'], ['u32', 'mask', 'cookie', 'len']));

// ===========================================================================
// Polling: <asm-generic/poll.h>, <linux/eventpoll.h>
// ===========================================================================

/** struct pollfd. */
export const Pollfd = new Struct('pollfd', 8, members(['i32', 'fd'], ['i16', 'events', 'revents']));

/** struct epoll_event: packed on x86-64 (__EPOLL_PACKED), 12 bytes. */
export const EpollEvent = new Struct('epoll_event', 12, {
  events: [0, 'u32'],
  data: [4, 'u64'],
});

// ===========================================================================
// Terminals: <asm-generic/termbits.h>, <asm-generic/termios.h>
// ===========================================================================

/** Kernel struct termios (TCGETS/TCSETS*), 36 bytes: NCCS = 19 control chars at 17. Not glibc's 60-byte struct. */
export const Termios = new Struct('termios', 36, {
  c_iflag: [0, 'u32'],
  c_oflag: [4, 'u32'],
  c_cflag: [8, 'u32'],
  c_lflag: [12, 'u32'],
  c_line: [16, 'u8'],
}, {
  c_cc: [17, 19],
});

/** struct winsize (TIOCGWINSZ/TIOCSWINSZ). */
export const Winsize = new Struct('winsize', 8, members(['u16', 'ws_row', 'ws_col', 'ws_xpixel', 'ws_ypixel']));

// ===========================================================================
// System information: <linux/utsname.h>, <linux/resource.h>, <linux/sysinfo.h>
// ===========================================================================

/** struct new_utsname (uname(2)): six NUL-terminated char[65] arrays, 390 bytes. */
export const Utsname = new Struct('utsname', 390, {}, {
  sysname: [0, 65],
  nodename: [65, 65],
  release: [130, 65],
  version: [195, 65],
  machine: [260, 65],
  domainname: [325, 65],
});
export const UTSNAME_LENGTH = 65;
export interface UtsnameValues {
  sysname: string; nodename: string; release: string; version: string; machine: string; domainname: string;
}
/** Encodes uname(2)'s buffer; each string is cut to 64 UTF-8 bytes and NUL-terminated. */
export function encodeUtsname(u: UtsnameValues): Uint8Array {
  const b = new Uint8Array(Utsname.size);
  const enc = new TextEncoder();
  for (const k of Object.keys(Utsname.arrays) as (keyof UtsnameValues)[]) {
    const [off, len] = Utsname.arrays[k];
    const s = enc.encode(u[k]);
    b.set(s.subarray(0, len - 1), off);
  }
  return b;
}

/** struct rlimit (getrlimit/setrlimit/prlimit64); RLIM_INFINITY is 2^64-1, use decodeBig. */
export const Rlimit = new Struct('rlimit', 16, members(['u64', 'rlim_cur', 'rlim_max']));

/** struct rusage (<linux/resource.h>), 144 bytes. */
export const Rusage = new Struct('rusage', 144, members(['i64',
  'ru_utime_sec', 'ru_utime_usec', 'ru_stime_sec', 'ru_stime_usec', 'ru_maxrss', 'ru_ixrss', 'ru_idrss', 'ru_isrss',
  'ru_minflt', 'ru_majflt', 'ru_nswap', 'ru_inblock', 'ru_oublock', 'ru_msgsnd', 'ru_msgrcv', 'ru_nsignals',
  'ru_nvcsw', 'ru_nivcsw',
]));

/** struct sysinfo (<linux/sysinfo.h>), 112 bytes. loads are fixed-point << SI_LOAD_SHIFT (16). */
export const Sysinfo = new Struct('sysinfo', 112, members(
  ['i64', 'uptime'],
  ['u64', 'loads0', 'loads1', 'loads2', 'totalram', 'freeram', 'sharedram', 'bufferram', 'totalswap', 'freeswap'],
  ['u16', 'procs'],
  // pad: u16 at 82, then 4 bytes alignment
  ['u64', 'totalhigh', 'freehigh'],
  ['u32', 'mem_unit'],
));
export const SI_LOAD_SHIFT = 16;

// ===========================================================================
// Signals: <asm/signal.h>, <asm-generic/siginfo.h>, <asm/sigcontext.h>, <asm/ucontext.h>
// ===========================================================================

/** Kernel struct sigaction as rt_sigaction(2) sees it (<asm/signal.h>, x86-64), 32 bytes. Not glibc's struct. */
export const KSigaction = new Struct('sigaction', 32, members(['u64', 'sa_handler', 'sa_flags', 'sa_restorer', 'sa_mask']));

/** stack_t (sigaltstack(2)), 24 bytes. */
export const StackT = new Struct('stack_t', 24, members(['u64', 'ss_sp'], ['i32', 'ss_flags'], ['u64', 'ss_size']));

/**
 * siginfo_t, 128 bytes. Common header (signo, errno, code) then a union at 16;
 * fields of different arms overlap, so encode only the arm for the si_code:
 * - kill / rt / sigchld: si_pid, si_uid (+ si_value | si_int for rt; si_status, si_utime, si_stime for SIGCHLD)
 * - timer: si_timerid (kernel si_tid), si_overrun, si_value
 * - sigfault (SEGV/BUS/ILL/FPE/TRAP): si_addr, si_addr_lsb, si_lower/si_upper | si_pkey
 * - sigpoll: si_band, si_fd
 * - sigsys: si_call_addr, si_syscall, si_arch
 */
export const Siginfo = new Struct('siginfo', 128, {
  si_signo: [0, 'i32'],
  si_errno: [4, 'i32'],
  si_code: [8, 'i32'],
  // kill, rt, sigchld
  si_pid: [16, 'i32'],
  si_uid: [20, 'u32'],
  // rt, timer: union sigval
  si_value: [24, 'u64'],
  si_int: [24, 'i32'],
  // timer
  si_timerid: [16, 'i32'],
  si_overrun: [20, 'i32'],
  // sigchld
  si_status: [24, 'i32'],
  si_utime: [32, 'i64'],
  si_stime: [40, 'i64'],
  // sigfault
  si_addr: [16, 'u64'],
  si_addr_lsb: [24, 'i16'],
  si_lower: [32, 'u64'],
  si_upper: [40, 'u64'],
  si_pkey: [32, 'u32'],
  // sigpoll
  si_band: [16, 'i64'],
  si_fd: [24, 'i32'],
  // sigsys
  si_call_addr: [16, 'u64'],
  si_syscall: [24, 'i32'],
  si_arch: [28, 'u32'],
});

/** struct signalfd_siginfo (<linux/signalfd.h>), what read(2) on a signalfd returns, 128 bytes. */
export const SignalfdSiginfo = new Struct('signalfd_siginfo', 128, members(
  ['u32', 'ssi_signo'], ['i32', 'ssi_errno', 'ssi_code'],
  ['u32', 'ssi_pid', 'ssi_uid'], ['i32', 'ssi_fd'],
  ['u32', 'ssi_tid', 'ssi_band', 'ssi_overrun', 'ssi_trapno'],
  ['i32', 'ssi_status', 'ssi_int'],
  ['u64', 'ssi_ptr', 'ssi_utime', 'ssi_stime', 'ssi_addr'],
  ['u16', 'ssi_addr_lsb'],
  // __pad2: u16 at 82
  ['i32', 'ssi_syscall'],
  ['u64', 'ssi_call_addr'],
  ['u32', 'ssi_arch'],
));

/**
 * Indices of the general registers in mcontext_t.gregs (<sys/ucontext.h> REG_*),
 * which is also the order of the kernel's struct sigcontext members up to cr2.
 */
export const GREG = {
  R8: 0, R9: 1, R10: 2, R11: 3, R12: 4, R13: 5, R14: 6, R15: 7,
  RDI: 8, RSI: 9, RBP: 10, RBX: 11, RDX: 12, RAX: 13, RCX: 14, RSP: 15,
  RIP: 16, EFL: 17, CSGSFS: 18, ERR: 19, TRAPNO: 20, OLDMASK: 21, CR2: 22,
} as const;
export const NGREG = 23;

/** Offset of uc_mcontext (struct sigcontext, 256 bytes) in struct ucontext. */
export const UC_MCONTEXT_OFFSET = 40;
/** sizeof(struct sigcontext) on x86-64. */
export const SIGCONTEXT_SIZE = 256;
/** uc_flags bits (<asm/ucontext.h>). */
export const UC_FP_XSTATE = 0x1;
export const UC_SIGCONTEXT_SS = 0x2;
export const UC_STRICT_RESTORE_SS = 0x4;

const mc = (r: number): readonly [number, FieldType] => [UC_MCONTEXT_OFFSET + r * 8, 'u64'];

/**
 * Kernel struct ucontext, x86-64 (<asm-generic/ucontext.h>), 304 bytes: the
 * `uc` of a signal frame. uc_stack is a stack_t at 16; uc_mcontext is the
 * kernel's struct sigcontext at 40 (gregs in GREG order, then the fpstate
 * pointer at 40 + 23*8 and 8 reserved words); uc_sigmask (8 bytes) at 296.
 * glibc's ucontext_t has the same offsets up to uc_sigmask but a larger mask
 * and trailing fields; the kernel reads only these 304 bytes.
 */
export const Ucontext = new Struct('ucontext', 304, {
  uc_flags: [0, 'u64'],
  uc_link: [8, 'u64'],
  uc_stack_sp: [16, 'u64'],
  uc_stack_flags: [24, 'i32'],
  uc_stack_size: [32, 'u64'],
  r8: mc(GREG.R8),
  r9: mc(GREG.R9),
  r10: mc(GREG.R10),
  r11: mc(GREG.R11),
  r12: mc(GREG.R12),
  r13: mc(GREG.R13),
  r14: mc(GREG.R14),
  r15: mc(GREG.R15),
  rdi: mc(GREG.RDI),
  rsi: mc(GREG.RSI),
  rbp: mc(GREG.RBP),
  rbx: mc(GREG.RBX),
  rdx: mc(GREG.RDX),
  rax: mc(GREG.RAX),
  rcx: mc(GREG.RCX),
  rsp: mc(GREG.RSP),
  rip: mc(GREG.RIP),
  eflags: mc(GREG.EFL),
  /** cs | gs << 16 | fs << 32 | ss << 48 (also addressable as cs/gs/fs/ss below). */
  csgsfs: mc(GREG.CSGSFS),
  cs: [UC_MCONTEXT_OFFSET + GREG.CSGSFS * 8, 'u16'],
  gs: [UC_MCONTEXT_OFFSET + GREG.CSGSFS * 8 + 2, 'u16'],
  fs: [UC_MCONTEXT_OFFSET + GREG.CSGSFS * 8 + 4, 'u16'],
  ss: [UC_MCONTEXT_OFFSET + GREG.CSGSFS * 8 + 6, 'u16'],
  err: mc(GREG.ERR),
  trapno: mc(GREG.TRAPNO),
  oldmask: mc(GREG.OLDMASK),
  cr2: mc(GREG.CR2),
  /** User address of the FXSAVE/XSAVE area (struct _fpstate_64), or 0. */
  fpstate: [UC_MCONTEXT_OFFSET + NGREG * 8, 'u64'],
  uc_sigmask: [296, 'u64'],
});

/**
 * struct rt_sigframe, x86-64 (arch/x86/include/asm/sigframe.h, kernel-internal):
 * { char *pretcode; struct ucontext uc; struct siginfo info; } followed by the
 * fpstate. On entry to the handler rsp points at pretcode, which is
 * 16-byte-aligned minus 8 like after a call.
 */
export const RT_SIGFRAME_UC_OFFSET = 8;
export const RT_SIGFRAME_INFO_OFFSET = 8 + 304;
export const RT_SIGFRAME_SIZE = 8 + 304 + 128;

/**
 * struct _fpstate_64 (<asm/sigcontext.h>): the 512-byte FXSAVE image a signal
 * frame points to; fpx_sw_bytes (magic1 etc.) live in sw_reserved at 464.
 */
export const Fpstate = new Struct('_fpstate_64', 512, {
  cwd: [0, 'u16'],
  swd: [2, 'u16'],
  twd: [4, 'u16'],
  fop: [6, 'u16'],
  rip: [8, 'u64'],
  rdp: [16, 'u64'],
  mxcsr: [24, 'u32'],
  mxcsr_mask: [28, 'u32'],
}, {
  st_space: [32, 128],
  xmm_space: [160, 256],
  reserved2: [416, 48],
  sw_reserved: [464, 48],
});
/** Default MXCSR (all exceptions masked) and x87 control word after FNINIT. */
export const MXCSR_DEFAULT = 0x1f80;
export const FPU_CWD_DEFAULT = 0x37f;
/** struct _fpx_sw_bytes magic values (<asm/sigcontext.h>). */
export const FP_XSTATE_MAGIC1 = 0x46505853;
export const FP_XSTATE_MAGIC2 = 0x46505845;

// ===========================================================================
// ptrace: <sys/user.h>
// ===========================================================================

/** Indices (in 8-byte words) of struct user_regs_struct members (<sys/user.h>); REG.rax === 10. */
export const REG = {
  r15: 0, r14: 1, r13: 2, r12: 3, rbp: 4, rbx: 5, r11: 6, r10: 7,
  r9: 8, r8: 9, rax: 10, rcx: 11, rdx: 12, rsi: 13, rdi: 14, orig_rax: 15,
  rip: 16, cs: 17, eflags: 18, rsp: 19, ss: 20, fs_base: 21, gs_base: 22,
  ds: 23, es: 24, fs: 25, gs: 26,
} as const;
export type RegName = keyof typeof REG;
export const USER_REGS_COUNT = 27;

/** struct user_regs_struct (PTRACE_GETREGS/SETREGS), 27 × 8 = 216 bytes. */
export const UserRegs = new Struct('user_regs_struct', USER_REGS_COUNT * 8,
  Object.fromEntries(Object.entries(REG).map(([n, i]) => [n, [i * 8, 'u64'] as const])) as
    Record<RegName, readonly [number, FieldType]>);

/** offsetof(struct user, u_debugreg): PTRACE_POKEUSER offset of DR0 (DR7 at +7*8). */
export const USER_DEBUGREG_OFFSET = 848;

// ===========================================================================
// Sockets: <linux/un.h>, <linux/socket.h>
// ===========================================================================

/** struct sockaddr_un, 110 bytes; sun_path is char[108] (abstract names start with NUL). */
export const SockaddrUn = new Struct('sockaddr_un', 110, {
  sun_family: [0, 'u16'],
}, {
  sun_path: [2, 108],
});

/** struct msghdr (sendmsg/recvmsg, user ABI), 56 bytes. */
export const Msghdr = new Struct('msghdr', 56, members(
  ['u64', 'msg_name'], ['u32', 'msg_namelen'],
  ['u64', 'msg_iov', 'msg_iovlen', 'msg_control', 'msg_controllen'],
  ['i32', 'msg_flags'],
));

/** struct mmsghdr (sendmmsg/recvmmsg): a msghdr then msg_len, 64 bytes. */
export const Mmsghdr = new Struct('mmsghdr', 64, { ...Msghdr.fields, msg_len: [Msghdr.size, 'u32'] });

/** struct cmsghdr header, 16 bytes; data follows at CMSG_LEN(0) = 16. */
export const Cmsghdr = new Struct('cmsghdr', 16, members(['u64', 'cmsg_len'], ['i32', 'cmsg_level', 'cmsg_type']));
/** CMSG_ALIGN: round up to sizeof(long). */
export const cmsgAlign = (n: number): number => (n + 7) & ~7;
/** CMSG_LEN(n): header + n data bytes (the value of cmsg_len). */
export const cmsgLen = (n: number): number => cmsgAlign(Cmsghdr.size) + n;
/** CMSG_SPACE(n): bytes a control message with n data bytes occupies. */
export const cmsgSpace = (n: number): number => cmsgAlign(Cmsghdr.size) + cmsgAlign(n);

/** struct ucred (SCM_CREDENTIALS, SO_PEERCRED), 12 bytes. */
export const Ucred = new Struct('ucred', 12, members(['i32', 'pid'], ['u32', 'uid', 'gid']));

// ===========================================================================
// Threads: <linux/futex.h>, <linux/sched.h>
// ===========================================================================

/** struct robust_list_head (set_robust_list), 24 bytes. */
export const RobustListHead = new Struct('robust_list_head', 24, members(['u64', 'list_next'], ['i64', 'futex_offset'], ['u64', 'list_op_pending']));

/** struct clone_args (clone3), 88 bytes in VER2; smaller sizes are older versions. */
export const CloneArgs = new Struct('clone_args', 88, members(['u64',
  'flags', 'pidfd', 'child_tid', 'parent_tid', 'exit_signal', 'stack', 'stack_size', 'tls', 'set_tid', 'set_tid_size',
  'cgroup',
]));
export const CLONE_ARGS_SIZE_VER0 = 64;
export const CLONE_ARGS_SIZE_VER1 = 80;
export const CLONE_ARGS_SIZE_VER2 = 88;

// ===========================================================================
// ELF: <elf.h>
// ===========================================================================

/** Elf64_Ehdr, 64 bytes. e_ident bytes are also exposed as ei_* fields. */
export const Elf64Ehdr = new Struct('Elf64_Ehdr', 64, {
  /** "\x7fELF" read as a little-endian u32: 0x464c457f. */
  ei_mag: [0, 'u32'],
  ei_class: [4, 'u8'],
  ei_data: [5, 'u8'],
  ei_version: [6, 'u8'],
  ei_osabi: [7, 'u8'],
  ei_abiversion: [8, 'u8'],
  e_type: [16, 'u16'],
  e_machine: [18, 'u16'],
  e_version: [20, 'u32'],
  e_entry: [24, 'u64'],
  e_phoff: [32, 'u64'],
  e_shoff: [40, 'u64'],
  e_flags: [48, 'u32'],
  e_ehsize: [52, 'u16'],
  e_phentsize: [54, 'u16'],
  e_phnum: [56, 'u16'],
  e_shentsize: [58, 'u16'],
  e_shnum: [60, 'u16'],
  e_shstrndx: [62, 'u16'],
}, {
  e_ident: [0, 16],
});
export const ELF_MAGIC = 0x464c457f;

/** Elf64_Phdr, 56 bytes. */
export const Elf64Phdr = new Struct('Elf64_Phdr', 56, members(['u32', 'p_type', 'p_flags'], ['u64', 'p_offset', 'p_vaddr', 'p_paddr', 'p_filesz', 'p_memsz', 'p_align']));

/** Elf64_auxv_t: one (type, value) pair of the auxiliary vector, 16 bytes. */
export const Elf64Auxv = new Struct('Elf64_auxv_t', 16, members(['u64', 'a_type', 'a_val']));

/** Every struct declared here, for tests and tooling. */
export const ALL_STRUCTS: readonly AnyStruct[] = [
  Timespec, Timeval, Timezone, Itimerval, Itimerspec, Tms,
  Stat, Statx, Statfs, Iovec, Dirent64, Flock, FOwnerEx, OpenHow, InotifyEvent,
  Pollfd, EpollEvent, Termios, Winsize, Utsname, Rlimit, Rusage, Sysinfo,
  KSigaction, StackT, Siginfo, SignalfdSiginfo, Ucontext, Fpstate, UserRegs,
  SockaddrUn, Msghdr, Mmsghdr, Cmsghdr, Ucred, RobustListHead, CloneArgs,
  Elf64Ehdr, Elf64Phdr, Elf64Auxv,
] as unknown as readonly AnyStruct[];
