// The frame every tailer end-to-end test shares: a temp dir with access.log, fresh topics, a
// collector on each, a writer that knows every event id it wrote, and a real `tailplow tail`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopics, startTopicCollector, type TopicCollector } from './kafka-topic';
import { createLogWriter, type LogWriter } from './log-writer';
import { kafkaBrokers, uniqueName } from './services';
import { startTailAgent, type TailAgent, type TailAgentOptions } from './tail-agent';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Scenario {
  dir: string;
  log: string;
  brokers: string[];
  topic: string;
  badTopic: string;
  writer: LogWriter;
  events: TopicCollector;
  bad: TopicCollector;
  /** The agent started last. */
  agent: TailAgent;
  startAgent(): Promise<TailAgent>;
  /** Stops the writer's descriptor, collectors and agent; deletes the temp dir. */
  close(): Promise<void>;
}

export async function openScenario(
  name: string,
  opts: { paths: (dir: string) => string[]; seed: number; brokers?: string[]; agent?: Partial<TailAgentOptions> },
): Promise<Scenario> {
  const dir = mkdtempSync(join(tmpdir(), `tailplow-${name}-`));
  const brokers = opts.brokers ?? kafkaBrokers();
  const topic = uniqueName(`tail-${name}`);
  const badTopic = `${topic}-bad`;
  await createTopics(brokers, [topic, badTopic]);
  const events = await startTopicCollector(brokers, topic);
  const bad = await startTopicCollector(brokers, badTopic);
  const log = join(dir, 'access.log');
  const writer = createLogWriter(log, { seed: opts.seed });
  const s: Scenario = {
    dir,
    log,
    brokers,
    topic,
    badTopic,
    writer,
    events,
    bad,
    agent: undefined as unknown as TailAgent,
    async startAgent() {
      s.agent = await startTailAgent({ dir, paths: opts.paths(dir), brokers, topic, badTopic, ...opts.agent });
      return s.agent;
    },
    async close() {
      writer.close();
      await s.agent?.stop().catch(() => undefined);
      await Promise.all([events.stop(), bad.stop()]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return s;
}

/** Zero missing: waits for every event id the writer wrote, and checks the bad-row topic stayed empty. */
export async function expectAllDelivered(s: Scenario, timeoutMs = 60_000): Promise<{ events: number; messages: number; duplicates: number }> {
  await s.events.waitForAll(s.writer.eventIds, timeoutMs);
  if (s.bad.messages > 0) throw new Error(`${s.bad.messages} bad rows for generated lines, expected none`);
  return { events: s.writer.eventIds.length, messages: s.events.messages, duplicates: s.events.duplicates() };
}
