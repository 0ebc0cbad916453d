// The sandbox's control socket: a SOCK_SEQPACKET Unix socket in the
// container's state directory (runsc/container.ts controlAddress), bound by
// `create` and passed to the confined sandbox as a listening fd. Each
// request is one message, a JSON object with an "op", possibly carrying fds
// (SCM_RIGHTS: `exec` sends the new process's stdio); each answer is one
// message, {"ok":true,…} or {"ok":false,"error":"…"}. A connection may stay
// open after its answer (an exec's, until the process exits: its last
// message is {"exit":STATUS}; and hanging up kills that process).
//
// The sandbox's main thread is often inside the Kernel's loop, blocked in
// waitpid on the workload's stubs, not in Node's event loop. So a watcher
// thread (runsc/control_worker.ts) polls the listening socket and the open
// connections; when one is ready it posts a message to the main thread and,
// while the Kernel runs, rings its doorbell (Kernel.externalWakeup) so the
// loop yields to Node at once. The main thread then serves every ready
// socket and acknowledges; the watcher polls again only after that, so a
// ready socket wakes the loop once, and nothing polls on a timer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as unix from '../src/ffi/unix';
import { EAGAIN, EINTR } from '../src/abi/errno';
import { OciError } from './container';

/** Layout of the Int32Array the main thread shares with the watcher. */
export const SHARED = { ack: 0, doorbellTid: 1, wake: 2, count: 3, doorbellSignal: 4, fds: 5, slots: 64 } as const;
/** The watcher's first message: it is loaded. */
export const UP = 'up';
/** How long a client may take to send its request once connected. */
const REQUEST_TIMEOUT_MS = 5_000;
const POLLIN = 1;

export type Request = { op: string } & Record<string, unknown>;
export type Answer = Record<string, unknown>;

/** One accepted connection. */
export class Connection {
  private onMessage: ((req: Request, fds: number[]) => void) | null = null;
  private onClose: (() => void) | null = null;
  closed = false;

  constructor(readonly fd: number, private readonly server: ControlServer) {}

  send(msg: Answer): void {
    if (!this.closed) unix.sendMsg(this.fd, Buffer.from(JSON.stringify(msg)));
  }

  /** Keeps the connection open after the answer: later messages and the hangup go to these. */
  keep(onMessage: (req: Request, fds: number[]) => void, onClose: () => void): void {
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.server.watch(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.unwatch(this);
    unix.close(this.fd);
  }

  /** The peer sent a message or hung up. */
  readable(): void {
    const m = unix.recvMsg(this.fd);
    if (!m || m.data.length === 0) {
      if (m === null && (unix.errno() === EAGAIN || unix.errno() === EINTR)) return;
      const onClose = this.onClose;
      this.close();
      onClose?.();
      return;
    }
    const req = parseRequest(m.data);
    if (req) this.onMessage?.(req, m.fds);
    else for (const f of m.fds) unix.close(f);
  }
}

function parseRequest(data: Uint8Array): Request | null {
  try {
    const r = JSON.parse(Buffer.from(data).toString()) as unknown;
    return r !== null && typeof r === 'object' && typeof (r as Request).op === 'string' ? r as Request : null;
  } catch {
    return null;
  }
}

/**
 * Serves the control socket. handle answers a request (synchronously, or
 * later through conn); it must close the fds it does not keep.
 */
export class ControlServer {
  private readonly listenFd: number;
  private readonly watched = new Map<number, Connection>();
  private readonly shared = new Int32Array(new SharedArrayBuffer(4 * (SHARED.fds + SHARED.slots)));
  private readonly worker: Worker;

  /** Resolves once the watcher thread has loaded everything it needs (the Sentry may then be confined). */
  readonly up: Promise<void>;

  /** Serves listenFd, a listening socket (listenControl's, which `create` passes to the sandbox). */
  constructor(listenFd: number, private readonly handle: (req: Request, fds: number[], conn: Connection) => void) {
    this.listenFd = listenFd;
    this.worker = new Worker(path.join(__dirname, 'control-worker.js'), { workerData: { listenFd, shared: this.shared } });
    this.up = new Promise((resolve) => {
      this.worker.on('message', (m) => { if (m === UP) resolve(); else this.serve(); });
    });
    this.worker.on('error', (e) => { throw e; });
  }

  /** From now on, readiness also rings the Kernel's doorbell (see Kernel.externalWakeup). */
  wakeKernel(ring: (cell: Int32Array) => { tid: number; signal: number }): void {
    const bell = ring(new Int32Array(this.shared.buffer, 4 * SHARED.wake, 1));
    Atomics.store(this.shared, SHARED.doorbellSignal, bell.signal);
    Atomics.store(this.shared, SHARED.doorbellTid, bell.tid);
  }

