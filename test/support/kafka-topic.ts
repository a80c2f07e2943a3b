// Kafka helpers for end-to-end tests of the tailer: create topics, and collect every event_id a
// topic holds (with how often each was seen) so a test can say "zero missing, N duplicates".
import { Kafka, logLevel, type Consumer, type ITopicConfig } from 'kafkajs';
import { uniqueName, waitFor } from './services';

function client(brokers: string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200 } });
}

/** Creates the topics (4 partitions unless told) and waits until they have leaders. */
export async function createTopics(
  brokers: string[],
  topics: string[],
  opts: { partitions?: number; configEntries?: ITopicConfig['configEntries'] } = {},
): Promise<void> {
  const admin = client(brokers, 'tailplow-test-admin').admin();
  await admin.connect();
  try {
    // A broker that has just started may not host a new topic's partitions for a moment
    // (UNKNOWN_TOPIC_OR_PARTITION while waiting for leaders): retry the retriable errors.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: topics.map((topic) => ({ topic, numPartitions: opts.partitions ?? 4, replicationFactor: 1, configEntries: opts.configEntries })),
        });
        const offsets = await Promise.all(topics.map((t) => admin.fetchTopicOffsets(t)));
        if (offsets.every((o) => o.length === (opts.partitions ?? 4))) return;
        throw Object.assign(new Error('partitions not ready yet'), { retriable: true });
      } catch (err) {
        if (!(err as { retriable?: boolean }).retriable || attempt >= 30) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** One tailplow message as a test sees it. */
export interface CollectedMessage {
  eventId: string | undefined;
  /** The `tailplow-source` header: the path the line was read from. */
  source: string | undefined;
  /** Broker timestamp (ms): the append time on a topic with message.timestamp.type=LogAppendTime. */
  timestamp: number;
}

export interface TopicCollector {
  /** event_id -> how many messages carried it. */
  readonly counts: ReadonlyMap<string, number>;
  /** Messages seen, events with and without an event_id alike. */
  readonly messages: number;
  /** Source header -> messages read from that path. */
  readonly sources: ReadonlyMap<string, number>;
  /** Ids from `expected` that were never seen. */
  missing(expected: Iterable<string>): string[];
  /** Messages beyond the first of each event_id. */
  duplicates(): number;
  /** Resolves once every expected id was seen; rejects after `timeoutMs` saying how many are missing. */
  waitForAll(expected: Iterable<string>, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const EVENT_ID = /"event_id":"([^"]+)"/;

/**
 * Consumes `topic` from its beginning in a fresh consumer group until stopped. Values are not
 * parsed as a whole: the event_id is cut out with a regex, so 100k+ messages stay cheap.
 */
export async function startTopicCollector(
  brokers: string[],
  topic: string,
  opts: { onMessage?: (m: CollectedMessage) => void } = {},
): Promise<TopicCollector> {
  const counts = new Map<string, number>();
  const sources = new Map<string, number>();
  let messages = 0;
  const consumer: Consumer = client(brokers, 'tailplow-test-collector').consumer({
    groupId: uniqueName('tailplow-test-collector'),
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        messages++;
        const eventId = m.value ? EVENT_ID.exec(m.value.toString('utf8'))?.[1] : undefined;
        if (eventId) counts.set(eventId, (counts.get(eventId) ?? 0) + 1);
        const source = m.headers?.['tailplow-source']?.toString();
        if (source) sources.set(source, (sources.get(source) ?? 0) + 1);
        opts.onMessage?.({ eventId, source, timestamp: Number(m.timestamp) });
      }
    },
  });
  const missing = (expected: Iterable<string>) => {
    const out: string[] = [];
    for (const id of expected) if (!counts.has(id)) out.push(id);
    return out;
  };
  return {
    counts,
    sources,
    get messages() {
      return messages;
    },
    missing,
    duplicates: () => messages - counts.size,
    async waitForAll(expected, timeoutMs) {
      const ids = [...expected];
      await waitFor(() => {
        const left = missing(ids).length;
        if (left > 0) throw new Error(`${left} of ${ids.length} event ids not in ${topic} yet (${messages} messages seen)`);
        return true;
      }, timeoutMs, 250);
    },
    stop: () => consumer.disconnect(),
  };
}
