// Wait queues: how a blocked task learns that what it waits for may be ready.
// The Sentry is single-threaded; a blocked syscall is a pending Promise, and
// notify() resolves every waiter, which then re-checks its own condition.
export class WaitQueue {
  private waiters = new Set<() => void>();

  /** Registers a one-shot callback; returns a function that unregisters it. */
  subscribe(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  notify(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}
