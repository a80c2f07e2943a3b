import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProgress } from './progress';

test('off a terminal: one JSON line per interval with the latest counts, nothing after stop', async () => {
  const lines: string[] = [];
  const p = createProgress({ tty: false, intervalMs: 40, write: (l) => lines.push(l) });
  await sleep(60);
  assert.deepEqual(lines, [], 'no line before the first update');
  p.update({ bytes: 250, totalBytes: 1000, lines: 10, events: 12, bad: 1, file: '/logs/a.log' });
  await sleep(60);
  p.update({ bytes: 500, totalBytes: 1000, lines: 20, events: 25, bad: 2, file: '/logs/b.log.gz' });
  await sleep(60);
  p.stop();
  const count = lines.length;
  await sleep(100);
  assert.equal(lines.length, count, 'stopped');
  assert.ok(count >= 2, `${count} lines`);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = parsed.at(-1)!;
  assert.equal(last.progress, 0.5);
  assert.equal(last.bytes, 500);
  assert.equal(last.total_bytes, 1000);
  assert.equal(last.lines, 20);
  assert.equal(last.events, 25);
  assert.equal(last.bad, 2);
  assert.equal(last.file, '/logs/b.log.gz');
  assert.equal(typeof last.lines_per_s, 'number');
  assert.ok((last.lines_per_s as number) > 0);
  assert.equal(typeof last.eta_s, 'number');
  assert.equal(parsed[0]!.file, '/logs/a.log');
});

test('progress with an unknown total (empty files) reports 0, not NaN', async () => {
  const lines: string[] = [];
  const p = createProgress({ tty: false, intervalMs: 20, write: (l) => lines.push(l) });
  p.update({ bytes: 0, totalBytes: 0, lines: 0, events: 0, bad: 0, file: '/logs/empty.log' });
  await sleep(50);
  p.stop();
  const first = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(first.progress, 0);
  assert.equal(first.eta_s, null);
});
