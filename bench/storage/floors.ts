/**
 * bench/storage/floors: what the parts of issue 6's path cost that are not ours to make cheaper,
 * each alone, in CPU time per event on the bench's events (bench/process/events.ts):
 *
 * - `consume`: a bare kafkajs consumer (the client the project uses) reading a pre-filled
 *   4-partition topic with a no-op eachBatch, plus the broker's CPU meanwhile (same machine);
 * - `JSON.parse` of each message (the processor must decode the event);
 * - `clickhouse`: the server's CPU (Debian's 18.16, a private instance; merges of the parts
 *   included: the run waits for them) to store the same enriched rows, pre-built as the sink's
 *   TabSeparated lines, at several insert sizes (650 = one default 1 MiB fetch).
 *
 * Their sum per event against the budget of the target on this machine: 2 cores / 30,000
 * events/s = 66.7 µs of CPU per event for everything (processor, Kafka, Redis, ClickHouse).
 * Then what two of our own steps add, measured the same way: the enrich stage and the sink's row.
 *
 *   eval "$(scripts/services/kafka.sh start)"
 *   node dist/bench/storage/floors.js [--events 30000] [--inserts 650,5000,30000] [--formats TabSeparated,RowBinary,Native]
 *
 * `--formats`: the ClickHouse part once per insert format. Rows in another format than
 * TabSeparated are written by the server itself, from a staging table loaded with the same lines
 * (not measured), so every format carries exactly the same rows.
 */
import { parseArgs } from 'node:util';
import { createKafka } from '../../src/kafka/connection';
import type { SnowplowEvent } from '../../src/snowplow/event';
import { createStage, stageConfigSchema } from '../../src/stages/registry';
import { createTableSql, eventRowOf, insertColumns, tsvRows } from '../../src/storage/clickhouse-schema';
import { silentLogger } from '../../src/util/logger';
import { FULL_ENRICH_STAGE } from '../../test/process/processor-agent';
import { createTopics } from '../../test/support/kafka-topic';
import { kafkaBrokers, startPrivateService, uniqueName } from '../../test/support/services';
import { brokerCpuMs, procCpuMs } from '../lib/cpu';
import { generateRawEvents, idPrefix, produceRaw, withFreshIds, type RawMessage } from '../process/events';
import { mergesSettled, openClickHouseAdmin, pidOf, serverCpuMs } from './servers';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '30000' },
    inserts: { type: 'string', default: '650,5000,30000' },
    formats: { type: 'string', default: 'TabSeparated' },
  },
});
const N = Number(args.events);
const BUDGET_US = (2 * 1e6) / 30_000;

/** CPU µs per event of a bare kafkajs consumer (this process) and of the broker while it reads `topic`. */
async function consumeFloor(topic: string, brokerCpu: () => number): Promise<{ consumerUs: number; brokerUs: number }> {
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'tailplow-bench-floors', tls: false, connectionTimeoutMs: 3000, requestTimeoutMs: 30_000 }, silentLogger);
  const consumer = kafka.consumer({ groupId: uniqueName('bench-floors'), allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let cpu0 = 0;
  let broker0 = 0;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (seen === 0) {
          // From the first fetch on: the group join is a fixed cost, not a per-event one.
          cpu0 = procCpuMs() ?? 0;
          broker0 = brokerCpu();
        }
        seen += batch.messages.length;
        if (seen >= N) resolve();
      },
    });
  });
  await done;
  const consumerUs = (((procCpuMs() ?? 0) - cpu0) * 1000) / N;
  const brokerUs = ((brokerCpu() - broker0) * 1000) / N;
  await consumer.disconnect();
  return { consumerUs, brokerUs };
}

