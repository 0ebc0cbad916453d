// Job control on a terminal: which session a terminal controls and which of
// that session's process groups is in the foreground. Shared by pseudo-
// terminal replicas (pty.ts) and host terminals (host.ts), which differ only
// in where their bytes go.
//
// A session has at most one controlling terminal and a terminal controls at
// most one session. Linux records the terminal per process (signal->tty,
// inherited by fork); here it is recorded per session, which is the same
// thing for every process that has not given it up with TIOCNOTTY while not
// leading its session (those are remembered in `detached`).
import { EFAULT, EINTR, EINVAL, EIO, ENOTTY, EPERM, ESRCH } from '../../../src/abi/errno';
import { SIGCONT, SIGHUP, SIGTTIN, SIGTTOU } from '../../../src/abi/linux';
import { orphanedGroup } from '../../kernel/jobctl';
import { SIG_IGN } from '../../kernel/process';
import { sigbit } from '../../kernel/signals';
import type { Kernel } from '../../kernel/kernel';
import type { Process } from '../../kernel/process';
import type { Task } from '../../kernel/task';
import type { FileDescription } from '../file';
import { TIOCGPGRP, TIOCGSID, TIOCNOTTY, TIOCSCTTY, TIOCSPGRP } from '../../../src/abi/linux';

/** Per kernel: the controlling terminal of each session, by session id. */
const controlling = new WeakMap<Kernel, Map<number, Terminal>>();
/** Processes that gave up their controlling terminal without leading their session. */
const detached = new WeakSet<Process>();

function sessionTable(k: Kernel): Map<number, Terminal> {
  let m = controlling.get(k);
  if (!m) controlling.set(k, (m = new Map()));
  return m;
}

/** p's controlling terminal, if it has one. */
export function controllingTerminal(k: Kernel, p: Process): Terminal | undefined {
  if (detached.has(p)) return undefined;
  const term = sessionTable(k).get(p.sid);
  return term && term.sid === p.sid ? term : undefined;
}

/** Sends sig to every live process of process group pgid. */
export function signalGroup(k: Kernel, pgid: number, sig: number): void {
  for (const p of k.processes.values()) if (p.pgid === pgid && !p.zombie) k.signals.sendToProcess(p, sig);
}

export abstract class Terminal {
  /** The session this terminal controls (0: none) and its foreground process group. */
  sid = 0;
  fgPgrp = 0;
  private kernel: Kernel | null = null;
  /** Stops watching for the session leader's exit. */
  private unwatchLeader: (() => void) | null = null;

  /** A new open file description of this terminal (opening /dev/tty). */
  abstract reopen(t: Task, flags: number): FileDescription | number;

  /** Makes this the controlling terminal of p's session (p leads it and has none). */
  attach(k: Kernel, p: Process): void {
    this.kernel = k;
    this.sid = p.sid;
    this.fgPgrp = p.pgid;
    sessionTable(k).set(p.sid, this);
    // When the session leader exits, the foreground group gets SIGHUP and the terminal is free again.
    this.unwatchLeader = k.signals.exitQueue(p).watch(() => {
      if (!p.zombie || this.sid !== p.sid) return;
      const fg = this.fgPgrp;
      this.detach();
      if (fg) signalGroup(k, fg, SIGHUP);
    });
  }

  /** Stops controlling any session. */
  detach(): void {
    this.unwatchLeader?.();
    this.unwatchLeader = null;
    if (this.kernel && this.sid) {
      const table = sessionTable(this.kernel);
      if (table.get(this.sid) === this) table.delete(this.sid);
    }
    this.sid = 0;
    this.fgPgrp = 0;
  }

