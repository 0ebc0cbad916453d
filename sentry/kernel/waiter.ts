// Wait queues: how a blocked task learns that what it waits for may be ready.
// The Sentry is single-threaded; a blocked syscall is a pending Promise, and
// notify() resolves every waiter, which then re-checks its own condition.
// A notification may carry a key: the POLL* bits that may have changed (as
// Linux's wake_up_poll), so an edge-triggered epoll watcher can ignore wakeups
// for events it does not watch. No key (0) means "anything may have changed".
//
// Besides one-shot waiters, a queue has persistent watchers (epoll's
// interests), called on every notify, newest first as Linux's
// add_wait_queue orders them.
export type Waker = (key: number) => void;

export class WaitQueue {
  private waiters = new Set<Waker>();
  private watchers: Waker[] = [];

  /** Registers a one-shot callback; returns a function that unregisters it. */
  subscribe(wake: Waker): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  /** Registers a callback for every notification until the returned function is called. */
  watch(w: Waker): () => void {
    this.watchers.unshift(w);
    return () => {
      const i = this.watchers.indexOf(w);
      if (i >= 0) this.watchers.splice(i, 1);
    };
  }

  notify(key = 0): void {
    if (this.watchers.length > 0) for (const w of [...this.watchers]) w(key);
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w(key);
  }
}
