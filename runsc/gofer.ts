// Starting a Gofer. As root, the Gofer confines itself in two stages (see
// gofer/confine.ts); the first must run in a single-threaded process, which a
// Node process never is. Instead of having Node re-execute itself (a second
// ~90 ms Node start-up), runsc runs stage 1 in the launcher
// (runsc/launcher.ts): a new mount namespace with private mounts,
// no_new_privs, a smaller capability bounding set, then the Gofer's stage 2.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import * as libc from '../src/ffi/libc';
import type { Logger } from '../src/log';
import { KEEP_CAPS, SETUP_CAPS } from '../gofer/confine';
import { capMask } from './launcher';

const AF_UNIX = 1;
const SOCK_STREAM_CLOEXEC = 1 | 0o2000000;
const CLONE_NEWNS = 0x20000;

export interface GoferHandle {
  pid: number;
  /** The Sentry's ends of the 9P sockets, one per tree served. */
  fds: number[];
  /** Called if the Gofer exits while runsc still runs (with how it ended). */
  onExit: ((why: string) => void) | null;
}

export interface Tree {
  dir: string;
  readOnly: boolean;
}

/** Starts one Gofer serving every tree, each on one end of a socketpair of its own; its stderr goes to stderr (inherited by default). */
export function startGofer(trees: readonly Tree[], log: Logger, stderr: number | 'inherit' | 'ignore' = 'inherit'): GoferHandle {
  const pairs = trees.map(() => {
    const sv = new Int32Array(2);
    if (libc.socketpair(AF_UNIX, SOCK_STREAM_CLOEXEC, 0, sv) < 0) throw new Error(`socketpair: errno ${libc.errno()}`);
    return sv;
  });
  // The Gofer's end of tree i's socket is its fd 3+i.
  const [first, ...more] = trees;
  const args = [path.join(__dirname, 'gofer.js'), '--root', first!.dir, '--fd', '3', ...(first!.readOnly ? ['--read-only'] : []),
    ...more.flatMap((t, i) => [t.readOnly ? '--serve-ro' : '--serve', `${4 + i}=${t.dir}`])];
  let cmd = process.execPath;
  if (process.geteuid?.() === 0) {
    // Stage 2 checks that it runs in a mount namespace other than ours.
    const hostNs = statSync('/proc/self/ns/mnt', { bigint: true }).ino;
    args.push(`--confine-stage2=${hostNs}`);
    args.unshift(String(CLONE_NEWNS), capMask([...KEEP_CAPS.keys(), ...SETUP_CAPS]), '0', '-', '-', process.execPath);
    cmd = path.join(__dirname, 'launcher');
  }
  // A session of its own: signals typed at runsc's terminal (^C) are the sandbox's, not the Gofer's.
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', stderr, ...pairs.map((sv) => sv[1]!)], detached: true });
  child.on('error', (e) => log.error({ err: e.message }, 'gofer failed to start'));
  const handle: GoferHandle = { pid: child.pid ?? 0, fds: pairs.map((sv) => sv[0]!), onExit: null };
  child.on('exit', (code, signal) => {
    if (code) log.warn({ code }, 'gofer exited');
    handle.onExit?.(signal ? `killed by ${signal}` : `exit status ${code}`);
  });
  // The Gofer outlives nothing: it exits when the Sentry's ends of its sockets close.
  child.unref();
  for (const sv of pairs) libc.close(sv[1]!);
  return handle;
}
