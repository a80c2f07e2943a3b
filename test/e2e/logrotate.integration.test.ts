// Needs Kafka (scripts/services/kafka.sh start) and nginx; installs logrotate with apt-get when
// it is missing.
//
// The shipped logrotate example (packaging/logrotate/tailplow-nginx), with only its paths moved
// to a temp dir, run for real with `logrotate -f` three times against the log a real nginx
// writes while tracker requests keep coming and `tailplow tail` follows it: every event reaches
// Kafka exactly once, and the rotated files are what the config promises (.1 plain, older .gz).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { startTestNginx, type TestNginx } from '../support/nginx-service';
import { kafkaBrokers, uniqueName } from '../support/services';
import { killAllAgents, startTailAgent } from '../support/tail-agent';
import { sleep } from '../support/tail-scenario';

const run = promisify(execFile);
const SHIPPED = resolve(__dirname, '../../../packaging/logrotate/tailplow-nginx');
const brokers = kafkaBrokers();

after(() => killAllAgents());

function logrotateBin(): string {
  const find = () => execFileSync('bash', ['-c', 'command -v logrotate || ls /usr/sbin/logrotate 2>/dev/null || true'], { encoding: 'utf8' }).trim();
  if (!find()) execFileSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq logrotate >/dev/null'], { stdio: 'inherit' });
  const bin = find();
  if (!bin) throw new Error('logrotate could not be installed');
  return bin;
}

/** The shipped config with the log and nginx's pid file moved to the test's nginx. */
function configFor(nginx: TestNginx): string {
  const shipped = readFileSync(SHIPPED, 'utf8');
  for (const path of ['/var/log/nginx/tracker/tailplow.log', '/run/nginx.pid']) {
    assert.ok(shipped.includes(path), `${SHIPPED} names ${path}`);
  }
  return shipped.replaceAll('/var/log/nginx/tracker/tailplow.log', nginx.jsonLog).replaceAll('/run/nginx.pid', nginx.pidFile);
}

/**
 * Tracker hits at about `perSecond` (GET /i with one event, and every 5th a tp2 POST with two),
 * recording every event id nginx answered 200 for.
 */
function sendContinuously(collector: string, perSecond: number): { ids: string[]; stop(): Promise<void> } {
  const ids: string[] = [];
  let stopped = false;
  let n = 0;
  const hit = async () => {
    n++;
    const base = { p: 'web', tv: 'js-4.6.0', aid: 'logrotate-test', duid: `v-${n % 17}`, url: `https://shop.example/p/${n}` };
    if (n % 5 === 0) {
      const events = [randomUUID(), randomUUID()].map((eid) => ({ e: 'pv', eid, dtm: String(Date.now()), ...base }));
      const r = await fetch(`${collector}/com.snowplowanalytics.snowplow/tp2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: events }),
      });
      await r.arrayBuffer();
      if (r.status === 200) ids.push(...events.map((e) => e.eid));
    } else {
      const eid = randomUUID();
      const r = await fetch(`${collector}/i?${new URLSearchParams({ e: 'pv', eid, dtm: String(Date.now()), ...base })}`);
      await r.arrayBuffer();
      if (r.status === 200) ids.push(eid);
    }
  };
  const loop = (async () => {
    const started = performance.now();
    let sent = 0;
    while (!stopped) {
      const due = Math.floor(((performance.now() - started) / 1000) * perSecond) - sent;
      for (let i = 0; i < due; i++) await hit();
      sent += Math.max(0, due);
      await sleep(10);
    }
  })();
  return {
    ids,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

test('logrotate -f with packaging/logrotate/tailplow-nginx (create + reopen + delaycompress) three times under traffic: zero missing, zero duplicates in Kafka', async (t) => {
  const logrotate = logrotateBin();
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-logrotate-'));
  const topic = uniqueName('e2e-logrotate');
  await createTopics(brokers, [topic, `${topic}-bad`]);
  const nginx = await startTestNginx();
  const events = await startTopicCollector(brokers, topic);
  const bad = await startTopicCollector(brokers, `${topic}-bad`);
  t.after(async () => {
    killAllAgents();
    await Promise.all([events.stop(), bad.stop()]).catch(() => undefined);
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const config = join(dir, 'tailplow-nginx');
  writeFileSync(config, configFor(nginx), { mode: 0o644 });

  const agent = await startTailAgent({
    dir,
    paths: [`${nginx.jsonLog}*`],
    brokers,
    topic,
    badTopic: `${topic}-bad`,
    input: { exclude: ['*.gz'] },
  });
  const sender = sendContinuously(nginx.collector, 150);
  const rotations: string[] = [];
  try {
    for (let i = 1; i <= 3; i++) {
      await sleep(2000);
      // -f: rotate now, whatever `daily` says; own state file, so the system's is left alone.
      const r = await run(logrotate, ['-f', '-v', '-s', join(dir, 'logrotate.state'), config]);
      assert.match(r.stderr, /renaming .*tailplow-json\.log to .*tailplow-json\.log\.1/, `rotation ${i}:\n${r.stderr}`);
      rotations.push(`${i}: ${sender.ids.length} events sent`);
    }
    await sleep(1500);
  } finally {
    await sender.stop();
  }
  t.diagnostic(`rotations at ${rotations.join('; ')}`);

  // What the config promises on disk: the newest rotated file plain, the older ones compressed.
  const files = readdirSync(nginx.logsDir).filter((f) => f.startsWith('tailplow-json.log')).sort();
  assert.deepEqual(files, ['tailplow-json.log', 'tailplow-json.log.1', 'tailplow-json.log.2.gz', 'tailplow-json.log.3.gz']);
  assert.ok(existsSync(nginx.jsonLog));

  const ids = sender.ids;
  assert.ok(ids.length > 1000, `${ids.length} events sent`);
  await events.waitForAll(ids, 60_000);
  assert.deepEqual(events.missing(ids), []);
  assert.equal(events.duplicates(), 0, 'no event read twice across the rotations');
  assert.equal(events.messages, ids.length, 'nothing but the events sent');
  assert.equal(bad.messages, 0);
  t.diagnostic(`${ids.length} events, ${events.messages} messages, sources ${JSON.stringify(Object.fromEntries(events.sources))}`);
  assert.deepEqual(await agent.stop(), { code: 0, signal: null });
});
