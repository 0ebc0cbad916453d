// The Gofer's logger: pino, JSON lines to stderr, written synchronously so a
// message is never lost when the process exits right after it. The Gofer
// logs only real errors (a bug, a broken connection); a failing file
// operation is an errno for the client, not a log line.
import pino from 'pino';

export const log = pino(
  { name: 'gofer', level: process.env['GOFER_LOG_LEVEL'] ?? 'warn', base: { pid: process.pid } },
  pino.destination({ dest: 2, sync: true }),
);
