// Starting the sandbox process of an OCI container confined, as `runsc do`
// starts its Sentry (runsc/confine.ts): through the launcher, in new mount,
// PID, IPC and UTS namespaces, a network namespace as runsc/netns.ts decides,
// and with --rootless a user namespace; then, once up, the Sentry pivots into
// an empty root and installs its seccomp filter. So everything it needs from
// the host afterwards is opened here, by `create`, and passed as fds:
//
//   0-2  the container's stdio (create's, or the --console-socket pty's slave)
//   3    a pipe: the sandbox writes "ok" (or why it cannot be created) and a newline
//   4    the control socket, bound and listening (runsc/control.ts): a path in
//        the state directory, or an abstract name that must belong to the
//        host's network namespace, not the sandbox's
//   5    STATE/exit, opened for writing: the sandbox writes the container's
//        exit code there as it exits (empty: it was killed first)
//   6…   the fds --preserve-fds passes on (the sandbox is told where: --preserved-fds)
//
// The pid `create` reports is the launcher's: it waits outside the PID
// namespace and exits with the Sentry's status, which is how the engine's
// shim learns the container's. Killing it kills the Sentry (PDEATHSIG), and
// with it every process of the sandbox's PID namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Spec } from '../src/oci/spec';
import { CONFINED_FLAG, launcherArgs } from './confine';
import { listenControl } from './control';
import { controlAddress } from './container';
import { sandboxNetns } from './netns';

export const SANDBOX_FD = { ready: 3, control: 4, exit: 5, preserved: 6 } as const;

export const EXIT_FILE = 'exit';

export interface LaunchOptions {
  /** The container's state directory. */
  dir: string;
  spec: Spec;
  network: string;
  rootless: boolean;
  /** The CLI arguments after runsc.js (global flags, `sandbox`, its options). */
  args: string[];
  /** fds 0-2. */
  stdio: ['inherit', 'inherit', 'inherit'] | [number, number, number];
  /** Host fds given to the sandbox from SANDBOX_FD.preserved on. */
  preserved: number[];
  detached: boolean;
}

export function launchSandbox(o: LaunchOptions): ChildProcess {
  const listener = listenControl(controlAddress(o.dir));
  let exitFd: number | null = null;
  try {
    exitFd = fs.openSync(path.join(o.dir, EXIT_FILE), 'w', 0o644);
    const launcher = path.join(__dirname, 'launcher');
    const { fresh } = sandboxNetns(o.spec, o.network);
    const confine = launcherArgs({ network: o.network, rootless: o.rootless, freshNetns: fresh }, process.getuid!(), process.getgid!());
    return spawn(launcher, [...confine, process.execPath, path.join(__dirname, 'runsc.js'), CONFINED_FLAG, ...o.args], {
      stdio: [...o.stdio, 'pipe', listener, exitFd, ...o.preserved],
      detached: o.detached,
    });
  } finally {
    fs.closeSync(listener);
    if (exitFd !== null) fs.closeSync(exitFd);
  }
}

/** The exit code the sandbox wrote to STATE/exit, or null if it wrote none (killed before it could). */
export function recordedExit(dir: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, EXIT_FILE), 'utf8');
  } catch {
    return null;
  }
  return /^\d+$/.test(text) ? Number(text) : null;
}
