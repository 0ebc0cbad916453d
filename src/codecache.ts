// The entry file of a bundle (dist/runsc.js, dist/gofer.js; see build.mjs):
// loads dist/NAME.bundle.js with the V8 code cache the build made for it
// (dist/NAME.bundle.js.cache). Compiling a bundle of a megabyte is most of a
// short runsc command's own start-up; the cache spares it, and a cache V8
// rejects (another Node, other V8 flags) just means compiling as before.
//
// The bundle runs as a CommonJS module of its own directory: __dirname is
// dist/, require resolves from there, and process.argv[1] names this file.
// With RUNSC_WRITE_CODE_CACHE set, the cache is (re)written as the process
// exits, holding every function compiled by then: the build runs each
// bundle once that way.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import * as path from 'node:path';
import { Script } from 'node:vm';

declare const BUNDLE: string;

const file = path.join(__dirname, BUNDLE);
const cacheFile = `${file}.cache`;
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache: compile.
}
const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
if (process.env['RUNSC_WRITE_CODE_CACHE']) {
  process.on('exit', () => {
    writeFileSync(`${cacheFile}.tmp`, script.createCachedData());
    renameSync(`${cacheFile}.tmp`, cacheFile);
  });
}
(script.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(file), module, file, __dirname);
