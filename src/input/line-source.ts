/**
 * Reads a whole historic file (plain or .gz) as LineBatches, for replay. Offsets are positions in
 * the decompressed stream, the same ones the tailer records, so a replay can start where the
 * tailer stopped (`startOffset`).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DEFAULT_FINGERPRINT_BYTES, fingerprintOf, isGzipPath } from './fingerprint';
import { createLineSplitter } from './line-splitter';
import type { LineBatch } from './types';

export interface LineSourceOptions {
  /** Default 1024, as for the tailer. */
  fingerprintBytes?: number;
  /** Longer lines become one `tooLong` record. Default 1 MiB. */
  maxLineBytes?: number;
  /** Default 1000. */
  maxBatchLines?: number;
  /** Read size in bytes. Default 256 KiB. */
  readBufferBytes?: number;
  /** Decompressed byte offset to start at; must be a line start. Default 0. */
  startOffset?: number;
  /** Emit a last line that has no newline (a finished file's final line). Default true. */
  emitUnterminatedLastLine?: boolean;
}

export interface LineSource extends AsyncIterable<LineBatch> {
  path: string;
  /** The fingerprint, or `short:<dev>:<ino>` for content shorter than fingerprintBytes. */
  fileKey: string;
}

export async function openLineSource(path: string, opts: LineSourceOptions = {}): Promise<LineSource> {
  const fingerprintBytes = opts.fingerprintBytes ?? DEFAULT_FINGERPRINT_BYTES;
  const maxLineBytes = opts.maxLineBytes ?? 1024 * 1024;
  const maxBatchLines = opts.maxBatchLines ?? 1000;
  const readBufferBytes = opts.readBufferBytes ?? 256 * 1024;
  const startOffset = opts.startOffset ?? 0;
  const emitLast = opts.emitUnterminatedLastLine ?? true;
  const st = await stat(path, { bigint: true });
  const fileKey = (await fingerprintOf(path, fingerprintBytes)) ?? `short:${st.dev}:${st.ino}`;

  async function* batches(): AsyncGenerator<LineBatch> {
    const splitter = createLineSplitter(startOffset, maxLineBytes);
    let toSkip = 0;
    let stream: Readable;
    if (isGzipPath(path)) {
      // pipeline() so that a read error on the file also ends the iteration with that error.
      stream = pipeline(createReadStream(path, { highWaterMark: readBufferBytes }), createGunzip({ chunkSize: readBufferBytes }), () => {});
      toSkip = startOffset;
    } else {
      stream = createReadStream(path, { highWaterMark: readBufferBytes, start: startOffset });
    }
    try {
      for await (const data of stream) {
        let chunk = data as Buffer;
        if (toSkip > 0) {
          const skipped = Math.min(toSkip, chunk.length);
          toSkip -= skipped;
          chunk = chunk.subarray(skipped);
        }
        while (chunk.length > 0) {
          const { lines, consumed } = splitter.feed(chunk, maxBatchLines);
          chunk = chunk.subarray(consumed);
          if (lines.length > 0) yield { fileKey, path, lines };
        }
      }
      const last = emitLast ? splitter.flush() : null;
      if (last) yield { fileKey, path, lines: [last] };
    } finally {
      stream.destroy();
    }
  }

  return { path, fileKey, [Symbol.asyncIterator]: batches };
}
