// Typed, synchronous bindings to the few libc functions the sandbox's
// components call on the host. All FFI lives under src/ffi/: a reader looking
// for host syscalls finds every one of them here.
//
// Calls return what libc returns; on -1 the caller reads errno() at once,
// before any other FFI call can overwrite it.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

/** errno of the last failed call made through these bindings. */
export const errno = (): number => koffi.errno();

// ---- ptrace and process control ----
/** ptrace with an integer data argument (SEIZE options, signal numbers, POKEUSER values). */
export const ptrace = libc.func('long ptrace(long request, int pid, uintptr_t addr, uintptr_t data)') as (
  req: number, pid: number, addr: number | bigint, data: number | bigint) => number;
/** ptrace whose data argument points to a buffer (GETREGS, SETREGS, GETSIGINFO, GETEVENTMSG). */
export const ptraceBuf = libc.func('ptrace', 'long', ['long', 'int', 'uintptr_t', 'void *']) as (
  req: number, pid: number, addr: number, data: ArrayBufferView) => number;
export const waitpid = libc.func('int waitpid(int pid, int *status, int options)') as (
  pid: number, status: Int32Array, options: number) => number;
export const kill = libc.func('int kill(int pid, int sig)') as (pid: number, sig: number) => number;
export const getpid = libc.func('int getpid()') as () => number;
export const gettid = libc.func('int gettid()') as () => number;
export const tgkill = libc.func('int tgkill(int tgid, int tid, int sig)') as (tgid: number, tid: number, sig: number) => number;
export const prctl = libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)') as (
  option: number, a2: number, a3: number, a4: number, a5: number) => number;

export const posixSpawn = libc.func(
  'int posix_spawn(_Out_ int *pid, const char *path, void *fileActions, void *attr, const char **argv, const char **envp)') as (
  pid: Int32Array, path: string, fileActions: Uint8Array | null, attr: Uint8Array | null,
  argv: (string | null)[], envp: (string | null)[]) => number;
export const posixSpawnFileActionsInit = libc.func('int posix_spawn_file_actions_init(void *fa)') as (fa: Uint8Array) => number;
export const posixSpawnFileActionsDestroy = libc.func('int posix_spawn_file_actions_destroy(void *fa)') as (fa: Uint8Array) => number;
export const posixSpawnFileActionsAddDup2 = libc.func('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)') as (
  fa: Uint8Array, fd: number, newfd: number) => number;
/** sizeof(posix_spawn_file_actions_t) on glibc x86-64. */
export const POSIX_SPAWN_FILE_ACTIONS_SIZE = 80;

// ---- scheduling ----
export const schedSetaffinity = libc.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)') as (
  pid: number, size: number, mask: Uint8Array) => number;
export const schedGetcpu = libc.func('int sched_getcpu()') as () => number;

// ---- memory ----
export const mmap = libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)') as (
  addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
export const memfdCreate = libc.func('int memfd_create(const char *name, unsigned int flags)') as (
  name: string, flags: number) => number;
export const ftruncate = libc.func('int ftruncate(int fd, long len)') as (fd: number, len: number) => number;
export const fallocate = libc.func('int fallocate(int fd, int mode, long off, long len)') as (
  fd: number, mode: number, off: number, len: number) => number;
export const mincore = libc.func('int mincore(uintptr_t addr, size_t len, uint8_t *vec)') as (
  addr: number | bigint, len: number, vec: Uint8Array) => number;
/** The numeric address of a pointer returned by a binding. */
export const address = (p: unknown): bigint => koffi.address(p) as bigint;
/** An ArrayBuffer over native memory; V8 limits one view to 4 GiB. */
export const view = (p: unknown, len: number): ArrayBuffer => koffi.view(p as never, len) as ArrayBuffer;

// ---- file descriptors ----
export const close = libc.func('int close(int fd)') as (fd: number) => number;
export const read = libc.func('long read(int fd, void *buf, size_t n)') as (fd: number, buf: Uint8Array, n: number) => number;
export const write = libc.func('long write(int fd, const void *buf, size_t n)') as (fd: number, buf: Uint8Array, n: number) => number;
export const socketpair = libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)') as (
  domain: number, type: number, protocol: number, sv: Int32Array) => number;
