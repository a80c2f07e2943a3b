/**
 * Throughput of `tailplow process` (the real CLI, one instance) over a pre-filled input topic:
 * the enrich stage (ua, referer, campaign, geo with MaxMind's test DB, bots, anon_ip; Kafka in,
 * Kafka out) against the same processor with `stages: []` (consume and produce only), in one run
 * over the same input. Time runs from "processing" (consumer subscribed) until the group's
 * committed offsets reach the end of the topic; start-up is reported separately.
 *
 *   eval "$(scripts/services/kafka.sh start)"
 *   npx tsc -p tsconfig.json && node dist/bench/process/run.js [--events 300000] [--partitions 4] [--concurrency N] [--max-bytes B] [--only baseline|enrich] [--cpu-prof]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTopics } from '../../test/support/kafka-topic';
import { kafkaBrokers, uniqueName } from '../../test/support/services';
import { FULL_ENRICH_STAGE, startProcessor } from '../../test/process/processor-agent';
import { connectAdmin, generateRawEvents, groupProgress, idPrefix, produceRaw, withFreshIds } from './events';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '300000' },
    partitions: { type: 'string', default: '4' },
    'cpu-prof': { type: 'boolean', default: false },
    only: { type: 'string' },
    concurrency: { type: 'string' },
    'max-bytes': { type: 'string' },
  },
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const n = Number(args.events);
  const brokers = kafkaBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-process-bench-'));
  const raw = uniqueName('bench-process-raw');
  await createTopics(brokers, [raw, `${raw}-bad`], { partitions: Number(args.partitions) });
  const t0 = performance.now();
  const input = withFreshIds(generateRawEvents(3000, { seed: 77, geoEvery: 5 }).messages, n, idPrefix());
  const bytes = input.messages.reduce((s, m) => s + m.value.length, 0);
  await produceRaw(brokers, raw, input.messages);
  console.error(`input: ${n} events, ${(bytes / 1e6).toFixed(0)} MB (avg ${(bytes / n).toFixed(0)} B) in ${raw}, produced in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const admin = await connectAdmin(brokers);
  const runs = [
    { name: 'baseline (stages: [])', key: 'baseline', stages: [] as unknown[] },
    { name: 'enrich (ua, referer, campaign, geo, bots, anon_ip)', key: 'enrich', stages: [FULL_ENRICH_STAGE] },
  ].filter((r) => !args.only || r.key === args.only);
  const results: Array<{ name: string; seconds: number; startup: number; rate: number; peakRssMb: number }> = [];
  try {
    for (const r of runs) {
      const groupId = uniqueName(`bench-process-${r.key}`);
      const spawned = performance.now();
      const p = await startProcessor({
        dir,
        name: `${r.key}.yaml`,
        brokers,
        topic: raw,
        groupId,
        badTopic: `${raw}-bad`,
        stages: r.stages,
        sinks: [{ type: 'kafka', topic: `${raw}-out-${r.key}` }],
        source: { ...(args.concurrency ? { partitionsConsumedConcurrently: Number(args.concurrency) } : {}), ...(args['max-bytes'] ? { maxBytesPerPartition: Number(args['max-bytes']) } : {}) },
        nodeArgs: args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(process.cwd(), 'bench/out')}`] : [],
      });
      const ready = performance.now();
      let peak = 0;
      for (;;) {
        peak = Math.max(peak, (p.rssKb() ?? 0) / 1024);
        const g = await groupProgress(admin, groupId, raw);
        if (g.committed >= n) break;
        await sleep(200);
      }
      const seconds = (performance.now() - ready) / 1000;
      const res = { name: r.name, seconds, startup: (ready - spawned) / 1000, rate: n / seconds, peakRssMb: peak };
      results.push(res);
      console.error(`${r.name}: ${n} events in ${seconds.toFixed(1)} s = ${Math.round(res.rate)} events/s (start-up ${res.startup.toFixed(1)} s, peak RSS ${peak.toFixed(0)} MB)`);
      await p.stop();
    }
  } finally {
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
  if (results.length === 2) console.error(`ratio enrich / baseline: ${(results[1]!.rate / results[0]!.rate).toFixed(2)}`);
  console.log(JSON.stringify({ events: n, partitions: Number(args.partitions), avgEventBytes: Math.round(bytes / n), results }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
