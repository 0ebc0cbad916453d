// The Gofer's confinement at start-up, when it runs as root (the default;
// `--no-confine` skips it, for tests that run the Gofer unprivileged).
//
// Several of these settings are per THREAD in Linux (the mount namespace and
// root after unshare, capabilities, no_new_privs), and Node has threads (V8's
// and libuv's) before any JavaScript runs. So confinement has two stages:
//
//  stage 1 (the process runsc started), on the main thread:
//    unshare(CLONE_NEWNS); make every mount private (nothing propagates back
//    to the host); set no_new_privs; shrink the capability bounding set to
//    what stage 2 needs; then execve the same node and bundle again. execve
//    replaces every thread with one that inherits the main thread's mount
//    namespace, bounding set and no_new_privs, so every thread of stage 2 is
//    born inside them.
//  stage 2 (`--confine-stage2=INO`, INO the host mount namespace's inode, to
//    check we really are in a new one), main thread:
//    bind-mount the root onto itself (recursively, so submounts stay served),
//    pivot_root into it and detach the old root (chroot if pivot_root is
//    impossible, logged), chdir("/"); with --read-only remount the whole tree
//    read-only (mount_setattr AT_RECURSIVE). Serving several trees (a
//    container's rootfs and bind sources), it first copies each tree's mounts
//    (open_tree), mounts a tmpfs over the first tree's directory, puts the
//    copies at /0, /1, … in it (the read-only ones made so) and enters the
//    tmpfs instead, itself remounted read-only. Then drop every capability but those
//    file serving as root needs (CAP_CHOWN, CAP_DAC_OVERRIDE,
//    CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID) from the bounding,
//    inheritable, permitted, effective and ambient sets; then install a
//    seccomp filter on ALL threads (TSYNC) that refuses the calls that could
//    undo any of this or reach past the tree (mount family, pivot_root,
//    chroot, unshare/setns/namespace clones, open_by_handle_at, execve,
//    ptrace, module loading, mknod, ...). pivot_root and chdir act on the
//    fs_struct all threads share, so the new root is every thread's; the
//    capability sets are per thread, so V8's helper threads keep stage 2's
//    bounding set (the five plus CAP_SYS_ADMIN, CAP_SETPCAP, CAP_SYS_CHROOT),
//    and the seccomp filter is what denies them the calls those three allow
//    that matter here.
//
// Node keeps running after pivot_root: the Gofer is one bundle already
// loaded, koffi and libc are mapped, and nothing it does later reads the file
// system by path. pino, which src/log.ts loads on the first log line, is
// bundled into dist/gofer.js, so that load needs no file; a --log file is
// opened before the pivot and becomes the Gofer's stderr. /proc is not
// needed after the pivot.
//
// Every step that fails throws a ConfineError naming the step: the Gofer
// refuses to serve rather than serve unconfined.
import * as fs from 'node:fs';
import * as libc from '../src/ffi/libc';
import {
  AT_FDCWD, CLONE_NEWNS, F_SETFD, MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_REC, MS_RDONLY, MS_REMOUNT,
  O_CLOEXEC, PR_CAP_AMBIENT, PR_CAPBSET_DROP,
  PR_CAPBSET_READ, PR_GET_NO_NEW_PRIVS, PR_SET_NO_NEW_PRIVS, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
} from '../src/abi/linux';
import { EPERM, ENOSYS } from '../src/abi/errno';

export class ConfineError extends Error {
  constructor(readonly step: string, why: string) { super(`${step}: ${why}`); }
}

const CAP_CHOWN = 0;
const CAP_DAC_OVERRIDE = 1;
const CAP_DAC_READ_SEARCH = 2;
const CAP_FOWNER = 3;
const CAP_FSETID = 4;
const CAP_SETPCAP = 8;
const CAP_SYS_CHROOT = 18;
const CAP_SYS_ADMIN = 21;

/** What serving files as root needs, with the reason for each. */
export const KEEP_CAPS: ReadonlyMap<number, string> = new Map([
  [CAP_CHOWN, 'give created files the attaching user as owner; Tsetattr uid/gid'],
  [CAP_DAC_OVERRIDE, 'serve files whatever their mode bits, as the root-owned host tree expects'],
  [CAP_DAC_READ_SEARCH, 'walk and list directories whatever their mode bits; linkat(AT_EMPTY_PATH)'],
  [CAP_FOWNER, 'chmod and utimensat on files of any owner'],
  [CAP_FSETID, 'keep set-id bits when the owner of a set-id file writes or chmods it'],
]);
/** Kept in the bounding set for stage 2's set-up only, then dropped. */
export const SETUP_CAPS = [CAP_SYS_ADMIN /* mount, pivot_root */, CAP_SETPCAP /* drop the bounding set */, CAP_SYS_CHROOT /* chroot fallback */];

