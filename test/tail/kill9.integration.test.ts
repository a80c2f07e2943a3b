// Needs Kafka (scripts/services/kafka.sh start). `tailplow tail` is killed with SIGKILL at random
// moments, round after round, while a writer appends without pause and the log is rotated in
// between. At-least-once: every event id written must reach Kafka (zero missing); duplicates are
// allowed only for what was read but not yet saved as acknowledged when the agent died.
//   TAILPLOW_KILL_ROUNDS (default 20), TAILPLOW_KILL_SEED (default: random, printed)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../../bench/lib/generate';
import { appendContinuously } from '../support/log-writer';
import { killAllAgents } from '../support/tail-agent';
import { expectAllDelivered, openScenario, sleep } from '../support/tail-scenario';

after(killAllAgents);

const ROUNDS = Number(process.env.TAILPLOW_KILL_ROUNDS ?? 20);
const SEED = Number(process.env.TAILPLOW_KILL_SEED ?? Math.floor(Math.random() * 1e9));
const RATE = 300; // lines/s
const MAX_IN_FLIGHT_BYTES = 2 * 1024 * 1024;
const REGISTRY_FLUSH_MS = 200;

test(`kill -9 in ${ROUNDS} rounds under continuous writes and rotations: zero missing`, async (t) => {
  t.diagnostic(`seed ${SEED} (TAILPLOW_KILL_SEED to repeat the kill moments)`);
  const random = prng(SEED);
  const s = await openScenario('kill9', {
    paths: (dir) => [join(dir, 'access.log*')],
    seed: 21,
    agent: { output: { maxInFlightBytes: MAX_IN_FLIGHT_BYTES }, input: { registryFlushMs: REGISTRY_FLUSH_MS } },
  });
  try {
    const appender = appendContinuously(s.writer, RATE);
    const kills: string[] = [];
    const rotateWhileDown = Math.floor(ROUNDS / 3);
    const rotateWhileRunning = Math.floor((2 * ROUNDS) / 3);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const agent = await s.startAgent();
        // Sometimes right after start (registry just loaded, first batches in flight), sometimes later.
        const lifeMs = Math.floor(random() < 0.3 ? random() * 300 : 300 + random() * 1500);
        if (round === rotateWhileRunning) {
          // Rename rotation while the agent runs, then it dies soon after.
          await sleep(lifeMs / 2);
          renameSync(`${s.log}.1`, `${s.log}.2`);
          renameSync(s.log, `${s.log}.1`);
          s.writer.reopen();
          await sleep(lifeMs / 2);
        } else {
          await sleep(lifeMs);
        }
        agent.kill('SIGKILL');
        const exit = await agent.exited;
        assert.equal(exit.signal, 'SIGKILL');
        kills.push(`${lifeMs}`);
        if (round === rotateWhileDown) {
          renameSync(s.log, `${s.log}.1`);
          s.writer.reopen();
        }
      }
      t.diagnostic(`killed after (ms): ${kills.join(' ')}`);
      await s.startAgent();
      await sleep(1000);
    } finally {
      await appender.stop();
    }
    const r = await expectAllDelivered(s, 90_000);
    // What one death can re-deliver: lines read but unacknowledged (the in-flight window) plus
    // lines acknowledged since the last registry write (at most one flush interval of catching up
    // at a generous 20 MB/s). Bound it by bytes.
    const avgLineBytes = s.writer.bytes / s.writer.lines;
    const eventsPerLine = r.events / s.writer.lines;
    const bytesPerDeath = MAX_IN_FLIGHT_BYTES + (REGISTRY_FLUSH_MS / 1000) * 20 * 1024 * 1024;
    const bound = Math.ceil(ROUNDS * (bytesPerDeath / avgLineBytes) * eventsPerLine);
    t.diagnostic(`${ROUNDS} kills: ${s.writer.lines} lines, ${r.events} events written; ${r.messages} messages, 0 missing, ${r.duplicates} duplicates (${((100 * r.duplicates) / r.events).toFixed(1)}%, bound ${bound})`);
    assert.ok(r.duplicates <= bound, `${r.duplicates} duplicates exceed the un-acked window bound ${bound}`);
    const exit = await s.agent.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
  } finally {
    await s.close();
  }
});
