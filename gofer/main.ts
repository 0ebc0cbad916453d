// Gofer entry point (bundled to dist/gofer.js):
//
//   node dist/gofer.js --root DIR --fd N [--read-only] [--log FILE] [--log-format text|json] [--debug]
//
// Serves DIR over 9P2000.L on fd N, a connected blocking AF_UNIX
// SOCK_STREAM socket (one end of a socketpair made by the CLI). Requests are
// handled one at a time, synchronously. Exits 0 when the peer closes the
// socket, 1 on a broken connection or protocol desync, 2 on bad arguments.
//
// The Gofer imports only src/ and Node builtins.
import * as fs from 'node:fs';
import { GoferServer, MAX_MSIZE } from './server';
import { FrameReader, writeAll } from '../src/p9';
import { configureLog, log } from './log';

interface Args {
  root: string; fd: number; readOnly: boolean;
  logFile: string | undefined; logFormat: 'text' | 'json'; debug: boolean;
}

function usage(why: string): never {
  process.stderr.write(`gofer: ${why}\nusage: gofer --root DIR --fd N [--read-only] [--log FILE] [--log-format text|json] [--debug]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  let root: string | undefined;
  let fd: number | undefined;
  let readOnly = false;
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
  return { root, fd, readOnly, logFile, logFormat, debug };
}

function main(): number {
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
  // Modes on the wire are final: the Sentry applies the workload's umask.
  process.umask(0);
  let server: GoferServer;
  try {
    server = new GoferServer({
      root: args.root,
      readOnly: args.readOnly,
      onBug: (what, err) => log.error({ err }, what),
    });
  } catch (err) {
    log.error({ root: args.root }, `cannot serve the root: ${(err as Error).message}`);
    return 1;
  }
  const reader = new FrameReader(args.fd, MAX_MSIZE);
  for (;;) {
    const frame = reader.next();
    if (frame === null) break; // the Sentry closed its end: done
    if (typeof frame === 'number') {
      log.error({ errno: -frame }, 'broken 9P connection');
      server.closeAll();
      return 1;
    }
    const reply = server.handleFrame(frame);
    const err = writeAll(args.fd, reply);
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
