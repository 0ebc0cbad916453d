// ABI contract tests: src/abi/* against the real C headers of this machine.
//
// At test time we generate C probes (test/.build/abi/*.c) that print sizeof,
// offsetof, member width and signedness for every struct in
// src/abi/layout.ts, the value of every exported constant that a header
// defines, and the syscall numbers from <sys/syscall.h>; then we compile them
// with gcc and compare. Kernel uapi headers and glibc headers cannot all be
// included in one file, so there are three probes:
//   user: glibc headers (_GNU_SOURCE)
//   kern: kernel uapi headers (<asm/...>, <linux/...>)
//   reg:  <sys/reg.h> alone (its R15, CS, ... macros are too generic to mix)
// Constants no local header defines are in NOT_IN_HEADERS, each with a reason.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from '../src/abi/errno';
import * as L from '../src/abi/linux';
import * as Lay from '../src/abi/layout';
import { MAX_SYSCALL, SYS, SYSCALL_NAMES, syscallName } from '../src/abi/sysno';
import type { AnyStruct, FieldType } from '../src/abi/layout';

const BUILD = path.join(__dirname, '.build', 'abi');

type Group = 'user' | 'kern' | 'reg';

const HEADERS: Record<Group, string[]> = {
  user: [
    'errno.h', 'string.h', 'fcntl.h', 'unistd.h', 'limits.h', 'dirent.h', 'poll.h', 'sched.h', 'signal.h', 'time.h', 'elf.h',
    'sys/stat.h', 'sys/statfs.h', 'sys/time.h', 'sys/times.h', 'sys/uio.h', 'sys/utsname.h', 'sys/resource.h',
    'sys/sysinfo.h', 'sys/ioctl.h', 'sys/epoll.h', 'sys/eventfd.h', 'sys/signalfd.h', 'sys/timerfd.h',
    'sys/inotify.h', 'sys/ucontext.h', 'sys/user.h', 'sys/socket.h', 'sys/un.h', 'sys/mman.h', 'sys/wait.h',
    'sys/ptrace.h', 'sys/prctl.h', 'sys/random.h', 'sys/mount.h', 'sys/auxv.h', 'sys/syscall.h',
    'netinet/in.h', 'netinet/tcp.h', 'netinet/udp.h', 'linux/futex.h', 'linux/falloc.h', 'linux/magic.h', 'asm/prctl.h',
  ],
  kern: [
    'asm/signal.h', 'linux/signal.h', 'asm/siginfo.h', 'asm/sigcontext.h', 'asm/ucontext.h', 'asm/stat.h', 'asm/statfs.h',
    'asm/termbits.h', 'asm/ioctls.h', 'asm/sockios.h', 'asm/mman.h', 'asm/ptrace-abi.h', 'asm/errno.h',
    'linux/stat.h', 'linux/fcntl.h', 'linux/fs.h', 'linux/futex.h', 'linux/sched.h', 'linux/openat2.h',
    'linux/time.h', 'linux/timerfd.h', 'linux/resource.h', 'linux/signalfd.h', 'linux/inotify.h',
    'linux/sysinfo.h', 'linux/utsname.h', 'linux/mman.h', 'linux/wait.h', 'linux/ptrace.h', 'linux/prctl.h',
    'linux/auxvec.h', 'linux/random.h', 'linux/eventpoll.h', 'linux/memfd.h', 'linux/seccomp.h', 'linux/elf.h',
    'linux/limits.h', 'linux/socket.h', 'linux/un.h', 'linux/mount.h', 'linux/magic.h', 'linux/net.h',
    'linux/uio.h', 'linux/xattr.h', 'linux/falloc.h', 'linux/netlink.h',
  ],
  reg: ['sys/reg.h'],
};

// ---------------------------------------------------------------------------
// Struct specs: which C type each layout is checked against.
// ---------------------------------------------------------------------------

interface Spec {
  s: AnyStruct;
  group: Group;
  ctype: string;
  /** Our field/array name -> C member designator, where they differ. */
  map?: Record<string, string>;
  /** C expression for the expected size (default sizeof(ctype)); null: do not check the size. */
  size?: string | null;
  /** Fields checked for offset only (C member is wider/narrower or of another kind). */
  offsetOnly?: string[];
  /** Fields with no C counterpart in this ctype. */
  omit?: string[];
  /** Skip signedness checks (e.g. glibc's greg_t is signed, registers are u64 to us). */
  noSign?: boolean;
}

const timePair = (a: string, unit: string) => ({ [`${a}_sec`]: `${a}.tv_sec`, [`${a}_${unit}`]: `${a}.tv_${unit}` });
const sigctx = Object.fromEntries(
  ['r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rdi', 'rsi', 'rbp', 'rbx', 'rdx', 'rax', 'rcx', 'rsp', 'rip',
    'eflags', 'cs', 'gs', 'fs', 'ss', 'err', 'trapno', 'oldmask', 'cr2', 'fpstate'].map((r) => [r, `uc_mcontext.${r}`]));
const glibcGregs = Object.fromEntries(Object.keys(Lay.GREG).map((k) => {
  const ours = k === 'EFL' ? 'eflags' : k.toLowerCase();
  return [ours, `uc_mcontext.gregs[REG_${k}]`];
}));
const msghdrIn = (p: string) => Object.fromEntries(
  ['msg_name', 'msg_namelen', 'msg_iov', 'msg_iovlen', 'msg_control', 'msg_controllen', 'msg_flags'].map((f) => [f, `${p}.${f}`]));

