// Socket syscalls over the Sentry's socket families (sentry/net/socket.ts):
// AF_UNIX (sentry/vfs/unix.ts), loopback AF_INET/AF_INET6 TCP and UDP
// (sentry/net/tcp.ts, udp.ts) and NETLINK_ROUTE (sentry/net/netlink.ts).
// Handlers decode arguments, copy addresses and option values in and out,
// and leave the semantics to the socket.
import {
  EAFNOSUPPORT, EAGAIN, EBADF, EFAULT, EINVAL, EMSGSIZE, ENOBUFS, ENOTSOCK, EOPNOTSUPP, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT,
} from '../../src/abi/errno';
import {
  AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, IPPROTO_TCP, IPPROTO_UDP, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_TRUNC,
  MSG_WAITFORONE,
  NETLINK_ROUTE, SCM_CREDENTIALS, SCM_MAX_FD, SCM_RIGHTS, SHUT_RD, SHUT_RDWR, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK,
  SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM, SOCK_TYPE_MASK, SOL_SOCKET, UIO_MAXIOV,
} from '../../src/abi/linux';
import { Cmsghdr, cmsgAlign, cmsgLen, cmsgSpace, Mmsghdr, Msghdr, Timespec, Ucred } from '../../src/abi/layout';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import { NetlinkSocket } from '../../sentry/net/netlink';
import { Socket, type Control, type Creds, type Received } from '../../sentry/net/socket';
import { netStack } from '../../sentry/net/stack';
import { TcpSocket } from '../../sentry/net/tcp';
import { UdpSocket } from '../../sentry/net/udp';
import type { FileDescription } from '../../sentry/vfs/file';
import { O_NONBLOCK } from '../../sentry/vfs/linuxconst';
import { credsOf, newSocketPair, UnixSocket } from '../../sentry/vfs/unix';
import { HostSocket } from '../../sentry/net/hostinet';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { andThen, fileOf, gather, installPair, readIovecs, scatter, totalLen, type IoVec } from './fs_util';

/** sizeof(struct sockaddr_storage): the longest address a socket call copies in. */
const SOCKADDR_MAX = 128;
/** The longest option value setsockopt reads. */
const OPTVAL_MAX = 256;
/** What a single send or receive may move (MAX_RW_COUNT). */
const MAX_RW = 0x7ffff000;
/** net.core.optmem_max: the most control-message bytes sendmsg accepts. */
const OPTMEM_MAX = 131072;
/** The most control-message bytes recvmsg can produce: credentials and SCM_MAX_FD descriptors. */
const CONTROL_OUT_MAX = cmsgSpace(Ucred.size) + cmsgSpace(4 * SCM_MAX_FD);

/** The socket fd refers to, or -EBADF / -ENOTSOCK. */
function sockOf(t: Task, fd: number): Socket | number {
  const f = fileOf(t, fd);
  if (!f) return -EBADF;
  return f instanceof Socket ? f : -ENOTSOCK;
}

/** A handler for a call on the socket its first argument names (EBADF or ENOTSOCK otherwise). */
function onSocket(call: (t: Task, s: Socket, a: SyscallArgs) => SysResult): (t: Task, a: SyscallArgs) => SysResult {
  return (t, a) => {
    const s = sockOf(t, a.int(0));
    return typeof s === 'number' ? s : call(t, s, a);
  };
}

