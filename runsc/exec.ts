// The client side of `runsc exec`: sends a process and its stdio fds to the
// sandbox's control socket, then waits for the process's exit status while
// forwarding the signals it receives (the shim signals an exec'd process by
// this process's pid). It waits in poll() on the connection and on Node's
// own event loop fd, so a signal's handler runs as soon as it arrives and
// nothing wakes on a timer.
import { isatty } from 'node:tty';
import * as unix from '../src/ffi/unix';
import { TIOCSCTTY } from '../src/abi/linux';
import { ControlClient } from './control';
import { OciError } from './container';

const POLLIN = 1;
/** Signals an exec client passes on to its process (KILL and STOP cannot be caught: KILL ends the client, whose hangup kills the process). */
const FORWARDED: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15, SIGCONT: 18, SIGTSTP: 20, SIGWINCH: 28 };

/**
 * Runs process (an OCI process object) in the sandbox at address with stdio
 * as its fds 0-2. onStarted runs once the sandbox has started it; the
 * result is its exit status (128+N when signal N killed it).
 */
export async function runExec(address: string, process_: Record<string, unknown>, stdio: number[], onStarted: (pid: number) => void): Promise<number> {
  // A terminal of its own (exec --tty, detached: this process leads a new session) becomes this
  // session's controlling terminal, so its keys' signals reach this process, which passes them on.
  if (isatty(stdio[0]!)) unix.ioctlInt(stdio[0]!, TIOCSCTTY, 0);
  const c = ControlClient.request(address, { op: 'exec', process: process_ }, stdio);
  let handlers: [string, () => void][] = [];
  try {
    const a = c.answer();
    onStarted(Number(a['pid']));
    handlers = Object.entries(FORWARDED).map(([name, sig]) => [name, () => c.send({ op: 'signal', sig })]);
    for (const [name, h] of handlers) process.on(name as NodeJS.Signals, h);
    const loopFd = unix.mainLoopFd();
    const pfds = new Uint8Array(16);
    const dv = new DataView(pfds.buffer);
    dv.setInt32(0, c.fd, true);
    dv.setInt16(4, POLLIN, true);
    dv.setInt32(8, loopFd, true);
    dv.setInt16(12, POLLIN, true);
    for (;;) {
      if (unix.poll(pfds, 2, -1) > 0 && dv.getInt16(6, true) !== 0) {
        const m = c.next();
        if (!m) throw new OciError('the sandbox went away before the process exited');
        if (typeof m['exit'] === 'number') return m['exit'];
        continue;
      }
      // Node has events (a signal): let them run.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    for (const [name, h] of handlers) process.off(name as NodeJS.Signals, h);
    c.close();
  }
}
