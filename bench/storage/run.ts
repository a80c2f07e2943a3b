/**
 * Throughput of the storage path: enrich + profile (Redis) + the clickhouse sink against real
 * servers, and the same processor with the sink replaced by a null one, in one run over the same
 * generated events (bench/process/events.ts: canonical event JSON exactly as the tailer produces
 * it). Two ways, both by default:
 *
 * - `inprocess`: the processor's batch step without Kafka: JSON.parse of each message, the stages
 *   in order, then the sink, batch after batch (one batch = one default 1 MiB fetch, ~650 events),
 *   as one partition's handler runs them. Measures what the stages and the sink cost. `--batch N`
 *   stands for a larger fetch (source.maxBytesPerPartition), which cli mode takes as `--max-bytes B`.
 * - `cli`: the real `tailplow process` (one instance) over a pre-filled topic, time from
 *   "processing" until the group's committed offsets reach the end of the topic; the null sink is
 *   a file sink to /dev/null without fsync.
 *
 * Redis and ClickHouse (Debian's 18.16) are private instances the bench starts and stops
 * (scripts/services/*.sh on free ports), so the CPU time of their processes (/proc/<pid>/stat,
 * ClickHouse's background merges of the run's parts included: the run waits for them) is this
 * bench's alone; `--shared` uses the shared ones instead (CPU then not attributable). Wall time
 * on a loaded machine says little, so each run also reports events per CPU-second: the
 * processor's (node) CPU plus that of Redis and ClickHouse. Every run gets its own Redis key
 * prefix and ClickHouse table, so each does the same work. Kafka (cli mode) is the shared broker.
 *
 *   eval "$(scripts/services/kafka.sh start)"   # cli mode only
 * `--concurrency N`: batches of N partitions handled at once (source.partitionsConsumedConcurrently in
 * cli mode; inprocess splits the events into N partitions by key and handles one batch of each at
 * a time), so one partition's insert overlaps another's stages. Both variants get the same value.
 * `--max-pending N` (cli): source.maxPendingEvents, events past the stages waiting for the sinks
 * (default: the processor's default; 0 stores each batch before fetching the next), and
 * `--insert-min-rows N` (cli): the ClickHouse sink's insertMinRows (inprocess: always 0), and
 * `--insert-max-wait MS` (cli): its insertMaxWaitMs.
 * `--workers W` (cli): the processor's `workers` (W forked processors in one instance); their
 * CPU and memory are the instance's, and the window opens once all of them process, counting only
 * the events stored inside it.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/storage/run.js [--events 100000] [--mode inprocess|cli|both] [--batch 650] [--max-bytes B] [--concurrency 1] [--workers 1] [--max-pending N] [--insert-min-rows N] [--insert-max-wait MS] [--only enrich,profile,clickhouse] [--shared] [--cpu-prof]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { clickhouseSinkSchema, createClickHouseSink } from '../../src/sinks/clickhouse';
import type { Sink } from '../../src/sinks/sink';
import type { SnowplowEvent } from '../../src/snowplow/event';
import { createStage, stageConfigSchema } from '../../src/stages/registry';
import type { Stage } from '../../src/stages/stage';
import { silentLogger } from '../../src/util/logger';
import { FULL_ENRICH_STAGE, startProcessor } from '../../test/process/processor-agent';
import { createTopics } from '../../test/support/kafka-topic';
import { clickhouseUrl, deleteRedisKeys, kafkaBrokers, redisUrl, startPrivateService, uniqueName, type PrivateService } from '../../test/support/services';
import { treeCpuMs, treeRssKb } from '../lib/cpu';
import { connectAdmin, generateRawEvents, groupProgress, idPrefix, produceRaw, withFreshIds, type RawMessage } from '../process/events';
import { mergesSettled, openClickHouseAdmin, pidOf, serverCpuMs, sleep } from './servers';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    mode: { type: 'string', default: 'both' },
    batch: { type: 'string', default: '650' },
    partitions: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    only: { type: 'string' },
    'max-bytes': { type: 'string' },
    'max-pending': { type: 'string' },
    'insert-min-rows': { type: 'string' },
    'insert-max-wait': { type: 'string' },
    shared: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

/** Where the servers are and which processes to charge CPU to. */
interface Servers {
  redisUrl: string;
  clickhouseUrl: string;
  redisPid?: number;
  clickhousePid?: number;
}

interface Variant {
  key: string;
  name: string;
  profile: boolean;
  clickhouse: boolean;
}

