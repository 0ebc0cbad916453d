// Logging shared by the CLI, the Sentry and the Gofer: pino, to stderr or to
// a file, as JSON lines or as plain text lines (--log-format).
import pino from 'pino';
import { openSync, writeSync } from 'node:fs';

export type Logger = pino.Logger;
export type LogFormat = 'text' | 'json';

export interface LogOptions {
  name: string;
  level: string;
  format: LogFormat;
  /** A file to append to; stderr when absent. */
  file?: string;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Writes each pino JSON line as `time LEVEL [name] msg key=value…`. */
function textStream(fd: number): pino.DestinationStream {
  return {
    write(line: string): void {
      const { time, level, msg, name, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const extra = Object.entries(rest).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('');
      writeSync(fd, `${new Date(time as number).toISOString()} ${LEVELS[level as number] ?? level} [${name}] ${msg ?? ''}${extra}\n`);
    },
  };
}

export function makeLogger(o: LogOptions): Logger {
  const fd = o.file ? openSync(o.file, 'a') : 2;
  const dest = o.format === 'text' ? textStream(fd) : pino.destination({ dest: fd, sync: true });
  return pino({ name: o.name, level: o.level, base: undefined }, dest);
}
