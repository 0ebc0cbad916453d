// The Gofer's logger (src/log.ts: pino, synchronous, stderr unless --log).
// The Gofer logs only real errors (a bug, a broken connection) by default; a
// failing file operation is an errno for the client, not a log line.
import { makeLogger, type LogFormat, type Logger } from '../src/log';

export let log: Logger = makeLogger({ name: 'gofer', level: 'warn', format: 'json' });

/** Reconfigures the logger from the command line (--log, --log-format, --debug). */
export function configureLog(o: { file?: string; format: LogFormat; debug: boolean }): void {
  log = makeLogger({ name: 'gofer', level: o.debug ? 'debug' : 'warn', format: o.format, ...(o.file ? { file: o.file } : {}) });
}

