// Needs Kafka (scripts/services/kafka.sh start). The real `tailplow tail` follows an access log
// while a writer appends to it like nginx, and the log is rotated in every way logrotate (or an
// operator) does it. Afterwards every event id written must be in Kafka: zero missing.
// Without a crash there must be no duplicates either; counts are reported with t.diagnostic.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { appendContinuously, type Appender } from '../support/log-writer';
import { killAllAgents } from '../support/tail-agent';
import { expectAllDelivered, openScenario, sleep, type Scenario } from '../support/tail-scenario';

after(killAllAgents);

const RATE = 400; // lines/s, ~700 KB/s of realistic tracker lines

/** logrotate's `compress`: FILE -> FILE.gz, the plain file removed. */
function gzipFile(path: string): void {
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path)));
  unlinkSync(path);
}

async function run(
  t: { diagnostic(message: string): void },
  name: string,
  seed: number,
  paths: (dir: string) => string[],
  rotate: (s: Scenario, appender: Appender) => Promise<void>,
): Promise<Scenario> {
  const s = await openScenario(name, { paths, seed });
  try {
    await s.startAgent();
    const appender = appendContinuously(s.writer, RATE);
    try {
      await rotate(s, appender);
      await sleep(1000);
    } finally {
      await appender.stop();
    }
    const r = await expectAllDelivered(s);
    t.diagnostic(`${name}: ${s.writer.lines} lines, ${r.events} events written; ${r.messages} messages in Kafka, 0 missing, ${r.duplicates} duplicates`);
    if (process.env.TAILPLOW_TEST_VERBOSE && r.duplicates > 0) for (const line of s.agent.logs()) t.diagnostic(line);
    // Without a crash nothing is delivered twice (the idempotent producer covers Kafka retries).
    assert.equal(r.duplicates, 0, 'no event delivered twice');
    const exit = await s.agent.stop();
    if (process.env.TAILPLOW_TEST_VERBOSE) for (const line of s.agent.logs()) t.diagnostic(line);
    assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM ends the agent cleanly');
    return s;
  } finally {
    await s.close();
  }
}

test('rename rotation (logrotate create): the rest of the renamed file, then the new file', async (t) => {
  await run(t, 'rename', 11, (dir) => [join(dir, 'access.log')], async (s) => {
    await sleep(1500);
    renameSync(s.log, `${s.log}.1`);
    // nginx keeps writing to the renamed file until it reopens its logs (USR1).
    s.writer.write(800);
    await sleep(300);
    s.writer.reopen();
    await sleep(1500);
    renameSync(`${s.log}.1`, `${s.log}.2`);
    renameSync(s.log, `${s.log}.1`);
    s.writer.reopen();
  });
});

test('copytruncate: lines not yet read when the file is truncated are read from the copy', async (t) => {
  await run(t, 'copytruncate', 12, (dir) => [join(dir, 'access.log*')], async (s) => {
    await sleep(1500);
    // A burst first, so the agent is behind when the copy is made.
    s.writer.write(1500);
    copyFileSync(s.log, `${s.log}.1`);
    truncateSync(s.log, 0);
    await sleep(1500);
    s.writer.write(500);
    renameSync(`${s.log}.1`, `${s.log}.2`);
    copyFileSync(s.log, `${s.log}.1`);
    truncateSync(s.log, 0);
  });
});

test('in-place truncation: the file is read again from its start, also when it regrew past the old offset', async (t) => {
  await run(t, 'truncate', 13, (dir) => [join(dir, 'access.log')], async (s, appender) => {
    for (const burstAfter of [0, 1000]) {
      await sleep(1500);
      // Truncating throws away what was not read yet: an operator does it after the reader caught up.
      appender.pause();
      await s.events.waitForAll(s.writer.eventIds, 30_000);
      truncateSync(s.log, 0);
      // More bytes than before the truncation, at once: the size alone can't reveal the truncation.
      s.writer.write(burstAfter);
      appender.resume();
    }
  });
});

test('deletion: the unread rest of a deleted file is read through the open descriptor, then the new file', async (t) => {
  await run(t, 'delete', 14, (dir) => [join(dir, 'access.log')], async (s) => {
    for (let i = 0; i < 2; i++) {
      await sleep(1500);
      s.writer.write(1500);
      unlinkSync(s.log);
      s.writer.reopen();
    }
  });
});

test('gzip after rotation (access.log*): the compressed file is never read again', async (t) => {
  const s = await run(t, 'gzip', 15, (dir) => [join(dir, 'access.log*')], async (s) => {
    await sleep(1500);
    // Rotate while the agent is behind, and compress at once (no delaycompress).
    s.writer.write(1500);
    renameSync(s.log, `${s.log}.1`);
    s.writer.reopen();
    gzipFile(`${s.log}.1`);
    await sleep(1500);
    // The next rotation shifts the archive and compresses after the agent has read the file.
    renameSync(`${s.log}.1.gz`, `${s.log}.2.gz`);
    renameSync(s.log, `${s.log}.1`);
    s.writer.reopen();
    await sleep(1500);
    gzipFile(`${s.log}.1`);
  });
  // Lines read from the plain file's open descriptor after it was compressed carry the archive's
  // path in their source header; what matters is that none was read twice (checked in run()).
  assert.ok(s.events.messages > 0);
});

test('agent restart with a rotation while it is stopped: resumes the rotated file at its saved offset', async (t) => {
  await run(t, 'restart', 16, (dir) => [join(dir, 'access.log*')], async (s) => {
    await sleep(1500);
    const exit = await s.agent.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    s.writer.write(1000);
    renameSync(s.log, `${s.log}.1`);
    s.writer.write(200);
    s.writer.reopen();
    await sleep(1000);
    await s.startAgent();
    await sleep(1500);
    // And once more, stopped while the writer keeps going.
    await s.agent.stop();
    await sleep(1000);
    await s.startAgent();
  });
});
