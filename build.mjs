// Bundles each process entry point into one CommonJS file: one module to load
// makes start-up faster than resolving dozens of compiled files.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
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

// dist/NAME.js loads dist/NAME.bundle.js with a V8 code cache (src/codecache.ts).
const CACHED = { runsc: 'runsc/main.ts', gofer: 'gofer/main.ts' };

await Promise.all([
  // pino is bundled too (we use no transports, which would start worker threads
  // by file name), so a confined Gofer that pivoted away from node_modules can
  // still load it lazily, on its first log line.
  ...Object.entries(CACHED).flatMap(([name, entry]) => [
    build({ ...common, entryPoints: [entry], outfile: `dist/${name}.bundle.js` }),
    build({ ...common, sourcemap: false, entryPoints: ['src/codecache.ts'], outfile: `dist/${name}.js`, define: { BUNDLE: JSON.stringify(`${name}.bundle.js`) } }),
  ]),
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

// The code caches: each bundle run once (the CLI's `features`; the Gofer's
// usage message), writing the functions it compiled. Without NODE_OPTIONS,
// whose V8 flags would make the cache another Node's.
const env = { ...process.env, RUNSC_WRITE_CODE_CACHE: '1' };
delete env.NODE_OPTIONS;
for (const name of Object.keys(CACHED)) rmSync(`dist/${name}.bundle.js.cache`, { force: true });
execFileSync(process.execPath, ['dist/runsc.js', 'features'], { env, stdio: 'ignore' });
try {
  execFileSync(process.execPath, ['dist/gofer.js'], { env, stdio: 'ignore' });
} catch {
  // Its usage message exits 2, as expected.
}
