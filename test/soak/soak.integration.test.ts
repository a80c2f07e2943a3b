// Soak of tail -> Kafka -> process (enrich, profile in Redis, clickhouse sink) against private
// Kafka, Redis and ClickHouse instances (test/soak/soak.ts): a steady 2,000 lines/s, rename
// rotation, one restart of each server and one kill -9 of the tailer and of the processor.
// Zero missing event_ids in ClickHouse, lag back to zero after each fault, RSS and open fds of
// both processes flat. Short by default (2 minutes, rotation every 30 s); the long run is
//   TAILPLOW_SOAK_MINUTES=30 node dist/bench/soak/run.js   (docs/soak.md)
// Settings: test/soak/config.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAT_ASSERTED_FROM_SECONDS, soakChecks } from './checks';
import { soakOptionsFromEnv } from './config';
import { abortActiveSoak, formatReport, runPipelineSoak } from './soak';

after(abortActiveSoak);

const verbose = Boolean(process.env.TAILPLOW_TEST_VERBOSE);
const progress: string[] = [];
const options = soakOptionsFromEnv(process.env, (line) => {
  progress.push(line);
  if (verbose) process.stderr.write(`soak: ${line}\n`);
});

test(
  `soak: tail -> kafka -> process for ${options.seconds} s at ${options.rate} lines/s with rotation, server restarts and kill -9: zero missing, lag back to zero, RSS and fds ${options.seconds >= FLAT_ASSERTED_FROM_SECONDS ? 'flat' : 'reported'}`,
  { timeout: (options.seconds + 2 * options.catchUpTimeoutSeconds + 300) * 1000 },
  async (t) => {
    let report;
    try {
      report = await runPipelineSoak(options);
    } catch (err) {
      for (const line of progress) t.diagnostic(line);
      throw err;
    }
    for (const line of formatReport(report)) t.diagnostic(line);
    const checks = soakChecks(report);
    for (const c of checks) t.diagnostic(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) for (const line of progress) t.diagnostic(line);
    assert.deepEqual(failed.map((c) => `${c.name}: ${c.detail}`), []);
    assert.ok(report.eventsWritten >= options.seconds * options.rate * 0.9, `wrote ${report.eventsWritten} events`);
  },
);
