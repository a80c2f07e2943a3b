// Needs Kafka, Redis, ClickHouse and Elasticsearch (scripts/services/{kafka,redis,clickhouse,
// elasticsearch}.sh start). The whole path with every store at once: `tailplow replay` sends the
// recorded tracker captures (all four nginx formats: the same 57 event ids, from differing log
// fields) and a generated log into Kafka, twice; `tailplow process` runs enrich + profile (Redis)
// into the clickhouse and elasticsearch sinks and is killed with SIGKILL once mid-stream, then
// restarted. Afterwards: one row per event_id in ClickHouse under FINAL, one document per event_id
// in Elasticsearch, no id missing, and the profile counters in Redis equal to counts computed here
// from the decoded events: redelivery (the second replay, the batches the killed processor stored
// but did not commit, the same event in four log formats) counted nothing twice.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { connectAdmin, groupProgress } from '../../bench/process/events';
import { profileKeys } from '../../src/stages/profile/spec';
import { createClickHouseStore } from '../../src/storage/clickhouse-store';
import { createTopics } from '../support/kafka-topic';
import { generateLog, parseEvents, REPO_ROOT, runTailplow, writeLog } from '../support/replay-logs';
import { clickhouseUrl, deleteRedisKeys, elasticsearchUrl, kafkaBrokers, redisUrl, uniqueName, waitFor } from '../support/services';
import { FULL_ENRICH_STAGE, killAllProcessors, startProcessor } from '../process/processor-agent';

after(killAllProcessors);

const FIXTURES = join(REPO_ROOT, 'test/fixtures/tracker');

/** One replay input: a file and the -f its lines need. */
interface Input {
  path: string;
  format: string;
}

const fixtureInputs = (): Input[] => [
  { path: join(FIXTURES, 'tailplow-json.log'), format: 'json' },
  { path: join(FIXTURES, 'json-default-escape.log'), format: 'json' },
  { path: join(FIXTURES, 'combined.log'), format: 'combined' },
  { path: join(FIXTURES, 'custom.log'), format: readFileSync(join(FIXTURES, 'custom.format.txt'), 'utf8').trim() },
];

type Decoded = Record<string, unknown>;

/** What `replay -o json` decodes from the inputs: the reference the stores are checked against. */
async function decodedEvents(inputs: Input[]): Promise<Decoded[]> {
  const events: Decoded[] = [];
  for (const input of inputs) {
    const r = await runTailplow(['replay', '--progress', 'none', '-o', 'json', '--workers', '0', '-f', input.format, input.path]);
    assert.equal(r.code, 0, r.stderr);
    events.push(...parseEvents(r.stdout));
  }
  return events;
}

async function replayToKafka(inputs: Input[], config: string): Promise<void> {
  for (const input of inputs) {
    const r = await runTailplow(['replay', '--progress', 'none', '--workers', '0', '-c', config, '-f', input.format, input.path]);
    assert.equal(r.code, 0, r.stderr);
  }
}

interface ExpectedProfile {
  ids: Set<string>;
  pageViews: number;
  types: Record<string, number>;
  sessionIds: Set<string>;
  maxSessionIdx: number;
}

/**
 * Per visitor (every event here has a domain_userid), counted from the decoded events: each
 * event_id once, whatever log format or delivery it came in.
 */
function expectedProfiles(events: Decoded[]): Map<string, ExpectedProfile> {
  const out = new Map<string, ExpectedProfile>();
  for (const e of events) {
    const duid = e.domain_userid as string;
    assert.ok(duid, `event ${String(e.event_id)} has a domain_userid`);
    const v = out.get(duid) ?? { ids: new Set<string>(), pageViews: 0, types: {}, sessionIds: new Set<string>(), maxSessionIdx: 0 };
    out.set(duid, v);
    const id = e.event_id as string;
    if (v.ids.has(id)) continue;
    v.ids.add(id);
    if (e.event === 'page_view') v.pageViews++;
    const type = (e.event_name ?? e.event) as string;
    v.types[type] = (v.types[type] ?? 0) + 1;
    if (typeof e.domain_sessionid === 'string') v.sessionIds.add(e.domain_sessionid);
    if (typeof e.domain_sessionidx === 'number') v.maxSessionIdx = Math.max(v.maxSessionIdx, e.domain_sessionidx);
  }
  return out;
}

