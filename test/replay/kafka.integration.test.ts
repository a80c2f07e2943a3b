// `tailplow replay` against a real Kafka (scripts/services/kafka.sh): ids are stable across
// replays, a run killed with -9 resumes from --state with nothing missing, and a broker that goes
// away mid-replay ends the run with exit 4 without advancing the state past what Kafka acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopics, startTopicCollector } from '../support/kafka-topic';
import { generateLog, parseEvents, runTailplow, startTailplow, summaryOf, until, writeLog } from '../support/replay-logs';
import { kafkaBrokers, runServiceScript, uniqueName } from '../support/services';

const T0 = Date.UTC(2026, 9, 1);
const DAY = 86_400_000;
const tempDir = () => mkdtempSync(join(tmpdir(), 'tailplow-replay-kafka-'));

function configFor(dir: string, brokers: string[], topic: string, badTopic: string): string {
  const path = join(dir, 'tailplow.yaml');
  writeFileSync(path, `kafka:\n  brokers: [${brokers.map((b) => JSON.stringify(b)).join(', ')}]\n  clientId: tailplow-replay-test\noutput:\n  topic: ${topic}\n  badTopic: ${badTopic}\n`);
  return path;
}

interface StateFile {
  files: Record<string, { path: string; offset: number; done: boolean }>;
}
const stateOf = (path: string, logPath: string) =>
  existsSync(path) ? Object.values((JSON.parse(readFileSync(path, 'utf8')) as StateFile).files).find((f) => f.path === logPath) : undefined;

/** The ids a full replay of `paths` gives, from a JSON run (the reference for Kafka runs). */
async function referenceIds(paths: string[]): Promise<string[]> {
  const r = await runTailplow(['replay', '--progress', 'none', '-o', 'json', '--workers', '0', ...paths]);
  assert.equal(r.code, 0, r.stderr);
  return parseEvents(r.stdout).map((e) => e.event_id as string);
}

test('events keyed to the topic, bad rows to the bad topic; a second replay repeats exactly the same ids', { timeout: 180_000 }, async () => {
  const brokers = kafkaBrokers();
  const dir = tempDir();
  const topic = uniqueName('replay-raw');
  const badTopic = uniqueName('replay-bad');
  await createTopics(brokers, [topic, badTopic]);
  const a = generateLog({ seed: 1, count: 1500, startMs: T0 });
  const b = generateLog({ seed: 2, count: 1500, startMs: T0 + DAY, withoutEid: true });
  const paths = [writeLog(dir, 'b.log', [...b.lines.slice(0, 10), '\u0016\u0003garbage', ...b.lines.slice(10)]), writeLog(dir, 'a.log.gz', a.lines)];
  const expected = await referenceIds(paths);
  assert.equal(expected.length, a.events + b.events);
  const events = await startTopicCollector(brokers, topic);
  const bad = await startTopicCollector(brokers, badTopic);
  try {
    const config = configFor(dir, brokers, topic, badTopic);
    const first = await runTailplow(['replay', '--progress', 'none', '-c', config, ...paths]);
    assert.equal(first.code, 0, first.stderr);
    await events.waitForAll(expected, 60_000);
    assert.equal(events.duplicates(), 0);
    assert.deepEqual(Object.fromEntries(events.sources), { [paths[1]!]: a.events, [paths[0]!]: b.events });
    await until(() => bad.messages === 1, 30_000, 'the bad row');

    const second = await runTailplow(['replay', '--progress', 'none', '-c', config, ...paths]);
    assert.equal(second.code, 0, second.stderr);
    await until(() => events.messages === 2 * expected.length, 60_000, 'the second replay');
    assert.equal(events.counts.size, expected.length, 'no new ids');
    assert.ok([...events.counts.values()].every((n) => n === 2), 'every id exactly twice');
    await until(() => bad.messages === 2, 30_000, 'the second bad row');
  } finally {
    await events.stop();
    await bad.stop();
  }
});