  /**
   * Linux's tty_check_change: a process of a background group of the session
   * this terminal controls may not read it (sig SIGTTIN) or change it
   * (SIGTTOU). Returns 0 to go on, -EIO, or -EINTR after stopping the
   * caller's group with sig (the call runs again once it is continued).
   */
  backgroundCheck(t: Task, sig: number): number {
    const k = t.kernel;
    const p = t.proc;
    if (!this.fgPgrp || p.pgid === this.fgPgrp || controllingTerminal(k, p) !== this) return 0;
    if (p.actions[sig]!.handler === SIG_IGN || t.sigmask & sigbit(sig)) return sig === SIGTTIN ? -EIO : 0;
    if (orphanedGroup(k, p)) return -EIO;
    signalGroup(k, p.pgid, sig);
    return -EINTR;
  }

  /** Sends sig to the foreground process group (terminal-generated signals, SIGWINCH). */
  signalForeground(sig: number): void {
    if (this.kernel && this.fgPgrp) signalGroup(this.kernel, this.fgPgrp, sig);
  }

  /** The terminal went away: its session leader gets SIGHUP and SIGCONT, and the session loses it. */
  hangup(): void {
    const k = this.kernel;
    if (!k || !this.sid) return;
    const leader = k.processes.get(this.sid);
    this.detach();
    if (leader && !leader.zombie) {
      k.signals.sendToProcess(leader, SIGHUP);
      k.signals.sendToProcess(leader, SIGCONT);
    }
  }

  /**
   * Opening a terminal without O_NOCTTY makes it the controlling terminal of
   * a session leader that has none, if no other session has it.
   */
  openedBy(t: Task, noctty: boolean): void {
    const p = t.proc;
    if (noctty || p.pid !== p.sid || this.sid !== 0 || controllingTerminal(t.kernel, p)) return;
    this.attach(t.kernel, p);
  }

  /**
   * The job-control ioctls; undefined for other commands. viaMaster: issued
   * on a pty master, which addresses the replica without requiring it to be
   * the caller's controlling terminal.
   */
  jobControlIoctl(t: Task, cmd: number, arg: number, readable: boolean, viaMaster: boolean): number | undefined {
    const k = t.kernel;
    const p = t.proc;
    const isCtty = controllingTerminal(k, p) === this;
    switch (cmd) {
      case TIOCSCTTY: {
        if (isCtty) return 0;
        if (p.pid !== p.sid || controllingTerminal(k, p)) return -EPERM;
        const admin = t.creds.euid === 0;
        if (!readable && !admin) return -EPERM;
        if (this.sid !== 0) {
          // Stealing another session's terminal takes arg 1 and CAP_SYS_ADMIN.
          if ((arg & 0xffffffff) !== 1 || !admin) return -EPERM;
          this.detach();
        }
        this.attach(k, p);
        return 0;
      }
      case TIOCNOTTY: {
        if (!isCtty) return -ENOTTY;
        if (p.pid === p.sid) {
          const fg = this.fgPgrp;
          this.detach();
          if (fg) {
            signalGroup(k, fg, SIGHUP);
            signalGroup(k, fg, SIGCONT);
          }
        } else {
          detached.add(p);
        }
        return 0;
      }
      case TIOCGPGRP:
        if (!isCtty && !viaMaster) return -ENOTTY;
        return t.mm.writeU32(arg, this.fgPgrp) ? 0 : -EFAULT;
      case TIOCGSID:
        if ((!isCtty && !viaMaster) || this.sid === 0) return -ENOTTY;
        return t.mm.writeU32(arg, this.sid) ? 0 : -EFAULT;
      case TIOCSPGRP: {
        const v = t.mm.readU32(arg);
        if (v === null) return -EFAULT;
        const pgid = v | 0;
        if (pgid < 0) return -EINVAL;
        if (!isCtty || this.sid !== p.sid) return -ENOTTY;
        const bg = this.backgroundCheck(t, SIGTTOU);
        if (bg < 0) return bg;
        let found = false;
        for (const q of k.processes.values()) {
          if (q.pgid !== pgid || q.zombie) continue;
          if (q.sid !== this.sid) return -EPERM;
          found = true;
        }
        if (!found) return -ESRCH;
        this.fgPgrp = pgid;
        return 0;
      }
      default:
        return undefined;
    }
  }
}
