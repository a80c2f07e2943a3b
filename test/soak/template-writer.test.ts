import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventIdsOf } from '../support/log-writer';
import { createTemplateLogWriter } from './template-writer';

test('template writer: every line written carries fresh, unique event ids and the time of the write, the rest repeats with the pool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-template-writer-'));
  try {
    const seen: string[] = [];
    const w = createTemplateLogWriter(join(dir, 'access.log'), { seed: 3, pool: 50, onWritten: (ids) => seen.push(...ids) });
    const before = Date.now();
    w.write(120);
    const after = Date.now();
    w.close();
    const lines = readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 120);
    assert.equal(w.lines, 120);
    assert.equal(w.bytes, readFileSync(join(dir, 'access.log')).length);
    const inFile = lines.flatMap(eventIdsOf);
    assert.deepEqual(inFile, seen);
    assert.equal(new Set(inFile).size, inFile.length, 'ids unique');
    assert.ok(inFile.length > 120, 'tp2 lines carry several events');
    // Line 51 is template 1 again: identical once the ids are blanked.
    const blank = (l: string) => l.replace(/[0-9a-f]{8}-0000-4000-a000-[0-9a-f]{12}/g, 'ID').replace(/^\{"msec":"[\d.]+"/, '');
    for (const line of lines) {
      const ms = Number((JSON.parse(line) as { msec: string }).msec) * 1000;
      assert.ok(ms >= before - 1 && ms <= after + 1, `msec ${ms} is the write time`);
    }
    assert.equal(blank(lines[50]!), blank(lines[0]!));
    assert.notEqual(lines[50], lines[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
