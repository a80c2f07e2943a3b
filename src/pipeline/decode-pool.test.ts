import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { createDecodePool } from './decode-pool';

const LINUX = process.platform === 'linux';

/** Niceness of each thread of this process (/proc/self/task/TID/stat, field 19). */
function threadNiceness(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

const line = '{"time_iso8601":"2026-11-29T10:00:00+00:00","remote_addr":"10.0.0.1","request_method":"GET","request_uri":"/i?e=pv&aid=site&p=web&tv=js-3.0.0&eid=7d8a3c8e-8f2b-4d6f-9b1a-2f0c3e4d5a6b&dtm=1795946400000","status":"200"}';

for (const nice of [0, 7]) {
  test(`decode threads run ${nice} nicer than the main thread (Linux), and still decode`, { skip: !LINUX && 'reads /proc' }, async () => {
    const before = threadNiceness();
    const base = getPriority();
    const pool = createDecodePool({ format: 'json', maxLineBytes: 1 << 20, serialise: 'json' }, 2, { nice });
    try {
      // Every worker has decoded a batch, so each has run its start-up.
      const results = await Promise.all([0, 1, 2, 3].map((k) => pool.submit({ fileKey: 'k', path: 'access.log', lines: [{ text: line, offset: k * 300, nextOffset: k * 300 + 300 }] })));
      for (const r of results) assert.equal(r.events.length, 1);
      const fresh = [...threadNiceness()].filter(([tid]) => !before.has(tid));
      assert.equal(fresh.filter(([, n]) => n === base + nice).length >= 2, true, `new threads' niceness: ${JSON.stringify(fresh)}`);
      assert.equal(getPriority(), base, 'the main thread keeps its niceness');
      if (nice > 0) assert.ok(fresh.every(([, n]) => n === base || n === base + nice));
    } finally {
      await pool.close();
    }
  });
}
