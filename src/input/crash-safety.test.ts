import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadRegistry, registryPath } from './registry';
import { createTailInput } from './tail-input';
import { createCollector, makeTempDir, numberedLines, type Delivered } from './testing';
import type { LineBatch } from './types';

/** Small seeded PRNG so a failure can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const seed of [1, 2, 3]) {
  test(`crash safety (seed ${seed}): random out-of-order acks and restarts from the saved registry lose nothing and re-deliver only from the first unacked line`, async (t) => {
    const random = mulberry32(seed);
    const dir = makeTempDir(t);
    mkdirSync(join(dir, 'logs'));
    const files = ['a.log', 'b.log'].map((n) => join(dir, 'logs', n));
    const written = new Map(files.map((f) => [f, 0]));
    const write = (f: string, n: number) => {
      appendFileSync(f, numberedLines(f.endsWith('a.log') ? 'a' : 'b', written.get(f)!, n));
      written.set(f, written.get(f)! + n);
    };
    for (const f of files) write(f, 50);

    const everDelivered = new Map(files.map((f) => [f, new Set<number>()]));
    let restartOffsets = new Map<string, number>(files.map((f) => [f, 0]));
    const incarnations = 4;
    for (let k = 0; k < incarnations; k++) {
      const dataDir = join(dir, `data-${k}`);
      const last = k === incarnations - 1;
      const input = createTailInput({
        paths: [join(dir, 'logs/*.log')],
        dataDir,
        startAt: 'beginning',
        fingerprintBytes: 64,
        pollIntervalMs: 30,
        maxBatchLines: 1 + Math.floor(random() * 8),
        registryFlushMs: 3_600_000, // only the explicit saves below: the test knows what is on disk
      });
      const held: LineBatch[] = [];
      const acked = new Set<LineBatch>();
      const issued: LineBatch[] = [];
      let expectedOnDisk = new Map(restartOffsets);
      const ackNow = (b: LineBatch) => {
        input.ack(b);
        acked.add(b);
      };
      const c = createCollector(input, {
        ack: (b) => {
          issued.push(b);
          if (last || random() < 0.5) ackNow(b);
          else held.push(b);
          return false;
        },
      });
      const firstOffset = new Map<string, number>();
      const budget = last ? Infinity : 10 + Math.floor(random() * 30);
      const deadline = Date.now() + 8000;
      while (c.batches.length < budget && Date.now() < deadline) {
        const before = c.batches.length;
        await c.until(() => c.batches.length > before, last ? 300 : 1000);
        if (c.batches.length === before) {
          if (last && files.every((f) => everDelivered.get(f)!.size + countNew(c.lines, f, everDelivered) >= written.get(f)!)) break;
          if (!last) break;
        }
        for (const b of c.batches.slice(before)) if (!firstOffset.has(b.path)) firstOffset.set(b.path, b.lines[0]!.offset);
        if (random() < 0.3 && held.length > 0) ackNow(held.splice(Math.floor(random() * held.length), 1)[0]!);
        if (!last && random() < 0.2) write(files[Math.floor(random() * 2)]!, 1 + Math.floor(random() * 20));
        if (random() < 0.25) {
          await input.saveRegistry();
          expectedOnDisk = ackedPrefix(files, issued, acked, restartOffsets);
        }
      }
      for (const [path, offset] of firstOffset) {
        assert.equal(offset, restartOffsets.get(path), `incarnation ${k} re-delivers ${path} from the saved offset exactly`);
      }
      for (const l of c.lines) everDelivered.get(l.path)!.add(l.offset);
      // The crash: what is on disk now is all the next process gets.
      const nextDir = join(dir, `data-${k + 1}`);
      mkdirSync(nextDir);
      if (existsSync(registryPath(dataDir))) copyFileSync(registryPath(dataDir), registryPath(nextDir));
      const onDisk = await loadRegistry(nextDir);
      const saved = new Map(files.map((f) => [f, Object.values(onDisk).find((e) => e.path === f)?.offset ?? 0]));
      for (const f of files) assert.equal(saved.get(f), expectedOnDisk.get(f), `incarnation ${k}: saved offset of ${f} is the acked prefix at the last save`);
      restartOffsets = saved;
      await input.close();
    }
    for (const f of files) {
      const content = readFileSync(f);
      const offsets = [...everDelivered.get(f)!].sort((x, y) => x - y);
      assert.equal(offsets.length, written.get(f), `every line of ${f} was delivered`);
      assert.deepEqual(offsets, Array.from({ length: written.get(f)! }, (_, i) => i * 41));
      assert.equal(content.length, written.get(f)! * 41);
    }
  });
}

function countNew(lines: Delivered[], f: string, ever: Map<string, Set<number>>): number {
  return lines.filter((l) => l.path === f && !ever.get(f)!.has(l.offset)).length;
}

/** Per file: the offset of its first unacknowledged line, or the end of its last acknowledged batch. */
function ackedPrefix(files: string[], issued: LineBatch[], acked: Set<LineBatch>, start: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of files) {
    let offset = start.get(f)!;
    for (const b of issued.filter((x) => x.path === f)) {
      if (!acked.has(b)) break;
      offset = b.lines[b.lines.length - 1]!.nextOffset;
    }
    out.set(f, offset);
  }
  return out;
}
