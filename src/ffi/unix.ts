// Unix-domain sockets with fd passing (SCM_RIGHTS), host pseudo-terminals and
// the few process calls the OCI runtime's control path needs. Node's net
// module cannot send or receive fds, so the sandbox's control socket and
// `--console-socket` go through these.
//
// sendMsg/recvMsg build struct msghdr (it holds pointers) in a native buffer
// owned by this module: one per thread (each worker loads its own copy).
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

export const errno = (): number => koffi.errno();

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_SEQPACKET = 5;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SO_RCVTIMEO = 20;
const SO_SNDTIMEO = 21;
const MSG_CMSG_CLOEXEC = 0x40000000;
const MSG_NOSIGNAL = 0x4000;

const socketCall = libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number;
const bindCall = libc.func('int bind(int fd, const void *addr, unsigned int len)') as (fd: number, a: Uint8Array, l: number) => number;
const connectCall = libc.func('int connect(int fd, const void *addr, unsigned int len)') as (fd: number, a: Uint8Array, l: number) => number;
export const listen = libc.func('int listen(int fd, int backlog)') as (fd: number, backlog: number) => number;
export const accept4 = libc.func('int accept4(int fd, void *addr, void *len, int flags)') as (
  fd: number, addr: null, len: null, flags: number) => number;
const setsockoptCall = libc.func('int setsockopt(int fd, int level, int name, const void *val, unsigned int len)') as (
  fd: number, level: number, name: number, val: Uint8Array, len: number) => number;
const sendmsgCall = libc.func('long sendmsg(int fd, void *msg, int flags)') as (fd: number, msg: unknown, flags: number) => number;
const recvmsgCall = libc.func('long recvmsg(int fd, void *msg, int flags)') as (fd: number, msg: unknown, flags: number) => number;
export const close = libc.func('int close(int fd)') as (fd: number) => number;
export const poll = libc.func('int poll(void *fds, unsigned long nfds, int timeout)') as (
  fds: Uint8Array, nfds: number, timeout: number) => number;
export const tgkill = libc.func('int tgkill(int tgid, int tid, int sig)') as (tgid: number, tid: number, sig: number) => number;
export const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)') as (fds: Int32Array, flags: number) => number;
export const read = libc.func('long read(int fd, void *buf, size_t n)') as (fd: number, buf: Uint8Array, n: number) => number;
export const write = libc.func('long write(int fd, const void *buf, size_t n)') as (fd: number, buf: Uint8Array, n: number) => number;

// ---- pseudo-terminals ----
export const posixOpenpt = libc.func('int posix_openpt(int flags)') as (flags: number) => number;
export const grantpt = libc.func('int grantpt(int fd)') as (fd: number) => number;
export const unlockpt = libc.func('int unlockpt(int fd)') as (fd: number) => number;
const ptsnameR = libc.func('int ptsname_r(int fd, _Out_ char *buf, size_t len)') as (fd: number, buf: Uint8Array, len: number) => number;
export const ioctlBuf = libc.func('int ioctl(int fd, unsigned long req, void *arg)') as (fd: number, req: number, arg: Uint8Array) => number;
export const ioctlInt = libc.func('ioctl', 'int', ['int', 'unsigned long', 'long']) as (fd: number, req: number, arg: number) => number;
export const setsid = libc.func('int setsid()') as () => number;

/** The path of the slave of pty master fd, or null. */
export function ptsname(fd: number): string | null {
  const buf = new Uint8Array(128);
  if (ptsnameR(fd, buf, buf.length) !== 0) return null;
  return Buffer.from(buf.subarray(0, buf.indexOf(0))).toString();
}

// ---- sockets ----
/** struct sockaddr_un for path; a leading NUL names an abstract socket (its length counts exactly). */
function sockaddrUn(path: string): { addr: Uint8Array; len: number } {
  const name = Buffer.from(path);
  if (name.length > 107) throw new Error(`socket path too long: ${path}`);
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  return { addr, len: name[0] === 0 ? 2 + name.length : 2 + name.length + 1 };
}

export function socket(type: number): number {
  return socketCall(AF_UNIX, type | SOCK_CLOEXEC, 0);
}

export function bind(fd: number, path: string): number {
  const { addr, len } = sockaddrUn(path);
  return bindCall(fd, addr, len);
}

export function connect(fd: number, path: string): number {
  const { addr, len } = sockaddrUn(path);
  return connectCall(fd, addr, len);
}