const SPECS: Spec[] = [
  { s: Lay.Timespec, group: 'user', ctype: 'struct timespec' },
  { s: Lay.Timeval, group: 'user', ctype: 'struct timeval' },
  { s: Lay.Timezone, group: 'user', ctype: 'struct timezone' },
  { s: Lay.Itimerval, group: 'user', ctype: 'struct itimerval', map: { ...timePair('it_interval', 'usec'), ...timePair('it_value', 'usec') } },
  { s: Lay.Itimerspec, group: 'user', ctype: 'struct itimerspec', map: { ...timePair('it_interval', 'nsec'), ...timePair('it_value', 'nsec') } },
  { s: Lay.Tms, group: 'user', ctype: 'struct tms' },
  { s: Lay.Stat, group: 'kern', ctype: 'struct stat' },
  {
    s: Lay.Statx, group: 'kern', ctype: 'struct statx',
    map: Object.fromEntries(['atime', 'btime', 'ctime', 'mtime'].flatMap((t) => [
      [`stx_${t}_sec`, `stx_${t}.tv_sec`], [`stx_${t}_nsec`, `stx_${t}.tv_nsec`]])),
  },
  { s: Lay.Statfs, group: 'user', ctype: 'struct statfs', map: { f_fsid0: 'f_fsid.__val[0]', f_fsid1: 'f_fsid.__val[1]' } },
  { s: Lay.Statfs, group: 'kern', ctype: 'struct statfs', map: { f_fsid0: 'f_fsid.val[0]', f_fsid1: 'f_fsid.val[1]' }, noSign: true },
  { s: Lay.Iovec, group: 'user', ctype: 'struct iovec' },
  { s: Lay.Dirent64, group: 'user', ctype: 'struct dirent64', size: 'offsetof(struct dirent64, d_name)' },
  { s: Lay.Flock, group: 'kern', ctype: 'struct flock' },
  { s: Lay.FOwnerEx, group: 'kern', ctype: 'struct f_owner_ex' },
  { s: Lay.OpenHow, group: 'kern', ctype: 'struct open_how' },
  { s: Lay.InotifyEvent, group: 'kern', ctype: 'struct inotify_event' },
  { s: Lay.Pollfd, group: 'user', ctype: 'struct pollfd' },
  { s: Lay.EpollEvent, group: 'user', ctype: 'struct epoll_event', map: { data: 'data.u64' } },
  { s: Lay.Termios, group: 'kern', ctype: 'struct termios' },
  { s: Lay.Winsize, group: 'user', ctype: 'struct winsize' },
  { s: Lay.Utsname, group: 'kern', ctype: 'struct new_utsname' },
  { s: Lay.Utsname, group: 'user', ctype: 'struct utsname' },
  { s: Lay.Rlimit, group: 'user', ctype: 'struct rlimit' },
  { s: Lay.Rusage, group: 'user', ctype: 'struct rusage', map: { ...timePair('ru_utime', 'usec'), ...timePair('ru_stime', 'usec') } },
  { s: Lay.Sysinfo, group: 'kern', ctype: 'struct sysinfo', map: { loads0: 'loads[0]', loads1: 'loads[1]', loads2: 'loads[2]' } },
  { s: Lay.KSigaction, group: 'kern', ctype: 'struct sigaction' },
  { s: Lay.StackT, group: 'user', ctype: 'stack_t' },
  { s: Lay.Siginfo, group: 'user', ctype: 'siginfo_t', map: { si_value: 'si_ptr' } },
  { s: Lay.SignalfdSiginfo, group: 'kern', ctype: 'struct signalfd_siginfo' },
  {
    s: Lay.Ucontext, group: 'kern', ctype: 'struct ucontext',
    map: { ...sigctx, csgsfs: 'uc_mcontext.cs', uc_stack_sp: 'uc_stack.ss_sp', uc_stack_flags: 'uc_stack.ss_flags', uc_stack_size: 'uc_stack.ss_size' },
    offsetOnly: ['csgsfs'],
  },
  {
    s: Lay.Ucontext, group: 'user', ctype: 'ucontext_t', size: null, noSign: true,
    map: { ...glibcGregs, fpstate: 'uc_mcontext.fpregs', uc_stack_sp: 'uc_stack.ss_sp', uc_stack_flags: 'uc_stack.ss_flags', uc_stack_size: 'uc_stack.ss_size' },
    omit: ['cs', 'gs', 'fs', 'ss'],
    offsetOnly: ['uc_sigmask'], // glibc's sigset_t is 128 bytes; the kernel's is 8
  },
  { s: Lay.Fpstate, group: 'kern', ctype: 'struct _fpstate_64' },
  { s: Lay.UserRegs, group: 'user', ctype: 'struct user_regs_struct' },
  { s: Lay.SockaddrUn, group: 'user', ctype: 'struct sockaddr_un' },
  { s: Lay.Msghdr, group: 'user', ctype: 'struct msghdr' },
  { s: Lay.Mmsghdr, group: 'user', ctype: 'struct mmsghdr', map: msghdrIn('msg_hdr') },
  { s: Lay.Cmsghdr, group: 'user', ctype: 'struct cmsghdr' },
  { s: Lay.Ucred, group: 'user', ctype: 'struct ucred' },
  { s: Lay.RobustListHead, group: 'kern', ctype: 'struct robust_list_head', map: { list_next: 'list.next' } },
  { s: Lay.CloneArgs, group: 'kern', ctype: 'struct clone_args' },
  {
    s: Lay.Elf64Ehdr, group: 'user', ctype: 'Elf64_Ehdr',
    map: {
      ei_mag: 'e_ident[EI_MAG0]', ei_class: 'e_ident[EI_CLASS]', ei_data: 'e_ident[EI_DATA]',
      ei_version: 'e_ident[EI_VERSION]', ei_osabi: 'e_ident[EI_OSABI]', ei_abiversion: 'e_ident[EI_ABIVERSION]',
    },
    offsetOnly: ['ei_mag'],
    noSign: true, // e_ident is unsigned char; ei_* are u8 anyway
  },
  { s: Lay.Elf64Phdr, group: 'user', ctype: 'Elf64_Phdr' },
  { s: Lay.Elf64Auxv, group: 'user', ctype: 'Elf64_auxv_t', map: { a_val: 'a_un.a_val' } },
];

