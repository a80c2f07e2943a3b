/**
 * Acknowledgements for one file. Batches are handed out in file order and may be acknowledged in
 * any order; the committed offset only moves over the contiguous acknowledged prefix, so a
 * restart never skips an unacknowledged line.
 */
export interface AckTracker {
  /** Records a batch covering [start, end) as handed out; returns its id. */
  issued(end: number): number;
  /** Marks a batch acknowledged; returns true when the committed offset moved. */
  acknowledge(id: number): boolean;
  committed(): number;
  inFlight(): number;
}

export function createAckTracker(startOffset: number): AckTracker {
  let committed = startOffset;
  let nextId = 0;
  // Oldest first; ids are consecutive, so an id's slot is id - firstId.
  const ends: number[] = [];
  const acked: boolean[] = [];
  let firstId = 0;
  return {
    issued(end) {
      ends.push(end);
      acked.push(false);
      return nextId++;
    },
    acknowledge(id) {
      const slot = id - firstId;
      if (slot < 0 || slot >= acked.length) return false;
      acked[slot] = true;
      let moved = false;
      while (acked.length > 0 && acked[0]) {
        committed = ends[0]!;
        ends.shift();
        acked.shift();
        firstId++;
        moved = true;
      }
      return moved;
    },
    committed: () => committed,
    inFlight: () => acked.length,
  };
}
