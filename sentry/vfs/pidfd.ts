// pidfd_open(2): a file that refers to a process. It is readable (POLLIN)
// once the process has exited, reaped or not; pidfd_send_signal signals the
// process through it. read(2) on it is EINVAL, as on Linux.
import type { Task } from '../kernel/task';
import type { Process } from '../kernel/process';
import type { Signals } from '../kernel/signals';
import { anonStat, FileDescription, type Stat } from './file';
import { O_NONBLOCK, O_RDWR, POLLIN } from './linuxconst';
import { ANON_INODE_DEV, ANON_INODE_INO } from './eventfd';

export class PidFD extends FileDescription {
  private readonly unwatch: () => void;

  constructor(signals: Signals, readonly proc: Process, nonblock: boolean) {
    super(O_RDWR | (nonblock ? O_NONBLOCK : 0));
    this.unwatch = signals.exitQueue(proc).watch((key) => this.queue.notify(key));
  }

  override readiness(): number {
    return this.proc.zombie ? POLLIN : 0;
  }

  protected override release(): void {
    this.unwatch();
  }

  override stat(t: Task): Stat { return anonStat(0o600, ANON_INODE_INO, ANON_INODE_DEV); }
  override displayName(): string { return 'anon_inode:[pidfd]'; }
}