// ---------------------------------------------------------------------------
// Constants.
// ---------------------------------------------------------------------------

/** Exported names whose glibc value differs from the kernel's; checked in the kern probe only. */
const GLIBC_DIFFERS: Record<string, string> = {
  O_LARGEFILE: 'glibc defines it as 0 on LP64',
  __O_TMPFILE: "glibc's __O_TMPFILE includes O_DIRECTORY",
  SIGRTMIN: 'glibc reserves 32 and 33 for NPTL',
  MINSIGSTKSZ: 'glibc >= 2.34 computes it with sysconf',
  SIGSTKSZ: 'glibc >= 2.34 computes it with sysconf',
  NCCS: "glibc's struct termios has 32 control chars",
};
/** Exported names neither probe can check by name; the test checks them explicitly instead. */
const CHECKED_EXPLICITLY: Record<string, string> = {
  NSIG: "kernel _NSIG: glibc's NSIG is _NSIG + 1, uapi <asm/signal.h> keeps the legacy NSIG 32",
  SIGRTMAX: "uapi <asm/signal.h> defines it as _NSIG, which it does not define; glibc's is a function call",
};
/** Constant name in C when it differs from ours. */
const C_NAME: Record<string, string> = {
  ...Object.fromEntries(Object.keys(L).filter((k) => k.startsWith('AUXV_AT_')).map((k) => [k, k.slice(5)])),
};
/** C expressions for constants that are not macros. */
const C_EXPR: Record<string, [Group, string]> = {
  USER_DEBUGREG_OFFSET: ['user', 'offsetof(struct user, u_debugreg)'],
  UC_MCONTEXT_OFFSET: ['user', 'offsetof(ucontext_t, uc_mcontext)'],
  SIGCONTEXT_SIZE: ['kern', 'sizeof(struct sigcontext)'],
  NGREG: ['user', '__NGREG'],
  UTSNAME_LENGTH: ['kern', '__NEW_UTS_LEN + 1'],
  DIRENT64_NAME_OFFSET: ['user', 'offsetof(struct dirent64, d_name)'],
  USER_REGS_COUNT: ['user', 'sizeof(struct user_regs_struct) / 8'],
  SIGSET_SIZE: ['kern', 'sizeof(sigset_t)'],
  TASK_COMM_LEN: ['user', 'sizeof(((struct { char c[16]; } *)0)->c)'], // no uapi macro; prctl(2) documents 16
  RT_SIGFRAME_UC_OFFSET: ['kern', 'sizeof(void *)'],
  RT_SIGFRAME_INFO_OFFSET: ['kern', 'sizeof(void *) + sizeof(struct ucontext)'],
  RT_SIGFRAME_SIZE: ['kern', 'sizeof(void *) + sizeof(struct ucontext) + sizeof(siginfo_t)'],
  P_ALL: ['user', 'P_ALL'],
  P_PID: ['user', 'P_PID'],
  P_PGID: ['user', 'P_PGID'],
  P_PIDFD: ['user', 'P_PIDFD'],
  PTRACE_PEEKUSER: ['user', 'PTRACE_PEEKUSER'],
  PTRACE_POKEUSER: ['user', 'PTRACE_POKEUSER'],
  SHUT_RD: ['user', 'SHUT_RD'],
  SHUT_WR: ['user', 'SHUT_WR'],
  SHUT_RDWR: ['user', 'SHUT_RDWR'],
  ELF_MAGIC: ['user', "ELFMAG0 | ELFMAG1 << 8 | ELFMAG2 << 16 | ELFMAG3 << 24"],
  UNIX_PATH_MAX: ['user', 'sizeof(((struct sockaddr_un *)0)->sun_path)'],
  OPEN_HOW_SIZE_VER0: ['kern', 'sizeof(struct open_how)'], // the macro is kernel-internal
  SOCK_TYPE_MASK: ['user', '0xf'], // enum __socket_type's documented mask; kernel-internal in <linux/net.h>
};
/** Exported constants no header on this machine defines, with the reason. */
const NOT_IN_HEADERS: Record<string, string> = {
  S_IALLUGO: 'kernel-internal (<linux/stat.h> in the kernel tree)',
  MAX_ERRNO: 'kernel-internal (<linux/err.h>)',
  ERESTARTSYS: 'kernel-internal (<linux/errno.h>)',
  ERESTARTNOINTR: 'kernel-internal',
  ERESTARTNOHAND: 'kernel-internal',
  ENOIOCTLCMD: 'kernel-internal',
  ERESTART_RESTARTBLOCK: 'kernel-internal',
  SCM_MAX_FD: 'kernel-internal (<net/scm.h>)',
  SCM_SECURITY: 'kernel-internal (<linux/socket.h> in the kernel tree); glibc does not define it',
  MXCSR_DEFAULT: 'hardware reset value (Intel SDM), no header',
  FPU_CWD_DEFAULT: 'x87 FNINIT value (Intel SDM), no header',
  MSG_PROBE: 'kernel-internal (<linux/socket.h> in the kernel tree)',
  SEGV_CPERR: 'Linux 6.6+, newer than these headers',
  STATX_MNT_ID_UNIQUE: 'Linux 6.8+, newer than these headers',
  F_DUPFD_QUERY: 'Linux 6.10+, newer than these headers',
  F_SEAL_EXEC: 'Linux 6.3+, newer than these headers',
  MFD_NOEXEC_SEAL: 'Linux 6.3+, newer than these headers',
  MFD_EXEC: 'Linux 6.3+, newer than these headers',
  PR_SET_MDWE: 'Linux 6.3+, newer than these headers',
  PR_GET_MDWE: 'Linux 6.3+, newer than these headers',
  AUXV_AT_HWCAP3: 'Linux 6.15+, newer than these headers',
  AUXV_AT_HWCAP4: 'Linux 6.15+, newer than these headers',
  SO_PEERPIDFD: 'Linux 6.5+, newer than these headers',
  SCM_PIDFD: 'Linux 6.5+, newer than these headers',
};