const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
const MOUNT_ATTR_RDONLY = 0x1;
const AT_RECURSIVE = 0x8000;
const OPEN_TREE_CLONE = 1;
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
const AUDIT_ARCH_X86_64 = 0xc000003e;

function fail(step: string): never {
  throw new ConfineError(step, `errno ${libc.errno()}`);
}

/** Inode of the calling thread's mount namespace. */
function mntNs(): bigint {
  return fs.statSync('/proc/thread-self/ns/mnt', { bigint: true }).ino;
}

/** Highest capability number this kernel knows (probes the bounding set). */
function lastCap(): number {
  let n = 0;
  while (n < 64 && libc.prctl(PR_CAPBSET_READ, n + 1, 0, 0, 0) >= 0) n++;
  return n;
}

function dropBounding(keep: readonly number[]): void {
  const last = lastCap();
  for (let c = 0; c <= last; c++) {
    if (keep.includes(c)) continue;
    if (libc.prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) fail(`drop capability ${c} from the bounding set`);
  }
}

/** Sets the calling thread's effective and permitted sets to `keep`, inheritable to none. */
function setCaps(keep: readonly number[]): void {
  const hdr = new Uint8Array(8);
  const hv = new DataView(hdr.buffer);
  hv.setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  const data = new Uint8Array(24); // two struct __user_cap_data_struct {u32 effective, permitted, inheritable}
  const dv = new DataView(data.buffer);
  for (const c of keep) {
    const at = c < 32 ? 0 : 12;
    const bit = 1 << (c % 32);
    dv.setUint32(at, dv.getUint32(at, true) | bit, true);
    dv.setUint32(at + 4, dv.getUint32(at + 4, true) | bit, true);
  }
  if (libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) fail('clear the ambient capabilities');
  if (libc.capset(hdr, data) < 0) fail('capset');
}

/** The calling thread's effective capability mask. */
export function effectiveCaps(): bigint {
  const hdr = new Uint8Array(8);
  new DataView(hdr.buffer).setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  const data = new Uint8Array(24);
  if (libc.capget(hdr, data) < 0) fail('capget');
  const dv = new DataView(data.buffer);
  return BigInt(dv.getUint32(0, true)) | (BigInt(dv.getUint32(12, true)) << 32n);
}

/**
 * Stage 1: a new mount namespace, private mounts, no_new_privs, a smaller
 * bounding set, then execve into stage 2. Returns only by throwing.
 */
