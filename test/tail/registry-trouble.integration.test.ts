// Needs Kafka (scripts/services/kafka.sh start). What a sysadmin sees when the agent's registry of
// offsets is in trouble: a corrupt one stops the agent at once, naming the file, and is left as it
// is; one that cannot be written (here: the data directory replaced by a file, as a full or
// read-only disk would refuse it) turns /healthz red and ages its metric, and SIGTERM still ends
// the process, saying what the failed last save costs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAllAgents, writeAgentConfig } from '../support/tail-agent';
import { expectAllDelivered, openScenario, sleep } from '../support/tail-scenario';
import { waitFor } from '../support/services';
import { TAILPLOW_BIN } from '../support/tailplow-child';

after(killAllAgents);

test('a corrupt registry stops tail at startup with its path and what to do; the file is left as it is', async (t) => {
  const s = await openScenario('corrupt-registry', { paths: (dir) => [join(dir, 'access.log')], seed: 41 });
  t.after(() => s.close());
  s.writer.write(20);
  const registry = join(s.dir, 'data', 'input-registry.json');
  mkdirSync(join(s.dir, 'data'));
  writeFileSync(registry, '{"version":1,"savedAt":1765000000000,"entries":{"abc":{"path":');
  const config = writeAgentConfig({ dir: s.dir, paths: [s.log], brokers: s.brokers, topic: s.topic, badTopic: s.badTopic });
  const run = spawnSync(process.execPath, [TAILPLOW_BIN, 'tail', '-c', config], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, new RegExp(`${registry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
  assert.match(run.stderr, /restore it from a backup, or move it away/);
  assert.equal(readFileSync(registry, 'utf8'), '{"version":1,"savedAt":1765000000000,"entries":{"abc":{"path":', 'not overwritten');
  await sleep(500);
  assert.equal(s.events.messages, 0, 'nothing sent');
});

test('a registry that cannot be saved: /healthz says so and the age metric grows; SIGTERM still exits (code 4), and the next start sends all again', async (t) => {
  const s = await openScenario('unsaved-registry', { paths: (dir) => [join(dir, 'access.log')], seed: 42 });
  t.after(() => s.close());
  s.writer.write(50);
  const agent = await s.startAgent();
  await expectAllDelivered(s);
  await waitFor(async () => (await agent.health()).status === 200, 10_000, 100);
  // The directory goes; a file takes its name: every save fails from now on. The agent's next
  // save can create the directory again between the two steps (a clean-clone CI run met that):
  // then they are done again.
  for (let attempt = 1; ; attempt++) {
    rmSync(join(s.dir, 'data'), { recursive: true, force: true });
    try {
      writeFileSync(join(s.dir, 'data'), 'not a directory', { flag: 'wx' });
      break;
    } catch (err) {
      if (attempt >= 20 || !['EEXIST', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
  s.writer.write(50);
  await waitFor(async () => (await agent.health()).status === 503, 15_000, 200);
  const health = await agent.health();
  assert.match(String(health.body.state ?? JSON.stringify(health.body)), /cannot save the input registry/);
  await sleep(2500);
  assert.ok((await agent.metric('tailplow_registry_age_seconds')) >= 2, 'the registry ages while it cannot be saved');
  const stoppedAt = performance.now();
  process.kill(agent.pid, 'SIGTERM');
  const exit = await Promise.race([agent.exited, sleep(30_000).then(() => 'hung' as const)]);
  assert.notEqual(exit, 'hung', 'the agent exits after SIGTERM');
  assert.equal(typeof exit === 'object' ? exit.code : undefined, 4);
  t.diagnostic(`exited ${((performance.now() - stoppedAt) / 1000).toFixed(1)} s after SIGTERM`);
  // The directory is back: the next life starts without offsets and sends everything again, as
  // the exit message said (at-least-once: a copy of each, none missing).
  await expectAllDelivered(s);
  const firstLife = s.events.messages;
  rmSync(join(s.dir, 'data'), { force: true });
  await s.startAgent();
  await waitFor(async () => s.events.messages >= 2 * firstLife, 30_000, 200);
  assert.equal(s.events.duplicates(), firstLife);
});