const isNumConst = (v: unknown): v is number | bigint => typeof v === 'number' || typeof v === 'bigint';
const constants: Record<string, number | bigint> = {};
for (const mod of [E, L, Lay] as Record<string, unknown>[]) {
  for (const [k, v] of Object.entries(mod)) if (isNumConst(v)) constants[k] = v;
}

// ---------------------------------------------------------------------------
// Probe generation and parsing.
// ---------------------------------------------------------------------------

interface ProbeOut {
  fields: Map<string, { off: number; size: number; signed: number }>; // key `${spec}:${field}`
  sizes: Map<number, number>;
  consts: Map<string, Map<Group, bigint>>;
  syscalls: Map<string, number>;
  errnoNames: Map<number, string>;
  sigAbbrev: Map<number, string>;
  bytes: Map<number, Uint8Array>;
  values: Map<string, bigint>; // `${spec}:${field}` -> value written by C
}

const SIGNED_TYPES = new Set<FieldType>(['i8', 'i16', 'i32', 'i64']);
const WIDTH: Record<FieldType, number> = Lay.FIELD_SIZE;

/** Fields of a spec that do not overlap an earlier one (for the C-fills-bytes round trip). */
function disjointFields(spec: Spec): string[] {
  const used = new Uint8Array(spec.s.size);
  const out: string[] = [];
  for (const [f, [off, t]] of Object.entries(spec.s.fields)) {
    if (spec.omit?.includes(f) || spec.offsetOnly?.includes(f)) continue;
    const w = WIDTH[t];
    if (used.subarray(off, off + w).some((b) => b)) continue;
    used.fill(1, off, off + w);
    out.push(f);
  }
  return out;
}

/** A distinctive value for field number i of type t, as the C literal and the expected decode. */
function sample(i: number, t: FieldType): bigint {
  const w = WIDTH[t] * 8;
  if (SIGNED_TYPES.has(t)) return -BigInt(3 + i * 7); // negative: checks sign extension
  const hi = 0x80n + BigInt(i % 0x70);
  return BigInt.asUintN(w, (hi << BigInt(w - 8)) | BigInt(0x11 + i)); // top bit set: checks unsignedness
}

