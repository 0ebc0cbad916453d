// Terminals for containers (process.terminal): a host pseudo-terminal whose
// master goes to the engine over --console-socket (SCM_RIGHTS, the message
// naming the slave, as runc sends it) and whose slave becomes the container
// process's stdin, stdout and stderr. The engine's shim then relays the
// user's terminal to the master and resizes it (TIOCSWINSZ) when the user's
// window changes; the Sentry forwards the workload's termios and winsize
// ioctls to the slave.
import * as fs from 'node:fs';
import * as unix from '../src/ffi/unix';
import { TIOCSWINSZ } from '../src/abi/linux';
import { OciError } from './container';

const O_RDWR = 2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;

/**
 * Opens a pty sized like size (when given), sends its master to the console
 * socket at socketPath and returns the slave's fd (the master is closed here:
 * the engine holds it now).
 */
export function consoleSlave(socketPath: string, size?: { height: number; width: number }): number {
  const master = unix.posixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) throw new OciError(`cannot open a pseudo-terminal: errno ${unix.errno()}`);
  try {
    const name = unix.grantpt(master) === 0 && unix.unlockpt(master) === 0 ? unix.ptsname(master) : null;
    if (!name) throw new OciError(`cannot set up the pseudo-terminal: errno ${unix.errno()}`);
    const slave = fs.openSync(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (size && size.height > 0 && size.width > 0) {
      const ws = new Uint8Array(8);
      new DataView(ws.buffer).setUint16(0, size.height, true);
      new DataView(ws.buffer).setUint16(2, size.width, true);
      unix.ioctlBuf(master, TIOCSWINSZ, ws);
    }
    const sock = unix.socket(unix.SOCK_STREAM);
    try {
      if (unix.connect(sock, socketPath) < 0) throw new OciError(`cannot connect to the console socket ${socketPath}: errno ${unix.errno()}`);
      if (unix.sendMsg(sock, Buffer.from(name), [master]) < 0) throw new OciError(`cannot send the console: errno ${unix.errno()}`);
    } finally {
      unix.close(sock);
    }
    return slave;
  } finally {
    unix.close(master);
  }
}
