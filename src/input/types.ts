/** One complete line read from a file, with its exact byte position. */
export interface LineRecord {
  /** The line without its terminating `\n` (and without a `\r` before it), decoded as UTF-8. */
  text: string;
  /** Byte offset of the first byte of the line (decompressed offset for .gz). */
  offset: number;
  /** Byte offset just after the line's `\n`: where the next line starts. */
  nextOffset: number;
  /**
   * The line was longer than `maxLineBytes`: `text` holds only its first `maxLineBytes` bytes and
   * the rest was skipped. Downstream this is a bad row, not an event.
   */
  tooLong?: true;
}

/** Consecutive lines of one file. Lines are contiguous: each starts where the previous ended. */
export interface LineBatch {
  /** Stable identity of the file: sha256 (hex) of its first `fingerprintBytes` bytes; `short:<dev>:<ino>` while it is shorter. */
  fileKey: string;
  /** Path the file had when the batch was read. */
  path: string;
  lines: LineRecord[];
}

/** Milliseconds since the epoch; injected so tests control time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
