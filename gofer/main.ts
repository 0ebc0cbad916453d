// Gofer entry point (bundled to dist/gofer.js):
//
//   node dist/gofer.js --root DIR --fd N [--read-only] [--no-confine] [--log FILE] [--log-format text|json] [--debug]
//
// Serves DIR over 9P2000.L on fd N, a connected blocking AF_UNIX
// SOCK_STREAM socket (one end of a socketpair made by the CLI). Requests are
// handled one at a time, synchronously. Exits 0 when the peer closes the
// socket, 1 on a broken connection, a protocol desync or a failed
// confinement, 2 on bad arguments.
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
import { GoferServer, MAX_MSIZE } from './server';
import { FrameReader, writeAll } from '../src/p9';
import { configureLog, log } from './log';
import { ConfineError, confineStage1, confineStage2 } from './confine';
import { dup2, close, sendWithFds } from '../src/ffi/libc';
import { traceEnd, traceMark, traceStart } from '../src/trace';

interface Args {
  root: string; fd: number; readOnly: boolean; noConfine: boolean; stage2: bigint | undefined;
  logFile: string | undefined; logFormat: 'text' | 'json'; debug: boolean;
}

function usage(why: string): never {
  process.stderr.write(`gofer: ${why}\nusage: gofer --root DIR --fd N [--read-only] [--no-confine] [--log FILE] [--log-format text|json] [--debug]\n`);
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
      case '--fd': {
        const v = value();
        if (!/^\d+$/.test(v)) usage(`--fd must be a file descriptor number, not ${JSON.stringify(v)}`);
        fd = Number(v);
        break;
      }
      case '--read-only': readOnly = true; break;
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
  return { root, fd, readOnly, noConfine, stage2, logFile, logFormat, debug };
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

function main(): number {
  traceStart('gofer');
  const args = parseArgs(process.argv.slice(2));
  try {
    configureLog({ file: args.logFile, format: args.logFormat, debug: args.debug });
  } catch (err) {
    usage(`cannot open the log: ${(err as Error).message}`);
  }
  try {
    if (!fs.fstatSync(args.fd).isSocket()) usage(`--fd ${args.fd} is not a socket`);
  } catch (err) {
    usage(`--fd ${args.fd} is not an open file descriptor (${(err as Error).message})`);
  }
  let root = args.root;
  if (!args.noConfine) {
    // A confined Gofer's readiness is its client's to trace (the sandbox's gofers-attached).
    traceEnd('confining');
    try {
      if (args.stage2 === undefined) confineStage1(process.argv.slice(2), args.fd); // re-executes itself; returns only by throwing
      // Nothing is opened by path after the pivot: open the log file now (it
      // becomes our stderr). The logging backend is bundled, so it needs no file.
      if (args.logFile !== undefined) {
        const fd = fs.openSync(args.logFile, 'a');
        dup2(fd, 2);
        close(fd);
        configureLog({ format: args.logFormat, debug: args.debug });
      }
      const c = confineStage2(args.root, args.readOnly, args.stage2);
      log.debug({ root: args.root, how: c.how, readOnlyNote: c.readOnlyNote }, 'confined');
      if (c.how === 'chroot') log.warn({ root: args.root }, 'pivot_root impossible here: chrooted instead');
      if (c.readOnlyNote !== undefined) log.warn({ root: args.root }, c.readOnlyNote);
    } catch (err) {
      const why = err instanceof ConfineError ? err.message : String(err);
      process.stderr.write(`gofer: cannot confine the Gofer, refusing to serve: ${why}\n`);
      if (args.logFile !== undefined) log.error({ root: args.root }, `cannot confine: ${why}`);
      return 1;
    }
    root = '/';
  }
  // Modes on the wire are final: the Sentry applies the workload's umask.
  process.umask(0);
  let server: GoferServer;
  try {
    server = new GoferServer({
      root,
      readOnly: args.readOnly,
      onBug: (what, err) => log.error({ err }, what),
    });
  } catch (err) {
    log.error({ root: args.root }, `cannot serve the root: ${(err as Error).message}`);
    return 1;
  }
  traceMark('serving');
  const reader = new FrameReader(args.fd, MAX_MSIZE);
  const held: Buffer[] = [];
  for (;;) {
    const frame = reader.next();
    if (frame === null) break; // the Sentry closed its end: done
    if (typeof frame === 'number') {
      log.error({ errno: -frame }, 'broken 9P connection');
      server.closeAll();
      return 1;
    }
    const reply = server.handleFrame(frame);
    const donated = server.takeDonation();
    // Requests the client wrote together (Twalk + Tgetattr) get their replies
    // in one write: hold this one while the next request is already here.
    if (donated < 0 && reader.ready) { held.push(Buffer.from(reply)); continue; }
    const err = send(args.fd, reply, donated, held);
    if (err < 0) {
      log.error({ errno: -err }, 'cannot write a 9P reply');
      server.closeAll();
      return 1;
    }
    if (server.msize > 0) reader.maxSize = server.msize;
  }
  server.closeAll();
  return 0;
}

process.exitCode = main();
