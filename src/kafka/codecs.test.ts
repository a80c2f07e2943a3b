import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CompressionTypes } from 'kafkajs';
import { kafkaCodecs, registerKafkaCodecs, XERIAL_BLOCK_BYTES } from './codecs';

registerKafkaCodecs();
const snappy = kafkaCodecs[CompressionTypes.Snappy]!();
const lz4 = kafkaCodecs[CompressionTypes.LZ4]!();

/** Compressible like a batch of events: JSON lines that repeat field names, with random ids. */
function batchLike(bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const line = JSON.stringify({ event: 'page_view', event_id: randomBytes(16).toString('hex'), page_url: `https://www.example.com/p/${n}` });
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('\n')).subarray(0, bytes);
}

test('snappy: xerial framing as the Java client writes it, one block per 32 KiB, round trip', async () => {
  const data = batchLike(3 * XERIAL_BLOCK_BYTES + 1000);
  const framed = await snappy.compress({ buffer: data });
  assert.deepEqual([...framed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  assert.equal(framed.readInt32BE(8), 1);
  assert.equal(framed.readInt32BE(12), 1);
  let blocks = 0;
  for (let at = 16; at < framed.length; at += 4 + framed.readInt32BE(at)) blocks++;
  assert.equal(blocks, 4);
  assert.ok(framed.length < data.length / 2, `compressed ${data.length} to ${framed.length}`);
  assert.ok((await snappy.decompress(framed)).equals(data));
});

test('snappy: a raw block (no xerial header, as some clients write) is read too', async () => {
  const data = batchLike(5000);
  const raw = await (require('snappy') as typeof import('snappy')).compress(data);
  assert.ok((await snappy.decompress(raw)).equals(data));
});

test('snappy: a frame cut short is an error, not a shorter batch', async () => {
  const framed = await snappy.compress({ buffer: batchLike(2 * XERIAL_BLOCK_BYTES) });
  await assert.rejects(snappy.decompress(framed.subarray(0, framed.length - 10)), /past the end/);
  await assert.rejects(snappy.decompress(framed.subarray(0, 18)), /truncated/);
});

test('lz4: frame format round trip (what Kafka reads since 0.10)', async () => {
  const data = batchLike(200_000);
  const frame = await lz4.compress({ buffer: data });
  // The LZ4 frame magic number 0x184D2204, little-endian.
  assert.deepEqual([...frame.subarray(0, 4)], [0x04, 0x22, 0x4d, 0x18]);
  assert.ok(frame.length < data.length / 2, `compressed ${data.length} to ${frame.length}`);
  assert.ok((await lz4.decompress(frame)).equals(data));
});

test('the empty batch round-trips with both', async () => {
  for (const codec of [snappy, lz4]) assert.equal((await codec.decompress(await codec.compress({ buffer: Buffer.alloc(0) }))).length, 0);
});
