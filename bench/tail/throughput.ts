/**
 * bench/tail/throughput: how close does `tailplow tail` come to a bare kafkajs producer?
 *
 * One run, one Kafka (TAILPLOW_KAFKA_BROKERS, default kafka.sh's 127.0.0.1:19092):
 *   baseline: the same events, decoded in advance into the very messages the tailer sends (key,
 *             JSON value, headers), sent by the project's kafkajs producer wrapper with the
 *             tailer's settings (acks -1, idempotent, gzip unless --compression, linger 5 ms,
 *             1 MiB batches, 8 MiB in flight), timed from the first send to the last acknowledgement;
 *   tailer:   `tailplow tail FILE --from-beginning` as a process, timed from spawn until
 *             tailplow_events_produced_total reaches the event count (start-up included).
 * Prints lines/s of both and the ratio tailer/baseline (target >= 0.8). Each side gets its own
 * fresh topic (4 partitions).
 *
 * The baseline runs in a child process of its own (`--baseline-only`): its pre-built messages
 * take ~2.5 GB of heap, and a bench process holding (or collecting) them while the tailer runs
 * would take CPU from the tailer on a small machine (measured: ~0.8 of a core, in the same run).
 *
 *   node dist/bench/tail/throughput.js [--lines 400000] [--tailer-only] [--compression gzip|lz4|snappy|none] [--decode-nice N] [--rounds R]
 *   node dist/bench/tail/throughput.js --baseline-only [--compression none]   # the producer alone: {ms, cpuMs, brokerCpuMs}
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLineSource } from '../../src/input/line-source';
import { createKafka } from '../../src/kafka/connection';
import { createKafkaProducer, producerSchema, type OutMessage } from '../../src/kafka/producer';
import { createLineParser } from '../../src/nginx';
import { createLineDecoder } from '../../src/pipeline/decode-lines';
import { visitorKeyOf } from '../../src/pipeline/tail';
import { eventToJson } from '../../src/snowplow/format';
import { silentLogger } from '../../src/util/logger';
import { InFlightWindow } from '../../src/util/window';
import { createTopics } from '../../test/support/kafka-topic';
import { uniqueName } from '../../test/support/services';
import { killAllAgents, startTailAgent } from '../../test/support/tail-agent';
import { brokerCpuMs, procCpuMs } from '../lib/cpu';
import { arg, brokers, ensureLog, waitForProduced } from './common';

const LINES = arg('lines', 400_000);
const WINDOW_BYTES = 8 * 1024 * 1024;
// `--compression none|gzip|snappy|lz4` (default gzip, the tailer's default): the codec of both
// sides, so the ratio always compares like with like.
// `--rounds R`: R pairs (baseline, then tailer) and their median ratio: one pair is at the mercy of
// the host's minute (same code: ±15% here), R pairs less so.
const ROUNDS = process.argv.includes('--rounds') ? Number(process.argv[process.argv.indexOf('--rounds') + 1]) : 1;
// `--decode-nice N`: the tailer's output.decodeWorkerNice (its default when absent).
const DECODE_NICE = process.argv.includes('--decode-nice') ? Number(process.argv[process.argv.indexOf('--decode-nice') + 1]) : undefined;
const COMPRESSION = producerSchema.shape.compression.parse(process.argv.includes('--compression') ? process.argv[process.argv.indexOf('--compression') + 1] : undefined);

async function prebuild(path: string): Promise<{ batches: Array<{ messages: OutMessage[]; cost: number }>; events: number }> {
  const decode = createLineDecoder(createLineParser('json'), { maxLineBytes: 1 << 20 });
  const batches: Array<{ messages: OutMessage[]; cost: number }> = [];
  let events = 0;
  for await (const batch of await openLineSource(path)) {
    const messages: OutMessage[] = [];
    let cost = 0;
    for (const line of batch.lines) {
      const headers = { 'tailplow-source': path, 'tailplow-offset': String(line.offset) };
      for (const e of decode(line, path).events) messages.push({ key: visitorKeyOf(e), value: eventToJson(e), headers });
      cost += line.nextOffset - line.offset;
    }
    events += messages.length;
    batches.push({ messages, cost });
  }
  return { batches, events };
}

async function baseline(batches: Array<{ messages: OutMessage[]; cost: number }>): Promise<{ ms: number; cpuMs: number; brokerCpuMs: number }> {
  const topic = uniqueName('bench-tail-baseline');
  await createTopics(brokers, [topic]);
  const producer = await createKafkaProducer(createKafka({ ...defaultKafka(), brokers }, silentLogger), producerSchema.parse({ compression: COMPRESSION }));
  const window = new InFlightWindow(WINDOW_BYTES);
  const sends: Promise<void>[] = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const broker0 = brokerCpuMs();
  for (const b of batches) {
    await window.acquire(b.cost);
    sends.push(producer.send(topic, b.messages).then(() => window.release(b.cost)));
  }
  await Promise.all(sends);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const broker = brokerCpuMs() - broker0;
  await producer.close();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, brokerCpuMs: broker };
}

function defaultKafka() {
  return { brokers, clientId: 'tailplow-bench', tls: false as const, connectionTimeoutMs: 3000, requestTimeoutMs: 30000 };
}

async function tailer(path: string, events: number, nodeArgs: string[]): Promise<{ ms: number; cpuMs: number; mainThreadCpuMs: number; peakRssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-bench-tail-'));
  const topic = uniqueName('bench-tail');
  await createTopics(brokers, [topic, `${topic}-bad`]);
  const t0 = performance.now();
  const agent = await startTailAgent({ dir, paths: [path], brokers, topic, badTopic: `${topic}-bad`, nodeArgs, output: { compression: COMPRESSION, ...(DECODE_NICE === undefined ? {} : { decodeWorkerNice: DECODE_NICE }) } });
  try {
    const done = await waitForProduced(agent, events, 600_000);
    const cpuMs = procCpuMs(agent.pid) ?? NaN;
    const mainThreadCpuMs = procCpuMs(`${agent.pid}/task/${agent.pid}`) ?? NaN;
    const peakRssMb = (agent.peakRssKb() ?? 0) / 1024;
    await agent.stop();
    return { ms: done - t0, cpuMs, mainThreadCpuMs, peakRssMb };
  } finally {
    killAllAgents();
    rmSync(dir, { recursive: true, force: true });
  }
}

type BaselineResult = Awaited<ReturnType<typeof baseline>>;

/** `--baseline-only`: pre-build and send, then print the BaselineResult as JSON, the last line. */
async function baselineOnly(): Promise<void> {
  const log = await ensureLog(`tail-throughput-${LINES}`, { lines: LINES, seed: 11 });
  const prebuilt = await prebuild(log.path);
  if (prebuilt.events !== log.events) throw new Error(`decoded ${prebuilt.events} events, expected ${log.events}`);
  console.log(JSON.stringify(await baseline(prebuilt.batches)));
}

