/**
 * bench/storage/alloc: heap bytes each step of the storage path allocates per event, and its CPU
 * per event, on the bench's events (bench/process/events.ts), in one process: `JSON.parse` of the
 * message, the enrich stage, the profile stage (a private Redis), the ClickHouse sink's row and
 * the batch's TabSeparated buffer.
 *
 * Why allocation: in `tailplow process` the scavenger (V8's young-generation GC) is the largest
 * single cost (bench/storage/README.md), and what it copies is the batches in flight between
 * those steps. The fewer bytes a step allocates, the fewer scavenges an event lives through.
 *
 * Each step runs over a batch of `--batch` events with a full GC before it, and its figure is the
 * growth of the used heap (V8's heap statistics) over that step: with a young generation larger
 * than a batch's allocations (this script re-runs itself with --max-semi-space-size), nothing is
 * collected inside a step. The first `--warmup` batches are not counted (the JIT is still
 * compiling). The share column is each step's part of the total.
 *
 *   node dist/bench/storage/alloc.js [--events 40000] [--batch 2000] [--warmup 4] [--layout legacy|modern]
 */
import { spawnSync } from 'node:child_process';
import { getHeapStatistics } from 'node:v8';
import { parseArgs } from 'node:util';
import type { SnowplowEvent } from '../../src/snowplow/event';
import { createStage, stageConfigSchema } from '../../src/stages/registry';
import { eventRowOf, tsvRows, type RowOutcome } from '../../src/storage/clickhouse-schema';
import { silentLogger } from '../../src/util/logger';
import { FULL_ENRICH_STAGE } from '../../test/process/processor-agent';
import { startPrivateService } from '../../test/support/services';
import { generateRawEvents, idPrefix, withFreshIds } from '../process/events';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '40000' },
    batch: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '4' },
    layout: { type: 'string', default: 'legacy' },
  },
});

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  // A young generation of 512 MB holds a whole step of a batch, so no GC runs inside one.
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=512', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const STEPS = ['JSON.parse', 'enrich', 'profile (Redis)', 'row', 'TSV buffer'] as const;
type Step = (typeof STEPS)[number];
const START_MS = Date.UTC(2026, 9, 15, 12);

async function main(): Promise<void> {
  const batch = Number(args.batch);
  const batches = Math.floor(Number(args.events) / batch);
  const warmup = Number(args.warmup);
  if (batches <= warmup) throw new Error(`--events ${args.events} gives ${batches} batches of ${batch}: not more than --warmup ${warmup}`);
  const layout = args.layout === 'modern' ? 'modern' : 'legacy';
  const redis = await startPrivateService('redis');
  try {
    const deps = { logger: silentLogger, dataDir: '/nonexistent' };
    const enrich = await createStage(stageConfigSchema.parse(FULL_ENRICH_STAGE), deps);
    const profile = await createStage(stageConfigSchema.parse({ type: 'profile', redis: { url: redis.address }, keyPrefix: 'bench-alloc:' }), deps);
    const messages = withFreshIds(generateRawEvents(3000, { seed: 77, geoEvery: 5, startMs: START_MS }).messages, batches * batch, idPrefix()).messages.map((m) => Buffer.from(m.value));
    const bytes = new Map<Step, number>(STEPS.map((s) => [s, 0]));
    const cpuUs = new Map<Step, number>(STEPS.map((s) => [s, 0]));
    for (let b = 0; b < batches; b++) {
      const counted = b >= warmup;
      let heap = 0;
      let cpu = process.cpuUsage();
      const start = () => {
        gc!();
        heap = getHeapStatistics().used_heap_size;
        cpu = process.cpuUsage();
      };
      const end = (step: Step) => {
        const used = getHeapStatistics().used_heap_size - heap;
        const spent = process.cpuUsage(cpu);
        if (!counted) return;
        bytes.set(step, bytes.get(step)! + used);
        cpuUs.set(step, cpuUs.get(step)! + spent.user + spent.system);
      };
      const slice = messages.slice(b * batch, (b + 1) * batch);
      start();
      let events: SnowplowEvent[] = slice.map((m) => JSON.parse(m.toString('utf8')) as SnowplowEvent);
      end('JSON.parse');
      start();
      events = (await enrich.run(events)).events;
      end('enrich');
      start();
      events = (await profile.run(events)).events;
      end('profile (Redis)');
      start();
      const outcomes: RowOutcome[] = events.map((e) => eventRowOf(e, layout));
      end('row');
      start();
      const lines = outcomes.map((o) => (o.ok ? o.line : ''));
      const rows = tsvRows(lines);
      end('TSV buffer');
      const refused = outcomes.find((o) => !o.ok);
      if (refused && !refused.ok) throw new Error(`an event was refused: ${refused.message}`);
      if (rows.count !== batch) throw new Error(`${rows.count} rows of ${batch}`);
    }
    await enrich.close?.();
    await profile.close?.();
    const n = (batches - warmup) * batch;
    const totalBytes = [...bytes.values()].reduce((a, b) => a + b, 0);
    console.error(`${n} events counted (${batches - warmup} batches of ${batch}, ${warmup} warm-up), ${layout} layout; heap bytes allocated and CPU per event:`);
    for (const step of STEPS) {
      const b = bytes.get(step)! / n;
      console.error(`${step.padEnd(16)} ${b.toFixed(0).padStart(7)} B  ${(cpuUs.get(step)! / n).toFixed(1).padStart(6)} µs  ${((100 * bytes.get(step)!) / totalBytes).toFixed(0).padStart(3)} % of the bytes`);
    }
    console.error(`${'total'.padEnd(16)} ${(totalBytes / n).toFixed(0).padStart(7)} B`);
    console.log(JSON.stringify({ events: n, batch, layout, bytesPerEvent: Object.fromEntries([...bytes].map(([k, v]) => [k, Math.round(v / n)])), cpuUsPerEvent: Object.fromEntries([...cpuUs].map(([k, v]) => [k, Number((v / n).toFixed(1))])) }));
  } finally {
    await redis.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
