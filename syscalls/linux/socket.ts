// Socket syscalls over sentry/vfs/unix.ts: socketpair(AF_UNIX) and, on those
// sockets, sendto/recvfrom/sendmsg/recvmsg with SCM_RIGHTS and
// SCM_CREDENTIALS, shutdown, getsockopt/setsockopt (SOL_SOCKET),
// getsockname/getpeername. socket(2) itself has no address family yet.
import {
  EAFNOSUPPORT, EBADF, EFAULT, EINVAL, EISCONN, EMSGSIZE, ENOENT, ENOPROTOOPT, ENOTCONN, ENOTSOCK, EOPNOTSUPP,
  EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT,
} from '../../src/abi/errno';
import {
  AF_UNIX, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_TRUNC, SCM_CREDENTIALS, SCM_MAX_FD, SCM_RIGHTS, SHUT_RD,
  SHUT_RDWR, SO_ACCEPTCONN, SO_BROADCAST, SO_DOMAIN, SO_DONTROUTE, SO_ERROR, SO_KEEPALIVE, SO_OOBINLINE,
  SO_PASSCRED, SO_PEERCRED, SO_PRIORITY, SO_PROTOCOL, SO_RCVBUF, SO_RCVBUFFORCE, SO_REUSEADDR, SO_SNDBUF,
  SO_SNDBUFFORCE, SO_TYPE, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM,
  SOCK_TYPE_MASK, SOL_SOCKET, UIO_MAXIOV,
} from '../../src/abi/linux';
import { Cmsghdr, cmsgAlign, cmsgLen, cmsgSpace, Msghdr, SockaddrUn, Ucred } from '../../src/abi/layout';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import type { FileDescription } from '../../sentry/vfs/file';
import { credsOf, newSocketPair, UnixSocket, type Creds, type Received } from '../../sentry/vfs/unix';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { andThen, fileOf, gather, readIovecs, scatter, totalLen, type IoVec } from './fs_util';

/** The socket fd refers to, or -EBADF / -ENOTSOCK. */
function sockOf(t: Task, fd: number): UnixSocket | number {
  const f = fileOf(t, fd);
  if (!f) return -EBADF;
  return f instanceof UnixSocket ? f : -ENOTSOCK;
}

/** Validates socket(2)/socketpair(2) arguments: the socket type, or -errno. */
function checkType(domain: number, type: number, protocol: number): number {
  if ((type & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) return -EINVAL;
  if (domain !== AF_UNIX) return -EAFNOSUPPORT;
  if (protocol !== 0 && protocol !== AF_UNIX) return -EPROTONOSUPPORT;
  const base = type & SOCK_TYPE_MASK;
  if (base === SOCK_RAW) return SOCK_DGRAM; // as unix_create does
  if (base !== SOCK_STREAM && base !== SOCK_DGRAM && base !== SOCK_SEQPACKET) return -ESOCKTNOSUPPORT;
  return base;
}

function sysSocket(t: Task, a: SyscallArgs): SysResult {
  const r = checkType(a.int(0), a.int(1), a.int(2));
  // Unconnected AF_UNIX sockets need named addresses (bind/connect), which are not implemented.
  return r < 0 ? r : -EAFNOSUPPORT;
}

function sysSocketpair(t: Task, a: SyscallArgs): SysResult {
  const type = a.int(1), svAddr = a.u64(3);
  const base = checkType(a.int(0), type, a.int(2));
  if (base < 0) return base;
  const [s0, s1] = newSocketPair(base, (type & SOCK_NONBLOCK) !== 0, credsOf(t));
  const cloexec = (type & SOCK_CLOEXEC) !== 0;
  const fd0 = t.fds.install(s0, cloexec);
  if (fd0 < 0) { s0.decRef(); s1.decRef(); return fd0; }
  const fd1 = t.fds.install(s1, cloexec);
  if (fd1 < 0) { t.fds.close(fd0); s1.decRef(); return fd1; }
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, fd0, true);
  dv.setInt32(4, fd1, true);
  if (!t.mm.write(svAddr, out)) { t.fds.close(fd0); t.fds.close(fd1); return -EFAULT; }
  return 0;
}

