// Start-up tracing, to measure where a container's start-up goes
// (`node bench/oci.mjs --trace`, docs/benchmarks.md). With RUNSC_TRACE=FILE
// in the environment, every runsc, sandbox and Gofer process appends one JSON
// line per mark to FILE: {"pid":…,"who":…,"what":…,"t":ms since the epoch}.
// A process's first mark also records when Node started and when its
// bootstrap ended (the bundle's loading began), and `loaded` when it names
// itself (the bundle is loaded and the command line parsed). The file is opened as this
// module loads, because a confined Gofer can open nothing later. Without the
// variable a mark costs one comparison.
import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

let fd = -1;
const file = process.env['RUNSC_TRACE'];
if (file) {
  try {
    fd = openSync(file, 'a');
  } catch {
    // Not traced.
  }
}
let who = '';

function write(what: string, t: number): void {
  // One write of one short line with O_APPEND: lines of processes writing at once do not interleave.
  writeSync(fd, `${JSON.stringify({ pid: process.pid, who, what, t: Math.round(t * 100) / 100 })}\n`);
}

/** Names this process in the trace and records its start; its exit is marked too. */
export function traceStart(name: string): void {
  if (fd < 0) return;
  who = name;
  write('node-start', performance.timeOrigin);
  write('bootstrapped', performance.timeOrigin + performance.nodeTiming.bootstrapComplete);
  traceMark('loaded');
  process.on('exit', () => traceMark('exit'));
}

/**
 * Records `what` and closes the trace: a Gofer about to make its tree
 * read-only must hold no file open for writing in it (mount_setattr fails
 * with EBUSY), and once confined it could not reopen one.
 */
export function traceEnd(what: string): void {
  traceMark(what);
  if (fd >= 0) closeSync(fd);
  fd = -1;
}

/** Records that this process reached `what` now. */
export function traceMark(what: string): void {
  if (fd >= 0) write(what, performance.timeOrigin + performance.now());
}
