/**
 * A bounded in-flight window: `acquire(cost)` waits while the window is full. Backpressure by
 * awaiting (STYLE 7): a reader that awaits acquire() stops reading when outputs are slow.
 */
export class InFlightWindow {
  private used = 0;
  private waiters: Array<{ cost: number; resolve: () => void }> = [];

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new Error('window capacity must be positive');
  }

  get inFlight(): number {
    return this.used;
  }

  /** Waits for room for `cost` units. A cost above capacity is admitted alone, so nothing deadlocks. */
  acquire(cost: number): Promise<void> {
    if (this.fits(cost) && this.waiters.length === 0) {
      this.used += cost;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push({ cost, resolve }));
  }

  release(cost: number): void {
    this.used -= cost;
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.cost)) {
      const w = this.waiters.shift()!;
      this.used += w.cost;
      w.resolve();
    }
  }

  private fits(cost: number): boolean {
    return this.used === 0 || this.used + cost <= this.capacity;
  }
}
