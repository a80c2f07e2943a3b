/**
 * Reads a whole historic file (plain or .gz) as LineBatches, for replay. Offsets are positions in
 * the decompressed stream, the same ones the tailer records, so a replay can start where the
 * tailer stopped (`startOffset`).
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
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
    for await (let chunk of fileChunks(path, startOffset, readBufferBytes)) {
      while (chunk.length > 0) {
        const { lines, consumed } = splitter.feed(chunk, maxBatchLines);
        chunk = chunk.subarray(consumed);
        if (lines.length > 0) yield { fileKey, path, lines };
      }
    }
    const last = emitLast ? splitter.flush() : null;
    if (last) yield { fileKey, path, lines: [last] };
  }

  return { path, fileKey, [Symbol.asyncIterator]: batches };
}

/** The bytes of a file (decompressed for .gz) from `startOffset` on, in chunks of about `chunkBytes`. */
export async function* fileChunks(path: string, startOffset: number, chunkBytes: number): AsyncGenerator<Buffer> {
  let toSkip = 0;
  let stream: Readable;
  if (isGzipPath(path)) {
    // pipeline() so that a read error on the file also ends the iteration with that error.
    stream = pipeline(createReadStream(path, { highWaterMark: chunkBytes }), createGunzip({ chunkSize: chunkBytes }), () => {});
    toSkip = startOffset;
  } else {
    stream = createReadStream(path, { highWaterMark: chunkBytes, start: startOffset });
  }
  try {
    for await (const data of stream) {
      let chunk = data as Buffer;
      if (toSkip > 0) {
        const skipped = Math.min(toSkip, chunk.length);
        toSkip -= skipped;
        chunk = chunk.subarray(skipped);
      }
      if (chunk.length > 0) yield chunk;
    }
  } finally {
    stream.destroy();
  }
}

/** gzip's ISIZE: the decompressed size (of the last member) mod 2^32, from the last 4 bytes. */
export async function gzipTrailerSize(path: string): Promise<number | null> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 18) return null; // smaller than an empty gzip member
    const buf = Buffer.alloc(4);
    await handle.read(buf, 0, 4, size - 4);
    return buf.readUInt32LE(0);
  } finally {
    await handle.close();
  }
}