/** A destination address on a connected socket: stream refuses it, seqpacket ignores it, datagram cannot reach a named socket. */
function checkDest(s: UnixSocket, nameAddr: number, nameLen: number): number {
  if (!nameAddr || nameLen === 0) return 0;
  if (s.type === SOCK_STREAM) return -EISCONN;
  if (s.type === SOCK_SEQPACKET) return 0;
  return nameLen < 2 || nameLen > SockaddrUn.size ? -EINVAL : -ENOENT;
}

function sysSendto(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  const buf = a.u64(1), len = a.u64(2), flags = a.uint(3);
  const e = checkDest(s, a.u64(4), a.uint(5));
  if (e < 0) return e;
  const data = len === 0 ? new Uint8Array(0) : t.mm.read(buf, len);
  if (!data) return -EFAULT;
  return s.send(t, data, null, credsOf(t), flags);
}

/** Parses sendmsg's control messages: descriptions to pass (with a reference each) and credentials. */
function parseControl(t: Task, addr: number, len: number): { rights: FileDescription[] | null; creds: Creds | null } | number {
  if (len < Cmsghdr.size) return { rights: null, creds: null };
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

function sysSendmsg(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  const msgAddr = a.u64(1), flags = a.uint(2);
  const raw = t.mm.read(msgAddr, Msghdr.size);
  if (!raw) return -EFAULT;
  const m = Msghdr.decode(raw);
  if (m.msg_iovlen > UIO_MAXIOV) return -EMSGSIZE;
  const iovs = readIovecs(t, m.msg_iov, m.msg_iovlen);
  if (typeof iovs === 'number') return iovs;
  const e = checkDest(s, m.msg_name, m.msg_namelen);
  if (e < 0) return e;
  const data = gather(t, iovs);
  if (typeof data === 'number') return data;
  const ctl = parseControl(t, m.msg_control, m.msg_controllen);
  if (typeof ctl === 'number') return ctl;
  return s.send(t, data, ctl.rights, ctl.creds ?? { pid: t.pid, uid: t.creds.uid, gid: t.creds.gid }, flags);
}

/** Writes an empty (unnamed) peer address length where recvfrom/recvmsg were given room for one. */
function putNoAddr(t: Task, lenAddr: number): number {
  if (!lenAddr) return 0;
  const len = t.mm.readU32(lenAddr);
  if (len === null) return -EFAULT;
  if ((len | 0) < 0) return -EINVAL;
  return t.mm.writeU32(lenAddr, 0) ? 0 : -EFAULT;
}

function sysRecvfrom(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  const buf = a.u64(1), len = a.u64(2), flags = a.uint(3), addr = a.u64(4), lenAddr = a.u64(5);
  return andThen(s.recv(t, Math.min(len, 0x7ffff000), flags & ~MSG_CMSG_CLOEXEC), (r) => {
    if (typeof r === 'number') return r;
    for (const f of r.rights ?? []) f.decRef();
    if (r.data.length > 0 && !t.mm.write(buf, r.data)) return -EFAULT;
    if (addr) {
      const e = putNoAddr(t, lenAddr);
      if (e < 0) return e;
    }
    return (flags & MSG_TRUNC) !== 0 && s.type !== SOCK_STREAM ? r.fullLength : r.data.length;
  });
}

/** Builds recvmsg's control messages (put_cmsg, scm_detach_fds), installing received descriptions. */
function buildControl(t: Task, r: Received, s: UnixSocket, room: number, cloexec: boolean): { bytes: Uint8Array; flags: number } {
  const out = new Uint8Array(Math.max(room, 0));
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
  if (s.passcred && r.creds) put(SCM_CREDENTIALS, Ucred.encode(r.creds));
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

function sysRecvmsg(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  const msgAddr = a.u64(1), flags = a.uint(2);
  const raw = t.mm.read(msgAddr, Msghdr.size);
  if (!raw) return -EFAULT;
  const m = Msghdr.decode(raw);
  if (m.msg_iovlen > UIO_MAXIOV) return -EMSGSIZE;
  const iovs = readIovecs(t, m.msg_iov, m.msg_iovlen);
  if (typeof iovs === 'number') return iovs;
  return andThen(s.recv(t, totalLen(iovs), flags & ~MSG_CMSG_CLOEXEC), (r) => finishRecvmsg(t, s, r, msgAddr, m, iovs, flags));
}

function finishRecvmsg(
  t: Task, s: UnixSocket, r: Received | number, msgAddr: number, m: Record<'msg_name' | 'msg_control' | 'msg_controllen', number>,
  iovs: IoVec[], flags: number,
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
  if (m.msg_name) back.msg_namelen = 0;
  const out = t.mm.read(msgAddr, Msghdr.size);
  if (!out) return -EFAULT;
  Msghdr.encodeInto(out, 0, back);
  if (!t.mm.write(msgAddr, out)) return -EFAULT;
  return (flags & MSG_TRUNC) !== 0 && s.type !== SOCK_STREAM ? r.fullLength : r.data.length;
}

function sysShutdown(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  const how = a.int(1);
  if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
  s.shutdown(how + 1);
  return 0;
}

/** Copies an option value out: at most *optlen bytes, and the length used back to optlen. */
function putOpt(t: Task, val: number, lenAddr: number, bytes: Uint8Array): number {
  const len = t.mm.readU32(lenAddr);
  if (len === null) return -EFAULT;
  if ((len | 0) < 0) return -EINVAL;
  const n = Math.min(len, bytes.length);
  if (n > 0 && !t.mm.write(val, bytes.subarray(0, n))) return -EFAULT;
  return t.mm.writeU32(lenAddr, n) ? 0 : -EFAULT;
}

/** Boolean options that are stored and reported but change nothing for a Unix socket. */
const INERT_OPTS = new Set([SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE, SO_PRIORITY]);
const inertValues = new WeakMap<UnixSocket, Map<number, number>>();

function sysGetsockopt(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  const level = a.int(1), name = a.int(2), val = a.u64(3), lenAddr = a.u64(4);
  if (level !== SOL_SOCKET) return -EOPNOTSUPP;
  let v: number;
  switch (name) {
    case SO_PEERCRED: return putOpt(t, val, lenAddr, Ucred.encode(s.peerCred));
    case SO_TYPE: v = s.type; break;
    case SO_DOMAIN: v = AF_UNIX; break;
    case SO_PROTOCOL: v = 0; break;
    case SO_ERROR: v = s.err; s.err = 0; break;
    case SO_SNDBUF: v = s.sndbuf; break;
    case SO_RCVBUF: v = s.rcvbuf; break;
    case SO_PASSCRED: v = s.passcred ? 1 : 0; break;
    case SO_ACCEPTCONN: v = 0; break;
    default:
      if (!INERT_OPTS.has(name)) return -ENOPROTOOPT;
      v = inertValues.get(s)?.get(name) ?? 0;
  }
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return putOpt(t, val, lenAddr, b);
}

function sysSetsockopt(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  const level = a.int(1), name = a.int(2), val = a.u64(3), len = a.int(4);
  if (level !== SOL_SOCKET) return -EOPNOTSUPP;
  if (len < 4) return -EINVAL;
  const raw = t.mm.readU32(val);
  if (raw === null) return -EFAULT;
  const v = raw | 0;
  switch (name) {
    case SO_SNDBUF: case SO_SNDBUFFORCE: s.setBuf('snd', v < 0 ? 0 : v); return 0;
    case SO_RCVBUF: case SO_RCVBUFFORCE: s.setBuf('rcv', v < 0 ? 0 : v); return 0;
    case SO_PASSCRED: s.passcred = v !== 0; return 0;
    default: {
      if (!INERT_OPTS.has(name)) return -ENOPROTOOPT;
      let m = inertValues.get(s);
      if (!m) inertValues.set(s, (m = new Map()));
      m.set(name, name === SO_PRIORITY ? v : v !== 0 ? 1 : 0);
      return 0;
    }
  }
}

/** An unnamed AF_UNIX address: just the family (2 bytes), truncated to the caller's length. */
function putUnnamed(t: Task, addr: number, lenAddr: number): number {
  const len = t.mm.readU32(lenAddr);
  if (len === null) return -EFAULT;
  if ((len | 0) < 0) return -EINVAL;
  const sa = SockaddrUn.encode({ sun_family: AF_UNIX }).subarray(0, 2);
  const n = Math.min(len, sa.length);
  if (n > 0 && !t.mm.write(addr, sa.subarray(0, n))) return -EFAULT;
  return t.mm.writeU32(lenAddr, sa.length) ? 0 : -EFAULT;
}

function sysGetsockname(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  return putUnnamed(t, a.u64(1), a.u64(2));
}

function sysGetpeername(t: Task, a: SyscallArgs): SysResult {
  const s = sockOf(t, a.int(0));
  if (typeof s === 'number') return s;
  if (!s.peer) return -ENOTCONN;
  return putUnnamed(t, a.u64(1), a.u64(2));
}

const UNNAMED = 'Unix sockets from socketpair only (socket(2) has no address family yet).';

export const socketRows: SyscallRow[] = [
  {
    nr: SYS.socket, name: 'socket', handler: sysSocket, args: ['int', 'hex', 'int'], support: 'partial',
    note: 'Validates its arguments, then returns EAFNOSUPPORT for every family: named AF_UNIX sockets and ' +
      'AF_INET/AF_INET6/AF_NETLINK are not implemented. Use socketpair for AF_UNIX.',
  },
  {
    nr: SYS.socketpair, name: 'socketpair', handler: sysSocketpair, args: ['int', 'hex', 'int', 'ptr'], support: 'full',
    note: 'AF_UNIX SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET with SOCK_NONBLOCK/SOCK_CLOEXEC; other families EAFNOSUPPORT.',
  },
  {
    nr: SYS.sendto, name: 'sendto', handler: sysSendto, args: ['fd', 'buf', 'size', 'hex', 'ptr', 'int'], support: 'partial',
    note: `${UNNAMED} MSG_DONTWAIT, MSG_NOSIGNAL; MSG_OOB is EOPNOTSUPP; a datagram destination address is ENOENT (no named sockets).`,
  },
  {
    nr: SYS.recvfrom, name: 'recvfrom', handler: sysRecvfrom, args: ['fd', 'ptr', 'size', 'hex', 'ptr', 'ptr'], support: 'partial',
    note: `${UNNAMED} MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC; no peek offsets (SO_PEEK_OFF).`,
  },
  {
    nr: SYS.sendmsg, name: 'sendmsg', handler: sysSendmsg, args: ['fd', 'ptr', 'hex'], support: 'partial',
    note: `${UNNAMED} SCM_RIGHTS and SCM_CREDENTIALS; descriptions in flight in a reference cycle are not garbage-collected.`,
  },
  {
    nr: SYS.recvmsg, name: 'recvmsg', handler: sysRecvmsg, args: ['fd', 'ptr', 'hex'], support: 'partial',
    note: `${UNNAMED} SCM_RIGHTS (MSG_CMSG_CLOEXEC, MSG_CTRUNC), SCM_CREDENTIALS with SO_PASSCRED.`,
  },
  {
    nr: SYS.shutdown, name: 'shutdown', handler: sysShutdown, args: ['fd', 'int'], support: 'partial', note: UNNAMED,
  },
  {
    nr: SYS.getsockopt, name: 'getsockopt', handler: sysGetsockopt, args: ['fd', 'int', 'int', 'ptr', 'ptr'], support: 'partial',
    note: 'SOL_SOCKET: SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_PEERCRED, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, SO_ACCEPTCONN ' +
      'and the stored-only booleans SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE, SO_PRIORITY; ' +
      'others ENOPROTOOPT; other levels EOPNOTSUPP.',
  },
  {
    nr: SYS.setsockopt, name: 'setsockopt', handler: sysSetsockopt, args: ['fd', 'int', 'int', 'ptr', 'int'], support: 'partial',
    note: 'SOL_SOCKET: SO_SNDBUF/SO_RCVBUF (doubled and clamped as Linux; SO_SNDBUF bounds what may be in flight), SO_PASSCRED, ' +
      'the stored-only booleans listed under getsockopt; others ENOPROTOOPT (including SO_RCVTIMEO/SO_SNDTIMEO); other levels EOPNOTSUPP.',
  },
  {
    nr: SYS.getsockname, name: 'getsockname', handler: sysGetsockname, args: ['fd', 'ptr', 'ptr'], support: 'partial',
    note: 'Unnamed AF_UNIX address only.',
  },
  {
    nr: SYS.getpeername, name: 'getpeername', handler: sysGetpeername, args: ['fd', 'ptr', 'ptr'], support: 'partial',
    note: 'Unnamed AF_UNIX address only.',
  },
];