/** The baselines first: the ratios are the full path over them. */
/**
 * Mid-month: with the generator's default (midnight on the 1st) 1.3 % of the events fall in the
 * month before, so every INSERT made two parts (the table is partitioned by month), one of ~130 rows
 * that cost the server as much as a full one. A real stream crosses a month once a month.
 */
const START_MS = Date.UTC(2026, 9, 15, 12);

const VARIANTS: Variant[] = [
  { key: 'enrich', name: 'enrich, null sink', profile: false, clickhouse: false },
  { key: 'profile', name: 'enrich + profile (Redis), null sink', profile: true, clickhouse: false },
  { key: 'clickhouse', name: 'enrich + profile (Redis) + clickhouse sink', profile: true, clickhouse: true },
];

interface Result {
  mode: string;
  key: string;
  name: string;
  seconds: number;
  rate: number;
  /** CPU ms of the processor, Redis and ClickHouse over the run (ClickHouse's merges of the run's parts included). */
  cpuMs: { node: number; redis: number; clickhouse: number };
  /** events / (node + redis + clickhouse CPU seconds). */
  perCpuSecond: number;
  peakRssMb?: number;
  /** INSERTs the ClickHouse sink made (level-0 parts of its table). */
  inserts?: number;
}

/** What the runs leave behind in Redis and ClickHouse, removed at the end. */
interface Cleanup {
  prefixes: string[];
  tables: string[];
}

function stagesOf(v: Variant, servers: Servers, prefix: string): unknown[] {
  const stages: unknown[] = [FULL_ENRICH_STAGE];
  if (v.profile) stages.push({ type: 'profile', redis: { url: servers.redisUrl }, keyPrefix: prefix });
  return stages;
}

/** `insertMinRows`: the sink's default unless --insert-min-rows; inprocess awaits each batch, so it never waits for rows (0). */
const clickhouseSinkOf = (servers: Servers, table: string, insertMinRows?: number, insertMaxWaitMs?: number) =>
  ({
    type: 'clickhouse',
    url: servers.clickhouseUrl,
    table,
    ...(insertMinRows !== undefined ? { insertMinRows } : {}),
    ...(insertMaxWaitMs !== undefined ? { insertMaxWaitMs } : {}),
  }) as const;
const numberArg = (name: 'insert-min-rows' | 'insert-max-wait') => (args[name] !== undefined ? Number(args[name]) : undefined);

type Measured = Pick<Result, 'seconds' | 'cpuMs' | 'inserts'> & { events?: number };

/** Runs `work` and charges it the CPU time the processor (`nodeCpu`), Redis and ClickHouse spent. */
async function measured(servers: Servers, nodeCpu: () => number, work: () => Promise<{ table?: string; events?: number }>): Promise<Measured> {
  const before = { node: nodeCpu(), redis: serverCpuMs(servers.redisPid), clickhouse: serverCpuMs(servers.clickhousePid) };
  const started = performance.now();
  const { table, events } = await work();
  const seconds = (performance.now() - started) / 1000;
  const settled = table ? await mergesSettled(servers.clickhouseUrl, table) : {};
  const cpuMs = { node: nodeCpu() - before.node, redis: serverCpuMs(servers.redisPid) - before.redis, clickhouse: serverCpuMs(servers.clickhousePid) - before.clickhouse };
  return { seconds, cpuMs, ...settled, ...(events !== undefined ? { events } : {}) };
}

const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function resultOf(mode: string, v: Variant, total: number, m: Measured, peakRssMb?: number): Result {
  const n = m.events ?? total;
  const cpuSeconds = (m.cpuMs.node + m.cpuMs.redis + m.cpuMs.clickhouse) / 1000;
  return { mode, key: v.key, name: v.name, seconds: m.seconds, rate: n / m.seconds, cpuMs: m.cpuMs, perCpuSecond: n / cpuSeconds, ...(peakRssMb ? { peakRssMb } : {}), ...(m.inserts ? { inserts: m.inserts } : {}) };
}

/**
 * The messages as `n` partitions, by key (the visitor, as the producer partitions them; the
 * modulo of a string hash, not Kafka's murmur2: only the grouping matters here).
 */
