// Needs nginx and Debian's chromium (both installed with apt-get when missing); no other server.
//
// The same real tracker traffic as tracker-kafka.integration.test.ts (browser tracker in
// Chromium, node tracker, GET and POST, the log rotated twice mid-traffic), through the single
// process `tailplow run` (tail -> enrich -> profile in the embedded LMDB store -> embedded chDB
// store) instead of Kafka and servers: exactly the events sent, with their fields, in the store,
// as `tailplow query` sees it while run is running and as chDB reads it after run stopped.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore } from '../../src/storage/chdb-store';
import { startTestNginx } from '../support/nginx-service';
import { runTailplow } from '../support/replay-logs';
import { waitFor } from '../support/services';
import { createTailplowSpawner } from '../support/tailplow-child';
import { FULL_ENRICH_STAGE } from '../process/processor-agent';
import { compareStored, countByEvent, driveTrackers, expectProfilesCounted } from './tracker-traffic';

const runs = createTailplowSpawner();
after(() => runs.killAll());

test('browser and node trackers -> nginx (rotated twice mid-traffic) -> tailplow run (enrich, embedded profile) -> embedded store: exactly the events sent, with their fields', async (t) => {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-e2e-run-'));
  const nginx = await startTestNginx();
  t.after(async () => {
    runs.killAll();
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'run.yml');
  writeFileSync(
    configFile,
    JSON.stringify({
      dataDir,
      logLevel: 'info',
      http: { listen: '127.0.0.1:0' },
      input: { paths: [`${nginx.jsonLog}*`], exclude: ['*.gz'], startAt: 'beginning', pollIntervalMs: 250, registryFlushMs: 200 },
      stages: [FULL_ENRICH_STAGE, { type: 'profile' }],
      sinks: [{ type: 'embedded' }],
    }),
  );
  const run = await runs.start({
    command: 'run',
    configFile,
    cwd: dir,
    readyLine: '"msg":"following"',
    readyMeans: 'following the log',
    timeoutMs: 60_000,
  });

  const traffic = await driveTrackers(nginx);
  const sent = traffic.events;
  t.diagnostic(`sent ${sent.length} events in ${traffic.requests.length} requests (${JSON.stringify(countByEvent(sent))}), log rotated ${traffic.rotations.join(', ')}`);
  assert.equal(traffic.rotations.length, 2);

  await waitFor(async () => {
    const stored = await run.metric('tailplow_sink_events_total');
    if (stored < sent.length) throw new Error(`the embedded sink acknowledged ${stored} of ${sent.length} events`);
    return true;
  }, 60_000, 250).catch((err: Error) => {
    throw new Error(`${err.message}\n-- tailplow run:\n${run.logs().slice(-15).join('\n')}`);
  });
  assert.equal(await run.metric('tailplow_bad_rows_total'), 0, 'no bad rows (CORS preflights are skipped, not bad)');
  // `tailplow query` while run still holds the store (it reads a copy): the events per type.
  const query = await runTailplow(['query', '-c', configFile, '--format', 'json', 'SELECT event, uniqExact(event_id) AS n FROM events GROUP BY event']);
  assert.equal(query.code, 0, query.stderr);
  const perType = Object.fromEntries(query.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; n: string | number }).map((r) => [r.event, Number(r.n)]));
  assert.deepEqual(perType, countByEvent(sent), 'tailplow query: events per type');
  // The embedded store is one process's: stop `run` (SIGTERM, saves the registry) to read it.
  assert.deepEqual(await run.stop(), { code: 0, signal: null });
  t.diagnostic(`stored and stopped ${((performance.now() - started) / 1000).toFixed(1)} s after start (nginx, Chromium included)`);

  const store = await createChdbStore(join(dataDir, 'clickhouse'));
  try {
    const rows = await store.query<Record<string, unknown>>('SELECT * FROM events FINAL');
    compareStored('embedded store', rows, sent);
    const [all] = await store.query<{ n: string | number }>('SELECT count() AS n FROM events');
    assert.equal(Number(all?.n), sent.length, 'no second copy even before merges');
    const profiles = expectProfilesCounted(rows);
    t.diagnostic(`profiles (embedded store): ${JSON.stringify(Object.fromEntries(profiles))}`);
  } finally {
    await store.close();
  }
});
