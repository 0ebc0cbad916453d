// Gofer entry point (bundled to dist/gofer.js):
//
//   node dist/gofer.js --root DIR --fd N [--read-only] [--serve[-ro] M=DIR2]… [--no-confine] [--log FILE] [--log-format text|json] [--debug]
//
// Serves DIR over 9P2000.L on fd N, a connected blocking AF_UNIX
// SOCK_STREAM socket (one end of a socketpair made by the CLI), and each
// DIR2 of a --serve (--serve-ro: read-only) on its own socket M: one Gofer
// for all of a container's trees, as gVisor's. Requests are handled one at a
// time, synchronously. Exits 0 when the peers have closed every socket, 1 on
// a broken connection, a protocol desync or a failed confinement, 2 on bad
// arguments.
//
// By default the Gofer confines itself before serving (gofer/confine.ts: a
// mount namespace of its own, pivot_root into DIR, capabilities dropped,
// no_new_privs, seccomp), which needs root; it refuses to start if any step
// fails. `--no-confine` serves without that (path resolution stays
// fd-relative and never leaves DIR): it exists for tests that run the Gofer
// unprivileged and is never passed by runsc. `--confine-stage2=INO` is
// internal: the first stage re-executes itself with it (see confine.ts).
//
// The Gofer imports only src/ and Node builtins.
import * as fs from 'node:fs';
import { EINTR } from '../src/abi/errno';
import { POLLIN } from '../src/abi/linux';
import { GoferServer, MAX_MSIZE } from './server';
import { FrameReader, writeAll } from '../src/p9';
import { configureLog, log } from './log';
import { ConfineError, confineStage1, confineStage2 } from './confine';
import { dup2, close, errno, poll, sendWithFds } from '../src/ffi/libc';
import { traceEnd, traceMark, traceStart } from '../src/trace';

interface Tree { dir: string; fd: number; readOnly: boolean }

interface Args {
  trees: Tree[]; noConfine: boolean; stage2: bigint | undefined;
  logFile: string | undefined; logFormat: 'text' | 'json'; debug: boolean;
}

const fdNumber = (flag: string, v: string): number => {
  if (!/^\d+$/.test(v)) usage(`${flag} must be a file descriptor number, not ${JSON.stringify(v)}`);
  return Number(v);
};