function genProbe(group: Group): string {
  const lines: string[] = [];
  if (group === 'user') lines.push('#define _GNU_SOURCE');
  lines.push(...HEADERS[group].map((h) => `#include <${h}>`));
  lines.push('#include <stdio.h>', '#include <stddef.h>', '#include <stdint.h>', '#include <string.h>');
  lines.push(`#define SGN(x) _Generic((x), signed char: 1, short: 1, int: 1, long: 1, long long: 1, char: ((char)-1 < 0), default: 0)`);
  lines.push('static unsigned char buf[4096] __attribute__((aligned(64)));');
  lines.push('static void dump(int i, size_t n) { printf("B %d ", i); for (size_t k = 0; k < n; k++) printf("%02x", buf[k]); printf("\\n"); }');
  lines.push('int main(void) {');
  SPECS.forEach((spec, i) => {
    if (spec.group !== group) return;
    const T = spec.ctype;
    const cm = (f: string) => spec.map?.[f] ?? f;
    if (spec.size !== null) lines.push(`  printf("S ${i} %zu\\n", (size_t)(${spec.size ?? `sizeof(${T})`}));`);
    for (const f of [...Object.keys(spec.s.fields), ...Object.keys(spec.s.arrays)]) {
      if (spec.omit?.includes(f)) continue;
      const m = cm(f);
      lines.push(`  printf("F ${i} ${f} %zu %zu %d\\n", offsetof(${T}, ${m}), sizeof(((${T} *)0)->${m}), SGN(((${T} *)0)->${m}));`);
    }
    // C writes distinctive values into every disjoint field; the test decodes them.
    lines.push('  memset(buf, 0, sizeof buf);');
    disjointFields(spec).forEach((f, k) => {
      const t = spec.s.fields[f]![1];
      const v = sample(k, t);
      const lit = v < 0n ? `(${v}LL)` : `(0x${v.toString(16)}ULL)`;
      lines.push(`  { ${T} *p = (${T} *)buf; p->${cm(f)} = (__typeof__(p->${cm(f)}))(uintptr_t)${lit}; }`);
    });
    lines.push(`  dump(${i}, ${spec.s.size});`);
  });
  for (const [k] of Object.entries(constants)) {
    const ex = C_EXPR[k];
    if (ex) {
      if (ex[0] === group) lines.push(`  printf("C ${k} %lld\\n", (long long)(${ex[1]}));`);
      continue;
    }
    if (group === 'user' && k in GLIBC_DIFFERS) continue;
    if (k in CHECKED_EXPLICITLY) continue;
    const c = C_NAME[k] ?? k;
    lines.push(`#ifdef ${c}`, `  printf("C ${k} %lld\\n", (long long)(${c}));`, '#endif');
  }
  if (group === 'user') {
    for (const k of Object.keys(Lay.GREG)) lines.push(`  printf("C GREG.${k} %lld\\n", (long long)REG_${k});`);
    for (const name of Object.keys(SYS)) lines.push(`#ifdef SYS_${name}`, `  printf("Y ${name} %ld\\n", (long)SYS_${name});`, '#endif');
    lines.push('  for (int i = 1; i <= 133; i++) { const char *n = strerrorname_np(i); printf("N %d %s\\n", i, n ? n : "?"); }');
    lines.push('  for (int i = 1; i < 32; i++) { const char *n = sigabbrev_np(i); printf("G %d %s\\n", i, n ? n : "?"); }');
    lines.push('  printf("X NSIG %d\\n", NSIG);', '  printf("X SIGRTMAX %d\\n", SIGRTMAX);');
  }
  if (group === 'reg') {
    for (const k of Object.keys(Lay.REG)) lines.push(`  printf("C REG.${k} %lld\\n", (long long)(${k.toUpperCase()}));`);
  }
  lines.push('  return 0;', '}');
  return lines.join('\n') + '\n';
}

let gccMissing = false;
try {
  execFileSync('gcc', ['--version'], { stdio: 'ignore' });
} catch {
  gccMissing = true;
}