export const fcntl = libc.func('int fcntl(int fd, int cmd, int arg)') as (fd: number, cmd: number, arg: number) => number;
export const ioctlBuf = libc.func('int ioctl(int fd, unsigned long req, void *arg)') as (
  fd: number, req: number, arg: Uint8Array) => number;
export const poll = libc.func('int poll(void *fds, unsigned long nfds, int timeout)') as (
  fds: Uint8Array, nfds: number, timeout: number) => number;
export const isatty = libc.func('int isatty(int fd)') as (fd: number) => number;
export const lseek = libc.func('long lseek(int fd, long off, int whence)') as (fd: number, off: number, whence: number) => number;
export const pread = libc.func('long pread(int fd, void *buf, size_t n, long off)') as (
  fd: number, buf: Uint8Array, n: number, off: number) => number;
export const pwrite = libc.func('long pwrite(int fd, const void *buf, size_t n, long off)') as (
  fd: number, buf: Uint8Array, n: number, off: number) => number;

// ---- native buffers and fd passing (SCM_RIGHTS) ----
/** Bytes in native memory: a Buffer over them and their address, for calls whose structs hold pointers. */
export interface NativeBytes { bytes: Buffer; addr: bigint; ptr: unknown }
export function allocNative(len: number): NativeBytes {
  const ptr = koffi.alloc('uint8_t', Math.max(len, 1));
  return { bytes: Buffer.from(koffi.view(ptr as never, len) as ArrayBuffer), addr: koffi.address(ptr) as bigint, ptr };
}
export function freeNative(b: NativeBytes): void { koffi.free(b.ptr as never); }

const sendmsgRaw = libc.func('long sendmsg(int fd, const void *msg, int flags)') as (fd: number, msg: Uint8Array, flags: number) => number;
const recvmsgRaw = libc.func('long recvmsg(int fd, void *msg, int flags)') as (fd: number, msg: Uint8Array, flags: number) => number;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
/** Most fds one message carries; more are a protocol error (the kernel truncates, MSG_CTRUNC). */
const MAX_FDS = 8;
/** struct cmsghdr (16 bytes) + MAX_FDS ints. */
const CONTROL_LEN = 16 + 4 * MAX_FDS;
const control = allocNative(CONTROL_LEN);
const controlView = new DataView(control.bytes.buffer, control.bytes.byteOffset, CONTROL_LEN);
let sendBuf = allocNative(4096);
/** struct msghdr (56 bytes) with one struct iovec (16 bytes) after it, both in native memory. */
const msg = allocNative(72);
const msgView = new DataView(msg.bytes.buffer, msg.bytes.byteOffset, 72);

function fillMsghdr(addr: bigint, len: number, controlLen: number): void {
  msg.bytes.fill(0);
  msgView.setBigUint64(56, addr, true); // iov_base
  msgView.setBigUint64(64, BigInt(len), true); // iov_len
  msgView.setBigUint64(16, msg.addr + 56n, true); // msg_iov
  msgView.setBigUint64(24, 1n, true); // msg_iovlen
  if (controlLen > 0) {
    msgView.setBigUint64(32, control.addr, true); // msg_control
    msgView.setBigUint64(40, BigInt(controlLen), true); // msg_controllen
  }
}

/**
 * sendmsg(2) of all of `data` with `fds` attached as SCM_RIGHTS to its first
 * byte. Returns bytes sent (possibly short: send the rest without fds) or -errno.
 */
