// Needs Kafka, Redis, ClickHouse and Elasticsearch (scripts/services/*.sh start), nginx and
// Debian's chromium (installed by scripts/services/nginx.sh / apt-get when missing).
//
// End to end with real clients: the Snowplow browser tracker in headless Chromium and the node
// tracker send page views, activity pings, struct and self-describing events, link clicks and
// transactions (GET and POST) to a real nginx with the shipped nginx/ config; the log is rotated
// (rename + `nginx -s reopen`) twice while the traffic flows. `tailplow tail` follows the log
// into Kafka, `tailplow process` (enrich, profile on Redis) stores into ClickHouse and
// Elasticsearch. Exactly the events sent arrive in both, by event id, with the right fields.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAdmin, groupProgress } from '../../bench/process/events';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { startTestNginx } from '../support/nginx-service';
import { clickhouseUrl, elasticsearchUrl, kafkaBrokers, redisUrl, uniqueName, waitFor } from '../support/services';
import { killAllAgents, startTailAgent } from '../support/tail-agent';
import { FULL_ENRICH_STAGE, killAllProcessors, startProcessor } from '../process/processor-agent';
import { compareStored, countByEvent, driveTrackers, EVENT_NAMES, expectProfilesCounted } from './tracker-traffic';

after(() => {
  killAllAgents();
  killAllProcessors();
});

const brokers = kafkaBrokers();

async function clickhouseCommand(sql: string): Promise<string> {
  const response = await fetch(clickhouseUrl(), { method: 'POST', body: sql });
  const text = await response.text();
  if (!response.ok) throw new Error(`ClickHouse ${response.status}: ${text}`);
  return text;
}

