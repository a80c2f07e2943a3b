/**
 * bench/tail/memory: peak RSS of `tailplow tail` catching up a ~500 MB backlog (target <= 150 MB).
 * Samples VmRSS every 5 s and reports the kernel's peak (VmHWM), next to a baseline measured in
 * the same run: a bare `node -e` process holding nothing (what any Node process costs).
 *
 * Each on a fresh topic and registry:
 *   launcher:   `tailplow tail` as a shell, the systemd unit and the image run it: bin/tailplow,
 *               which gives node the options `tail` needs (4 MiB semi-spaces);
 *   v8-default: the same with V8's default young generation (16 MiB semi-spaces), as
 *               `node bin/tailplow.js tail` gets it, bypassing the launcher.
 *
 *   node dist/bench/tail/memory.js [--mb 500] [--only launcher|v8-default]
 * TAILPLOW_BENCH_NODE_ARGS adds node options to both (e.g. --heap-prof).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopics } from '../../test/support/kafka-topic';
import { uniqueName } from '../../test/support/services';
import { killAllAgents, startTailAgent } from '../../test/support/tail-agent';
import { arg, brokers, ensureLog, waitForProduced, type LogFile } from './common';

const MB = arg('mb', 500);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

async function measure(log: LogFile, label: string, nodeArgs: string[], bypassLauncher = false): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-bench-mem-'));
  const topic = uniqueName('bench-tail-mem');
  await createTopics(brokers, [topic, `${topic}-bad`]);
  const t0 = performance.now();
  const agent = await startTailAgent({ dir, paths: [log.path], brokers, topic, badTopic: `${topic}-bad`, nodeArgs, bypassLauncher });
  const curve: number[] = [];
  let lastSample = 0;
  try {
    const done = await waitForProduced(agent, log.events, 1_800_000, () => {
      if (performance.now() - lastSample < 5000) return;
      lastSample = performance.now();
      curve.push(Math.round((agent.rssKb() ?? 0) / 1024));
    });
    const heapUsed = await agent.metric('tailplow_nodejs_heap_size_used_bytes');
    const peakMb = (agent.peakRssKb() ?? 0) / 1024;
    console.log(`${label}${nodeArgs.length ? ` (more node options: ${nodeArgs.join(' ')})` : ''}:`);
    console.log(`  caught up in ${((done - t0) / 1000).toFixed(1)} s (${Math.round(log.lines / ((done - t0) / 1000))} lines/s)`);
    console.log(`  RSS every 5 s (MB): ${curve.join(' ')}`);
    console.log(`  peak RSS (VmHWM) ${peakMb.toFixed(0)} MB (target <= 150); heap used at the end ${(heapUsed / 1e6).toFixed(0)} MB`);
    await agent.stop();
  } finally {
    killAllAgents();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const log = await ensureLog(`tail-memory-${MB}mb`, { bytes: MB * 1e6, seed: 13 });
  console.log(`data: ${log.path}: ${log.lines} lines, ${log.events} events, ${(log.bytes / 1e6).toFixed(0)} MB`);
  const bareKb = Number(execFileSync(process.execPath, ['-e', "console.log(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])"]).toString());
  console.log(`baseline: a bare node process peaks at ${(bareKb / 1024).toFixed(0)} MB`);
  const extra = process.env.TAILPLOW_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  if (only !== 'v8-default') await measure(log, '`tailplow tail` (the launcher bin/tailplow)', extra);
  if (only !== 'launcher') await measure(log, "with V8's default young generation (`node bin/tailplow.js tail`)", extra, true);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