function parseFloorUs(messages: RawMessage[]): number {
  let sink = 0;
  for (const m of messages.slice(0, 2000)) sink += JSON.parse(m.value) ? 1 : 0; // warm-up
  const c0 = process.cpuUsage();
  for (const m of messages) sink += JSON.parse(m.value) ? 1 : 0;
  const c = process.cpuUsage(c0);
  if (sink < 0) console.log(sink);
  return (c.user + c.system) / messages.length;
}

/**
 * The sink's TabSeparated lines for the enriched events, as the clickhouse sink would send them,
 * and what our own two steps cost per event in this process: the enrich stage (FULL_ENRICH_STAGE,
 * on parsed events) and building the row. Not floors (our code), but what the path pays anyway.
 */
async function rowsOf(messages: RawMessage[]): Promise<{ lines: string[]; enrichUs: number; rowUs: number }> {
  const enrich = await createStage(stageConfigSchema.parse(FULL_ENRICH_STAGE), { logger: silentLogger, dataDir: '/nonexistent' });
  const batches: SnowplowEvent[][] = [];
  for (let i = 0; i < messages.length; i += 650) batches.push(messages.slice(i, i + 650).map((m) => JSON.parse(m.value) as SnowplowEvent));
  await enrich.run(messages.slice(0, 650).map((m) => JSON.parse(m.value) as SnowplowEvent)); // warm-up
  const enriched: SnowplowEvent[] = [];
  const c0 = process.cpuUsage();
  for (const batch of batches) enriched.push(...(await enrich.run(batch)).events);
  const c1 = process.cpuUsage(c0);
  const lines: string[] = [];
  const c2 = process.cpuUsage();
  for (const e of enriched) {
    const row = eventRowOf(e, 'legacy');
    if (!row.ok) throw new Error(`row refused: ${row.message}`);
    lines.push(row.line);
  }
  const c3 = process.cpuUsage(c2);
  await enrich.close?.();
  return { lines, enrichUs: (c1.user + c1.system) / messages.length, rowUs: (c3.user + c3.system) / messages.length };
}