export function sendWithFds(sock: number, data: Uint8Array, fds: readonly number[]): number {
  if (fds.length > MAX_FDS) return -22; // EINVAL
  if (sendBuf.bytes.length < data.length) { freeNative(sendBuf); sendBuf = allocNative(data.length); }
  sendBuf.bytes.set(data);
  const clen = fds.length > 0 ? 16 + 4 * fds.length : 0;
  if (clen > 0) {
    controlView.setBigUint64(0, BigInt(clen), true);
    controlView.setInt32(8, SOL_SOCKET, true);
    controlView.setInt32(12, SCM_RIGHTS, true);
    fds.forEach((fd, i) => controlView.setInt32(16 + 4 * i, fd, true));
  }
  fillMsghdr(sendBuf.addr, data.length, clen === 0 ? 0 : (clen + 7) & ~7);
  const r = sendmsgRaw(sock, msg.bytes, MSG_NOSIGNAL);
  return r < 0 ? -koffi.errno() : r;
}

/**
 * recvmsg(2) into native memory at `addr` (at most `len` bytes); fds that
 * arrive (close-on-exec) are appended to `fds`. Returns bytes read, 0 at EOF, or -errno.
 */
export function recvWithFds(sock: number, addr: bigint, len: number, fds: number[]): number {
  fillMsghdr(addr, len, CONTROL_LEN);
  const r = recvmsgRaw(sock, msg.bytes, MSG_CMSG_CLOEXEC);
  if (r < 0) return -koffi.errno();
  const clen = Number(msgView.getBigUint64(40, true));
  // One cmsghdr is all a 9P peer sends; walk them anyway so none leaks.
  for (let off = 0; off + 16 <= clen;) {
    const cl = Number(controlView.getBigUint64(off, true));
    if (cl < 16 || off + cl > CONTROL_LEN) break;
    if (controlView.getInt32(off + 8, true) === SOL_SOCKET && controlView.getInt32(off + 12, true) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + cl; p += 4) fds.push(controlView.getInt32(p, true));
    }
    off += (cl + 7) & ~7;
  }
  return r;
}

// ---- extended attributes (the Gofer, on fds it opened) ----
export const fgetxattr = libc.func('long fgetxattr(int fd, const char *name, void *value, size_t size)') as (
  fd: number, name: string, value: Uint8Array | null, size: number) => number;
export const fsetxattr = libc.func('int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)') as (
  fd: number, name: string, value: Uint8Array, size: number, flags: number) => number;
export const flistxattr = libc.func('long flistxattr(int fd, void *list, size_t size)') as (
  fd: number, list: Uint8Array | null, size: number) => number;
export const fremovexattr = libc.func('int fremovexattr(int fd, const char *name)') as (fd: number, name: string) => number;

// ---- process information ----
export const getauxval = libc.func('unsigned long getauxval(unsigned long type)') as (type: number) => number;

// ---- fd-relative file operations (the Gofer resolves every path from an open directory fd) ----
// Fixed-argument prototypes for variadic calls (openat's mode, syscall's
// arguments) are sound on x86-64: integer and pointer arguments travel in the
// same registers either way.
export const openat = libc.func('int openat(int dirfd, const char *path, int flags, unsigned int mode)') as (
  dirfd: number, path: string, flags: number, mode: number) => number;
const syscallOpenat2 = libc.func('syscall', 'long', ['long', 'int', 'str', 'void *', 'size_t']) as (
  nr: number, dirfd: number, path: string, how: Uint8Array, size: number) => number;
/** openat2(2) (syscall 437); `how` is struct open_how {u64 flags; u64 mode; u64 resolve}, 24 bytes. */
export const openat2 = (dirfd: number, path: string, how: Uint8Array): number => syscallOpenat2(437, dirfd, path, how, how.length);
/** fstatat(2) into a 144-byte kernel struct stat (src/abi/layout.ts Stat). */
export const fstatat = libc.func('int fstatat(int dirfd, const char *path, void *st, int flags)') as (
  dirfd: number, path: string, st: Uint8Array, flags: number) => number;
export const fstatfs = libc.func('int fstatfs(int fd, void *st)') as (fd: number, st: Uint8Array) => number;
export const readlinkat = libc.func('long readlinkat(int dirfd, const char *path, void *buf, size_t n)') as (
  dirfd: number, path: string, buf: Uint8Array, n: number) => number;
export const mkdirat = libc.func('int mkdirat(int dirfd, const char *path, unsigned int mode)') as (
  dirfd: number, path: string, mode: number) => number;
