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

// ---- process information ----
export const getauxval = libc.func('unsigned long getauxval(unsigned long type)') as (type: number) => number;
