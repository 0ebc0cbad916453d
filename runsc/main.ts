// runsc: the command line. Global flags come before the subcommand, as with
// gVisor's runsc and runc; each subcommand lives in runsc/cmd/.
import { Command, Option } from 'commander';
import { doCommand } from './cmd/do';
import { syscallsCommand } from './cmd/syscalls';
import { ociCommands } from './cmd/oci';
import { installCommands } from './cmd/install';

export interface GlobalOptions {
  root: string;
  platform: string;
  network: string;
  strace: boolean;
  debug: boolean;
  debugLog?: string;
  logFormat: 'text' | 'json';
  /** runc's --log: where the OCI commands append their error lines. */
  log?: string;
  systemdCgroup: boolean;
}

const program = new Command('runsc')
  .description('An application kernel in TypeScript: runs Linux programs in a sandbox.')
  .enablePositionalOptions()
  .option('--root <dir>', 'state directory for sandboxes and containers', '/var/run/runsc')
  .addOption(new Option('--platform <name>', 'how the workload is run').choices(['ptrace']).default('ptrace'))
  .addOption(new Option('--network <mode>', 'network stack for the sandbox').choices(['none']).default('none'))
  .option('--strace', 'log every syscall the workload makes', false)
  .option('--debug', 'log at debug level', false)
  .option('--debug-log <path>', 'write logs to this file (or to runsc.log inside it, if it is a directory)')
  .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
  .option('--log <file>', 'append errors of the OCI commands here (runc\'s --log), as --log-format lines')
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