async function clickhouse<T>(sql: string): Promise<T[]> {
  return (await clickhouseCommand(`${sql} FORMAT JSONEachRow`))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

async function elasticsearch<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${elasticsearchUrl()}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`Elasticsearch ${path} ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

test('browser and node trackers -> nginx (rotated twice mid-traffic) -> tailplow tail -> Kafka -> tailplow process (enrich, profile on Redis) -> ClickHouse and Elasticsearch: exactly the events sent, with their fields', async (t) => {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-e2e-kafka-'));
  const raw = uniqueName('e2e-raw');
  const table = uniqueName('e2e_events').replace(/-/g, '_');
  const index = uniqueName('e2e-events');
  const profilePrefix = `${uniqueName('e2e')}:`;
  await createTopics(brokers, [raw, `${raw}-tailbad`, `${raw}-bad`]);
  const nginx = await startTestNginx();
  const tailBad = await startTopicCollector(brokers, `${raw}-tailbad`);
  const processBad = await startTopicCollector(brokers, `${raw}-bad`);
  const groupId = uniqueName('e2e-process');
  t.after(async () => {
    killAllAgents();
    killAllProcessors();
    await Promise.all([tailBad.stop(), processBad.stop()]).catch(() => undefined);
    await nginx.stop();
    await clickhouseCommand(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await fetch(`${elasticsearchUrl()}/${index}`, { method: 'DELETE' }).catch(() => undefined);
    await fetch(`${elasticsearchUrl()}/_index_template/tailplow-${index}`, { method: 'DELETE' }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const tailer = await startTailAgent({ dir, paths: [`${nginx.jsonLog}*`], brokers, topic: raw, badTopic: `${raw}-tailbad` });
  const processor = await startProcessor({
    dir,
    brokers,
    topic: raw,
    groupId,
    badTopic: `${raw}-bad`,
    stages: [FULL_ENRICH_STAGE, { type: 'profile', redis: { url: redisUrl() }, keyPrefix: profilePrefix }],
    sinks: [
      { type: 'clickhouse', url: clickhouseUrl(), table },
      { type: 'elasticsearch', nodes: [elasticsearchUrl()], index, refresh: true, template: { shards: 1, replicas: 0 } },
    ],
  });

  const traffic = await driveTrackers(nginx);
  const sent = traffic.events;
  const perType = countByEvent(sent);
  t.diagnostic(`sent ${sent.length} events in ${traffic.requests.length} requests (${JSON.stringify(perType)}), log rotated ${traffic.rotations.join(', ')}`);
  // The traffic must cover what the test claims to cover.
  for (const name of Object.values(EVENT_NAMES)) assert.ok((perType[name] ?? 0) > 0, `no ${name} event was sent`);
  assert.ok(sent.some((e) => e.request.method === 'GET') && sent.some((e) => e.request.method === 'POST'), 'GET and POST');
  assert.ok(sent.some((e) => e.params.ue_pr?.includes('link_click') || Buffer.from(e.params.ue_px ?? '', 'base64url').toString().includes('link_click')), 'link clicks');
  assert.equal(traffic.rotations.length, 2);
  assert.ok(existsSync(`${nginx.jsonLog}.1`) && existsSync(`${nginx.jsonLog}.2`), 'the rotated files are there');

  const countIn = async () => {
    const [ch] = await clickhouse<{ n: string }>(`SELECT count() AS n FROM ${table}`);
    const es = await elasticsearch<{ count: number }>(`/${index}/_count`).catch(() => ({ count: 0 }));
    return { clickhouse: Number(ch?.n ?? 0), elasticsearch: es.count };
  };
  await waitFor(async () => {
    const n = await countIn();
    if (n.clickhouse < sent.length || n.elasticsearch < sent.length) throw new Error(`stored ${JSON.stringify(n)} of ${sent.length}`);
    return true;
  }, 60_000, 250).catch(async (err: Error) => {
    const last = (lines: string[]) => lines.slice(-15).join('\n');
    const metrics = {
      linesRead: await tailer.metric('tailplow_lines_read_total'),
      skipped: await tailer.metric('tailplow_lines_skipped_total'),
      produced: await tailer.metric('tailplow_events_produced_total'),
      consumed: await processor.metric('tailplow_events_consumed_total'),
      stored: await processor.metric('tailplow_sink_events_total'),
      sinkErrors: await processor.metric('tailplow_sink_errors_total'),
    };
    throw new Error(`${err.message}\n${JSON.stringify(metrics)}\n-- tailplow tail:\n${last(tailer.logs())}\n-- tailplow process:\n${last(processor.logs())}`);
  });
  // Everything the tailer produced has been consumed and committed: nothing else is on its way.
  const admin = await connectAdmin(brokers);
  try {
    await waitFor(async () => {
      const p = await groupProgress(admin, groupId, raw);
      return p.end > 0 && p.committed === p.end;
    }, 20_000);
    const p = await groupProgress(admin, groupId, raw);
    assert.equal(p.end, sent.length, 'one Kafka message per event sent');
  } finally {
    await admin.disconnect();
  }
  t.diagnostic(`all stored ${((performance.now() - started) / 1000).toFixed(1)} s after start (nginx, agents, Chromium included)`);

  const rows = await clickhouse<Record<string, unknown>>(`SELECT * FROM ${table} FINAL`);
  compareStored('ClickHouse', rows, sent);
  const [{ n: rawRows } = { n: '0' }] = await clickhouse<{ n: string }>(`SELECT count() AS n FROM ${table}`);
  assert.equal(Number(rawRows), sent.length, 'ClickHouse: no second copy even before merges (no redelivery happened)');

  const found = await elasticsearch<{ hits: { total: { value: number }; hits: Array<{ _id: string; _source: Record<string, unknown> }> } }>(`/${index}/_search`, {
    size: 10_000,
    track_total_hits: true,
    query: { match_all: {} },
  });
  assert.equal(found.hits.total.value, sent.length, 'Elasticsearch: one document per event');
  for (const hit of found.hits.hits) assert.equal(hit._id, hit._source.event_id, 'document _id is the event_id');
  compareStored('Elasticsearch', found.hits.hits.map((h) => h._source), sent);

  // The profile on Redis counted every event once per visitor.
  const profiles = expectProfilesCounted(rows);
  t.diagnostic(`profiles: ${JSON.stringify(Object.fromEntries(profiles))}`);

  assert.equal(tailBad.messages, 0, 'no bad rows from the tailer (CORS preflights are dropped, not bad)');
  assert.equal(processBad.messages, 0, 'no bad rows from the processor');
  assert.deepEqual(await tailer.stop(), { code: 0, signal: null });
  assert.deepEqual(await processor.stop(), { code: 0, signal: null });
  t.diagnostic(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
});
