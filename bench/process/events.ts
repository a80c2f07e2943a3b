/**
 * Input for the processor's tests and benchmark: realistic canonical events, exactly as the
 * tailer produces them to tracking_raw (value = eventToJson(event), key = visitor id), decoded by
 * the real decoder from generated log lines (bench/lib/generate.ts). Some lines can carry the
 * addresses MaxMind's test database knows, so geo lookups have something to find.
 */
import { Kafka, logLevel, CompressionTypes, type Admin } from 'kafkajs';
import { createLineGenerator } from '../lib/generate';
import { createLineParser } from '../../src/nginx';
import { decodeLine } from '../../src/snowplow/decode';
import type { SnowplowEvent } from '../../src/snowplow/event';
import { eventToJson } from '../../src/snowplow/format';
import { visitorKeyOf } from '../../src/pipeline/tail';

/** Addresses with a City record in test/fixtures/maxmind/GeoIP2-City-Test.mmdb, and their country. */
export const MAXMIND_TEST_IPS: ReadonlyArray<readonly [ip: string, country: string]> = [
  ['81.2.69.142', 'GB'],
  ['2.125.160.216', 'GB'],
  ['89.160.20.112', 'SE'],
  ['216.160.83.56', 'US'],
  ['175.16.199.0', 'CN'],
];

export interface RawMessage {
  key: string | null;
  value: string;
}

export interface GeneratedInput {
  messages: RawMessage[];
  events: SnowplowEvent[];
  /** event_id of every message, in order. */
  ids: string[];
  /** event_id -> the MaxMind test address it was given (its country is in MAXMIND_TEST_IPS). */
  geoIps: Map<string, string>;
}

/**
 * Generates at least `n` events (a POST line carries several; the last line is not cut).
 * `geoEvery`: every k-th line's visitor address is replaced by a MaxMind test address.
 */
export function generateRawEvents(n: number, opts: { seed?: number; geoEvery?: number; startMs?: number } = {}): GeneratedInput {
  const next = createLineGenerator({ seed: opts.seed ?? 7, startMs: opts.startMs ?? Date.UTC(2026, 9, 1) });
  const parser = createLineParser('json');
  const out: GeneratedInput = { messages: [], events: [], ids: [], geoIps: new Map() };
  let offset = 0;
  for (let line = 0; out.events.length < n; line++) {
    let text = next();
    let testIp: string | undefined;
    if (opts.geoEvery && line % opts.geoEvery === 0) {
      testIp = MAXMIND_TEST_IPS[(line / opts.geoEvery) % MAXMIND_TEST_IPS.length]![0];
      text = text.replace(/"http_x_forwarded_for":"[^"]*"/, `"http_x_forwarded_for":"${testIp}"`);
    }
    const outcome = decodeLine(text, parser, { offset, source: 'generated.log', now: () => Date.UTC(2026, 9, 2) });
    offset += text.length + 1;
    for (const e of outcome.events) {
      out.events.push(e);
      out.ids.push(e.event_id!);
      out.messages.push({ key: visitorKeyOf(e), value: eventToJson(e) });
      if (testIp) out.geoIps.set(e.event_id!, testIp);
    }
  }
  return out;
}

function kafkaClient(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'tailplow-process-input', brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200 } });
}

/** Produces the messages (acks=all, in chunks) and resolves when all are acknowledged. */
export async function produceRaw(brokers: string[], topic: string, messages: ReadonlyArray<RawMessage | { key: string | null; value: string | Buffer }>, chunk = 400): Promise<void> {
  const producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) {
      await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: messages.slice(i, i + chunk) as Array<{ key: string | null; value: string | Buffer }> });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface GroupProgress {
  /** Sum over partitions of the group's committed offset (0 where none). */
  committed: number;
  /** Sum over partitions of the high watermark. */
  end: number;
}

/** Where a consumer group stands on a topic. */
export async function groupProgress(admin: Admin, groupId: string, topic: string): Promise<GroupProgress> {
  const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const end = ends.reduce((s, p) => s + Number(p.high), 0);
  const committed = (groups[0]?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  return { committed, end };
}

export async function connectAdmin(brokers: string[]): Promise<Admin> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  return admin;
}

/**
 * `n` messages made from `templates` with fresh event ids (the JSON's event_id replaced), so a
 * large input costs one decode of a small sample. Keys (visitors) repeat with their templates.
 */
export function withFreshIds(templates: ReadonlyArray<RawMessage>, n: number, prefix: string): { messages: RawMessage[]; ids: string[] } {
  const messages: RawMessage[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = templates[i % templates.length]!;
    // A UUID-shaped id: prefix (8 hex) + counter, unique per prefix.
    const id = `${prefix}-0000-4000-a000-${i.toString(16).padStart(12, '0')}`;
    messages.push({ key: t.key, value: t.value.replace(/"event_id":"[^"]*"/, `"event_id":"${id}"`) });
    ids.push(id);
  }
  return { messages, ids };
}

/** An 8-hex-digit prefix for withFreshIds. */
export function idPrefix(): string {
  return Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
}