function partitionsOf(messages: RawMessage[], n: number): RawMessage[][] {
  const parts: RawMessage[][] = Array.from({ length: n }, () => []);
  for (const m of messages) {
    let h = 0;
    for (let i = 0; i < (m.key ?? '').length; i++) h = (h * 31 + m.key!.charCodeAt(i)) | 0;
    parts[Math.abs(h) % n]!.push(m);
  }
  return parts;
}

async function runInProcess(v: Variant, messages: RawMessage[], batchSize: number, concurrency: number, servers: Servers, cleanup: Cleanup): Promise<Result> {
  const prefix = `${uniqueName('bench-storage')}:`;
  const table = uniqueName('bench_storage').replace(/-/g, '_');
  cleanup.prefixes.push(prefix);
  const deps = { logger: silentLogger, dataDir: '/nonexistent' };
  const stages: Stage[] = [];
  for (const s of stagesOf(v, servers, prefix)) stages.push(await createStage(stageConfigSchema.parse(s), deps));
  const sinks: Sink[] = [];
  if (v.clickhouse) {
    cleanup.tables.push(table);
    sinks.push(await createClickHouseSink(clickhouseSinkSchema.parse(clickhouseSinkOf(servers, table, 0)), deps));
  }
  let stored = 0;
  const batchStep = async (slice: RawMessage[]) => {
    let events: SnowplowEvent[] = slice.map((msg) => JSON.parse(msg.value) as SnowplowEvent);
    for (const stage of stages) events = (await stage.run(events)).events;
    const results = await Promise.all(sinks.map((sink) => sink.write(events)));
    for (const r of results) if (r.failed.length) throw new Error(`${r.failed.length} events refused: ${r.failed[0]!.message}`);
    stored += events.length;
  };
  // As kafkajs runs a consumer with partitionsConsumedConcurrently = concurrency: one fetch gives
  // a batch of each partition, they are handled at once, the next fetch waits for all of them.
  const parts = concurrency > 1 ? partitionsOf(messages, concurrency) : [messages];
  const m = await measured(servers, selfCpuMs, async () => {
    for (let i = 0; parts.some((p) => i < p.length); i += batchSize) {
      await Promise.all(parts.filter((p) => i < p.length).map((p) => batchStep(p.slice(i, i + batchSize))));
    }
    return v.clickhouse ? { table } : {};
  });
  for (const s of [...stages, ...sinks]) await s.close?.();
  if (stored !== messages.length) throw new Error(`${stored} of ${messages.length} events went through`);
  return resultOf('inprocess', v, messages.length, m);
}

