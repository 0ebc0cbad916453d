// Bundles each process entry point into one CommonJS file: one module to load
// makes start-up faster than resolving dozens of compiled files.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  // koffi carries a native addon and pino spawns worker threads by file name: both stay in node_modules.
  external: ['koffi', 'pino'],
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: ['runsc/main.ts'], outfile: 'dist/runsc.js' }),
  build({ ...common, entryPoints: ['gofer/main.ts'], outfile: 'dist/gofer.js' }),
]);
