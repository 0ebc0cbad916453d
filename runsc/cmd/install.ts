// `runsc install` / `runsc uninstall`: register runsc as a docker runtime in
// daemon.json (keeping everything else there), as gVisor's runsc does:
//
//   {"runtimes": {"runsc": {"path": "/abs/bin/runsc", "runtimeArgs": [FLAGS…]}}}
//
// Reload dockerd afterwards (`kill -HUP $(pidof dockerd)` or restart it);
// then `docker run --runtime=runsc …`.
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GlobalOptions } from '../main';
import { logLine, writeAtomic } from '../container';

interface InstallOptions {
  runtime: string;
  configFile: string;
}

type DaemonConfig = Record<string, unknown> & { runtimes?: Record<string, unknown> };

function readConfig(file: string): DaemonConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  if (text.trim() === '') return {};
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: not a JSON object`);
  return v as DaemonConfig;
}

function writeConfig(file: string, c: DaemonConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeAtomic(file, `${JSON.stringify(c, null, 4)}\n`);
}

/** The executable to register: bin/runsc next to the bundle (dist/ is __dirname). */
function runscPath(): string {
  const bin = path.resolve(__dirname, '..', 'bin', 'runsc');
  return fs.existsSync(bin) ? bin : path.resolve(process.argv[1] ?? 'runsc');
}

function guard(cmd: Command, body: () => void): void {
  try {
    body();
  } catch (e) {
    let c: Command = cmd;
    while (c.parent) c = c.parent;
    const g = c.opts<GlobalOptions>();
    logLine(g.log, g.logFormat, 'error', (e as Error).message);
    process.exit(1);
  }
}

export function installCommands(program: Command): void {
  program
    .command('install')
    .description('add runsc to docker\'s daemon.json as a runtime (flags after -- become its runtimeArgs)')
    .argument('[flags...]', 'runtime flags passed to every runsc call, e.g. -- --debug')
    .option('--runtime <name>', 'the runtime name for docker run --runtime=NAME', 'runsc')
    .option('--config-file <file>', 'docker\'s daemon configuration', '/etc/docker/daemon.json')
    .action((flags: string[], o: InstallOptions, self: Command) => guard(self, () => {
      const c = readConfig(o.configFile);
      const runtimes = (c.runtimes ?? {}) as Record<string, unknown>;
      runtimes[o.runtime] = { path: runscPath(), ...(flags.length ? { runtimeArgs: flags } : {}) };
      c.runtimes = runtimes;
      writeConfig(o.configFile, c);
      process.stdout.write(`Runtime ${o.runtime} added to ${o.configFile}; reload docker (kill -HUP the dockerd) to use it.\n`);
    }));

  program
    .command('uninstall')
    .description('remove the runtime from docker\'s daemon.json')
    .option('--runtime <name>', 'the runtime name', 'runsc')
    .option('--config-file <file>', 'docker\'s daemon configuration', '/etc/docker/daemon.json')
    .action((o: InstallOptions, self: Command) => guard(self, () => {
      const c = readConfig(o.configFile);
      if (!c.runtimes || !(o.runtime in c.runtimes)) throw new Error(`runtime "${o.runtime}" not found in ${o.configFile}`);
      delete c.runtimes[o.runtime];
      if (Object.keys(c.runtimes).length === 0) delete c.runtimes;
      writeConfig(o.configFile, c);
      process.stdout.write(`Runtime ${o.runtime} removed from ${o.configFile}.\n`);
    }));
}