export const unlinkat = libc.func('int unlinkat(int dirfd, const char *path, int flags)') as (
  dirfd: number, path: string, flags: number) => number;
export const renameat2 = libc.func('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)') as (
  olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number) => number;
export const symlinkat = libc.func('int symlinkat(const char *target, int dirfd, const char *path)') as (
  target: string, dirfd: number, path: string) => number;
export const linkat = libc.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)') as (
  olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number) => number;
export const fchownat = libc.func('int fchownat(int dirfd, const char *path, unsigned int uid, unsigned int gid, int flags)') as (
  dirfd: number, path: string, uid: number, gid: number, flags: number) => number;
export const fchmodat = libc.func('int fchmodat(int dirfd, const char *path, unsigned int mode, int flags)') as (
  dirfd: number, path: string, mode: number, flags: number) => number;
const syscallFchmodat2 = libc.func('syscall', 'long', ['long', 'int', 'str', 'unsigned int', 'int']) as (
  nr: number, dirfd: number, path: string, mode: number, flags: number) => number;
/** fchmodat2(2) (syscall 452, Linux 6.6+): the one chmod that takes AT_EMPTY_PATH on an O_PATH fd. */
export const fchmodat2 = (dirfd: number, path: string, mode: number, flags: number): number =>
  syscallFchmodat2(452, dirfd, path, mode, flags);
/** utimensat(2); `times` is struct timespec[2] (atime, mtime), 32 bytes. */
export const utimensat = libc.func('int utimensat(int dirfd, const char *path, void *times, int flags)') as (
  dirfd: number, path: string, times: BigInt64Array, flags: number) => number;
export const getdents64 = libc.func('long getdents64(int fd, void *buf, size_t n)') as (
  fd: number, buf: Uint8Array, n: number) => number;
/** mknodat(2); the Gofer makes only FIFOs and sockets with it (its seccomp filter enforces that). */
export const mknodat = libc.func('int mknodat(int dirfd, const char *path, unsigned int mode, unsigned long dev)') as (
  dirfd: number, path: string, mode: number, dev: number) => number;
export const fchmod = libc.func('int fchmod(int fd, unsigned int mode)') as (fd: number, mode: number) => number;
export const dup2 = libc.func('int dup2(int oldfd, int newfd)') as (oldfd: number, newfd: number) => number;

// ---- namespaces, mounts, credentials (the Gofer's confinement at start-up) ----
export const unshare = libc.func('int unshare(int flags)') as (flags: number) => number;
export const mount = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)') as (
  source: string | null, target: string, fstype: string | null, flags: number, data: string | null) => number;
export const umount2 = libc.func('int umount2(const char *target, int flags)') as (target: string, flags: number) => number;
const syscallPivotRoot = libc.func('syscall', 'long', ['long', 'str', 'str']) as (nr: number, a: string, b: string) => number;
/** pivot_root(2) (syscall 155; glibc has no wrapper). */
export const pivotRoot = (newRoot: string, putOld: string): number => syscallPivotRoot(155, newRoot, putOld);
const syscallMountSetattr = libc.func('syscall', 'long', ['long', 'int', 'str', 'unsigned int', 'void *', 'size_t']) as (
  nr: number, dirfd: number, path: string, flags: number, attr: Uint8Array, size: number) => number;
/** mount_setattr(2) (syscall 442, Linux 5.12+); `attr` is struct mount_attr, 32 bytes. */
export const mountSetattr = (dirfd: number, path: string, flags: number, attr: Uint8Array): number =>
  syscallMountSetattr(442, dirfd, path, flags, attr, attr.length);
const syscallOpenTree = libc.func('syscall', 'long', ['long', 'int', 'str', 'unsigned int']) as (
  nr: number, dirfd: number, path: string, flags: number) => number;
/** open_tree(2) (syscall 428, Linux 5.2+): with OPEN_TREE_CLONE, an fd holding a detached copy of the mounts at path. */
export const openTree = (dirfd: number, path: string, flags: number): number => syscallOpenTree(428, dirfd, path, flags);
const syscallMoveMount = libc.func('syscall', 'long', ['long', 'int', 'str', 'int', 'str', 'unsigned int']) as (
  nr: number, fromDirfd: number, fromPath: string, toDirfd: number, toPath: string, flags: number) => number;
