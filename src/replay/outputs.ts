/** Where `tailplow replay` delivers: nowhere (null/dry run), JSON or TSV lines, or Kafka. */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Producer } from '../kafka/producer';
import type { DecodedBatch } from '../pipeline/batch-decode';

export interface ReplayOutput {
  /** Resolves when the batch is delivered (written to the OS, or acknowledged by Kafka). */
  write(batch: DecodedBatch): Promise<void>;
  close(): Promise<void>;
}

export const nullOutput: ReplayOutput = { write: async () => {}, close: async () => {} };

export function streamOutput(events: Writable, bad: Writable | undefined): ReplayOutput {
  const put = (stream: Writable, items: Array<{ value: string }>) =>
    new Promise<void>((resolve, reject) => {
      if (items.length === 0) return resolve();
      let text = '';
      for (const it of items) text += it.value + '\n';
      stream.write(text, (err) => (err ? reject(err) : resolve()));
    });
  return {
    async write(batch) {
      await Promise.all([put(events, batch.events), bad ? put(bad, batch.bad) : undefined]);
    },
    async close() {
      const end = (s: Writable) => new Promise<void>((resolve) => (s === process.stdout ? resolve() : s.end(resolve)));
      await end(events);
      if (bad) await end(bad);
    },
  };
}

export function fileStream(path: string | undefined): Writable {
  return path === undefined || path === '-' ? process.stdout : createWriteStream(path);
}

export function kafkaOutput(producer: Producer, topics: { topic: string; badTopic: string }): ReplayOutput {
  return {
    async write(batch) {
      const headers = (offset: number) => ({ 'tailplow-source': batch.path, 'tailplow-offset': String(offset) });
      await Promise.all([
        producer.send(topics.topic, batch.events.map((e) => ({ key: e.key, value: e.value, headers: headers(e.offset) }))),
        producer.send(topics.badTopic, batch.bad.map((b) => ({ key: null, value: b.value, headers: headers(b.offset) }))),
      ]);
    },
    close: () => producer.close(),
  };
}