/** The baseline in a child process of its own (see the header); the broker's CPU is null when it is not ours. */
function baselineInChild(): BaselineResult {
  const out = execFileSync(process.execPath, ['--max-old-space-size=8192', __filename, '--baseline-only', '--lines', String(LINES), '--compression', COMPRESSION], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  }).toString();
  const result = JSON.parse(out.trim().split('\n').pop() ?? '') as BaselineResult;
  if (!Number.isFinite(result.ms)) throw new Error(`baseline printed ${out}`);
  return result;
}

async function main(): Promise<void> {
  const log = await ensureLog(`tail-throughput-${LINES}`, { lines: LINES, seed: 11 });
  console.log(`data: ${log.path}: ${log.lines} lines, ${log.events} events, ${(log.bytes / 1e6).toFixed(0)} MB`);
  const ratios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (ROUNDS > 1) console.log(`round ${round} of ${ROUNDS}`);
    const base = process.argv.includes('--tailer-only') ? undefined : baselineInChild();
    // The broker is on the same cores: its CPU over each side's timed run.
    const brokerBefore = brokerCpuMs();
    const nodeArgs = process.env.TAILPLOW_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const tail = await tailer(log.path, log.events, nodeArgs);
    const brokerTail = brokerCpuMs() - brokerBefore;
    const rate = (ms: number) => Math.round(log.lines / (ms / 1000));
    const cpu = (ms: number) => `${(ms / 1000).toFixed(1)} CPU s (${((ms / 1000 / log.lines) * 1e6).toFixed(0)} µs/line)`;
    if (base) console.log(`baseline (kafkajs producer, pre-built messages): ${(base.ms / 1000).toFixed(1)} s, ${rate(base.ms)} lines/s, ${Math.round(log.events / (base.ms / 1000))} events/s, ${cpu(base.cpuMs)}`);
    console.log(`tailplow tail (process start to last ack):      ${(tail.ms / 1000).toFixed(1)} s, ${rate(tail.ms)} lines/s, ${Math.round(log.events / (tail.ms / 1000))} events/s, ${cpu(tail.cpuMs)} of which main thread ${(tail.mainThreadCpuMs / 1000).toFixed(1)} s, peak RSS ${tail.peakRssMb.toFixed(0)} MB`);
    if (Number.isFinite(brokerTail)) console.log(`broker: ${base ? `${cpu(base.brokerCpuMs ?? NaN)} during the baseline, ` : ''}${cpu(brokerTail)} during the tailer`);
    if (base) {
      ratios.push(base.ms / tail.ms);
      console.log(`ratio tailer/baseline: ${(base.ms / tail.ms).toFixed(2)} (target >= 0.8)`);
    }
  }
  if (ratios.length > 1) {
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(`median ratio of ${ratios.length} rounds (each a baseline then a tailer): ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`);
  }
}

(process.argv.includes('--baseline-only') ? baselineOnly() : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
