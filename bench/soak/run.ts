// The long soak runs outside the test runner, whose per-test timeout is ten minutes: tail -> Kafka
// -> process (test/soak/soak.ts), or with --run `tailplow run` (test/soak/run-soak.ts). Progress
// goes to stderr, the report (markdown) to stdout and the full report as JSON to --json FILE;
// exits 1 when a check fails.
//   npx tsc -p tsconfig.json && TAILPLOW_SOAK_MINUTES=30 node dist/bench/soak/run.js [--run] --json soak.json
// Settings: test/soak/config.ts (TAILPLOW_SOAK_MINUTES, _RATE, _ROTATE_SECONDS, _SAMPLE_SECONDS, _FAULTS).
import { writeFileSync } from 'node:fs';
import { runSoakChecks, soakChecks, type Check } from '../../test/soak/checks';
import { soakOptionsFromEnv } from '../../test/soak/config';
import { abortActiveRunSoak, formatRunReport, runEmbeddedSoak } from '../../test/soak/run-soak';
import { abortActiveSoak, formatReport, runPipelineSoak } from '../../test/soak/soak';

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`${signal}: stopping the tailplow processes and private servers\n`);
    void Promise.all([abortActiveSoak(), abortActiveRunSoak()]).finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const jsonAt = process.argv.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? process.argv[jsonAt + 1] : undefined;
  const started = Date.now();
  const options = soakOptionsFromEnv(process.env, (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`));
  const embedded = process.argv.includes('--run');
  let checks: Check[];
  let lines: string[];
  if (embedded) {
    const report = await runEmbeddedSoak(options);
    checks = runSoakChecks(report);
    lines = formatRunReport(report);
    if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ report, checks }, null, 2));
  } else {
    const report = await runPipelineSoak(options);
    checks = soakChecks(report);
    lines = formatReport(report);
    if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ report, checks }, null, 2));
  }
  const command = `TAILPLOW_SOAK_MINUTES=${options.seconds / 60} TAILPLOW_SOAK_RATE=${options.rate} node dist/bench/soak/run.js${embedded ? ' --run' : ''}`;
  const out = [`command: ${command} (wall ${((Date.now() - started) / 60000).toFixed(1)} min)`, '', ...lines, ''];
  for (const c of checks) out.push(`- ${c.ok ? 'ok' : 'FAIL'} ${c.name}: ${c.detail}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