  watch(c: Connection): void {
    this.watched.set(c.fd, c);
  }

  unwatch(c: Connection): void {
    this.watched.delete(c.fd);
  }

  /** Serves what is ready: new connections (one request each) and watched ones; then lets the watcher poll again. */
  private serve(): void {
    for (;;) {
      const fd = unix.accept4(this.listenFd, null, null, unix.SOCK_CLOEXEC);
      if (fd < 0) break;
      const conn = new Connection(fd, this);
      unix.setTimeouts(fd, REQUEST_TIMEOUT_MS);
      const m = unix.recvMsg(fd);
      const req = m && m.data.length ? parseRequest(m.data) : null;
      if (!req) {
        for (const f of m?.fds ?? []) unix.close(f);
        conn.close();
        continue;
      }
      unix.setTimeouts(fd, 0);
      try {
        this.handle(req, m!.fds, conn);
      } catch (e) {
        conn.send({ ok: false, error: (e as Error).message });
        conn.close();
      }
    }
    if (this.watched.size) {
      const conns = [...this.watched.values()];
      const pfds = new Uint8Array(8 * conns.length);
      const dv = new DataView(pfds.buffer);
      conns.forEach((c, i) => { dv.setInt32(8 * i, c.fd, true); dv.setInt16(8 * i + 4, POLLIN, true); });
      if (unix.poll(pfds, conns.length, 0) > 0) {
        conns.forEach((c, i) => { if (dv.getInt16(8 * i + 6, true) !== 0) c.readable(); });
      }
    }
    const fds = [...this.watched.keys()].slice(0, SHARED.slots);
    fds.forEach((f, i) => { this.shared[SHARED.fds + i] = f; });
    Atomics.store(this.shared, SHARED.count, fds.length);
    Atomics.store(this.shared, SHARED.ack, 1);
    Atomics.notify(this.shared, SHARED.ack);
  }
}

/** A non-blocking listening control socket bound at address (a path, replaced if there, or an abstract name). */
export function listenControl(address: string): number {
  if (!address.startsWith('\0')) fs.rmSync(address, { force: true });
  const fd = unix.socket(unix.SOCK_SEQPACKET | unix.SOCK_NONBLOCK);
  if (fd < 0 || unix.bind(fd, address) < 0 || unix.listen(fd, 64) < 0) {
    const e = unix.errno();
    if (fd >= 0) unix.close(fd);
    throw new Error(`control socket ${address.replace('\0', '@')}: errno ${e}`);
  }
  return fd;
}

/** A client connection to a sandbox's control socket (synchronous: the CLI has nothing else to do). */
export class ControlClient {
  private constructor(readonly fd: number) {}

  /** Connects and sends req (with fds); throws "container not running" if nobody listens. */
  static request(address: string, req: Request, fds: number[] = []): ControlClient {
    const fd = unix.socket(unix.SOCK_SEQPACKET);
    if (fd < 0) throw new Error(`socket: errno ${unix.errno()}`);
    if (unix.connect(fd, address) < 0) {
      unix.close(fd);
      throw new OciError('container not running');
    }
    if (unix.sendMsg(fd, Buffer.from(JSON.stringify(req)), fds) < 0) {
      unix.close(fd);
      throw new OciError(`cannot send to the sandbox: errno ${unix.errno()}`);
    }
    return new ControlClient(fd);
  }

  /** The next message, or null once the sandbox hung up (or timeoutMs passed; 0: wait forever). */
  next(timeoutMs = 0): Answer | null {
    unix.setTimeouts(this.fd, timeoutMs);
    for (;;) {
      const m = unix.recvMsg(this.fd);
      if (m === null && unix.errno() === EINTR) continue;
      if (!m || m.data.length === 0) return null;
      return JSON.parse(Buffer.from(m.data).toString()) as Answer;
    }
  }

  /** The answer to the request: throws its error, or "container not running" if none came. */
  answer(timeoutMs = 30_000): Answer {
    const a = this.next(timeoutMs);
    if (!a) throw new OciError('container not running');
    if (a['ok'] !== true) throw new OciError(String(a['error'] ?? 'the sandbox refused'));
    return a;
  }

  send(msg: Request): void {
    unix.sendMsg(this.fd, Buffer.from(JSON.stringify(msg)));
  }

  close(): void {
    unix.close(this.fd);
  }
}

/** One request, one answer. */
export function control(address: string, req: Request, timeoutMs = 30_000): Answer {
  const c = ControlClient.request(address, req);
  try {
    return c.answer(timeoutMs);
  } finally {
    c.close();
  }
}
