/**
 * Cuts a byte stream into lines with exact byte offsets. Bytes of an unfinished line are kept
 * (at most `maxLineBytes`) until its newline arrives, so a partial last line is never emitted and
 * never lost. A line longer than `maxLineBytes` is emitted once, truncated and flagged `tooLong`,
 * when its newline is finally seen; the bytes in between are skipped, not buffered.
 */
import type { LineRecord } from './types';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface LineSplitterState {
  /** Offset where the line being assembled starts. */
  lineStart: number;
  /** Offset of the next byte to be fed. */
  position: number;
  /** Bytes of the unfinished line seen so far (at most maxLineBytes of them are held). */
  pendingBytes: number;
}

export interface FeedResult {
  lines: LineRecord[];
  /** How many bytes of the chunk were consumed; less than its length only when `maxLines` was reached. */
  consumed: number;
}

export interface LineSplitter {
  /** Feeds the bytes that start at `state().position`; stops after `maxLines` complete lines. */
  feed(chunk: Buffer, maxLines: number): FeedResult;
  /**
   * Ends the stream: returns the unterminated last line (its `nextOffset` is the end of the data)
   * or null. Only for finished files; a file being followed may still get its newline.
   */
  flush(): LineRecord | null;
  state(): LineSplitterState;
}

export function createLineSplitter(startOffset: number, maxLineBytes: number): LineSplitter {
  let lineStart = startOffset;
  let position = startOffset;
  // The unfinished line: its first bytes (at most maxLineBytes are kept) and how many were seen.
  let carry: Buffer[] = [];
  let carryLength = 0;
  let seen = 0;
  let lastWasCarriageReturn = false;

  const keep = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    seen += bytes.length;
    lastWasCarriageReturn = bytes[bytes.length - 1] === CARRIAGE_RETURN;
    const kept = bytes.subarray(0, maxLineBytes - carryLength);
    if (kept.length > 0) {
      // Copied: the caller reuses its read buffer.
      carry.push(Buffer.from(kept));
      carryLength += kept.length;
    }
  };

  /** Ends the unfinished line; `crlf`: the byte before its newline was a \r, not part of the text. */
  const takeCarry = (crlf: boolean): { text: string; tooLong: boolean } => {
    const length = seen - (crlf ? 1 : 0);
    const whole = Buffer.concat(carry, carryLength);
    const text = whole.toString('utf8', 0, Math.min(length, maxLineBytes));
    carry = [];
    carryLength = 0;
    seen = 0;
    lastWasCarriageReturn = false;
    return { text, tooLong: length > maxLineBytes };
  };

  const record = (text: string, nextOffset: number, tooLong: boolean): LineRecord => {
    const line: LineRecord = { text, offset: lineStart, nextOffset };
    if (tooLong) line.tooLong = true;
    lineStart = nextOffset;
    return line;
  };

  return {
    feed(chunk, maxLines) {
      const lines: LineRecord[] = [];
      let at = 0;
      while (at < chunk.length && lines.length < maxLines) {
        const newline = chunk.indexOf(NEWLINE, at);
        if (newline === -1) {
          keep(chunk.subarray(at));
          at = chunk.length;
          break;
        }
        const nextOffset = position + newline + 1;
        if (seen === 0) {
          let end = newline;
          if (end > at && chunk[end - 1] === CARRIAGE_RETURN) end--;
          const tooLong = end - at > maxLineBytes;
          lines.push(record(chunk.toString('utf8', at, tooLong ? at + maxLineBytes : end), nextOffset, tooLong));
        } else {
          keep(chunk.subarray(at, newline));
          const { text, tooLong } = takeCarry(lastWasCarriageReturn);
          lines.push(record(text, nextOffset, tooLong));
        }
        at = newline + 1;
      }
      position += at;
      return { lines, consumed: at };
    },
    flush() {
      if (seen === 0) return null;
      const { text, tooLong } = takeCarry(false);
      return record(text, position, tooLong);
    },
    state: () => ({ lineStart, position, pendingBytes: seen }),
  };
}
