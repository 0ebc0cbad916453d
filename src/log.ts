// Logging shared by the CLI, the Sentry and the Gofer: pino, to stderr or to
// a file, as JSON lines or as plain text lines (--log-format). pino takes
// ~35 ms to load, so it is loaded only when a line is first logged: a run
// that logs nothing never pays for it.
import type pino from 'pino';
import { openSync, writeSync } from 'node:fs';

export type LogFormat = 'text' | 'json';
type Fields = Record<string, unknown>;

export interface Logger {
  debug(fields: Fields | string, msg?: string): void;
  info(fields: Fields | string, msg?: string): void;
  warn(fields: Fields | string, msg?: string): void;
  error(fields: Fields | string, msg?: string): void;
}

export interface LogOptions {
  name: string;
  level: string;
  format: LogFormat;
  /** A file to append to; stderr when absent. */
  file?: string;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Writes each pino JSON line as `time LEVEL [name] msg key=value…`. */
function textStream(fd: number): pino.DestinationStream {
  return {
    write(line: string): void {
      const { time, level, msg, name, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const extra = Object.entries(rest).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('');
      writeSync(fd, `${new Date(time as number).toISOString()} ${NAMES[level as number] ?? level} [${name}] ${msg ?? ''}${extra}\n`);
    },
  };
}

export function makeLogger(o: LogOptions): Logger {
  const threshold = LEVELS[o.level] ?? LEVELS['info']!;
  let p: pino.Logger | null = null;
  // Opened now: a confined Sentry can no longer open files by path.
  const fd = o.file ? openSync(o.file, 'a') : 2;
  const backend = (): pino.Logger => {
    if (p) return p;
    const pinoFn = require('pino') as typeof pino;
    const dest = o.format === 'text' ? textStream(fd) : pinoFn.destination({ dest: fd, sync: true });
    return (p = pinoFn({ name: o.name, level: o.level, base: undefined }, dest));
  };
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (fields: Fields | string, msg?: string): void => {
    if (LEVELS[level]! < threshold) return;
    if (typeof fields === 'string') backend()[level](fields);
    else backend()[level](fields, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
