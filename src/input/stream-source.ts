/**
 * Lines of a byte stream (stdin, a pipe), gzip detected by its magic bytes rather than a file
 * name. Offsets are positions in the decompressed stream, as for files.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createLineSplitter } from './line-splitter';
import type { LineBatch } from './types';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

export async function* linesOfStream(
  input: Readable,
  opts: { name: string; maxLineBytes?: number; maxBatchLines?: number },
): AsyncGenerator<LineBatch> {
  const splitter = createLineSplitter(0, opts.maxLineBytes ?? 1024 * 1024);
  const maxBatchLines = opts.maxBatchLines ?? 1000;
  const fileKey = `stream:${opts.name}`;
  const chunks = await sniffGzip(input);
  for await (const data of chunks) {
    let chunk = data as Buffer;
    while (chunk.length > 0) {
      const { lines, consumed } = splitter.feed(chunk, maxBatchLines);
      chunk = chunk.subarray(consumed);
      if (lines.length > 0) yield { fileKey, path: opts.name, lines };
    }
  }
  const last = splitter.flush();
  if (last) yield { fileKey, path: opts.name, lines: [last] };
}

/** Peeks at the first bytes; returns a stream of decompressed bytes when they are gzip. */
async function sniffGzip(input: Readable): Promise<AsyncIterable<Buffer>> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < 2) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  const first = Buffer.concat(head);
  const isGzip = first.length >= 2 && first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
  return isGzip ? Readable.from(replay()).pipe(createGunzip()) : replay();
}
