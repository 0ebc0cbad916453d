// `runsc do CMD ARGS…`: runs a program sandboxed, from the shell. The host's
// root (or --root) is the sandbox's root, served read-only by a Gofer process
// with a writable in-memory overlay on top (unless --force-overlay=false);
// cwd and environment pass through; runsc exits with the program's status.
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { GlobalOptions } from '../main';
import { makeLogger } from '../../src/log';
import { startGofer } from '../gofer';
import { GoferClient } from '../../sentry/fsgofer/client';
import { VFS } from '../../sentry/vfs/vfs';
import { FDTable } from '../../sentry/vfs/fdtable';
import { Kernel } from '../../sentry/kernel/kernel';
import { installStdio } from '../stdio';
import { confineSentry, reexecConfined } from '../confine';
import { traceMark, traceStart } from '../../src/trace';

/** Where bin/runsc set NODE_EXTRA_CA_CERTS aside (Node would read its bundle at each start): the workload's again. */
const STASHED_CA_CERTS = 'RUNSC_NODE_EXTRA_CA_CERTS';

interface DoOptions {
  cwd: string;
  root: string;
  forceOverlay: boolean;
  quiet: boolean;
}


function parseBool(v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`invalid boolean value ${JSON.stringify(v)}`);
}

function logFile(debugLog: string | undefined): string | undefined {
  if (!debugLog) return undefined;
  try {
    if (statSync(debugLog).isDirectory()) return path.join(debugLog, 'runsc.log');
  } catch {
    // Not there yet: a file name.
  }
  return debugLog;
}

/** Where to look for a command named without a slash, as execvp does. */
function candidates(cmd: string, env: NodeJS.ProcessEnv): string[] {
  if (cmd.includes('/')) return [cmd];
  const dirs = (env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(':');
  return dirs.map((d) => `${d || '.'}/${cmd}`);
}

export function doCommand(program: Command): void {
  program
    .command('do')
    .description('run a command in a new sandbox with the host (or --root) as its root filesystem')
    .argument('<command>', 'the program to run')
    .argument('[args...]', 'its arguments')
    .option('--cwd <dir>', 'working directory of the command', process.cwd())
    .option('--root <dir>', 'root filesystem of the sandbox', '/')
    .option('--force-overlay [bool]', 'keep writes in an in-memory overlay (false: write to the host tree)', parseBool, true)
    .option('--quiet', 'print no messages of runsc\'s own', false)
    .passThroughOptions()
    .action(async (cmd: string, args: string[], o: DoOptions, self: Command) => {
      const g = self.parent!.opts<GlobalOptions>();
      if (!g.sentryConfined) reexecConfined(g);
      traceStart('runsc do');
      const log = makeLogger({
        name: 'runsc',
        level: g.strace ? (g.debug ? 'debug' : 'info') : g.debug ? 'debug' : 'warn',
        format: g.logFormat,
        file: logFile(g.debugLog),
      });
      const fail = (msg: string, code: number): never => {
        if (!o.quiet) process.stderr.write(`runsc: ${msg}\n`);
        process.exit(code);
      };
      // gVisor's do: the host tree stays untouched under a memory overlay unless
      // --force-overlay=false (or --overlay2=none) writes through the Gofer.
      const overlay = o.forceOverlay && g.overlay2 !== 'none';
      const gofer = startGofer([{ dir: path.resolve(o.root), readOnly: overlay }], log);
      const client = new GoferClient(gofer.fds[0]!, true);
      const vfs = new VFS({ gofer: client, overlay, fileAccess: g.fileAccess });
      // --network=host: the workload's inet sockets are the host's (the launcher kept the host's network namespace).
      const hostNetwork = g.network === 'host';
      const kernel = new Kernel({
        vfs, log, strace: g.strace, hostname: hostname(), platform: g.platform, totalMemory: g.totalMemory, hostNetwork,
      });
      if (gofer.pid) {
        kernel.platform.pin(gofer.pid);
        kernel.watchVital(gofer.pid, 'the Gofer');
        gofer.onExit = (why) => kernel.shutdown(`the Gofer (pid ${gofer.pid}) died: ${why}`);
      }
      // Files in flight fail with EIO; then the sandbox ends, as gVisor's does without its gofer.
      client.onDead = (why) => kernel.shutdown(`lost the Gofer: ${why}`);
      const fds = new FDTable();
      installStdio(vfs, fds);
      traceMark('sandbox-built');
      let fs;
      try {
        fs = vfs.newFSContext(o.cwd);
      } catch (e) {
        fail(`cannot change to ${o.cwd}: ${(e as Error).message}`, 128);
      }
      // Everything the Sentry needs from the host is open now: confine it.
      kernel.platform.prepare();
      confineSentry({ hostNetwork });
      const uid = process.getuid!();
      const gid = process.getgid!();
      const envp = Object.entries(process.env).map(([k, v]) => `${k === STASHED_CA_CERTS ? 'NODE_EXTRA_CA_CERTS' : k}=${v}`);
      traceMark('start');
      const code = await kernel.run({
        paths: candidates(cmd, process.env), argv: [cmd, ...args], envp, fds, fs: fs!,
        creds: { uid, euid: uid, suid: uid, fsuid: uid, gid, egid: gid, sgid: gid, fsgid: gid, groups: process.getgroups!() },
      });
      if (typeof code === 'string') fail(code, 127);
      if (kernel.fatal !== null) fail(kernel.fatal, 128);
      process.exit(code as number);
    });
}