function usage(why: string): never {
  process.stderr.write(`gofer: ${why}\nusage: gofer --root DIR --fd N [--read-only] [--serve[-ro] FD=DIR]... [--no-confine] [--log FILE] [--log-format text|json] [--debug]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  let root: string | undefined;
  let fd: number | undefined;
  let readOnly = false;
  let noConfine = false;
  let stage2: bigint | undefined;
  let logFile: string | undefined;
  let logFormat: 'text' | 'json' = 'json';
  let debug = false;
  const more: Tree[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--root': root = value(); break;
      case '--fd': fd = fdNumber(flag, value()); break;
      case '--read-only': readOnly = true; break;
      case '--serve':
      case '--serve-ro': {
        const v = value();
        const eq = v.indexOf('=');
        if (eq < 0) usage(`${flag} wants FD=DIR, not ${JSON.stringify(v)}`);
        more.push({ fd: fdNumber(flag, v.slice(0, eq)), dir: v.slice(eq + 1), readOnly: flag === '--serve-ro' });
        break;
      }
      case '--no-confine': noConfine = true; break;
      case '--confine-stage2': {
        const v = value();
        if (!/^\d+$/.test(v)) usage('--confine-stage2 is internal');
        stage2 = BigInt(v);
        break;
      }
      case '--log': logFile = value(); break;
      case '--log-format': {
        const v = value();
        if (v !== 'text' && v !== 'json') usage(`--log-format must be text or json, not ${JSON.stringify(v)}`);
        logFormat = v;
        break;
      }
      case '--debug': debug = true; break;
      default: usage(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  if (root === undefined) usage('--root is required');
  if (fd === undefined) usage('--fd is required');
  if (noConfine && stage2 !== undefined) usage('--no-confine and --confine-stage2 exclude each other');
  return { trees: [{ dir: root, fd, readOnly }, ...more], noConfine, stage2, logFile, logFormat, debug };
}

/**
 * Writes the replies held back (emptying `held`), then `reply` with `donated`
 * (if not -1) attached to its first byte. 0 or -errno.
 */
function send(sock: number, reply: Uint8Array, donated: number, held: Buffer[]): number {
  if (held.length > 0) {
    const all = Buffer.concat(donated < 0 ? [...held, reply] : held);
    held.length = 0;
    const e = writeAll(sock, all);
    if (e < 0 || donated < 0) return e;
  }
  if (donated < 0) return writeAll(sock, reply);
  let n: number;
  do n = sendWithFds(sock, reply, [donated]); while (n === -EINTR);
  if (n < 0) return n;
  return n < reply.length ? writeAll(sock, reply.subarray(n)) : 0;
}

/** One served tree: its socket, server and reader, and the replies held back to go out together. */
interface Conn { fd: number; server: GoferServer; reader: FrameReader; held: Buffer[] }

/**
 * Answers what conn's peer sent, blocking until at least one whole request
 * is in: null to go on, 0 when the peer closed its end, 1 on a broken connection.
 */
function serveSome(c: Conn): number | null {
  do {
    const frame = c.reader.next();
    if (frame === null) return 0; // the Sentry closed its end: done
    if (typeof frame === 'number') {
      log.error({ errno: -frame }, 'broken 9P connection');
      return 1;
    }
    const reply = c.server.handleFrame(frame);
    const donated = c.server.takeDonation();
    // Requests the client wrote together (Twalk + Tgetattr) get their replies
    // in one write: hold this one while the next request is already here.
    if (donated < 0 && c.reader.ready) { c.held.push(Buffer.from(reply)); continue; }
    const err = send(c.fd, reply, donated, c.held);
    if (err < 0) {
      log.error({ errno: -err }, 'cannot write a 9P reply');
      return 1;
    }
    if (c.server.msize > 0) c.reader.maxSize = c.server.msize;
  } while (c.reader.ready);
  return null;
}

/** Serves every connection until each peer has closed (0) or one breaks (1). */
function serveAll(conns: Conn[]): number {
  const open = new Set(conns);
  const fds = new Uint8Array(8 * conns.length); // struct pollfd {int fd; short events, revents}
  const dv = new DataView(fds.buffer);
  try {
    while (open.size > 0) {
      const live = [...open];
      let ready: Conn[] = live;
      // With one connection, the blocking read is the wait.
      if (live.length > 1) {
        live.forEach((c, i) => { dv.setInt32(8 * i, c.fd, true); dv.setInt16(8 * i + 4, POLLIN, true); dv.setInt16(8 * i + 6, 0, true); });
        if (poll(fds, live.length, -1) < 0) {
          if (errno() === EINTR) continue;
          log.error({ errno: errno() }, 'poll failed');
          return 1;
        }
        ready = live.filter((_, i) => dv.getInt16(8 * i + 6, true) !== 0);
      }
      for (const c of ready) {
        const r = serveSome(c);
        if (r === 1) return 1;
        if (r === 0) { open.delete(c); c.server.closeAll(); }
      }
    }
    return 0;
  } finally {
    for (const c of open) c.server.closeAll();
  }
}

function main(): number {
  traceStart('gofer');
  const args = parseArgs(process.argv.slice(2));
  try {
    configureLog({ file: args.logFile, format: args.logFormat, debug: args.debug });
  } catch (err) {
    usage(`cannot open the log: ${(err as Error).message}`);
  }
  for (const { fd } of args.trees) {
    try {
      if (!fs.fstatSync(fd).isSocket()) usage(`--fd ${fd} is not a socket`);
    } catch (err) {
      usage(`--fd ${fd} is not an open file descriptor (${(err as Error).message})`);
    }
  }
  let roots = args.trees.map((t) => t.dir);
  if (!args.noConfine) {
    // A confined Gofer's readiness is its client's to trace (the sandbox's gofers-attached).
    traceEnd('confining');
    try {
      if (args.stage2 === undefined) confineStage1(process.argv.slice(2), args.trees.map((t) => t.fd)); // re-executes itself; returns only by throwing
      // Nothing is opened by path after the pivot: open the log file now (it
      // becomes our stderr). The logging backend is bundled, so it needs no file.
      if (args.logFile !== undefined) {
        const fd = fs.openSync(args.logFile, 'a');
        dup2(fd, 2);
        close(fd);
        configureLog({ format: args.logFormat, debug: args.debug });
      }
      const c = confineStage2(args.trees, args.stage2);
      const where = args.trees.map((t) => t.dir).join(' ');
      log.debug({ root: where, how: c.how, readOnlyNote: c.readOnlyNote }, 'confined');
      if (c.how === 'chroot') log.warn({ root: where }, 'pivot_root impossible here: chrooted instead');
      if (c.readOnlyNote !== undefined) log.warn({ root: where }, c.readOnlyNote);
      roots = c.paths;
    } catch (err) {
      const why = err instanceof ConfineError ? err.message : String(err);
      process.stderr.write(`gofer: cannot confine the Gofer, refusing to serve: ${why}\n`);
      if (args.logFile !== undefined) log.error({ root: args.trees[0]!.dir }, `cannot confine: ${why}`);
      return 1;
    }
  }
  // Modes on the wire are final: the Sentry applies the workload's umask.
  process.umask(0);
  const conns: Conn[] = [];
  for (const [i, t] of args.trees.entries()) {
    try {
      const server = new GoferServer({ root: roots[i]!, readOnly: t.readOnly, onBug: (what, err) => log.error({ err }, what) });
      conns.push({ fd: t.fd, server, reader: new FrameReader(t.fd, MAX_MSIZE), held: [] });
    } catch (err) {
      log.error({ root: t.dir }, `cannot serve the root: ${(err as Error).message}`);
      for (const c of conns) c.server.closeAll();
      return 1;
    }
  }
  traceMark('serving');
  return serveAll(conns);
}

process.exitCode = main();
