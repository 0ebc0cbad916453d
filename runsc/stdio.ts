// The sandbox's stdio: host fds wrapped as Sentry files. When one is a
// terminal, it is also the sandbox's /dev/console, and runsc itself keeps
// running through the signals that terminal generates: they reach the Sentry
// (through its waker stub), which sends them to the sandbox's foreground
// process group instead.
import type { FDTable } from '../sentry/vfs/fdtable';
import { HostFD } from '../sentry/vfs/host';
import type { VFS } from '../sentry/vfs/vfs';

const TERMINAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'];

/** Installs hostFds as fds 0, 1, 2, ... of fds. */
export function installStdio(vfs: VFS, fds: FDTable, hostFds: number[] = [0, 1, 2]): void {
  let terminal = null;
  for (const hostFd of hostFds) {
    const f = vfs.hostFile(hostFd);
    fds.install(f, false);
    if (f instanceof HostFD) terminal ??= f.terminal;
  }
  if (!terminal) return;
  vfs.devfs.setConsole(terminal);
  for (const sig of TERMINAL_SIGNALS) process.on(sig, () => {});
}