test('kill -9 mid-file, re-run with --state: every id in Kafka, none that a full replay would not give', { timeout: 180_000 }, async () => {
  const brokers = kafkaBrokers();
  const dir = tempDir();
  const topic = uniqueName('replay-kill');
  const badTopic = uniqueName('replay-kill-bad');
  await createTopics(brokers, [topic, badTopic]);
  const a = generateLog({ seed: 3, count: 3000, startMs: T0 });
  const b = generateLog({ seed: 4, count: 30_000, startMs: T0 + DAY, withoutEid: true });
  const paths = [writeLog(dir, 'a.log.gz', a.lines), writeLog(dir, 'b.log', b.lines)];
  const expected = new Set(await referenceIds(paths));
  const state = join(dir, 'replay.state');
  const args = ['replay', '--progress', 'none', '-c', configFor(dir, brokers, topic, badTopic), '--state', state, '--workers', '1', ...paths];
  const events = await startTopicCollector(brokers, topic);
  try {
    const run = startTailplow(args);
    let exited = false;
    void run.done.then(() => (exited = true));
    await until(() => {
      if (exited) throw new Error('finished before the kill: use a bigger file');
      const f = stateOf(state, paths[1]!);
      return f !== undefined && f.offset > 0 && !f.done;
    }, 60_000, 'progress saved in the middle of the second file');
    run.child.kill('SIGKILL');
    assert.equal((await run.done).signal, 'SIGKILL');

    const resumed = await runTailplow(args);
    assert.equal(resumed.code, 0, resumed.stderr);
    const s = summaryOf(resumed.stderr);
    assert.equal(s.per_file[0]!.status, 'already done');
    assert.ok(s.lines < b.lines.length, `resumed inside the file (${s.lines} lines again)`);
    await events.waitForAll(expected, 60_000);
    assert.deepEqual([...events.counts.keys()].filter((id) => !expected.has(id)), [], 'unexpected ids');
    assert.ok(events.duplicates() < s.events, `re-sent at most what the resumed run sent (${events.duplicates()} duplicates)`);
  } finally {
    await events.stop();
  }
});

test('Kafka stopped mid-replay: exit 4, the state short of what Kafka has; after a restart the re-run fills the gap', { timeout: 600_000 }, async (t) => {
  // A private broker, so stopping it disturbs no other test.
  const runDir = tempDir();
  const env = { TAILPLOW_RUN_DIR: runDir, TAILPLOW_KAFKA_PORT: '19192', TAILPLOW_KAFKA_CONTROLLER_PORT: '19193', TAILPLOW_KAFKA_HEAP: '384m' };
  await runServiceScript('kafka', 'start', env);
  const brokers = ['127.0.0.1:19192'];
  const dir = tempDir();
  try {
    const topic = uniqueName('replay-down');
    const badTopic = uniqueName('replay-down-bad');
    await createTopics(brokers, [topic, badTopic]);
    const log = generateLog({ seed: 5, count: 60_000, startMs: T0 });
    const path = writeLog(dir, 'a.log.gz', log.lines);
    const state = join(dir, 'replay.state');
    const args = ['replay', '--progress', 'none', '-c', configFor(dir, brokers, topic, badTopic), '--state', state, '--workers', '1', path];
    const run = startTailplow(args);
    let exited = false;
    void run.done.then(() => (exited = true));
    await until(() => {
      if (exited) throw new Error('finished before Kafka was stopped: use a bigger file');
      return (stateOf(state, path)?.offset ?? 0) > 0;
    }, 60_000, 'some events acknowledged');
    await runServiceScript('kafka', 'stop', env);
    const stoppedAt = Date.now();
    const failed = await run.done;
    t.diagnostic(`replay gave up ${Math.round((Date.now() - stoppedAt) / 1000)} s after the broker stopped`);
    assert.equal(failed.code, 4, failed.stderr);
    assert.match(failed.stderr, /tailplow: output failed/);
    const saved = stateOf(state, path)!;
    assert.equal(saved.done, false);

    await runServiceScript('kafka', 'start', env);
    const events = await startTopicCollector(brokers, topic);
    try {
      // Everything the state counts as delivered is in Kafka.
      const delivered: string[] = [];
      let offset = 0;
      let eid = 0;
      for (const line of log.lines) {
        const inLine = (line.match(/eid=|\\"eid\\"/g) ?? []).length;
        if (offset < saved.offset) delivered.push(...log.eids.slice(eid, eid + inLine));
        eid += inLine;
        offset += Buffer.byteLength(line) + 1;
      }
      assert.ok(delivered.length > 0 && delivered.length < log.events, `${delivered.length} events counted delivered`);
      await events.waitForAll(delivered, 60_000);

      const fixed = await runTailplow(args);
      assert.equal(fixed.code, 0, fixed.stderr);
      await events.waitForAll(log.eids, 120_000);
      // The generator's eids are random: a few may repeat, so compare with the distinct ones.
      assert.equal(events.counts.size, new Set(log.eids).size);
    } finally {
      await events.stop();
    }
  } finally {
    await runServiceScript('kafka', 'stop', env).catch(() => {});
  }
});
