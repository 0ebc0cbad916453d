// Bundles each process entry point into one CommonJS file: one module to load
// makes start-up faster than resolving dozens of compiled files.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  // koffi carries a native addon: it stays in node_modules.
  external: ['koffi'],
  logLevel: 'warning',
};

await Promise.all([
  // pino is bundled too (we use no transports, which would start worker threads
  // by file name), so a confined Gofer that pivoted away from node_modules can
  // still load it lazily, on its first log line.
  build({ ...common, entryPoints: ['runsc/main.ts'], outfile: 'dist/runsc.js' }),
  build({ ...common, entryPoints: ['gofer/main.ts'], outfile: 'dist/gofer.js' }),
  // The sandbox's control-socket watcher thread (runsc/control.ts).
  build({ ...common, entryPoints: ['runsc/control_worker.ts'], outfile: 'dist/control-worker.js' }),
]);

// The launcher (runsc/launcher.ts) is machine code the project assembles
// itself: run its builder once and keep only the executable.
// bin/runsc reads the Sentry's launcher arguments from dist/launcher.env.
await build({ ...common, sourcemap: false, entryPoints: ['runsc/launcher-build.ts'], outfile: 'dist/launcher-build.cjs' });
const { launcherElf, launcherEnv } = createRequire(import.meta.url)('./dist/launcher-build.cjs');
rmSync('dist/launcher-build.cjs');
// A new file renamed into place: the old one may be running (ETXTBSY).
writeFileSync('dist/launcher.tmp', launcherElf());
chmodSync('dist/launcher.tmp', 0o755);
renameSync('dist/launcher.tmp', 'dist/launcher');
writeFileSync('dist/launcher.env', launcherEnv());