test('replayed twice, processor killed -9 once: one ClickHouse row and one Elasticsearch document per event_id, none missing, Redis profile counters exact', { timeout: 600_000 }, async (t) => {
  const brokers = kafkaBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-storage-e2e-'));
  const raw = uniqueName('storage-e2e-raw');
  const table = uniqueName('storage_e2e').replace(/-/g, '_');
  const index = uniqueName('tailplow-storage-e2e').toLowerCase();
  const keyPrefix = `${uniqueName('storage-e2e')}:`;
  await createTopics(brokers, [raw, `${raw}-replay-bad`, `${raw}-bad`]);

  const clickhouse = await createClickHouseStore({ url: clickhouseUrl(), username: 'default', password: '', database: 'default', requestTimeoutMs: 30_000, asyncInsert: false });
  const es = new Client({ node: elasticsearchUrl(), requestTimeout: 30_000 });
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  const admin = await connectAdmin(brokers);
  t.after(async () => {
    await clickhouse.command(`DROP TABLE IF EXISTS default.${table}`).catch(() => undefined);
    await es.indices.delete({ index, ignore_unavailable: true }).catch(() => undefined);
    await es.indices.deleteIndexTemplate({ name: `tailplow-${index}` }).catch(() => undefined);
    await deleteRedisKeys(redis, keyPrefix);
    await Promise.all([clickhouse.close(), es.close(), admin.disconnect()]);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  // The four captures, plus generated traffic for volume (200 visitors, GETs and tp2 POSTs).
  const generated = generateLog({ seed: 66, count: 2500, startMs: Date.UTC(2026, 10, 27, 20), stepMs: 20 });
  const inputs = [...fixtureInputs(), { path: writeLog(dir, 'generated.log', generated.lines), format: 'json' }];
  const decoded = await decodedEvents(inputs);
  const ids = new Set(decoded.map((e) => e.event_id as string));
  const fixtureIds = new Set(decoded.slice(0, decoded.length - generated.events).map((e) => e.event_id as string));
  assert.equal(fixtureIds.size, 57, 'the captures hold 57 distinct event ids (201 events over four formats)');
  assert.equal(ids.size, 57 + new Set(generated.eids).size);

  const replayConfig = join(dir, 'replay.yaml');
  writeFileSync(replayConfig, JSON.stringify({ kafka: { brokers }, output: { topic: raw, badTopic: `${raw}-replay-bad` } }));
  const perReplay = decoded.length;

  const run = {
    dir,
    brokers,
    topic: raw,
    groupId: uniqueName('storage-e2e'),
    badTopic: `${raw}-bad`,
    stages: [FULL_ENRICH_STAGE, { type: 'profile', redis: { url: redisUrl() }, keyPrefix, dedupWindowSeconds: 30 * 86_400 }],
    sinks: [
      { type: 'clickhouse', url: clickhouseUrl(), table },
      { type: 'elasticsearch', nodes: [elasticsearchUrl()], index, template: { shards: 1, replicas: 0 } },
    ],
    // Small fetches and little pending: commits in small steps, so the kill lands between them with work in flight.
    source: { maxBytesPerPartition: 32 * 1024, sessionTimeoutMs: 6000, maxPendingEvents: 300 },
  };

  // First replay, then a processor killed while it is part-way through.
  await replayToKafka(inputs, replayConfig);
  const first = await startProcessor(run);
  const killedAt = await waitFor(async () => {
    const p = await groupProgress(admin, run.groupId, raw);
    return p.committed >= perReplay / 5 && p;
  }, 120_000, 50);
  first.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  assert.ok(killedAt.committed < perReplay, `killed mid-stream (${killedAt.committed} of ${perReplay} committed)`);
  t.diagnostic(`first processor killed -9 with ${killedAt.committed} of ${perReplay} messages committed`);

  // Second replay while it is down; a new processor takes over from the committed offsets.
  await replayToKafka(inputs, replayConfig);
  const second = await startProcessor(run);
  try {
    await waitFor(async () => {
      const p = await groupProgress(admin, run.groupId, raw);
      return p.end === 2 * perReplay && p.committed === p.end;
    }, 300_000, 250);
    assert.equal(await second.metric('tailplow_bad_rows_total'), 0, 'no event refused by a stage or a sink');
    // The second replay alone re-sent every event, so the restarted processor stored at least that many in each of its two sinks.
    const stored = await second.metric('tailplow_sink_events_total');
    assert.ok(stored >= 2 * perReplay, `the restarted processor stored ${stored} events in its two sinks, at least the second replay's ${perReplay} in each`);
    assert.deepEqual(await second.stop(), { code: 0, signal: null });
  } finally {
    await second.stop();
  }

  // ClickHouse (18.16): rows were written more than once; FINAL (and merges) keep one per event_id.
  const [counts] = await clickhouse.query<{ stored: number; final: number; distinct: number }>(
    `SELECT (SELECT count() FROM default.${table}) AS stored, (SELECT count() FROM default.${table} FINAL) AS final, (SELECT uniqExact(event_id) FROM default.${table}) AS distinct`,
  );
  t.diagnostic(`clickhouse: ${counts?.stored} rows before FINAL (background merges remove duplicates too), ${counts?.final} under FINAL, ${ids.size} event ids`);
  assert.equal(counts?.distinct, ids.size);
  assert.equal(counts?.final, ids.size, 'one row per event_id under FINAL');
  const rows = await clickhouse.query<{ event_id: string }>(`SELECT DISTINCT event_id FROM default.${table}`);
  assert.deepEqual(new Set(rows.map((r) => r.event_id)), ids, 'every event id in ClickHouse, none other');

  // Elasticsearch: _id = event_id, so one document per id.
  await es.indices.refresh({ index });
  assert.equal((await es.count({ index })).count, ids.size);
  const perId = await es.search({ index, size: 0, aggs: { ids: { terms: { field: 'event_id', size: ids.size + 10 } } } });
  const buckets = (perId.aggregations?.ids as { buckets: Array<{ key: string; doc_count: number }> }).buckets;
  assert.deepEqual(new Set(buckets.map((b) => b.key)), ids, 'every event id in Elasticsearch, none other');
  assert.deepEqual(buckets.filter((b) => b.doc_count !== 1), []);

  // Redis: the counters of every visitor equal the counts from the decoded events.
  const expected = expectedProfiles(decoded);
  assert.ok(expected.size > 100, `${expected.size} visitors`);
  let checked = 0;
  for (const [duid, v] of expected) {
    const h = await redis.hgetall(profileKeys.profile(keyPrefix, `d:${duid}`));
    assert.equal(h.events, String(v.ids.size), `events of ${duid}`);
    assert.equal(h.page_views ?? '0', String(v.pageViews), `page views of ${duid}`);
    const types = Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('type:')).map(([k, n]) => [k.slice(5), Number(n)]));
    assert.deepEqual(types, v.types, `event types of ${duid}`);
    // Sessions: the number of distinct session ids (each visitor's sessions come one after the other) and the tracker's session index.
    assert.equal(h.session_count, String(v.sessionIds.size), `sessions of ${duid}`);
    assert.equal(h.max_session_idx, String(v.maxSessionIdx), `session index of ${duid}`);
    assert.equal(await redis.zcard(profileKeys.seenIds(keyPrefix, `d:${duid}`)), v.ids.size, `remembered ids of ${duid}`);
    checked++;
  }
  const visitors = (await redis.keys(`${keyPrefix}profile:*`)).length;
  assert.equal(visitors, expected.size, 'no profile for a visitor the events do not have');
  t.diagnostic(`redis: ${checked} visitor profiles equal to the counts from the decoded events`);
});
