/**
 * Offsets committed in order per partition while the sinks of successive batches overlap.
 *
 * A batch is accepted (its stages ran, its offsets are resolved so the consumer fetches on) before
 * it is stored. Batches accepted later may be stored earlier, but a partition's committed offset
 * only ever moves over a contiguous prefix of stored batches, so a crash or a rebalance redoes
 * exactly what was not stored (the sinks are idempotent per event_id, so the redo is harmless).
 *
 * A failed batch drops itself and every later pending batch of its partition (their commits would
 * skip it); `onFailure` is told the first offset to fetch again. `reset` forgets every pending batch
 * (after a rebalance the consumer starts again from the committed offsets).
 */
export interface PendingBatch {
  partition: number;
  /** Offset of the batch's first message: where a redo starts. */
  firstOffset: string;
  /** Offset after its last message: what is committed once it and all before it are stored. */
  nextOffset: string;
  events: number;
  stored: Promise<void>;
}

export interface CommitQueueOptions {
  /** Commits `nextOffset` for the partition; called in order per partition, never concurrently for one. */
  commit(partition: number, nextOffset: string): Promise<void>;
  /** A pending batch failed (not after a reset): fetch the partition again from `firstOffset`. */
  onFailure(partition: number, firstOffset: string, err: unknown): void;
}

interface Entry extends PendingBatch {
  done: boolean;
  dropped: boolean;
}

export class CommitQueue {
  private readonly partitions = new Map<number, { entries: Entry[]; commits: Promise<void> }>();
  private pending = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly opts: CommitQueueOptions) {}

  /** Events accepted and not yet stored (or dropped). */
  get pendingEvents(): number {
    return this.pending;
  }

  /**
   * Queues a batch behind the earlier ones of its partition. The returned check is false once the
   * batch was dropped (a reset, or an earlier batch of its partition failed): its work will be redone.
   */
  add(batch: PendingBatch): () => boolean {
    const entry: Entry = { ...batch, done: false, dropped: false };
    this.stateOf(batch.partition).entries.push(entry);
    this.pending += batch.events;
    batch.stored.then(
      () => {
        if (entry.dropped) return;
        entry.done = true;
        this.commitStoredPrefix(batch.partition);
      },
      (err: unknown) => {
        if (entry.dropped) return;
        this.dropFrom(batch.partition, entry);
        this.opts.onFailure(batch.partition, batch.firstOffset, err);
      },
    );
    return () => !entry.dropped;
  }

  /** Resolves once at most `limit` events are pending (or at once if already so). */
  async below(limit: number): Promise<void> {
    while (this.pending > limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Resolves at the next change of the pending count. */
  changed(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Forgets every pending batch: none of them will be committed. */
  reset(): void {
    for (const [partition, state] of this.partitions) {
      if (state.entries.length) this.dropFrom(partition, state.entries[0]!);
    }
  }

  /** Resolves when nothing is pending and every commit asked for has settled. */
  async drained(): Promise<void> {
    await this.below(0);
    await Promise.all([...this.partitions.values()].map((s) => s.commits));
  }

  private stateOf(partition: number) {
    let state = this.partitions.get(partition);
    if (!state) {
      state = { entries: [], commits: Promise.resolve() };
      this.partitions.set(partition, state);
    }
    return state;
  }

  private commitStoredPrefix(partition: number): void {
    const state = this.stateOf(partition);
    let last: Entry | undefined;
    while (state.entries[0]?.done) {
      last = state.entries.shift()!;
      this.pending -= last.events;
    }
    if (!last) return;
    const offset = last.nextOffset;
    // A failed commit is covered by the next one (commits are cumulative); a redo is the worst case.
    state.commits = state.commits.then(() => this.opts.commit(partition, offset)).catch(() => {});
    this.wake();
  }

  private dropFrom(partition: number, first: Entry): void {
    const state = this.stateOf(partition);
    const at = state.entries.indexOf(first);
    if (at < 0) return;
    for (const e of state.entries.splice(at)) {
      e.dropped = true;
      this.pending -= e.events;
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
