// The layering rules, checked on every import: a path says which component a
// file belongs to and what it may touch. A file no rule covers is an error.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { builtinModules } from 'node:module';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const builtin = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

// What each component may import: project folders, and packages beyond Node's builtins.
const RULES = {
  src: { dirs: ['src'], packages: ['koffi', 'pino'] },
  sentry: { dirs: ['src', 'sentry', 'syscalls'], packages: [] },
  syscalls: { dirs: ['src', 'sentry', 'syscalls'], packages: [] },
  gofer: { dirs: ['src', 'gofer'], packages: [] },
  runsc: { dirs: ['src', 'sentry', 'syscalls', 'gofer', 'runsc'], packages: ['commander'] },
};
// Host bindings live only under src/ffi/.
const FFI_ONLY = { koffi: 'src/ffi/' };

function* files(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const errors = [];
for (const top of Object.keys(RULES)) {
  for (const file of files(join(root, top))) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|require\('([^']+)'\)|import\('([^']+)'\)/g)]
      .map((m) => m[1] ?? m[2] ?? m[3]);
    for (const spec of specs) {
      const rule = RULES[top];
      if (spec.startsWith('.')) {
        const target = relative(root, resolve(dirname(file), spec)).split('/')[0];
        if (!rule.dirs.includes(target)) errors.push(`${rel}: imports ${spec} (${target}/); ${top}/ may import only ${rule.dirs.join(', ')}`);
      } else if (!builtin.has(spec)) {
        if (!rule.packages.includes(spec)) errors.push(`${rel}: imports package ${spec}; ${top}/ may use ${rule.packages.join(', ') || 'no packages'} besides Node's builtins`);
        else if (FFI_ONLY[spec] && !rel.startsWith(FFI_ONLY[spec])) errors.push(`${rel}: imports ${spec}; only ${FFI_ONLY[spec]} may`);
      }
    }
  }
}
if (errors.length) {
  console.error(errors.join('\n'));
  process.exit(1);
}
console.log('layers: ok');