/** Sends one query over ClickHouse's HTTP interface and returns the body of the answer. */
async function httpQuery(url: string, query: string, body?: Buffer): Promise<Buffer> {
  const res = await fetch(`${url}/?query=${encodeURIComponent(query)}`, { method: 'POST', ...(body ? { body } : {}) });
  if (!res.ok) throw new Error(`${query.slice(0, 80)}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return Buffer.from(await res.arrayBuffer());
}

/** `lines` as insert bodies of `size` rows in `format`; other formats than TSV written by the server from a staging copy. */
async function bodiesOf(url: string, lines: string[], size: number, format: string): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  if (format === 'TabSeparated') {
    for (let i = 0; i < lines.length; i += size) chunks.push(tsvRows(lines.slice(i, i + size)).body);
    return chunks;
  }
  const staging = uniqueName('bench_floors_staging').replace(/-/g, '_');
  const columns = insertColumns('legacy').join(', ');
  const ddl = createTableSql(`default.${staging}`, 'legacy').replace(/ENGINE = ReplacingMergeTree[\s\S]*$/, 'ENGINE = TinyLog');
  await httpQuery(url, ddl);
  try {
    await httpQuery(url, `INSERT INTO default.${staging} (${columns}) FORMAT TabSeparated`, tsvRows(lines).body);
    for (let i = 0; i < lines.length; i += size) chunks.push(await httpQuery(url, `SELECT ${columns} FROM default.${staging} LIMIT ${i}, ${size} FORMAT ${format}`));
  } finally {
    await httpQuery(url, `DROP TABLE default.${staging}`);
  }
  return chunks;
}

/** Server CPU µs per row to insert `lines` in inserts of `size` rows of `format` into a fresh table, merges included. */
async function clickhouseFloorUs(url: string, pid: number, lines: string[], size: number, format: string): Promise<{ us: number; parts: number }> {
  const admin = await openClickHouseAdmin(url);
  const table = uniqueName('bench_floors').replace(/-/g, '_');
  try {
    if (admin.variant !== 'legacy') throw new Error(`expected ClickHouse 18.16 (legacy schema), got ${admin.version}`);
    await admin.command(createTableSql(`default.${table}`, admin.variant));
    const columns = insertColumns(admin.variant);
    const bodies = await bodiesOf(url, lines, size, format);
    const cpu0 = serverCpuMs(pid);
    for (const body of bodies) await httpQuery(url, `INSERT INTO default.${table} (${columns.join(', ')}) FORMAT ${format}`, body);
    await mergesSettled(url, table);
    const us = ((serverCpuMs(pid) - cpu0) * 1000) / lines.length;
    const [count] = await admin.query<{ n: number }>(`SELECT count() AS n FROM default.${table}`);
    if (Number(count?.n) !== lines.length) throw new Error(`${count?.n} rows stored of ${lines.length}`);
    await admin.command(`DROP TABLE default.${table}`);
    return { us, parts: Math.ceil(lines.length / size) };
  } finally {
    await admin.close();
  }
}

async function main(): Promise<void> {
  const messages = withFreshIds(generateRawEvents(3000, { seed: 77, geoEvery: 5, startMs: Date.UTC(2026, 9, 15, 12) }).messages, N, idPrefix()).messages;
  const topic = uniqueName('bench-floors');
  await createTopics(kafkaBrokers(), [topic], { partitions: 4 });
  await produceRaw(kafkaBrokers(), topic, messages);
  const consume = await consumeFloor(topic, brokerCpuMs);
  const parseUs = parseFloorUs(messages);
  const { lines, enrichUs, rowUs } = await rowsOf(messages);
  const clickhouse = await startPrivateService('clickhouse');
  const inserts: Array<{ size: number; format: string; us: number; parts: number }> = [];
  try {
    for (const format of args.formats!.split(',')) {
      for (const size of args.inserts!.split(',').map(Number)) inserts.push({ size, format, ...(await clickhouseFloorUs(clickhouse.address, pidOf(clickhouse), lines, size, format)) });
    }
  } finally {
    await clickhouse.stop();
  }
  const f = (us: number) => `${us.toFixed(1).padStart(6)} µs/event`;
  console.log(`${N} events, CPU per event (budget for 30,000 events/s on 2 cores: ${BUDGET_US.toFixed(1)} µs for everything)`);
  console.log(`kafkajs consumer alone        ${f(consume.consumerUs)}`);
  console.log(`broker while it reads         ${Number.isFinite(consume.brokerUs) ? f(consume.brokerUs) : '  (not kafka.sh\'s broker: not measured)'}`);
  console.log(`JSON.parse of the message     ${f(parseUs)}`);
  for (const i of inserts) console.log(`ClickHouse server, ${String(i.size).padStart(6)}-row inserts ${f(i.us)} (${i.parts} parts + merges, ${i.format})`);
  const best = Math.min(...inserts.map((i) => i.us));
  const floor = consume.consumerUs + (Number.isFinite(consume.brokerUs) ? consume.brokerUs : 0) + parseUs + best;
  const rate = (us: number) => Math.round((2 * 1e6) / us);
  console.log(`floor (best insert size)      ${f(floor)} = ${(floor / BUDGET_US).toFixed(2)}x the budget: at most ${rate(floor)} events/s on 2 cores with no code of ours`);
  console.log(`ours: enrich stage            ${f(enrichUs)}`);
  console.log(`ours: the sink's row (TSV)    ${f(rowUs)}`);
  const total = floor + enrichUs + rowUs;
  console.log(`floor + enrich + row          ${f(total)} = ${(total / BUDGET_US).toFixed(2)}x the budget: at most ${rate(total)} events/s before the profile stage (Redis) does anything`);
  console.log(JSON.stringify({ events: N, consume, parseUs, inserts, floorUs: floor, enrichUs, rowUs, budgetUs: BUDGET_US }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
