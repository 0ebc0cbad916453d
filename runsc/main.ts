// runsc: the command line. Global flags come before the subcommand, as with
// gVisor's runsc and runc; each subcommand lives in runsc/cmd/.
import { Command, Option } from 'commander';
import { doCommand } from './cmd/do';
import { syscallsCommand } from './cmd/syscalls';
import { ociCommands, parseBytes } from './cmd/oci';
import { installCommands } from './cmd/install';
import { PLATFORMS, type PlatformName } from '../sentry/platform/create';

export interface GlobalOptions {
  root: string;
  platform: PlatformName;
  network: string;
  strace: boolean;
  debug: boolean;
  debugLog?: string;
  logFormat: 'text' | 'json';
  /** runc's --log: where the OCI commands append their error lines. */
  log?: string;
  systemdCgroup: boolean;
  rootless: boolean;
  /** gVisor's --total-memory: the sandbox's memory in bytes. */
  totalMemory?: number;
  /** Set by bin/runsc when it started this process through the launcher (runsc/confine.ts). */
  sentryConfined: boolean;
  /** gVisor's --file-access: exclusive (the sandbox owns the root's tree) or shared (revalidate against the host). */
  fileAccess: 'exclusive' | 'shared';
  /**
   * gVisor's --overlay2 for the root: root:memory (writes go to an in-memory
   * upper layer, the host tree is untouched) or none; unset, each command's
   * default (do: root:memory; OCI containers: none, as runc).
   */
  overlay2?: 'root:memory' | 'none';
}

const program = new Command('runsc')
  .description('An application kernel in TypeScript: runs Linux programs in a sandbox.')
  .enablePositionalOptions()
  .option('--root <dir>', 'state directory for sandboxes and containers', '/var/run/runsc')
  .addOption(new Option('--platform <name>', 'how the workload is run').choices([...PLATFORMS]).default('ptrace'))
  .addOption(new Option('--network <mode>', 'network for the sandbox: none (a network namespace of its own) or host').choices(['none', 'host']).default('none'))
  .option('--rootless', 'run as an unprivileged user, in a user namespace of the sandbox\'s own', false)
  .addOption(new Option('--sentry-confined').hideHelp().default(false))
  .option('--strace', 'log every syscall the workload makes', false)
  .option('--debug', 'log at debug level', false)
  .option('--debug-log <path>', 'write logs to this file (or to runsc.log inside it, if it is a directory)')
  .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
  .option('--log <file>', 'append errors of the OCI commands here (runc\'s --log), as --log-format lines')
  .addOption(new Option('--file-access <mode>', 'exclusive: the sandbox owns the root filesystem and caches it; shared: revalidate against changes made on the host')
    .choices(['exclusive', 'shared']).default('exclusive'))
  .addOption(new Option('--overlay2 <medium>', 'overlay on the root filesystem: root:memory (writes kept in sandbox memory) or none (written through to the host); root:self is not supported yet')
    .choices(['root:memory', 'none']))
  .option('--total-memory <size>', 'the sandbox\'s memory, which its OOM killer enforces and /proc/meminfo shows (suffixes k, m, g); default: linux.resources.memory.limit, else the host\'s memory or cgroup limit', parseBytes)
  .option('--systemd-cgroup', 'read linux.cgroupsPath as systemd\'s "slice:prefix:name" (runsc writes cgroupfs itself)', false);

doCommand(program);
syscallsCommand(program);
ociCommands(program);
installCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  // A failure of runsc itself: one line, or the whole stack with --debug.
  const detail = e instanceof Error ? (program.opts<GlobalOptions>().debug ? e.stack : e.message) : String(e);
  process.stderr.write(`runsc: ${detail}\n`);
  process.exit(128);
});
