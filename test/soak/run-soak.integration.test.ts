// Soak of `tailplow run` (one process, embedded stores; no servers needed, but minutes long, so
// it runs with the integration tests): a steady 2,000 lines/s with rename rotation and one kill -9
// of `run` (test/soak/run-soak.ts). Zero missing event_ids in the embedded store, caught up after
// the kill, RSS and open fds flat, a clean exit on SIGTERM. Short by default (2 minutes, rotation
// every 30 s); the long run is
//   TAILPLOW_SOAK_MINUTES=30 node dist/bench/soak/run.js --run   (docs/soak.md)
// Settings: test/soak/config.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAT_ASSERTED_FROM_SECONDS, runSoakChecks } from './checks';
import { soakOptionsFromEnv } from './config';
import { abortActiveRunSoak, formatRunReport, runEmbeddedSoak } from './run-soak';

after(abortActiveRunSoak);

const progress: string[] = [];
const options = soakOptionsFromEnv(process.env, (line) => {
  progress.push(line);
  if (process.env.TAILPLOW_TEST_VERBOSE) process.stderr.write(`run soak: ${line}\n`);
});

test(
  `soak: tailplow run for ${options.seconds} s at ${options.rate} lines/s with rotation and kill -9: zero missing in the embedded store, caught up, RSS and fds ${options.seconds >= FLAT_ASSERTED_FROM_SECONDS ? 'flat' : 'reported'}`,
  { timeout: (options.seconds + 2 * options.catchUpTimeoutSeconds + 180) * 1000 },
  async (t) => {
    let report;
    try {
      report = await runEmbeddedSoak(options);
    } catch (err) {
      for (const line of progress) t.diagnostic(line);
      throw err;
    }
    for (const line of formatRunReport(report)) t.diagnostic(line);
    const checks = runSoakChecks(report);
    for (const c of checks) t.diagnostic(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) for (const line of progress) t.diagnostic(line);
    assert.deepEqual(failed.map((c) => `${c.name}: ${c.detail}`), []);
    assert.ok(report.eventsWritten >= options.seconds * options.rate * 0.9, `wrote ${report.eventsWritten} events`);
  },
);
