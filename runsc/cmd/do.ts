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
      const gofer = startGofer(path.resolve(o.root), o.forceOverlay, log);
      const vfs = new VFS({ gofer: new GoferClient(gofer.fd), overlay: o.forceOverlay });
      const kernel = new Kernel({ vfs, log, strace: g.strace, hostname: hostname() });
      if (gofer.pid) kernel.platform.pin(gofer.pid);
      const fds = new FDTable();
      installStdio(vfs, fds);
      let fs;
      try {
        fs = vfs.newFSContext(o.cwd);
      } catch (e) {
        fail(`cannot change to ${o.cwd}: ${(e as Error).message}`, 128);
      }
      const uid = process.getuid!();
      const gid = process.getgid!();
      const envp = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
      const code = await kernel.run({
        paths: candidates(cmd, process.env), argv: [cmd, ...args], envp, fds, fs: fs!,
        creds: { uid, euid: uid, suid: uid, fsuid: uid, gid, egid: gid, sgid: gid, fsgid: gid, groups: process.getgroups!() },
      });
      if (typeof code === 'string') fail(code, 127);
      process.exit(code as number);
    });
}
