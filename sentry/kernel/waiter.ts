// Wait queues: how a blocked task learns that what it waits for may be ready.
// The Sentry is single-threaded; a blocked syscall is a pending Promise, and
// notify() resolves every waiter, which then re-checks its own condition.
// A notification may carry a key: the POLL* bits that may have changed (as
// Linux's wake_up_poll), so an edge-triggered epoll watcher can ignore wakeups
// for events it does not watch. No key (0) means "anything may have changed".
export type Waker = (key: number) => void;

export class WaitQueue {
  private waiters = new Set<Waker>();

  /** Registers a one-shot callback; returns a function that unregisters it. */
  subscribe(wake: Waker): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  notify(key = 0): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w(key);
  }
}
