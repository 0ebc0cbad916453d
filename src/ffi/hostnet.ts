// The host's socket calls with raw sockaddr and option bytes, for the
// Sentry's host-network sockets (sentry/net/hostinet.ts, --network=host):
// the Sentry parses nothing, it hands the workload's bytes to the host stack.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

export const errno = (): number => koffi.errno();
export const socket = libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number;
export const bind = libc.func('int bind(int fd, const void *addr, unsigned int len)') as (fd: number, a: Uint8Array, l: number) => number;
export const connect = libc.func('int connect(int fd, const void *addr, unsigned int len)') as (fd: number, a: Uint8Array, l: number) => number;
export const listen = libc.func('int listen(int fd, int backlog)') as (fd: number, backlog: number) => number;
export const accept4 = libc.func('int accept4(int fd, void *addr, void *len, int flags)') as (fd: number, a: null, l: null, flags: number) => number;
export const sendto = libc.func('long sendto(int fd, const void *buf, size_t n, int flags, const void *addr, unsigned int alen)') as (
  fd: number, buf: Uint8Array, n: number, flags: number, addr: Uint8Array | null, alen: number) => number;
const recvfromCall = libc.func('long recvfrom(int fd, void *buf, size_t n, int flags, void *addr, _Inout_ unsigned int *alen)') as (
  fd: number, buf: Uint8Array, n: number, flags: number, addr: Uint8Array, alen: Uint32Array) => number;
export const shutdown = libc.func('int shutdown(int fd, int how)') as (fd: number, how: number) => number;
const getsocknameCall = libc.func('int getsockname(int fd, void *addr, _Inout_ unsigned int *len)') as (fd: number, a: Uint8Array, l: Uint32Array) => number;
const getpeernameCall = libc.func('int getpeername(int fd, void *addr, _Inout_ unsigned int *len)') as (fd: number, a: Uint8Array, l: Uint32Array) => number;
const getsockoptCall = libc.func('int getsockopt(int fd, int level, int name, void *val, _Inout_ unsigned int *len)') as (
  fd: number, level: number, name: number, val: Uint8Array, len: Uint32Array) => number;
export const setsockopt = libc.func('int setsockopt(int fd, int level, int name, const void *val, unsigned int len)') as (
  fd: number, level: number, name: number, val: Uint8Array, len: number) => number;
export const close = libc.func('int close(int fd)') as (fd: number) => number;
export const poll = libc.func('int poll(void *fds, unsigned long nfds, int timeout)') as (fds: Uint8Array, nfds: number, timeout: number) => number;
const setnsCall = libc.func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number;

/** sizeof(struct sockaddr_storage). */
const SOCKADDR_MAX = 128;

/** recvfrom into a fresh buffer of len bytes: the data and the sender's address, or -errno. */
export function recvfrom(fd: number, len: number, flags: number): { n: number; data: Uint8Array; from: Uint8Array } | number {
  const buf = new Uint8Array(len);
  const addr = new Uint8Array(SOCKADDR_MAX);
  const alen = new Uint32Array([SOCKADDR_MAX]);
  const n = recvfromCall(fd, buf, len, flags, addr, alen);
  if (n < 0) return -errno();
  return { n, data: buf, from: addr.slice(0, Math.min(alen[0]!, SOCKADDR_MAX)) };
}

function nameOf(call: (fd: number, a: Uint8Array, l: Uint32Array) => number, fd: number): Uint8Array | number {
  const addr = new Uint8Array(SOCKADDR_MAX);
  const alen = new Uint32Array([SOCKADDR_MAX]);
  if (call(fd, addr, alen) < 0) return -errno();
  return addr.slice(0, Math.min(alen[0]!, SOCKADDR_MAX));
}

export const getsockname = (fd: number): Uint8Array | number => nameOf(getsocknameCall, fd);
export const getpeername = (fd: number): Uint8Array | number => nameOf(getpeernameCall, fd);

/** getsockopt with room for size bytes: the value, or -errno. */
export function getsockopt(fd: number, level: number, name: number, size: number): Uint8Array | number {
  const val = new Uint8Array(Math.max(size, 4));
  const len = new Uint32Array([val.length]);
  if (getsockoptCall(fd, level, name, val, len) < 0) return -errno();
  return val.slice(0, len[0]);
}

/**
 * Moves the calling thread into the network namespace at path (setns
 * CLONE_NEWNET): sockets it creates from then on belong to that namespace.
 * 0 or -errno.
 */
export function joinNetns(path: string): number {
  const O_RDONLY_CLOEXEC = 0o2000000;
  const open = libc.func('int open(const char *path, int flags)') as (p: string, f: number) => number;
  const fd = open(path, O_RDONLY_CLOEXEC);
  if (fd < 0) return -errno();
  const r = setnsCall(fd, 0x40000000 /* CLONE_NEWNET */);
  const e = r < 0 ? -errno() : 0;
  close(fd);
  return e;
}
