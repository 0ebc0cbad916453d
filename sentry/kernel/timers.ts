// Kernel timers: callbacks due at a CLOCK_MONOTONIC deadline. The scheduler
// loop asks for the next deadline when it decides how long it may block.
export class Timers {
  private entries: { at: bigint; fire: () => void }[] = [];

  /** Schedules fire at deadline (ns); returns a function that cancels it. */
  add(at: bigint, fire: () => void): () => void {
    const e = { at, fire };
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.at > at) i--;
    this.entries.splice(i, 0, e);
    return () => {
      const j = this.entries.indexOf(e);
      if (j >= 0) this.entries.splice(j, 1);
    };
  }

  get size(): number {
    return this.entries.length;
  }

  next(): bigint | null {
    return this.entries[0]?.at ?? null;
  }

  /** Runs every timer due at now; returns how many ran. */
  fireDue(now: bigint): number {
    let n = 0;
    while (this.entries.length > 0 && this.entries[0]!.at <= now) {
      this.entries.shift()!.fire();
      n++;
    }
    return n;
  }
}