/** move_mount(2) (syscall 429, Linux 5.2+). */
export const moveMount = (fromDirfd: number, fromPath: string, toDirfd: number, toPath: string, flags: number): number =>
  syscallMoveMount(429, fromDirfd, fromPath, toDirfd, toPath, flags);
export const chdir = libc.func('int chdir(const char *path)') as (path: string) => number;
export const chroot = libc.func('int chroot(const char *path)') as (path: string) => number;
const syscallCap = libc.func('syscall', 'long', ['long', 'void *', 'void *']) as (nr: number, hdr: Uint8Array, data: Uint8Array) => number;
/** capget(2) (syscall 125): `hdr` is {u32 version; i32 pid}, `data` two {u32 effective, permitted, inheritable}. */
export const capget = (hdr: Uint8Array, data: Uint8Array): number => syscallCap(125, hdr, data);
/** capset(2) (syscall 126); affects the calling thread only. */
export const capset = (hdr: Uint8Array, data: Uint8Array): number => syscallCap(126, hdr, data);
export const execve = libc.func('int execve(const char *path, const char **argv, const char **envp)') as (
  path: string, argv: (string | null)[], envp: (string | null)[]) => number;
const syscallSeccomp = libc.func('syscall', 'long', ['long', 'unsigned int', 'unsigned int', 'void *']) as (
  nr: number, op: number, flags: number, arg: unknown) => number;
/**
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) (syscall 317) with `filter`
 * the bytes of a struct sock_filter array; builds the struct sock_fprog
 * (which holds a pointer, hence here) in native memory for the call.
 */
export function seccompSetFilter(flags: number, filter: Uint8Array): number {
  const mem = koffi.alloc('uint8_t', filter.length);
  try {
    koffi.encode(mem, koffi.array('uint8_t', filter.length, 'Typed'), filter);
    const prog = koffi.alloc('uint8_t', 16);
    try {
      const fprog = new DataView(new ArrayBuffer(16));
      fprog.setUint16(0, filter.length / 8, true);
      fprog.setBigUint64(8, koffi.address(mem) as bigint, true);
      koffi.encode(prog, koffi.array('uint8_t', 16, 'Typed'), new Uint8Array(fprog.buffer));
      return syscallSeccomp(317, 1 /* SECCOMP_SET_MODE_FILTER */, flags, prog);
    } finally { koffi.free(prog); }
  } finally { koffi.free(mem); }
}

// ---- readiness of host fds (the Sentry's loop waits on these through its waker stub) ----
export const epollCreate1 = libc.func('int epoll_create1(int flags)') as (flags: number) => number;
/** epoll_ctl; event is a 12-byte struct epoll_event (or null for EPOLL_CTL_DEL). */
export const epollCtl = libc.func('int epoll_ctl(int epfd, int op, int fd, void *event)') as (
  epfd: number, op: number, fd: number, event: Uint8Array | null) => number;
export const timerfdCreate = libc.func('int timerfd_create(int clockid, int flags)') as (clockid: number, flags: number) => number;
/** timerfd_settime; value is a 32-byte struct itimerspec. */
export const timerfdSettime = libc.func('int timerfd_settime(int fd, int flags, const void *value, void *old)') as (
  fd: number, flags: number, value: Uint8Array, old: null) => number;
/** epoll_pwait with no signal mask (what libuv calls, so the Sentry's seccomp filter allows it); events receives up to maxevents 12-byte struct epoll_event. */
const epollPwait = libc.func('int epoll_pwait(int epfd, void *events, int maxevents, int timeout, void *sigmask)') as (
  epfd: number, events: Uint8Array, maxevents: number, timeout: number, sigmask: null) => number;
export const epollWait = (epfd: number, events: Uint8Array, maxevents: number, timeout: number): number =>
  epollPwait(epfd, events, maxevents, timeout, null);