export function confineStage1(argv: readonly string[], keepFds: readonly number[]): never {
  if (process.geteuid?.() !== 0) {
    throw new ConfineError('confine', 'the Gofer confines itself (mount namespace, pivot_root) and needs root; '
      + 'pass --no-confine to serve without confinement (tests only)');
  }
  const hostNs = mntNs();
  if (libc.unshare(CLONE_NEWNS) < 0) fail('unshare(CLONE_NEWNS)');
  if (libc.mount(null, '/', null, MS_REC | MS_PRIVATE, null) < 0) fail('make mounts private');
  if (libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail('PR_SET_NO_NEW_PRIVS');
  dropBounding([...KEEP_CAPS.keys(), ...SETUP_CAPS]);
  // Node opens inherited fds above 2 close-on-exec: the 9P sockets must survive the execve.
  for (const fd of keepFds) if (libc.fcntl(fd, F_SETFD, 0) < 0) fail(`keep fd ${fd} open across execve`);
  const args = [process.execPath, ...process.execArgv, process.argv[1]!, ...argv, `--confine-stage2=${hostNs}`];
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  libc.execve(process.execPath, [...args, null], [...env, null]);
  fail(`execve ${process.execPath}`);
}

export interface Confined {
  /** How the root was entered: pivot_root, chroot (pivot_root impossible), or none (serving "/"). */
  how: 'pivot_root' | 'chroot' | 'none';
  /** Why recursive read-only could not be used, if it could not. */
  readOnlyNote?: string;
  /** Where each served tree is now, in the order given. */
  paths: string[];
}

export interface Served {
  dir: string;
  readOnly: boolean;
}

/** Makes the tree at path read-only (recursively where the kernel can); a note if only its top mount could be. */
function makeReadOnly(path: string): string | undefined {
  const attr = new Uint8Array(32); // struct mount_attr {u64 attr_set, attr_clr, propagation, userns_fd}
  new DataView(attr.buffer).setBigUint64(0, BigInt(MOUNT_ATTR_RDONLY), true);
  if (libc.mountSetattr(AT_FDCWD, path, AT_RECURSIVE, attr) === 0) return undefined;
  if (libc.errno() !== ENOSYS) fail(`make ${path} read-only`);
  if (libc.mount(null, path, null, MS_BIND | MS_REMOUNT | MS_RDONLY, null) < 0) fail(`remount ${path} read-only`);
  return 'mount_setattr missing: only the top mount is read-only';
}

/**
 * Several trees: a tmpfs mounted over the first one's directory (not "/",
 * which cannot be entered that way: then /proc's, unused from here on) holds
 * them all at /0, /1, …, each a copy of its mounts made before the tmpfs
 * existed (open_tree), so no copy holds the tmpfs itself. The tmpfs is the
 * root to enter: nothing beside the served trees is reachable from any of them.
 */
function stageSeveral(served: readonly Served[], reals: string[]): { staging: string; paths: string[]; note?: string } {
  const fds = reals.map((r) => {
    const fd = libc.openTree(AT_FDCWD, r, OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
    if (fd < 0) fail(`copy the mounts of ${r}`);
    return fd;
  });
  const staging = reals.find((r) => r !== '/') ?? '/proc';
  if (libc.mount('tmpfs', staging, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=0755,size=64k') < 0) fail(`mount a tmpfs on ${staging}`);
  let note: string | undefined;
  const paths = fds.map((fd, i) => {
    const at = `${staging}/${i}`;
    if (libc.mkdirat(AT_FDCWD, at, 0o755) < 0) fail(`mkdir ${at}`);
    if (libc.moveMount(fd, '', AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0) fail(`mount ${reals[i]} at ${at}`);
    libc.close(fd);
    if (served[i]!.readOnly) note ??= makeReadOnly(at);
    return `/${i}`;
  });
  return { staging, paths, note };
}

/**
 * Stage 2: enters the served tree (pivot_root, else chroot) or, with several,
 * a tmpfs holding them; makes the read-only ones read-only, drops
 * capabilities and installs the seccomp filter. Afterwards `paths` name the
 * served trees ("/" for one).
 */
export function confineStage2(served: readonly Served[], hostNs: bigint): Confined {
  if (mntNs() === hostNs) throw new ConfineError('confine', 'stage 2 is still in the host mount namespace');
  const reals = served.map(({ dir }) => {
    const real = fs.realpathSync(dir);
    if (!fs.statSync(real).isDirectory()) throw new ConfineError('confine', `root ${dir} is not a directory`);
    return real;
  });
  const several = served.length > 1 ? stageSeveral(served, reals) : null;
  const out: Confined = { how: 'none', paths: several?.paths ?? ['/'], readOnlyNote: several?.note };
  const real = several?.staging ?? reals[0]!;
  if (real !== '/') {
    if (libc.mount(real, real, null, MS_BIND | MS_REC, null) < 0) fail(`bind-mount ${real} onto itself`);
    if (libc.chdir(real) < 0) fail(`chdir ${real}`);
    if (libc.pivotRoot('.', '.') === 0) {
      // The old root is now stacked under the new one at "/": detach it.
      if (libc.umount2('.', MNT_DETACH) < 0) fail('detach the old root');
      out.how = 'pivot_root';
    } else {
      if (libc.chroot('.') < 0) fail('pivot_root and chroot');
      out.how = 'chroot';
    }
  }
  if (libc.chdir('/') < 0) fail('chdir /');
  if (several) {
    // The tmpfs itself: nothing is made in it.
    if (libc.mount(null, '/', null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null) < 0) fail('remount the tmpfs read-only');
  } else if (served[0]!.readOnly) {
    out.readOnlyNote = makeReadOnly('/');
  }
  const keep = [...KEEP_CAPS.keys()];
  dropBounding(keep);
  setCaps(keep);
  installSeccomp();
  if (libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) !== 1) throw new ConfineError('confine', 'no_new_privs is not set');
  const want = keep.reduce((m, c) => m | (1n << BigInt(c)), 0n);
  if (effectiveCaps() !== want) throw new ConfineError('confine', 'capabilities were not dropped');
  return out;
}

// ---- seccomp ----

/** Syscalls no Gofer thread may make once confined (x86-64 numbers), each with why. */
export const DENIED_SYSCALLS: ReadonlyMap<number, string> = new Map([
  [165, 'mount: remount or add mounts'], [166, 'umount2: uncover what the pivot hid'],
  [155, 'pivot_root'], [161, 'chroot: the classic chroot escape'],
  [272, 'unshare: new namespaces'], [308, 'setns: join the host\'s namespaces through an fd'],
  [304, 'open_by_handle_at: open any inode of a filesystem, bypassing the mount root (CAP_DAC_READ_SEARCH)'],
  [303, 'name_to_handle_at'],
  [59, 'execve'], [322, 'execveat'],
  [101, 'ptrace'], [310, 'process_vm_readv'], [311, 'process_vm_writev'],
  [175, 'init_module'], [313, 'finit_module'], [176, 'delete_module'],
  [246, 'kexec_load'], [320, 'kexec_file_load'], [169, 'reboot'],
  [133, 'mknod: device nodes (mknodat is allowed for FIFOs and sockets only, below)'],
  [321, 'bpf'], [298, 'perf_event_open'], [323, 'userfaultfd'],
  [248, 'add_key'], [249, 'request_key'], [250, 'keyctl'],
  [172, 'iopl'], [173, 'ioperm'], [167, 'swapon'], [168, 'swapoff'],
  [428, 'open_tree'], [429, 'move_mount'], [430, 'fsopen'], [431, 'fsconfig'], [432, 'fsmount'], [433, 'fspick'],
  [442, 'mount_setattr'],
]);
/** clone3 hides its flags in memory: refused with ENOSYS, so glibc falls back to clone, which is checked. */
const SYS_CLONE3 = 435;
const SYS_CLONE = 56;
/** mknodat may make FIFOs, sockets and regular files, never device nodes (its mode is args[2]). */
const SYS_MKNODAT = 259;
/** CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET. */
const CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
const S_IFMT = 0o170000;
const MKNOD_TYPES = [0o010000 /* FIFO */, 0o140000 /* socket */, 0o100000 /* regular */, 0];

/** The filter as struct sock_filter bytes. */
export function seccompProgram(): Uint8Array {
  const ins: [number, number, number, number][] = [];
  const LD_W_ABS = 0x20; const JEQ_K = 0x15; const JGE_K = 0x35; const JSET_K = 0x45; const RET_K = 0x06;
  const AND_K = 0x54;
  const denied = [...DENIED_SYSCALLS.keys()];
  // Layout: 0 ld arch; 1 jeq x86-64; 2 kill; 3 ld nr; 4 jge x32; 5.. jeq denied; then clone3, clone, mknodat, allow;
  // clone: ld args[0], jset ns flags, allow; mknodat: ld args[2], and S_IFMT, jeq each allowed type, allow;
  // deny EPERM, deny ENOSYS.
  const n = denied.length;
  const iClone3 = 5 + n; const iMknodat = iClone3 + 2; const iAllow = iMknodat + 1;
  const iArg = iAllow + 1; const iMode = iArg + 3; const iModeAllow = iMode + 2 + MKNOD_TYPES.length;
  const iDeny = iModeAllow + 1; const iNosys = iDeny + 1;
  ins.push([LD_W_ABS, 0, 0, 4]);
  ins.push([JEQ_K, 1, 0, AUDIT_ARCH_X86_64]);
  ins.push([RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS]);
  ins.push([LD_W_ABS, 0, 0, 0]);
  ins.push([JGE_K, iDeny - 5, 0, 0x40000000]); // x32 ABI numbers
  denied.forEach((nr, i) => ins.push([JEQ_K, iDeny - (5 + i) - 1, 0, nr]));
  ins.push([JEQ_K, iNosys - iClone3 - 1, 0, SYS_CLONE3]);
  ins.push([JEQ_K, iArg - (iClone3 + 1) - 1, 0, SYS_CLONE]);
  ins.push([JEQ_K, iMode - iMknodat - 1, 0, SYS_MKNODAT]);
  ins.push([RET_K, 0, 0, SECCOMP_RET_ALLOW]);
  ins.push([LD_W_ABS, 0, 0, 16]); // args[0], low 32 bits: the clone flags
  ins.push([JSET_K, iDeny - (iArg + 1) - 1, 0, CLONE_NS_FLAGS]);
  ins.push([RET_K, 0, 0, SECCOMP_RET_ALLOW]);
  ins.push([LD_W_ABS, 0, 0, 32]); // args[2], low 32 bits: mknodat's mode
  ins.push([AND_K, 0, 0, S_IFMT]);
  MKNOD_TYPES.forEach((type, i) => {
    const at = iMode + 2 + i;
    const last = i === MKNOD_TYPES.length - 1;
    ins.push([JEQ_K, iModeAllow - at - 1, last ? iDeny - at - 1 : 0, type]);
  });
  ins.push([RET_K, 0, 0, SECCOMP_RET_ALLOW]);
  ins.push([RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM]);
  ins.push([RET_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS]);
  if (ins.length !== iNosys + 1) throw new Error('seccomp program layout is off');
  const b = new Uint8Array(ins.length * 8);
  const dv = new DataView(b.buffer);
  ins.forEach(([code, jt, jf, k], i) => {
    if (jt > 255 || jf > 255) throw new Error('seccomp jump too far');
    dv.setUint16(i * 8, code, true); dv.setUint8(i * 8 + 2, jt); dv.setUint8(i * 8 + 3, jf); dv.setUint32(i * 8 + 4, k >>> 0, true);
  });
  return b;
}

function installSeccomp(): void {
  if (libc.seccompSetFilter(SECCOMP_FILTER_FLAG_TSYNC, seccompProgram()) !== 0) fail('install the seccomp filter on every thread');
}
