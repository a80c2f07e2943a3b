/**
 * bench/tail/latency: from the write(2) of a line to Kafka's acknowledgement of its events, with
 * lines appended at 2,000/s for 20 s (target p99 <= 50 ms).
 *
 * Method: the writer records the wall-clock time right after each line's write (per event id).
 * The topic is created with message.timestamp.type=LogAppendTime, so every message carries the
 * time the broker appended it to the log; with acks=all on a single broker the ack follows that
 * append at once. latency = broker append time - write time, both from the same machine clock
 * (ms resolution on the broker side). A consumer reads the timestamps back; its own delay does
 * not count.
 *
 * Warm-up: the first --warmup seconds of appending are not counted (they are printed apart).
 * A freshly started agent, a fresh topic's new partitions and the broker's produce path all pay
 * JIT compilation and file creation in their first second; an agent runs for days, and the steady
 * state is what the target is about. --warmup 0 counts everything.
 *
 *   node dist/bench/tail/latency.js [--rate 2000] [--seconds 20] [--warmup 5]
 *       [--output '{"compression":"none"}'] [--input '{"pollIntervalMs":1000}']
 * --output/--input: JSON merged into the agent's output/input config, to compare settings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopics, startTopicCollector } from '../../test/support/kafka-topic';
import { appendContinuously, createLogWriter } from '../../test/support/log-writer';
import { uniqueName } from '../../test/support/services';
import { killAllAgents, startTailAgent } from '../../test/support/tail-agent';
import { arg, brokers, percentile } from './common';

const RATE = arg('rate', 2000);
const SECONDS = arg('seconds', 20);
const WARMUP = arg('warmup', 5);
const jsonArg = (name: string): Record<string, unknown> | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (JSON.parse(process.argv[i + 1] as string) as Record<string, unknown>) : undefined;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-bench-latency-'));
  const topic = uniqueName('bench-tail-latency');
  await createTopics(brokers, [topic, `${topic}-bad`], { configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] });
  const writtenAt = new Map<string, number>();
  const latencies: number[] = [];
  const warmupLatencies: number[] = [];
  let measureFrom = Infinity;
  const collector = await startTopicCollector(brokers, topic, {
    onMessage: (m) => {
      const w = m.eventId ? writtenAt.get(m.eventId) : undefined;
      if (w !== undefined) (w >= measureFrom ? latencies : warmupLatencies).push(m.timestamp - w);
    },
  });
  const log = join(dir, 'access.log');
  const writer = createLogWriter(log, { seed: 17, onWritten: (ids, at) => ids.forEach((id) => writtenAt.set(id, at)) });
  const agent = await startTailAgent({ dir, paths: [log], brokers, topic, badTopic: `${topic}-bad`, output: jsonArg('output'), input: jsonArg('input') });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const appender = appendContinuously(writer, RATE, 5);
    await new Promise((r) => setTimeout(r, WARMUP * 1000));
    measureFrom = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    await appender.stop();
    await collector.waitForAll(writer.eventIds, 60_000);
    const summary = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return `p50 ${percentile(sorted, 50).toFixed(1)}  p90 ${percentile(sorted, 90).toFixed(1)}  p99 ${percentile(sorted, 99).toFixed(1)}  max ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)}`;
    };
    console.log(`${writer.lines} lines (${RATE}/s for ${WARMUP} s of warm-up + ${SECONDS} s), ${writer.eventIds.length} events; append -> broker append time (ms):`);
    if (WARMUP > 0) console.log(`warm-up (${warmupLatencies.length} events, not counted): ${summary(warmupLatencies)}`);
    console.log(`measured (${latencies.length} events): ${summary(latencies)}  (target p99 <= 50)`);
    await agent.stop();
  } finally {
    writer.close();
    await collector.stop();
    killAllAgents();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