function runProbes(): ProbeOut {
  fs.mkdirSync(BUILD, { recursive: true });
  const out: ProbeOut = {
    fields: new Map(), sizes: new Map(), consts: new Map(), syscalls: new Map(),
    errnoNames: new Map(), sigAbbrev: new Map(), bytes: new Map(), values: new Map(),
  };
  const extra = new Map<string, number>();
  for (const group of ['user', 'kern', 'reg'] as Group[]) {
    const src = path.join(BUILD, `probe_${group}.c`);
    const exe = path.join(BUILD, `probe_${group}`);
    fs.writeFileSync(src, genProbe(group));
    execFileSync('gcc', ['-std=gnu11', '-O0', '-o', exe, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    const text = execFileSync(exe, { encoding: 'utf8' });
    for (const line of text.split('\n')) {
      const p = line.split(' ');
      switch (p[0]) {
        case 'S': out.sizes.set(Number(p[1]), Number(p[2])); break;
        case 'F': out.fields.set(`${p[1]}:${p[2]}`, { off: Number(p[3]), size: Number(p[4]), signed: Number(p[5]) }); break;
        case 'C': {
          const m = out.consts.get(p[1]!) ?? new Map<Group, bigint>();
          m.set(group, BigInt(p[2]!));
          out.consts.set(p[1]!, m);
          break;
        }
        case 'Y': out.syscalls.set(p[1]!, Number(p[2])); break;
        case 'N': out.errnoNames.set(Number(p[1]), p[2]!); break;
        case 'G': out.sigAbbrev.set(Number(p[1]), p[2]!); break;
        case 'X': extra.set(p[1]!, Number(p[2])); break;
        case 'B': out.bytes.set(Number(p[1]), Uint8Array.from(Buffer.from(p[2]!, 'hex'))); break;
      }
    }
  }
  for (const [k, v] of extra) out.consts.set(`glibc.${k}`, new Map([['user', BigInt(v)]]));
  return out;
}

// ---------------------------------------------------------------------------
// Tests against C.
// ---------------------------------------------------------------------------

describe.skipIf(gccMissing)('ABI vs C headers', () => {
  let P: ProbeOut;
  beforeAll(() => {
    P = runProbes();
  });

  it('every declared struct has a C spec', () => {
    const specced = new Set(SPECS.map((s) => s.s));
    expect(Lay.ALL_STRUCTS.filter((s) => !specced.has(s)).map((s) => s.name)).toEqual([]);
  });

  for (const [i, spec] of SPECS.entries()) {
    it(`${spec.s.name} matches ${spec.ctype} (${spec.group})`, () => {
      const errs: string[] = [];
      if (spec.size !== null) {
        const c = P.sizes.get(i);
        if (c !== spec.s.size) errs.push(`size: ours ${spec.s.size}, C ${c}`);
      }
      for (const [f, [off, t]] of Object.entries(spec.s.fields)) {
        if (spec.omit?.includes(f)) continue;
        const c = P.fields.get(`${i}:${f}`);
        if (!c) { errs.push(`${f}: not probed`); continue; }
        if (c.off !== off) errs.push(`${f}: offset ours ${off}, C ${c.off}`);
        if (spec.offsetOnly?.includes(f)) continue;
        if (c.size !== WIDTH[t]) errs.push(`${f}: width ours ${WIDTH[t]} (${t}), C ${c.size}`);
        if (!spec.noSign && Boolean(c.signed) !== SIGNED_TYPES.has(t)) {
          errs.push(`${f}: ours ${t}, C is ${c.signed ? 'signed' : 'unsigned'}`);
        }
      }
      for (const [a, [off, len]] of Object.entries(spec.s.arrays)) {
        if (spec.omit?.includes(a)) continue;
        const c = P.fields.get(`${i}:${a}`);
        if (!c) { errs.push(`${a}: not probed`); continue; }
        if (c.off !== off || c.size !== len) errs.push(`${a}[]: ours [${off}, ${len}], C [${c.off}, ${c.size}]`);
      }
      expect(errs).toEqual([]);
    });

    it(`${spec.s.name} decodes bytes written by C (${spec.ctype})`, () => {
      const bytes = P.bytes.get(i)!;
      expect(bytes.length).toBe(spec.s.size);
      const big = spec.s.decodeBig(bytes);
      const num = spec.s.decode(bytes);
      disjointFields(spec).forEach((f, k) => {
        const t = spec.s.fields[f]![1];
        const v = sample(k, t);
        expect([f, big[f]]).toEqual([f, v]);
        expect([f, num[f]]).toEqual([f, Number(v)]);
      });
      // And we encode the same bytes back.
      const vals: Record<string, bigint> = {};
      disjointFields(spec).forEach((f, k) => { vals[f] = sample(k, spec.s.fields[f]![1]); });
      expect(Buffer.from(spec.s.encode(vals)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
    });
  }

  it('constants match the headers', () => {
    const errs: string[] = [];
    const unchecked: string[] = [];
    for (const [k, v] of Object.entries(constants)) {
      const c = P.consts.get(k);
      if (!c) { if (!(k in NOT_IN_HEADERS) && !(k in CHECKED_EXPLICITLY)) unchecked.push(k); continue; }
      const ours = BigInt.asIntN(64, BigInt(v));
      for (const [g, cv] of c) if (cv !== ours) errs.push(`${k}: ours ${ours}, ${g} ${cv}`);
    }
    expect(errs).toEqual([]);
    expect(unchecked, 'exported constants no header defines: fix, or add to NOT_IN_HEADERS with a reason').toEqual([]);
    // Stale allowlist entries: a constant the headers now define should be checked.
    const stale = Object.keys(NOT_IN_HEADERS).filter((k) => k in constants && P.consts.has(k));
    expect(stale).toEqual([]);
  });

  it('the samples the Sentry depends on were really checked against C', () => {
    const must = ['ENOENT', 'EAGAIN', 'ENOSYS', 'EHWPOISON', 'O_CREAT', 'O_CLOEXEC', 'O_LARGEFILE', 'O_TMPFILE', 'O_PATH',
      'CLONE_VM', 'CLONE_THREAD', 'CLONE_SETTLS', 'CLONE_IO', 'CLONE_NEWTIME', 'SIGKILL', 'SIGCHLD', 'SIGSYS', 'SIGRTMIN',
      'AT_FDCWD', 'AT_EMPTY_PATH', 'TCGETS', 'TIOCGWINSZ', 'FIONREAD', 'PTRACE_SYSEMU', 'PTRACE_SEIZE', 'PTRACE_INTERRUPT',
      'PTRACE_O_EXITKILL', 'PTRACE_EVENT_STOP', 'AUXV_AT_MINSIGSTKSZ', 'AUXV_AT_SYSINFO_EHDR', 'ARCH_SET_FS', 'EPOLLET',
      'FUTEX_WAIT_BITSET', 'RLIM_INFINITY', 'UTIME_OMIT', 'WNOWAIT', '__WALL', 'SA_RESTORER', 'SI_TKILL', 'CLD_TRAPPED'];
    expect(must.filter((k) => !P.consts.has(k))).toEqual([]);
    expect(P.consts.get('glibc.NSIG')!.get('user')).toBe(BigInt(L.NSIG + 1));
    expect(P.consts.get('glibc.SIGRTMAX')!.get('user')).toBe(BigInt(L.SIGRTMAX));
  });

  it('REG matches <sys/reg.h> and GREG matches <sys/ucontext.h> REG_*', () => {
    for (const [k, v] of Object.entries(Lay.REG)) expect([k, P.consts.get(`REG.${k}`)?.get('reg')]).toEqual([k, BigInt(v)]);
    for (const [k, v] of Object.entries(Lay.GREG)) expect([k, P.consts.get(`GREG.${k}`)?.get('user')]).toEqual([k, BigInt(v)]);
  });

  it('syscall numbers match <sys/syscall.h>', () => {
    const errs: string[] = [];
    for (const [name, nr] of P.syscalls) {
      if (!(name in SYS)) continue;
      if ((SYS as Record<string, number>)[name] !== nr) errs.push(`${name}: ours ${(SYS as Record<string, number>)[name]}, C ${nr}`);
    }
    expect(errs).toEqual([]);
    // Every syscall the headers know by a name we use was checked; the only
    // names they may lack are newer than the headers.
    const missing = Object.entries(SYS).filter(([n]) => !P.syscalls.has(n)).map(([n, nr]) => [n, nr] as const);
    const newest = Math.max(...P.syscalls.values());
    expect(missing.filter(([, nr]) => nr <= newest && nr !== SYS.uretprobe)).toEqual([]);
    // And every SYS_* name of the headers for a 64-bit syscall is in our table.
    const headerNames = [...P.syscalls.keys()].filter((n) => !(n in SYS));
    expect(headerNames).toEqual([]);
  });

  it('errnoName agrees with glibc strerrorname_np', () => {
    const errs: string[] = [];
    for (const [n, name] of P.errnoNames) if (name !== '?' && E.errnoName(n) !== name) errs.push(`${n}: ours ${E.errnoName(n)}, glibc ${name}`);
    expect(errs).toEqual([]);
  });

  it('signalName agrees with glibc sigabbrev_np', () => {
    for (const [n, abbrev] of P.sigAbbrev) {
      // 29 is SIGIO = SIGPOLL; glibc abbreviates it POLL, we (like strace) say SIGIO.
      const want = n === L.SIGIO && abbrev === 'POLL' ? 'SIGIO' : `SIG${abbrev}`;
      expect([n, L.signalName(n)]).toEqual([n, want]);
    }
  });
});

// ---------------------------------------------------------------------------
// Pure TypeScript tests.
// ---------------------------------------------------------------------------

describe('sysno', () => {
  it('is dense 0..462 with holes as empty strings', () => {
    expect(SYSCALL_NAMES.length).toBe(MAX_SYSCALL + 1);
    expect(MAX_SYSCALL).toBe(462);
    expect(SYS.read).toBe(0);
    expect(SYS.write).toBe(1);
    expect(SYS.rt_sigreturn).toBe(15);
    expect(SYS.clone3).toBe(435);
    expect(SYS.mseal).toBe(462);
    expect(SYSCALL_NAMES[60]).toBe('exit');
    expect(SYSCALL_NAMES[400]).toBe('');
    for (const [name, nr] of Object.entries(SYS)) expect(SYSCALL_NAMES[nr]).toBe(name);
    const nonEmpty = SYSCALL_NAMES.filter((n) => n !== '').length;
    expect(nonEmpty).toBe(Object.keys(SYS).length);
    expect(syscallName(231)).toBe('exit_group');
    expect(syscallName(999)).toBe('sys_999');
  });
});

describe('errno', () => {
  it('names values and restart codes', () => {
    expect(E.EPERM).toBe(1);
    expect(E.EHWPOISON).toBe(133);
    expect(E.errnoName(2)).toBe('ENOENT');
    expect(E.errnoName(-2)).toBe('ENOENT');
    expect(E.errnoName(E.EWOULDBLOCK)).toBe('EAGAIN');
    expect(E.errnoName(E.ERESTARTSYS)).toBe('ERESTARTSYS');
    expect(E.errnoName(E.ERESTART_RESTARTBLOCK)).toBe('ERESTART_RESTARTBLOCK');
    expect(E.ERESTARTNOINTR).toBe(513);
    expect(E.ERESTARTNOHAND).toBe(514);
    expect(E.errnoName(4000)).toBe('E4000');
    expect(E.errnoMessage(E.ENOENT)).toBe('No such file or directory');
  });
});

describe('signals', () => {
  it('names', () => {
    expect(L.signalName(L.SIGSEGV)).toBe('SIGSEGV');
    expect(L.signalName(32)).toBe('SIGRTMIN');
    expect(L.signalName(34)).toBe('SIGRT_2');
    expect(L.signalName(65)).toBe('SIG65');
    expect(L.sigmask(L.SIGKILL)).toBe(1n << 8n);
    expect(L.sigmask(64)).toBe(1n << 63n);
  });
});

describe('Struct encode/decode', () => {
  it('round-trips every field of every struct, alone, at an offset', () => {
    for (const s of Lay.ALL_STRUCTS) {
      for (const [f, [off, t]] of Object.entries(s.fields)) {
        const v = sample(off, t);
        const buf = new Uint8Array(s.size + 24).fill(0xee);
        s.encodeInto(buf, 24, { [f]: v });
        // Only the field's bytes changed.
        const w = WIDTH[t];
        buf.forEach((b, k) => { if (k < 24 + off || k >= 24 + off + w) expect(b).toBe(0xee); });
        expect([s.name, f, s.decodeBig(buf, 24)[f]]).toEqual([s.name, f, v]);
        expect([s.name, f, s.decode(buf, 24)[f]]).toEqual([s.name, f, Number(v)]);
        expect(s.get(buf, f, 24)).toBe(Number(v));
      }
    }
  });

  it('encode zero-fills and is little endian', () => {
    const b = Lay.Stat.encode({ st_size: 0x0102030405060708n, st_mode: L.S_IFREG | 0o644 });
    expect(b.length).toBe(144);
    expect([...b.subarray(48, 56)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(b[24]).toBe(0xa4);
    expect(b[25]).toBe(0x81);
    expect(b.filter((x) => x !== 0).length).toBe(10);
  });

  it('handles numbers across the 64-bit range', () => {
    const b = Lay.Timespec.encode({ tv_sec: -1, tv_nsec: 2 ** 40 + 5 });
    expect(Lay.Timespec.decode(b)).toEqual({ tv_sec: -1, tv_nsec: 2 ** 40 + 5 });
    expect(Lay.Timespec.decodeBig(b)).toEqual({ tv_sec: -1n, tv_nsec: 2n ** 40n + 5n });
    const r = Lay.Rlimit.encode({ rlim_cur: L.RLIM_INFINITY, rlim_max: -1 });
    expect(Lay.Rlimit.decodeBig(r)).toEqual({ rlim_cur: L.RLIM_INFINITY, rlim_max: L.RLIM_INFINITY });
    expect(Lay.Rlimit.decode(r).rlim_cur).toBe(2 ** 64);
    const s = Lay.Siginfo.encode({ si_signo: L.SIGCHLD, si_code: L.CLD_EXITED, si_pid: 42, si_status: -3, si_utime: -(2 ** 33) });
    expect(Lay.Siginfo.decode(s)).toMatchObject({ si_signo: 17, si_code: 1, si_pid: 42, si_status: -3, si_utime: -(2 ** 33) });
    // 32-bit fields wrap: -1 into a u32, 0xffffffff into an i32.
    const p = Lay.Ucred.encode({ pid: 0xffffffff, uid: -1 });
    expect(Lay.Ucred.decode(p)).toEqual({ pid: -1, uid: 0xffffffff, gid: 0 });
  });

  it('accepts DataView targets and rejects overflows and unknown fields', () => {
    const dv = new DataView(new ArrayBuffer(32));
    Lay.Pollfd.encodeInto(dv, 8, { fd: 3, events: L.POLLIN });
    expect(Lay.Pollfd.decode(new Uint8Array(dv.buffer), 8)).toEqual({ fd: 3, events: 1, revents: 0 });
    expect(() => Lay.Pollfd.encodeInto(dv, 28, { fd: 1 })).toThrow(RangeError);
    expect(() => Lay.Pollfd.decode(new Uint8Array(7))).toThrow(RangeError);
    expect(() => Lay.Pollfd.encode({ nope: 1 } as never)).toThrow(/no field nope/);
    const sub = new Uint8Array(dv.buffer, 8, 8);
    expect(Lay.Pollfd.decode(sub).fd).toBe(3);
  });

  it('user_regs_struct follows REG', () => {
    expect(Lay.UserRegs.size).toBe(216);
    expect(Lay.REG.rax).toBe(10);
    expect(Lay.UserRegs.offset('orig_rax')).toBe(15 * 8);
    expect(Lay.UserRegs.offset('fs_base')).toBe(21 * 8);
    const b = Lay.UserRegs.encode({ rip: 0x401000, rsp: 0x7ffffffde000, orig_rax: -1 });
    const r = Lay.UserRegs.decodeBig(b);
    expect(r.rip).toBe(0x401000n);
    expect(r.orig_rax).toBe(0xffffffffffffffffn);
  });

  it('signal frame layout constants agree with the structs', () => {
    expect(Lay.Ucontext.offset('r8')).toBe(Lay.UC_MCONTEXT_OFFSET);
    expect(Lay.Ucontext.offset('fpstate')).toBe(Lay.UC_MCONTEXT_OFFSET + 23 * 8);
    expect(Lay.Ucontext.offset('uc_sigmask')).toBe(Lay.UC_MCONTEXT_OFFSET + Lay.SIGCONTEXT_SIZE);
    expect(Lay.RT_SIGFRAME_INFO_OFFSET).toBe(Lay.RT_SIGFRAME_UC_OFFSET + Lay.Ucontext.size);
    expect(Lay.RT_SIGFRAME_SIZE).toBe(Lay.RT_SIGFRAME_INFO_OFFSET + Lay.Siginfo.size);
  });

  it('helpers', () => {
    const u = Lay.encodeUtsname({ sysname: 'Linux', nodename: 'x'.repeat(100), release: '6.1.0', version: '#1', machine: 'x86_64', domainname: '(none)' });
    expect(u.length).toBe(390);
    expect(Buffer.from(u.subarray(0, 6)).toString('latin1')).toBe('Linux\0');
    expect(u[65 + 63]).toBe(0x78);
    expect(u[65 + 64]).toBe(0);
    expect(Buffer.from(u.subarray(260, 267)).toString('latin1')).toBe('x86_64\0');
    expect(Lay.dirent64RecLen(1)).toBe(24);
    expect(Lay.dirent64RecLen(5)).toBe(32);
    expect(Lay.cmsgLen(4)).toBe(20);
    expect(Lay.cmsgSpace(4)).toBe(24);
  });

  it('decodes fast enough for the syscall path', () => {
    const b = Lay.Stat.encode({ st_ino: 5, st_size: 100 });
    const t0 = performance.now();
    let acc = 0;
    for (let i = 0; i < 200_000; i++) acc += Lay.Stat.decode(b).st_size + Lay.Stat.encode({ st_ino: i }).length;
    const ms = performance.now() - t0;
    expect(acc).toBeGreaterThan(0);
    expect(ms).toBeLessThan(5000); // ~1 µs per decode+encode pair on a laptop; generous for CI
  });
});