async function runCli(v: Variant, raw: string, n: number, dir: string, servers: Servers, cleanup: Cleanup): Promise<Result> {
  const brokers = kafkaBrokers();
  const prefix = `${uniqueName('bench-storage')}:`;
  const table = uniqueName('bench_storage').replace(/-/g, '_');
  cleanup.prefixes.push(prefix);
  if (v.clickhouse) cleanup.tables.push(table);
  const groupId = uniqueName(`bench-storage-${v.key}`);
  const admin = await connectAdmin(brokers);
  const workers = Number(args.workers);
  const p = await startProcessor({
    dir,
    name: `${v.key}.yaml`,
    brokers,
    topic: raw,
    groupId,
    badTopic: `${raw}-bad`,
    stages: stagesOf(v, servers, prefix),
    sinks: [v.clickhouse ? clickhouseSinkOf(servers, table, numberArg('insert-min-rows'), numberArg('insert-max-wait')) : { type: 'file', path: '/dev/null', fsync: false }],
    source: {
      ...(args['max-bytes'] ? { maxBytesPerPartition: Number(args['max-bytes']) } : {}),
      ...(args['max-pending'] !== undefined ? { maxPendingEvents: Number(args['max-pending']) } : {}),
      partitionsConsumedConcurrently: Number(args.concurrency),
    },
    workers,
    nodeArgs: [
      ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(process.cwd(), 'bench/out')}`] : []),
      ...(process.env.TAILPLOW_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
  });
  let peak = 0;
  try {
    // Workers are the processor's children: their CPU and memory are the instance's.
    const m = await measured(servers, () => treeCpuMs(p.pid), async () => {
      // The first worker consumes while the others start: the window counts what is stored in it.
      const before = workers > 1 ? (await groupProgress(admin, groupId, raw)).committed : 0;
      for (;;) {
        peak = Math.max(peak, treeRssKb(p.pid) / 1024);
        if ((await groupProgress(admin, groupId, raw)).committed >= n) break;
        await sleep(200);
      }
      return { ...(v.clickhouse ? { table } : {}), events: n - before };
    });
    return resultOf('cli', v, n, m, Math.round(peak));
  } finally {
    await p.stop();
    await admin.disconnect();
  }
}

async function removeLeftovers(servers: Servers, cleanup: Cleanup): Promise<void> {
  const redis = new Redis(servers.redisUrl, { maxRetriesPerRequest: 1 });
  for (const prefix of cleanup.prefixes) await deleteRedisKeys(redis, prefix);
  redis.disconnect();
  const admin = await openClickHouseAdmin(servers.clickhouseUrl);
  for (const table of cleanup.tables) await admin.command(`DROP TABLE IF EXISTS default.${table}`);
  await admin.close();
}

function report(results: Result[], mode: string): void {
  const of = (key: string) => results.find((r) => r.mode === mode && r.key === key);
  const [enrich, profile, full] = [of('enrich'), of('profile'), of('clickhouse')];
  if (!full) return;
  for (const [base, what] of [[profile, 'enrich + profile, null sink'], [enrich, 'enrich, null sink']] as const) {
    if (base) console.error(`${mode}: clickhouse / (${what}): ${(full.rate / base.rate).toFixed(2)} in events/s, ${(full.perCpuSecond / base.perCpuSecond).toFixed(2)} in events per CPU-second`);
  }
}

async function main(): Promise<void> {
  const n = Number(args.events);
  const modes = args.mode === 'both' ? ['inprocess', 'cli'] : [args.mode as string];
  const t0 = performance.now();
  const input = withFreshIds(generateRawEvents(3000, { seed: 77, geoEvery: 5, startMs: START_MS }).messages, n, idPrefix());
  const bytes = input.messages.reduce((s, m) => s + m.value.length, 0);
  console.error(`input: ${n} events, ${(bytes / 1e6).toFixed(0)} MB (avg ${(bytes / n).toFixed(0)} B), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const privates: PrivateService[] = [];
  const results: Result[] = [];
  const cleanup: Cleanup = { prefixes: [], tables: [] };
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-storage-bench-'));
  let servers: Servers = { redisUrl: redisUrl(), clickhouseUrl: clickhouseUrl() };
  try {
    if (!args.shared) {
      const [redis, clickhouse] = await Promise.all([startPrivateService('redis'), startPrivateService('clickhouse')]);
      privates.push(redis, clickhouse);
      servers = { redisUrl: redis.address, clickhouseUrl: clickhouse.address, redisPid: pidOf(redis), clickhousePid: pidOf(clickhouse) };
      console.error(`private redis ${redis.address} (pid ${servers.redisPid}), clickhouse ${clickhouse.address} (pid ${servers.clickhousePid})`);
    }
    for (const mode of modes) {
      let raw = '';
      if (mode === 'cli') {
        raw = uniqueName('bench-storage-raw');
        await createTopics(kafkaBrokers(), [raw, `${raw}-bad`], { partitions: Number(args.partitions) });
        await produceRaw(kafkaBrokers(), raw, input.messages);
      }
      for (const v of VARIANTS.filter((x) => !args.only || args.only.split(',').includes(x.key))) {
        const r = mode === 'cli' ? await runCli(v, raw, n, dir, servers, cleanup) : await runInProcess(v, input.messages, Number(args.batch), Number(args.concurrency), servers, cleanup);
        results.push(r);
        const cpu = `CPU s node ${(r.cpuMs.node / 1000).toFixed(1)}, redis ${(r.cpuMs.redis / 1000).toFixed(1)}, clickhouse ${(r.cpuMs.clickhouse / 1000).toFixed(1)}`;
        console.error(`${mode} ${r.name}: ${Math.round(r.rate * r.seconds)} events in ${r.seconds.toFixed(1)} s = ${Math.round(r.rate)} events/s; ${cpu} = ${Math.round(r.perCpuSecond)} events per CPU-second${r.peakRssMb ? `; peak RSS ${r.peakRssMb} MB` : ''}${r.inserts ? `; ${r.inserts} inserts (${Math.round(n / r.inserts)} rows each)` : ''}`);
      }
      report(results, mode);
    }
  } finally {
    await removeLeftovers(servers, cleanup).catch((e: unknown) => console.error(`cleanup: ${String(e)}`));
    await Promise.all(privates.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ events: n, avgEventBytes: Math.round(bytes / n), batch: Number(args.batch), concurrency: Number(args.concurrency), workers: Number(args.workers), results }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
