/**
 * Kafka's snappy and lz4 codecs for kafkajs, which has only gzip built in. Both come from
 * maintained napi-rs packages with a prebuilt binary per platform in the registry (`snappy`,
 * `lz4-napi`: nothing to compile, nothing to download at install). Each library is loaded the
 * first time a batch uses its codec, so an agent on gzip never maps it. Registered once for
 * the process, producing and consuming alike: a processor can read topics that Java or
 * librdkafka producers compress with either.
 */
import { CompressionCodecs, CompressionTypes } from 'kafkajs';

export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4';

export const KAFKA_COMPRESSION_TYPES: Record<KafkaCompression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
};

/** kafkajs' codec interface: it hands compress an Encoder, of which only the bytes matter. */
export interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** kafkajs' table of codec factories, typed. */
export const kafkaCodecs = CompressionCodecs as unknown as Record<number, () => Codec>;

// What the Java client writes (xerial's SnappyOutputStream): a magic header, then blocks, each a
// big-endian length and a raw snappy block. Java consumers read it; raw blocks are read too.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16; // magic, version 1, compatible version 1
/** Uncompressed bytes per block; the Java client's default. */
export const XERIAL_BLOCK_BYTES = 32 * 1024;

function snappyCodec(): Codec {
  const snappy = require('snappy') as typeof import('snappy');
  return {
    async compress(encoder) {
      const data = encoder.buffer;
      const blocks: Array<Promise<Buffer>> = [];
      for (let at = 0; at < data.length; at += XERIAL_BLOCK_BYTES) blocks.push(snappy.compress(data.subarray(at, at + XERIAL_BLOCK_BYTES)));
      const compressed = await Promise.all(blocks);
      const header = Buffer.alloc(XERIAL_HEADER_BYTES);
      XERIAL_MAGIC.copy(header, 0);
      header.writeInt32BE(1, 8);
      header.writeInt32BE(1, 12);
      const parts: Buffer[] = [header];
      for (const block of compressed) {
        const length = Buffer.alloc(4);
        length.writeInt32BE(block.length, 0);
        parts.push(length, block);
      }
      return Buffer.concat(parts);
    },
    async decompress(buffer) {
      if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
        return (await snappy.uncompress(buffer)) as Buffer;
      }
      const blocks: Array<Promise<Buffer>> = [];
      for (let at = XERIAL_HEADER_BYTES; at < buffer.length; ) {
        if (at + 4 > buffer.length) throw new Error('snappy: truncated xerial block length');
        const length = buffer.readInt32BE(at);
        at += 4;
        if (length < 0 || at + length > buffer.length) throw new Error(`snappy: xerial block of ${length} bytes past the end of the batch`);
        blocks.push(snappy.uncompress(buffer.subarray(at, at + length)) as Promise<Buffer>);
        at += length;
      }
      return Buffer.concat(await Promise.all(blocks));
    },
  };
}

function lz4Codec(): Codec {
  // The LZ4 frame format, which Kafka uses since 0.10 (KIP-57) and which is all record batches v2 allow.
  const lz4 = require('lz4-napi') as typeof import('lz4-napi');
  return {
    compress: (encoder) => lz4.compressFrame(encoder.buffer),
    decompress: (buffer) => lz4.decompressFrame(buffer),
  };
}

let registered = false;

/** Adds snappy and lz4 to kafkajs (idempotent). */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  let snappy: Codec | undefined;
  let lz4: Codec | undefined;
  kafkaCodecs[CompressionTypes.Snappy] = () => (snappy ??= snappyCodec());
  kafkaCodecs[CompressionTypes.LZ4] = () => (lz4 ??= lz4Codec());
}