/** Sets SO_RCVTIMEO and SO_SNDTIMEO (0 ms: no timeout). */
export function setTimeouts(fd: number, ms: number): number {
  const tv = new DataView(new ArrayBuffer(16));
  tv.setBigInt64(0, BigInt(Math.floor(ms / 1000)), true);
  tv.setBigInt64(8, BigInt((ms % 1000) * 1000), true);
  const b = new Uint8Array(tv.buffer);
  const r = setsockoptCall(fd, SOL_SOCKET, SO_RCVTIMEO, b, 16);
  return r < 0 ? r : setsockoptCall(fd, SOL_SOCKET, SO_SNDTIMEO, b, 16);
}

/** Largest message sendMsg/recvMsg carry, and most fds in one. */
export const MAX_MSG = 60 * 1024;
const MAX_FDS = 16;
const HDR = 0;
const IOV = 64;
const CTL = 128;
const CTL_SPACE = 16 + MAX_FDS * 4;
const DATA = 256;

let scratch: { ptr: unknown; base: bigint; bytes: Uint8Array; dv: DataView } | null = null;
function buffer(): NonNullable<typeof scratch> {
  if (!scratch) {
    const size = DATA + MAX_MSG;
    const ptr = koffi.alloc('uint8_t', size);
    const ab = koffi.view(ptr as never, size) as ArrayBuffer;
    scratch = { ptr, base: koffi.address(ptr) as bigint, bytes: new Uint8Array(ab), dv: new DataView(ab) };
  }
  return scratch;
}

function layout(s: NonNullable<typeof scratch>, dataLen: number, ctlLen: number): void {
  s.bytes.fill(0, 0, DATA);
  s.dv.setBigUint64(HDR + 16, s.base + BigInt(IOV), true); // msg_iov
  s.dv.setBigUint64(HDR + 24, 1n, true); // msg_iovlen
  if (ctlLen > 0) {
    s.dv.setBigUint64(HDR + 32, s.base + BigInt(CTL), true); // msg_control
    s.dv.setBigUint64(HDR + 40, BigInt(ctlLen), true); // msg_controllen
  }
  s.dv.setBigUint64(IOV, s.base + BigInt(DATA), true);
  s.dv.setBigUint64(IOV + 8, BigInt(dataLen), true);
}

/** Sends data (one message on a SEQPACKET socket) with fds attached; returns sendmsg's result. */
export function sendMsg(fd: number, data: Uint8Array, fds: number[] = []): number {
  if (data.length > MAX_MSG || fds.length > MAX_FDS) throw new Error('message too large');
  const s = buffer();
  const ctlLen = fds.length ? 16 + ((fds.length * 4 + 7) & ~7) : 0;
  layout(s, data.length, ctlLen);
  if (fds.length) {
    s.dv.setBigUint64(CTL, BigInt(16 + fds.length * 4), true);
    s.dv.setInt32(CTL + 8, SOL_SOCKET, true);
    s.dv.setInt32(CTL + 12, SCM_RIGHTS, true);
    fds.forEach((f, i) => s.dv.setInt32(CTL + 16 + 4 * i, f, true));
  }
  s.bytes.set(data, DATA);
  return sendmsgCall(fd, s.ptr, MSG_NOSIGNAL);
}

/** Receives one message and the fds it carries (close-on-exec); null with errno() on failure. */
export function recvMsg(fd: number): { data: Uint8Array; fds: number[] } | null {
  const s = buffer();
  layout(s, MAX_MSG, CTL_SPACE);
  const n = recvmsgCall(fd, s.ptr, MSG_CMSG_CLOEXEC);
  if (n < 0) return null;
  const fds: number[] = [];
  const ctlLen = Number(s.dv.getBigUint64(HDR + 40, true));
  for (let at = 0; at + 16 <= ctlLen;) {
    const len = Number(s.dv.getBigUint64(CTL + at, true));
    if (len < 16) break;
    if (s.dv.getInt32(CTL + at + 8, true) === SOL_SOCKET && s.dv.getInt32(CTL + at + 12, true) === SCM_RIGHTS) {
      for (let i = 16; i + 4 <= len; i += 4) fds.push(s.dv.getInt32(CTL + at + i, true));
    }
    at += (len + 7) & ~7;
  }
  return { data: s.bytes.slice(DATA, DATA + n), fds };
}

// ---- libuv: the main thread's event loop ----
const self = koffi.load(null as unknown as string);
const uvDefaultLoop = self.func('void *uv_default_loop()') as () => unknown;
const uvBackendFd = self.func('int uv_backend_fd(void *loop)') as (loop: unknown) => number;
/** The epoll fd of the process's main libuv loop: readable when Node has events to handle (a signal's, say). */
export const mainLoopFd = (): number => uvBackendFd(uvDefaultLoop());

/** Ends the process at once: no exit handlers, and no joining of worker threads blocked in host calls. */
const exitCall = libc.func('void _exit(int status)') as (status: number) => void;
export function exitNow(status: number): never {
  exitCall(status);
  throw new Error('_exit returned');
}