/** Validates socket(2)/socketpair(2) type flags: the base type, or -EINVAL. */
function baseType(type: number): number {
  return (type & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0 ? -EINVAL : type & SOCK_TYPE_MASK;
}

/** An AF_UNIX socket type for (type, protocol), or -errno. */
function unixType(base: number, protocol: number): number {
  if (protocol !== 0 && protocol !== AF_UNIX) return -EPROTONOSUPPORT;
  if (base === SOCK_RAW) return SOCK_DGRAM; // as unix_create does
  if (base !== SOCK_STREAM && base !== SOCK_DGRAM && base !== SOCK_SEQPACKET) return -ESOCKTNOSUPPORT;
  return base;
}

/** A new unconnected socket, or -errno. */
function newSocket(t: Task, domain: number, base: number, protocol: number, nonblock: boolean): Socket | number {
  switch (domain) {
    case AF_UNIX: {
      const type = unixType(base, protocol);
      return type < 0 ? type : new UnixSocket(type, nonblock, null);
    }
    case AF_INET: case AF_INET6:
      // --network=host: the host's stack, in the namespace the Sentry joined.
      if (t.kernel.hostNetwork && (base === SOCK_STREAM || base === SOCK_DGRAM)) return HostSocket.create(domain, base, protocol, nonblock);
      if (base === SOCK_STREAM && (protocol === 0 || protocol === IPPROTO_TCP)) return new TcpSocket(domain, nonblock, netStack(t.kernel));
      if (base === SOCK_DGRAM && (protocol === 0 || protocol === IPPROTO_UDP)) return new UdpSocket(domain, nonblock, netStack(t.kernel));
      if (base === SOCK_STREAM || base === SOCK_DGRAM) return -EPROTONOSUPPORT;
      // Raw sockets need a real network, which --network=none has not.
      return base === SOCK_RAW && t.creds.euid !== 0 ? -EPERM : -ESOCKTNOSUPPORT;
    case AF_NETLINK:
      if (base !== SOCK_RAW && base !== SOCK_DGRAM) return -ESOCKTNOSUPPORT;
      return protocol === NETLINK_ROUTE ? new NetlinkSocket(base, nonblock, netStack(t.kernel)) : -EPROTONOSUPPORT;
    default:
      return -EAFNOSUPPORT;
  }
}

/** Installs a new socket's fd (dropping the socket on failure). */
function installSocket(t: Task, s: Socket, cloexec: boolean): number {
  const fd = t.fds.install(s, cloexec);
  if (fd < 0) s.decRef();
  return fd;
}

function sysSocket(t: Task, a: SyscallArgs): SysResult {
  const type = a.int(1);
  const base = baseType(type);
  if (base < 0) return base;
  const s = newSocket(t, a.int(0), base, a.int(2), (type & SOCK_NONBLOCK) !== 0);
  return typeof s === 'number' ? s : installSocket(t, s, (type & SOCK_CLOEXEC) !== 0);
}

function sysSocketpair(t: Task, a: SyscallArgs): SysResult {
  const domain = a.int(0), type = a.int(1), svAddr = a.u64(3);
  let base = baseType(type);
  if (base < 0) return base;
  if (domain === AF_INET || domain === AF_INET6) return -EOPNOTSUPP;
  if (domain !== AF_UNIX) return -EAFNOSUPPORT;
  base = unixType(base, a.int(2));
  if (base < 0) return base;
  const [s0, s1] = newSocketPair(base, (type & SOCK_NONBLOCK) !== 0, credsOf(t));
  return installPair(t, s0, s1, (type & SOCK_CLOEXEC) !== 0, svAddr);
}

// ---- addresses ----

/** move_addr_to_kernel: the address bytes, or -errno. */
function readSockaddr(t: Task, addr: number, len: number): Uint8Array | number {
  if (len < 0 || len > SOCKADDR_MAX) return -EINVAL;
  if (len === 0) return new Uint8Array(0);
  return t.mm.read(addr, len) ?? -EFAULT;
}

/** move_addr_to_user: copies at most *lenAddr bytes of sa to addr and stores sa's whole length in *lenAddr. */
function writeSockaddr(t: Task, addr: number, lenAddr: number, sa: Uint8Array): number {
  const len = t.mm.readU32(lenAddr);
  if (len === null) return -EFAULT;
  if ((len | 0) < 0) return -EINVAL;
  const n = Math.min(len, sa.length);
  if (n > 0 && !t.mm.write(addr, sa.subarray(0, n))) return -EFAULT;
  return t.mm.writeU32(lenAddr, sa.length) ? 0 : -EFAULT;
}

function sysBind(t: Task, s: Socket, a: SyscallArgs): SysResult {
  const sa = readSockaddr(t, a.u64(1), a.int(2));
  return typeof sa === 'number' ? sa : s.bind(t, sa);
}

function sysConnect(t: Task, s: Socket, a: SyscallArgs): SysResult {
  const sa = readSockaddr(t, a.u64(1), a.int(2));
  return typeof sa === 'number' ? sa : s.connect(t, sa);
}

function sysListen(t: Task, s: Socket, a: SyscallArgs): SysResult {
  return s.listen(t, a.int(1));
}

function doAccept(t: Task, a: SyscallArgs, flags: number): SysResult {
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return -EINVAL;
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  const addr = a.u64(1), lenAddr = a.u64(2);
  return andThen(s.accept(t), (c) => {
    if (typeof c === 'number') return c;
    if (flags & SOCK_NONBLOCK) c.flags |= O_NONBLOCK;
    if (addr) {
      const peer = c.peerName();
      const e = writeSockaddr(t, addr, lenAddr, typeof peer === 'number' ? c.sockName().subarray(0, 2) : peer);
      if (e < 0) { c.decRef(); return e; }
    }
    return installSocket(t, c, (flags & SOCK_CLOEXEC) !== 0);
  });
}

function sysGetsockname(t: Task, s: Socket, a: SyscallArgs): SysResult {
  return writeSockaddr(t, a.u64(1), a.u64(2), s.sockName());
}

function sysGetpeername(t: Task, s: Socket, a: SyscallArgs): SysResult {
  const peer = s.peerName();
  return typeof peer === 'number' ? peer : writeSockaddr(t, a.u64(1), a.u64(2), peer);
}

// ---- sending and receiving ----

/** Parses sendmsg's control messages: descriptions to pass (with a reference each) and credentials. */
function parseControl(t: Task, addr: number, len: number): Control | number {
  if (len < Cmsghdr.size) return { rights: null, creds: null };
  if (len > OPTMEM_MAX) return -ENOBUFS;
  const raw = t.mm.read(addr, len);
  if (!raw) return -EFAULT;
  const rights: FileDescription[] = [];
  let creds: Creds | null = null;
  const fail = (e: number) => { for (const f of rights) f.decRef(); return e; };
  for (let off = 0; off + Cmsghdr.size <= len;) {
    const h = Cmsghdr.decode(raw, off);
    if (h.cmsg_len < Cmsghdr.size || h.cmsg_len > len - off) return fail(-EINVAL);
    if (h.cmsg_level === SOL_SOCKET) {
      const dataOff = off + cmsgAlign(Cmsghdr.size);
      if (h.cmsg_type === SCM_RIGHTS) {
        const n = Math.floor((h.cmsg_len - Cmsghdr.size) / 4);
        if (n > SCM_MAX_FD || rights.length + n > SCM_MAX_FD) return fail(-EINVAL);
        const dv = new DataView(raw.buffer, raw.byteOffset);
        for (let i = 0; i < n; i++) {
          const f = fileOf(t, dv.getInt32(dataOff + 4 * i, true));
          if (!f) return fail(-EBADF);
          rights.push(f.incRef());
        }
      } else if (h.cmsg_type === SCM_CREDENTIALS) {
        if (h.cmsg_len !== cmsgLen(Ucred.size)) return fail(-EINVAL);
        const u = Ucred.decode(raw, dataOff);
        const c = t.creds;
        // scm_check_creds: your own tgid and ids unless privileged.
        if (c.euid !== 0 && (u.pid !== t.pid || ![c.uid, c.euid, c.suid].includes(u.uid) || ![c.gid, c.egid, c.sgid].includes(u.gid))) {
          return fail(-EPERM);
        }
        creds = { pid: u.pid, uid: u.uid, gid: u.gid };
      } else {
        return fail(-EINVAL);
      }
    }
    off += cmsgAlign(h.cmsg_len);
  }
  return { rights: rights.length > 0 ? rights : null, creds };
}


/** What sendto and sendmsg share: the destination, the control messages, then the socket's send. */
function sendCommon(t: Task, s: Socket, data: Uint8Array, name: number, nameLen: number, control: number, controlLen: number, flags: number): SysResult {
  let dest: Uint8Array | null = null;
  if (name && nameLen !== 0) {
    const sa = readSockaddr(t, name, nameLen);
    if (typeof sa === 'number') return sa;
    dest = sa;
  }
  const ctl = control ? parseControl(t, control, controlLen) : { rights: null, creds: null };
  if (typeof ctl === 'number') return ctl;
  return s.sendmsg(t, data, dest, ctl, flags);
}

function sysSendto(t: Task, s: Socket, a: SyscallArgs): SysResult {
  const buf = a.u64(1), len = a.u64(2);
  const data = len === 0 ? new Uint8Array(0) : t.mm.read(buf, Math.min(len, MAX_RW));
  if (!data) return -EFAULT;
  return sendCommon(t, s, data, a.u64(4), a.int(5), 0, 0, a.uint(3));
}

/** A msghdr and its iovecs, read from user memory. */
function readMsghdr(t: Task, msgAddr: number): { m: ReturnType<typeof Msghdr.decode>; iovs: IoVec[] } | number {
  const raw = t.mm.read(msgAddr, Msghdr.size);
  if (!raw) return -EFAULT;
  const m = Msghdr.decode(raw);
  if (m.msg_iovlen > UIO_MAXIOV) return -EMSGSIZE;
  const iovs = readIovecs(t, m.msg_iov, m.msg_iovlen);
  return typeof iovs === 'number' ? iovs : { m, iovs };
}

/** sendmsg of the msghdr at msgAddr (also one step of sendmmsg). */
function sendmsgAt(t: Task, s: Socket, msgAddr: number, flags: number): SysResult {
  const msg = readMsghdr(t, msgAddr);
  if (typeof msg === 'number') return msg;
  const data = gather(t, msg.iovs);
  if (typeof data === 'number') return data;
  const { m } = msg;
  return sendCommon(t, s, data, m.msg_name, m.msg_namelen | 0, m.msg_control, m.msg_controllen, flags);
}

function sysSendmsg(t: Task, s: Socket, a: SyscallArgs): SysResult {
  return sendmsgAt(t, s, a.u64(1), a.uint(2));
}

/**
 * sendmmsg/recvmmsg: op on each mmsghdr in turn, storing its result in
 * msg_len; stops at the first error, which is returned only if nothing was
 * done. The flags of messages after the first come from later(flags).
 */
function eachMessage(t: Task, vec: number, vlen: number, flags: number, later: (f: number) => number,
  op: (msgAddr: number, flags: number, index: number) => SysResult): SysResult {
  const n = Math.min(vlen, UIO_MAXIOV);
  const step = (i: number): SysResult => {
    if (i >= n) return i;
    const at = vec + i * Mmsghdr.size;
    return andThen(op(at, i === 0 ? flags : later(flags), i), (r) => {
      if (r < 0) return i > 0 ? i : r;
      if (!t.mm.writeU32(at + Mmsghdr.offset('msg_len'), r)) return i > 0 ? i : -EFAULT;
      return step(i + 1);
    });
  };
  return step(0);
}

function sysSendmmsg(t: Task, s: Socket, a: SyscallArgs): SysResult {
  return eachMessage(t, a.u64(1), a.uint(2), a.uint(3), (f) => f, (at, f) => sendmsgAt(t, s, at, f));
}

/** What recvfrom and recvmsg return: the datagram's whole length with MSG_TRUNC, else the bytes received. */
function recvResult(s: Socket, r: Received, flags: number): number {
  return (flags & MSG_TRUNC) !== 0 && s.type !== SOCK_STREAM ? r.fullLength : r.data.length;
}

/** Stores the sender's address where recvfrom/recvmsg were given room: none (length 0) when unnamed. */
function putFrom(t: Task, addr: number, lenAddr: number, from: Uint8Array | null): number {
  if (!addr || !lenAddr) return 0;
  if (from) return writeSockaddr(t, addr, lenAddr, from);
  const len = t.mm.readU32(lenAddr);
  if (len === null) return -EFAULT;
  if ((len | 0) < 0) return -EINVAL;
  return t.mm.writeU32(lenAddr, 0) ? 0 : -EFAULT;
}

function sysRecvfrom(t: Task, s: Socket, a: SyscallArgs): SysResult {
  const buf = a.u64(1), len = a.u64(2), flags = a.uint(3), addr = a.u64(4), lenAddr = a.u64(5);
  return andThen(s.recvmsg(t, Math.min(len, MAX_RW), flags & ~MSG_CMSG_CLOEXEC), (r) => {
    if (typeof r === 'number') return r;
    for (const f of r.rights ?? []) f.decRef();
    if (r.data.length > 0 && !t.mm.write(buf, r.data)) return -EFAULT;
    const e = putFrom(t, addr, lenAddr, r.from);
    return e < 0 ? e : recvResult(s, r, flags);
  });
}

/** Builds recvmsg's control messages (put_cmsg, scm_detach_fds), installing received descriptions. */
function buildControl(t: Task, r: Received, s: Socket, room: number, cloexec: boolean): { bytes: Uint8Array; flags: number } {
  const out = new Uint8Array(Math.min(Math.max(room, 0), CONTROL_OUT_MAX));
  let used = 0, flags = 0;
  const put = (type: number, data: Uint8Array) => {
    const left = room - used;
    if (left < Cmsghdr.size) { flags |= MSG_CTRUNC; return; }
    let cmlen = cmsgLen(data.length);
    if (left < cmlen) { flags |= MSG_CTRUNC; cmlen = left; }
    Cmsghdr.encodeInto(out, used, { cmsg_len: cmlen, cmsg_level: SOL_SOCKET, cmsg_type: type });
    out.set(data.subarray(0, cmlen - Cmsghdr.size), used + Cmsghdr.size);
    used += Math.min(cmsgSpace(data.length), left);
  };
  if (s instanceof UnixSocket && s.passcred && r.creds) put(SCM_CREDENTIALS, Ucred.encode(r.creds));
  if (r.rights) {
    const left = room - used;
    const fdmax = Math.min(left > Cmsghdr.size ? Math.floor((left - Cmsghdr.size) / 4) : 0, r.rights.length);
    const fds: number[] = [];
    for (let i = 0; i < fdmax; i++) {
      const fd = t.fds.install(r.rights[i]!, cloexec);
      if (fd < 0) break;
      fds.push(fd);
    }
    for (const f of r.rights.slice(fds.length)) f.decRef();
    if (fds.length > 0) {
      Cmsghdr.encodeInto(out, used, { cmsg_len: cmsgLen(4 * fds.length), cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS });
      const dv = new DataView(out.buffer);
      fds.forEach((fd, i) => dv.setInt32(used + Cmsghdr.size + 4 * i, fd, true));
      used += Math.min(cmsgSpace(4 * fds.length), left);
    }
    if (fds.length < r.rights.length) flags |= MSG_CTRUNC;
  }
  return { bytes: out.subarray(0, used), flags };
}

/** recvmsg into the msghdr at msgAddr (also one step of recvmmsg). */
function recvmsgAt(t: Task, s: Socket, msgAddr: number, flags: number): SysResult {
  const msg = readMsghdr(t, msgAddr);
  if (typeof msg === 'number') return msg;
  return andThen(s.recvmsg(t, Math.min(totalLen(msg.iovs), MAX_RW), flags & ~(MSG_CMSG_CLOEXEC | MSG_WAITFORONE)),
    (r) => finishRecvmsg(t, s, r, msgAddr, msg.m, msg.iovs, flags));
}

function sysRecvmsg(t: Task, s: Socket, a: SyscallArgs): SysResult {
  return recvmsgAt(t, s, a.u64(1), a.uint(2));
}

function sysRecvmmsg(t: Task, s: Socket, a: SyscallArgs): SysResult {
  // A timeout is checked between messages, as Linux does; MSG_WAITFORONE makes all but the first non-blocking.
  let deadline: bigint | null = null;
  const ts = a.u64(4);
  if (ts) {
    const raw = t.mm.read(ts, Timespec.size);
    if (!raw) return -EFAULT;
    const v = Timespec.decodeBig(raw);
    if (v.tv_sec < 0n || v.tv_nsec < 0n || v.tv_nsec >= 1_000_000_000n) return -EINVAL;
    deadline = t.kernel.monotonicNs() + v.tv_sec * 1_000_000_000n + v.tv_nsec;
  }
  const later = (f: number) => (f & MSG_WAITFORONE ? f | MSG_DONTWAIT : f);
  return eachMessage(t, a.u64(1), a.uint(2), a.uint(3), later, (at, f, i) =>
    (i > 0 && deadline !== null && t.kernel.monotonicNs() >= deadline ? -EAGAIN : recvmsgAt(t, s, at, f)));
}

function finishRecvmsg(
  t: Task, s: Socket, r: Received | number, msgAddr: number,
  m: Record<'msg_name' | 'msg_namelen' | 'msg_control' | 'msg_controllen', number>, iovs: IoVec[], flags: number,
): number {
  if (typeof r === 'number') return r;
  const n = scatter(t, iovs, r.data);
  if (n < 0) { for (const f of r.rights ?? []) f.decRef(); return n; }
  const room = m.msg_control ? Math.min(m.msg_controllen, 0x7fffffff) : 0;
  const ctl = buildControl(t, r, s, room, (flags & MSG_CMSG_CLOEXEC) !== 0);
  if (ctl.bytes.length > 0 && !t.mm.write(m.msg_control, ctl.bytes)) return -EFAULT;
  const back: Partial<Record<'msg_namelen' | 'msg_controllen' | 'msg_flags', number>> = {
    msg_controllen: ctl.bytes.length,
    msg_flags: (flags & MSG_CMSG_CLOEXEC) | r.msgFlags | ctl.flags,
  };
  if (m.msg_name) {
    const from = r.from ?? new Uint8Array(0);
    const len = Math.min(Math.max(m.msg_namelen | 0, 0), from.length);
    if (len > 0 && !t.mm.write(m.msg_name, from.subarray(0, len))) return -EFAULT;
    back.msg_namelen = from.length;
  }
  const out = t.mm.read(msgAddr, Msghdr.size);
  if (!out) return -EFAULT;
  Msghdr.encodeInto(out, 0, back);
  if (!t.mm.write(msgAddr, out)) return -EFAULT;
  return recvResult(s, r, flags);
}

function sysShutdown(t: Task, s: Socket, a: SyscallArgs): SysResult {
  const how = a.int(1);
  if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
  return s.shutdown(how);
}

// ---- options ----

function sysGetsockopt(t: Task, s: Socket, a: SyscallArgs): SysResult {
  const val = a.u64(3), lenAddr = a.u64(4);
  const len = t.mm.readU32(lenAddr);
  if (len === null) return -EFAULT;
  if ((len | 0) < 0) return -EINVAL;
  const v = s.getsockopt(t, a.int(1), a.int(2));
  if (typeof v === 'number') return v;
  const n = Math.min(len, v.length);
  if (n > 0 && !t.mm.write(val, v.subarray(0, n))) return -EFAULT;
  return t.mm.writeU32(lenAddr, n) ? 0 : -EFAULT;
}

function sysSetsockopt(t: Task, s: Socket, a: SyscallArgs): SysResult {
  const val = a.u64(3), len = a.int(4);
  if (len < 0) return -EINVAL;
  const bytes = len === 0 ? new Uint8Array(0) : t.mm.read(val, Math.min(len, OPTVAL_MAX));
  if (!bytes) return -EFAULT;
  return s.setsockopt(t, a.int(1), a.int(2), bytes);
}

const FAMILIES = 'AF_UNIX, AF_INET/AF_INET6 (TCP and UDP on the Sentry\'s loopback, or the host\'s stack with --network=host) and AF_NETLINK (NETLINK_ROUTE)';

export const socketRows: SyscallRow[] = [
  {
    nr: SYS.socket, name: 'socket', handler: sysSocket, args: ['int', 'hex', 'int'], support: 'partial',
    note: `${FAMILIES}, with SOCK_NONBLOCK/SOCK_CLOEXEC. Raw and packet sockets are ESOCKTNOSUPPORT (there is no network ` +
      'but lo); other families EAFNOSUPPORT.',
  },
  {
    nr: SYS.socketpair, name: 'socketpair', handler: sysSocketpair, args: ['int', 'hex', 'int', 'ptr'], support: 'full',
    note: 'AF_UNIX SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET with SOCK_NONBLOCK/SOCK_CLOEXEC; AF_INET/AF_INET6 EOPNOTSUPP.',
  },
  {
    nr: SYS.bind, name: 'bind', handler: onSocket(sysBind), args: ['fd', 'ptr', 'int'], support: 'full',
    note: 'AF_UNIX paths (a socket file in the VFS), abstract names and autobind; 127.0.0.0/8, ::1 and the wildcards ' +
      '(EADDRNOTAVAIL otherwise) with SO_REUSEADDR/SO_REUSEPORT and ephemeral ports; netlink port ids.',
  },
  {
    nr: SYS.listen, name: 'listen', handler: onSocket(sysListen), args: ['fd', 'int'], support: 'full',
    note: 'AF_UNIX stream/seqpacket and TCP; the backlog bounds connections waiting for accept (backlog + 1, as Linux).',
  },
  {
    nr: SYS.connect, name: 'connect', handler: onSocket(sysConnect), args: ['fd', 'ptr', 'int'], support: 'full',
    note: 'Blocking and non-blocking (TCP: EINPROGRESS, then POLLOUT and SO_ERROR). Destinations off lo are ENETUNREACH.',
  },
  {
    nr: SYS.accept, name: 'accept', handler: (t, a) => doAccept(t, a, 0), args: ['fd', 'ptr', 'ptr'], support: 'full',
  },
  {
    nr: SYS.accept4, name: 'accept4', handler: (t, a) => doAccept(t, a, a.int(3)), args: ['fd', 'ptr', 'ptr', 'hex'],
    support: 'full', note: 'SOCK_NONBLOCK, SOCK_CLOEXEC.',
  },
  {
    nr: SYS.sendto, name: 'sendto', handler: onSocket(sysSendto), args: ['fd', 'buf', 'size', 'hex', 'ptr', 'int'], support: 'partial',
    note: 'MSG_DONTWAIT, MSG_NOSIGNAL; MSG_OOB is EOPNOTSUPP.',
  },
  {
    nr: SYS.recvfrom, name: 'recvfrom', handler: onSocket(sysRecvfrom), args: ['fd', 'ptr', 'size', 'hex', 'ptr', 'ptr'], support: 'partial',
    note: 'MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC; no peek offsets (SO_PEEK_OFF), no MSG_OOB.',
  },
  {
    nr: SYS.sendmsg, name: 'sendmsg', handler: onSocket(sysSendmsg), args: ['fd', 'ptr', 'hex'], support: 'partial',
    note: 'SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX (EINVAL elsewhere); descriptions in flight in a reference cycle are not garbage-collected.',
  },
  {
    nr: SYS.recvmsg, name: 'recvmsg', handler: onSocket(sysRecvmsg), args: ['fd', 'ptr', 'hex'], support: 'partial',
    note: 'SCM_RIGHTS (MSG_CMSG_CLOEXEC, MSG_CTRUNC), SCM_CREDENTIALS with SO_PASSCRED; the sender\'s address in msg_name.',
  },
  {
    nr: SYS.sendmmsg, name: 'sendmmsg', handler: onSocket(sysSendmmsg), args: ['fd', 'ptr', 'int', 'hex'], support: 'full',
    note: 'sendmsg on each message (at most UIO_MAXIOV); stops at the first error.',
  },
  {
    nr: SYS.recvmmsg, name: 'recvmmsg', handler: onSocket(sysRecvmmsg), args: ['fd', 'ptr', 'int', 'hex', 'ptr'], support: 'full',
    note: 'recvmsg on each message, MSG_WAITFORONE; the timeout is checked between messages, as on Linux.',
  },
  {
    nr: SYS.shutdown, name: 'shutdown', handler: onSocket(sysShutdown), args: ['fd', 'int'], support: 'full',
  },
  {
    nr: SYS.getsockopt, name: 'getsockopt', handler: onSocket(sysGetsockopt), args: ['fd', 'int', 'int', 'ptr', 'ptr'], support: 'partial',
    note: 'SOL_SOCKET: SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_ACCEPTCONN, SO_REUSEADDR, ' +
      'SO_REUSEPORT, SO_PEERCRED, SO_PASSCRED, SO_RCVTIMEO, SO_SNDTIMEO and the stored-only SO_KEEPALIVE, SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE, ' +
      'SO_PRIORITY; SOL_TCP: TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEP*, TCP_QUICKACK, TCP_USER_TIMEOUT, TCP_DEFER_ACCEPT (stored); ' +
      'SOL_IP: IP_TOS, IP_TTL; SOL_IPV6: IPV6_V6ONLY, IPV6_UNICAST_HOPS; SOL_NETLINK options (stored). Others ENOPROTOOPT.',
  },
  {
    nr: SYS.setsockopt, name: 'setsockopt', handler: onSocket(sysSetsockopt), args: ['fd', 'int', 'int', 'ptr', 'int'], support: 'partial',
    note: 'The options listed under getsockopt; SO_SNDBUF/SO_RCVBUF are doubled and clamped as Linux (SO_SNDBUF bounds ' +
      'what may be in flight); SO_RCVTIMEO/SO_SNDTIMEO bound blocking receives, accepts and sends (EAGAIN), kept to the ' +
      'nanosecond rather than rounded to jiffies.',
  },
  {
    nr: SYS.getsockname, name: 'getsockname', handler: onSocket(sysGetsockname), args: ['fd', 'ptr', 'ptr'], support: 'full',
  },
  {
    nr: SYS.getpeername, name: 'getpeername', handler: onSocket(sysGetpeername), args: ['fd', 'ptr', 'ptr'], support: 'full',
  },
];
