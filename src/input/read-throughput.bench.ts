/**
 * Read throughput of the input layer on a generated access log (realistic tracker lines from
 * bench/lib/generate): the tailer reading a file from the beginning (acking every batch) and
 * openLineSource on the same file and on its .gz form (MB/s of decompressed bytes).
 *   node dist/src/input/read-throughput.bench.js [megabytes=100]
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createLineGenerator } from '../../bench/lib/generate';
import { openLineSource } from './line-source';
import { createTailInput } from './tail-input';

async function writeLog(path: string, bytes: number): Promise<number> {
  const next = createLineGenerator({ seed: 42 });
  const out = createWriteStream(path);
  let written = 0;
  let lines = 0;
  while (written < bytes) {
    const line = `${next()}\n`;
    written += Buffer.byteLength(line);
    lines++;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return lines;
}

function report(name: string, bytes: number, lines: number, ms: number): void {
  const mb = bytes / 1e6;
  console.log(`${name.padEnd(28)} ${(mb / (ms / 1000)).toFixed(0).padStart(5)} MB/s  ${Math.round(lines / (ms / 1000)).toLocaleString('en-US').padStart(11)} lines/s  (${mb.toFixed(0)} MB, ${lines} lines, ${ms.toFixed(0)} ms)`);
}

async function main(): Promise<void> {
  const megabytes = Number(process.argv[2] ?? 100);
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-read-bench-'));
  try {
    const path = join(dir, 'access.log');
    const expected = await writeLog(path, megabytes * 1e6);
    const size = statSync(path).size;

    const input = createTailInput({ paths: [path], dataDir: join(dir, 'data'), startAt: 'beginning' });
    let lines = 0;
    let t0 = performance.now();
    for await (const batch of input.batches()) {
      lines += batch.lines.length;
      input.ack(batch);
      if (lines >= expected) break;
    }
    report('tail (createTailInput)', size, lines, performance.now() - t0);
    await input.close();

    lines = 0;
    t0 = performance.now();
    for await (const batch of await openLineSource(path)) lines += batch.lines.length;
    report('openLineSource plain', size, lines, performance.now() - t0);

    await pipeline(createReadStream(path), createGzip({ level: 1 }), createWriteStream(`${path}.gz`));
    lines = 0;
    t0 = performance.now();
    for await (const batch of await openLineSource(`${path}.gz`)) lines += batch.lines.length;
    report('openLineSource .gz', size, lines, performance.now() - t0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
