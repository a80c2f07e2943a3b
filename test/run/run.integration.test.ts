// No servers needed (chDB and LMDB run in-process), but slow on a loaded machine, hence
// "integration". `tailplow run` follows a log that a writer appends to without pause; it is killed
// with SIGKILL three times, the log is rotated (rename + new file) once while it runs and once while
// it is down. A final `run --once` reads the rest. Then: every event_id written is in the embedded
// store, copies collapse (FINAL and uniqExact agree), the --once summary and `tailplow query` give
// the numbers computed from the input, and a query during the run works on a copy.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLineGenerator } from '../../bench/lib/generate';
import { createTailplowSpawner, TAILPLOW_BIN, type TailplowChild } from '../support/tailplow-child';

const spawner = createTailplowSpawner();
after(() => spawner.killAll());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TAILPLOW_BIN, ...args], { cwd, encoding: 'utf8', timeout: 240_000, maxBuffer: 1 << 30, env: { ...process.env, TAILPLOW_LOG_LEVEL: 'warn' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Expected {
  ids: Set<string>;
  visitors: Set<string>;
  sessions: Set<string>;
  byType: Map<string, Set<string>>;
}

/** What the input holds, decoded by `tailplow parse` (the same decoder, no stages). */
function expectedOf(allLinesFile: string, cwd: string): Expected {
  const r = cli(['parse', allLinesFile], cwd);
  assert.equal(r.code, 0, r.stderr);
  const out: Expected = { ids: new Set(), visitors: new Set(), sessions: new Set(), byType: new Map() };
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { event_id: string; event: string; domain_userid?: string; domain_sessionid?: string };
    out.ids.add(e.event_id);
    if (e.domain_userid) out.visitors.add(e.domain_userid);
    if (e.domain_sessionid) out.sessions.add(e.domain_sessionid);
    if (!out.byType.has(e.event)) out.byType.set(e.event, new Set());
    out.byType.get(e.event)!.add(e.event_id);
  }
  return out;
}

test('run: kill -9 rounds under continuous writes with rotations, then --once: zero missing, copies collapse, summary and query agree with the input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'access.log');
  const all = join(dir, 'all-lines.txt');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'run.yml');
  writeFileSync(
    config,
    [
      `dataDir: ${dataDir}`,
      'http: { listen: 127.0.0.1:0 }',
      'input:',
      `  paths: ['${log}*']`,
      '  startAt: beginning',
      '  pollIntervalMs: 200',
      '  maxBatchLines: 200',
      'pipeline: { shutdownTimeoutMs: 20000 }',
      '',
    ].join('\n'),
  );
  writeFileSync(log, '');
  writeFileSync(all, '');

  const next = createLineGenerator({ seed: 99, visitors: 30, startMs: Date.UTC(2026, 10, 1), stepMs: 60_000 });
  let written = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      let chunk = '';
      for (let i = 0; i < 20; i++) chunk += next() + '\n';
      appendFileSync(log, chunk);
      appendFileSync(all, chunk);
      written += 20;
      await sleep(100);
    }
  })();
  const rotate = (n: number) => {
    renameSync(log, `${log}.${n}`);
    writeFileSync(log, '');
  };

  const start = () => spawner.start({ command: 'run', configFile: config, cwd: dir, readyLine: '"following"', readyMeans: 'following', timeoutMs: 120_000 });
  let agent: TailplowChild = await start();
  const kills: number[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      await sleep(2500 + round * 700);
      if (round === 1) rotate(1); // while running
      await sleep(800);
      if (round === 2) {
        // A query while run holds the store: it answers from a copy and says so.
        const q = cli(['query', '--data-dir', dataDir, '--format', 'csv', 'SELECT uniqExact(event_id) FROM events'], dir);
        assert.equal(q.code, 0, q.stderr);
        assert.match(q.stderr, new RegExp(`in use by tailplow run \\(pid ${agent.pid}\\)`));
        assert.ok(Number(q.stdout.trim().split('\n')[1]) >= 0);
      }
      agent.kill('SIGKILL');
      await agent.exited;
      kills.push(written);
      if (round === 0) rotate(2); // while down
      await sleep(300);
      agent = await start();
    }
    await sleep(2000);
  } finally {
    writing = false;
    await writer;
  }
  const stopped = await agent.stop(60_000);
  assert.equal(stopped.code, 0, `SIGTERM ends run with 0: ${JSON.stringify(stopped)}`);
  t.diagnostic(`${written} lines written; killed after ${kills.join(', ')} lines`);

  const once = cli(['run', '--once', '-c', config], dir);
  assert.equal(once.code, 0, once.stderr);
  const expected = expectedOf(all, dir);
  assert.ok(expected.ids.size > 500, `enough events to mean something (${expected.ids.size})`);

  // Zero missing, nothing foreign.
  const ids = cli(['query', '--data-dir', dataDir, '--format', 'tsv', 'SELECT DISTINCT event_id FROM events'], dir);
  assert.equal(ids.code, 0, ids.stderr);
  const stored = new Set(ids.stdout.trim().split('\n').slice(1));
  const missing = [...expected.ids].filter((id) => !stored.has(id));
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${expected.ids.size} event_ids missing`);
  assert.equal(stored.size, expected.ids.size);

  // Redelivered copies collapse: FINAL and uniqExact give the same number; raw rows may be more.
  const counts = cli(['query', '--data-dir', dataDir, '--format', 'json', 'SELECT count() AS raw, uniqExact(event_id) AS uniq, (SELECT count() FROM events FINAL) AS final FROM events'], dir);
  const c = JSON.parse(counts.stdout) as { raw: number; uniq: number; final: number };
  t.diagnostic(`rows ${c.raw}, unique ${c.uniq}, after FINAL ${c.final}`);
  assert.equal(c.uniq, expected.ids.size);
  assert.equal(c.final, expected.ids.size);
  assert.ok(c.raw >= c.uniq);

  // The --once summary says what the input holds.
  assert.match(once.stdout, new RegExp(`holds ${expected.ids.size} events from ${expected.visitors.size} visitors in ${expected.sessions.size} sessions`), once.stdout);
  const typeLine = once.stdout.split('\n').find((l) => l.includes('events by type:'))!;
  for (const [type, set] of expected.byType) assert.match(typeLine, new RegExp(`\\b${type} ${set.size}\\b`), `${type} in ${typeLine}`);

  // query's table output shows the same per-type numbers.
  const table = cli(['query', '--data-dir', dataDir, 'SELECT event, uniqExact(event_id) AS n FROM events GROUP BY event ORDER BY event'], dir);
  assert.equal(table.code, 0, table.stderr);
  for (const [type, set] of expected.byType) assert.match(table.stdout, new RegExp(`│ ${type}\\s+│\\s+${set.size} │`), table.stdout);
});
