// The soak run of tail -> Kafka -> process against real servers, shared by the CI test
// (soak.integration.test.ts, a couple of minutes) and the long runner (bench/soak/run.ts, 30 min).
//
// A writer appends generated tracker lines at a steady rate like nginx (O_APPEND), the log is
// rotated logrotate-style (rename + new file, the oldest generation deleted), and the real
// `tailplow tail` and `tailplow process` (enrich, profile in Redis, clickhouse sink) run against
// PRIVATE Kafka, Redis and ClickHouse instances (scripts/services/*.sh with their own run dirs and
// ports), so the shared servers other tests use are never stopped. During the run each server is
// stopped and started once and each tailplow process is killed with SIGKILL and started again.
// Every few seconds the RSS and open descriptors of both processes, the consumer lag and the
// tailer's unacknowledged bytes are sampled. At the end every event_id written is looked up in
// ClickHouse (the ids are streamed to a file during the run and loaded into a table there, so
// the runner never holds millions of ids).
import { appendFileSync, createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { get, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { createClickHouseStore, type ClickHouseStore } from '../../src/storage/clickhouse-store';
import { createTopics } from '../support/kafka-topic';
import { startPrivateService, uniqueName, waitFor, type PrivateService, type ServiceName } from '../support/services';
import { killAllAgents, startTailAgent, type TailAgent } from '../support/tail-agent';
import { procStatusFieldsKb, sumMetric, type TailplowChild } from '../support/tailplow-child';
import { FULL_ENRICH_STAGE, killAllProcessors, startProcessor, type Processor } from '../process/processor-agent';
import { createFeed } from './feed';

export interface SoakOptions {
  /** How long lines are written. */
  seconds: number;
  /** Lines per second (each line is 1-4 events: 70% GET /i, 30% tp2 POSTs). */
  rate: number;
  rotateEverySeconds: number;
  sampleEverySeconds: number;
  /** Restart each server and kill -9 each tailplow process once (false: a plain steady run). */
  faults: boolean;
  /** How long catching up after a fault, and draining at the end, may take. */
  catchUpTimeoutSeconds: number;
  /** Rotated generations kept (access.log.1 … .N); the next rotation deletes the oldest. */
  keepRotated?: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** Where the stderr (JSON logs) of every tailer and processor started is saved at the end; kept after the run. */
  logDir?: string;
}

export interface ProcessSample {
  pid: number;
  rssMb: number;
  /**
   * RSS split as /proc/PID/status gives it: anonymous memory (heaps, caches, what a leak grows)
   * and file-backed pages (the binary, mapped files: LMDB's map, which is the page cache).
   */
  rssAnonMb?: number;
  rssFileMb?: number;
  fds: number;
}

export interface Sample {
  atS: number;
  /** Events written so far. */
  written: number;
  tailer?: ProcessSample;
  processor?: ProcessSample;
  /** `tailplow run` (the embedded soak). */
  run?: ProcessSample;
  /** tracking_raw end offsets minus the group's committed offsets (messages); undefined while Kafka is down. */
  consumerLag?: number;
  /** Sum of tailplow_file_bytes_behind (read or unread, not yet acknowledged); undefined while the tailer is down. */
  tailerBehindBytes?: number;
  load1: number;
}

export type FaultName = 'kafka restart' | 'redis restart' | 'clickhouse restart' | 'tailer kill -9' | 'processor kill -9' | 'run kill -9';

export interface FaultResult {
  name: FaultName;
  /** When the fault began (server stopped, process killed), seconds since the writer started. */
  atS: number;
  /** When the server answered again / the process was ready again. */
  backAtS: number;
  /**
   * When the backlog of the fault was gone: every partition's committed offset reached the end
   * offset it had when the fault was over, and the tailer had acknowledged every byte written by
   * then. Undefined: not within catchUpTimeoutSeconds.
   */
  caughtUpAtS?: number;
  /** Consumer lag and tailer bytes behind when caught up. */
  lagThen?: number;
  behindThen?: number;
}

export interface SoakReport {
  options: Omit<SoakOptions, 'log'>;
  startedAt: string;
  /** How long lines were really written (longer than options.seconds when faults took long). */
  writeSeconds: number;
  linesWritten: number;
  eventsWritten: number;
  rotations: number;
  /** Messages in tracking_raw and the bad topic. */
  rawMessages: number;
  badMessages: number;
  /** rawMessages - eventsWritten: events the tailer produced twice (re-read after kill -9). */
  tailerDuplicates: number;
  /** Rows in the ClickHouse table before FINAL, and distinct event_ids in it. */
  storedRows: number;
  storedDistinct: number;
  /** Rows beyond one per event_id still unmerged at the end (a lower bound of the processor's redeliveries). */
  storedDuplicates: number;
  /** Event ids written but not in ClickHouse. */
  missing: number;
  /** Event ids in ClickHouse never written (must be 0). */
  unexpected: number;
  /** Whether lag 0 and every line acknowledged was reached within catchUpTimeoutSeconds after the last line. */
  drained: boolean;
  /** Seconds from the last line written to lag 0 and every event stored (or to giving up). */
  drainSeconds: number;
  samples: Sample[];
  faults: FaultResult[];
  loadAverage: { start: number[]; end: number[] };
  /** tailplow_sink_errors_total / tailplow_output_errors_total of the processes alive at the end. */
  processorSinkErrors: number;
  tailerOutputErrors: number;
  /** The saved logs of the tailplow processes. */
  logDir: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Sum of tailplow_file_bytes_behind over the files a tailer (or `run`) follows; undefined while
 * it is down or has not listed a file yet (a fresh start reports no file, which is not "0 behind").
 */
export async function bytesBehind(child: TailplowChild | undefined): Promise<number | undefined> {
  if (!child) return undefined;
  try {
    const text = await withTimeout(
      new Promise<string>((done, fail) => {
        get(`http://${child.address}/metrics`, { timeout: 4000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => done(body));
        }).on('error', fail);
      }),
      5000,
      'metrics',
    );
    return text.includes('tailplow_file_bytes_behind{') ? sumMetric(text, 'tailplow_file_bytes_behind') : undefined;
  } catch {
    return undefined;
  }
}

export function processSample(child: TailplowChild | undefined): ProcessSample | undefined {
  if (!child) return undefined;
  const kb = procStatusFieldsKb(child.pid, ['VmRSS', 'RssAnon', 'RssFile', 'RssShmem'] as const);
  if (kb?.VmRSS === undefined) return undefined;
  let fds: number;
  try {
    fds = readdirSync(`/proc/${child.pid}/fd`).length;
  } catch {
    return undefined;
  }
  const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
  const fileKb = kb.RssFile === undefined || kb.RssShmem === undefined ? undefined : kb.RssFile + kb.RssShmem;
  return { pid: child.pid, rssMb: mb(kb.VmRSS), rssAnonMb: kb.RssAnon === undefined ? undefined : mb(kb.RssAnon), rssFileMb: fileKb === undefined ? undefined : mb(fileKb), fds };
}

/** Per-partition end and committed offsets of the group on the topic. */
async function offsets(admin: Admin, groupId: string, topic: string): Promise<{ end: Map<number, number>; committed: Map<number, number> }> {
  const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const end = new Map(ends.map((p) => [p.partition, Number(p.high)]));
  const committed = new Map((groups[0]?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
  return { end, committed };
}

const lagOf = (o: { end: Map<number, number>; committed: Map<number, number> }) => {
  let lag = 0;
  for (const [p, e] of o.end) lag += e - (o.committed.get(p) ?? 0);
  return lag;
};

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`${what} timed out`)), ms).unref())]);

/** Streams a file of one id per line into a one-column table (INSERT … FORMAT TabSeparated over HTTP). */
function loadIds(url: string, table: string, file: string): Promise<void> {
  return new Promise((done, fail) => {
    const req = request(`${url}/?query=${encodeURIComponent(`INSERT INTO ${table} FORMAT TabSeparated`)}`, { method: 'POST' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? done() : fail(new Error(`loading ids: HTTP ${res.statusCode}: ${body}`))));
    });
    req.on('error', fail);
    createReadStream(file).on('error', fail).pipe(req);
  });
}

/** Retries a ClickHouse query while the server is (re)starting. */
async function chQuery<T>(store: ClickHouseStore, sql: string): Promise<T[]> {
  return waitFor(async () => store.query<T>(sql), 60_000, 1000);
}

type Cleanup = () => Promise<void> | void;
let active: Cleanup[] | undefined;

async function runCleanups(cleanups: Cleanup[]): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch {
      // keep cleaning up
    }
  }
}

/**
 * Stops what the running soak started (tailplow processes, private servers, its temp dir): for a
 * runner that gets SIGINT/SIGTERM, so nothing outlives it.
 */
export async function abortActiveSoak(): Promise<void> {
  if (active) await runCleanups(active);
}

export async function runPipelineSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log;
  const keepRotated = opts.keepRotated ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-soak-'));
  const cleanups: Cleanup[] = [() => rmSync(dir, { recursive: true, force: true })];
  active = cleanups;
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'tailplow-soak-logs-'));
  mkdirSync(logDir, { recursive: true });
  // Every tailplow child started, so their logs are saved whatever happens (also when killed).
  const children: Array<{ name: string; child: TailplowChild }> = [];
  const track = <T extends TailplowChild>(name: string, child: T): T => {
    children.push({ name: `${name}-${children.filter((c) => c.name.startsWith(name)).length + 1}`, child });
    return child;
  };
  const savedLines = new Map<string, number>();
  /** Appends what each child logged since the last call to <logDir>/<name>.log (live, so a stuck run can be looked into). */
  const saveLogs = () => {
    for (const { name, child } of children) {
      const lines = child.logs();
      const from = savedLines.get(name) ?? 0;
      if (lines.length > from) appendFileSync(join(logDir, `${name}.log`), `${lines.slice(from).join('\n')}\n`);
      savedLines.set(name, lines.length);
    }
  };
  cleanups.push(() => {
    saveLogs();
    log(`logs of the tailplow processes in ${logDir}`);
  });
  const startedAt = new Date().toISOString();
  const loadStart = loadavg().map((l) => Math.round(l * 100) / 100);
  try {
    log(`starting private kafka, redis, clickhouse (load ${loadStart.join(' ')})`);
    const names: ServiceName[] = ['kafka', 'redis', 'clickhouse'];
    const started = await Promise.allSettled(names.map((n) => startPrivateService(n)));
    for (const s of started) if (s.status === 'fulfilled') cleanups.push(() => s.value.stop());
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [kafka, redis, clickhouse] = started.map((s) => (s as PromiseFulfilledResult<PrivateService>).value) as [PrivateService, PrivateService, PrivateService];
    log(`kafka ${kafka.address}, redis ${redis.address}, clickhouse ${clickhouse.address}`);

    const brokers = [kafka.address];
    const raw = uniqueName('soak-raw');
    const bad = `${raw}-bad`;
    const groupId = uniqueName('soak-process');
    const table = uniqueName('soak_events').replace(/-/g, '_');
    await createTopics(brokers, [raw, bad]);

    const kafkaClient = new Kafka({ clientId: 'tailplow-soak', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 1, initialRetryTime: 200 } });
    let admin: Admin | undefined;
    const groupOffsets = async () => {
      try {
        if (!admin) {
          admin = kafkaClient.admin();
          await withTimeout(admin.connect(), 5000, 'admin connect');
        }
        return await withTimeout(offsets(admin, groupId, raw), 8000, 'offsets');
      } catch {
        const a = admin;
        admin = undefined;
        await a?.disconnect().catch(() => undefined);
        return undefined;
      }
    };
    cleanups.push(() => admin?.disconnect().catch(() => undefined));

    const feed = createFeed(dir, { rate: opts.rate, rotateEverySeconds: opts.rotateEverySeconds, keepRotated, log });
    cleanups.push(() => feed.close());
    const writer = feed.writer;

    const tailDir = join(dir, 'tail');
    const processDir = join(dir, 'process');
    mkdirSync(tailDir);
    mkdirSync(processDir);
    cleanups.push(() => killAllAgents(), () => killAllProcessors());
    const tailOptions = { dir: tailDir, paths: [`${feed.log}*`], brokers, topic: raw, badTopic: bad };
    const processorOptions = {
      dir: processDir,
      brokers,
      topic: raw,
      groupId,
      badTopic: bad,
      stages: [FULL_ENRICH_STAGE, { type: 'profile', redis: { url: redis.address }, dedupWindowSeconds: 600 }],
      sinks: [{ type: 'clickhouse', url: clickhouse.address, table }],
    };
    let tailer: TailAgent | undefined = track('tailer', await startTailAgent(tailOptions));
    let processor: Processor | undefined = track('processor', await startProcessor(processorOptions));
    log(`tailer pid ${tailer.pid}, processor pid ${processor.pid}; writing ${opts.rate} lines/s for ${opts.seconds} s, rotating every ${opts.rotateEverySeconds} s`);

    const tailerBehind = () => bytesBehind(tailer);

    const t0 = performance.now();
    const nowS = () => Math.round((performance.now() - t0) / 100) / 10;
    feed.start();

    const samples: Sample[] = [];
    let sampling = false;
    const takeSample = async () => {
      if (sampling) return;
      sampling = true;
      try {
        saveLogs();
        const [o, behind] = await Promise.all([groupOffsets(), tailerBehind()]);
        const s: Sample = {
          atS: nowS(),
          written: feed.eventsWritten,
          tailer: processSample(tailer),
          processor: processSample(processor),
          consumerLag: o ? lagOf(o) : undefined,
          tailerBehindBytes: behind,
          load1: Math.round(loadavg()[0]! * 100) / 100,
        };
        samples.push(s);
        log(
          `${s.atS} s: written ${s.written}, lag ${s.consumerLag ?? '-'}, tailer behind ${behind === undefined ? '-' : (behind / 1e6).toFixed(1) + ' MB'}, ` +
            `tailer ${s.tailer ? `${s.tailer.rssMb} MB/${s.tailer.fds} fds` : '-'}, processor ${s.processor ? `${s.processor.rssMb} MB/${s.processor.fds} fds` : '-'}, load ${s.load1}`,
        );
      } finally {
        sampling = false;
      }
    };
    const sampleTimer = setInterval(() => void takeSample(), opts.sampleEverySeconds * 1000);
    cleanups.push(() => clearInterval(sampleTimer));

    /** Resolves when the backlog at `backAt` is gone (see FaultResult.caughtUpAtS). */
    const watchCatchUp = async (fault: FaultResult): Promise<void> => {
      let endAtBack: Map<number, number> | undefined;
      const bytesAtBack = writer.bytes;
      const deadline = performance.now() + opts.catchUpTimeoutSeconds * 1000;
      while (performance.now() < deadline) {
        const o = await groupOffsets();
        if (o && !endAtBack) endAtBack = o.end;
        const behind = await tailerBehind();
        if (o && endAtBack && behind !== undefined) {
          const committedAll = [...endAtBack].every(([p, e]) => (o.committed.get(p) ?? 0) >= e);
          const acked = writer.bytes - behind;
          if (committedAll && acked >= bytesAtBack) {
            fault.caughtUpAtS = nowS();
            fault.lagThen = lagOf(o);
            fault.behindThen = behind;
            log(`${fault.caughtUpAtS} s: caught up after ${fault.name} (${(fault.caughtUpAtS - fault.backAtS).toFixed(1)} s after it was over; lag ${fault.lagThen}, tailer behind ${behind} B)`);
            return;
          }
        }
        await sleep(1000);
      }
      log(`not caught up within ${opts.catchUpTimeoutSeconds} s after ${fault.name}`);
    };

    const services: Record<'kafka' | 'redis' | 'clickhouse', PrivateService> = { kafka, redis, clickhouse };
    const serverFault = (name: 'kafka' | 'redis' | 'clickhouse') => async () => {
      await services[name].run('stop');
      await sleep(5000);
      await services[name].run('start');
    };
    const schedule: Array<[FaultName, () => Promise<void>]> = [
      ['kafka restart', serverFault('kafka')],
      [
        'tailer kill -9',
        async () => {
          const t = tailer!;
          tailer = undefined;
          t.kill('SIGKILL');
          await t.exited;
          tailer = track('tailer', await startTailAgent(tailOptions));
        },
      ],
      ['redis restart', serverFault('redis')],
      [
        'processor kill -9',
        async () => {
          const p = processor!;
          processor = undefined;
          p.kill('SIGKILL');
          await p.exited;
          processor = track('processor', await startProcessor(processorOptions));
        },
      ],
      ['clickhouse restart', serverFault('clickhouse')],
    ];
    const faults: FaultResult[] = [];
    const watchers: Promise<void>[] = [];
    if (opts.faults) {
      for (let i = 0; i < schedule.length; i++) {
        const [name, inflict] = schedule[i]!;
        const dueS = (opts.seconds * (0.12 + (0.64 * i) / (schedule.length - 1)));
        await sleep(Math.max(0, dueS * 1000 - (performance.now() - t0)));
        const atS = nowS();
        log(`${atS} s: ${name}`);
        await inflict();
        const fault: FaultResult = { name, atS, backAtS: nowS() };
        log(`${fault.backAtS} s: ${name} over after ${(fault.backAtS - atS).toFixed(1)} s`);
        faults.push(fault);
        watchers.push(watchCatchUp(fault));
      }
    }
    // Faults that took long (a loaded machine) still get a tenth of the run of steady input after them.
    const lastBackS = faults.length > 0 ? faults[faults.length - 1]!.backAtS : 0;
    const writeUntilS = Math.max(opts.seconds, lastBackS + opts.seconds / 10);
    await sleep(Math.max(0, writeUntilS * 1000 - (performance.now() - t0)));
    await feed.stop();
    const stoppedAt = performance.now();
    const writeSeconds = nowS();
    log(`${nowS()} s: writing stopped: ${writer.lines} lines, ${feed.eventsWritten} events, ${feed.rotations} rotations; draining`);
    await Promise.all(watchers);

    // Drained: the tailer acknowledged everything, the group committed everything (so every sink acknowledged).
    let drained = true;
    let lastState = '';
    await waitFor(
      async () => {
        const [o, behind] = await Promise.all([groupOffsets(), tailerBehind()]);
        lastState = `lag ${o ? lagOf(o) : '-'}, tailer behind ${behind ?? '-'} B`;
        if (!o || behind !== 0) return false;
        const end = [...o.end.values()].reduce((a, b) => a + b, 0);
        return lagOf(o) === 0 && end >= feed.eventsWritten;
      },
      opts.catchUpTimeoutSeconds * 1000,
      1000,
    ).catch(() => {
      drained = false;
      log(`not drained within ${opts.catchUpTimeoutSeconds} s (${lastState}); counting what is stored`);
    });
    const drainSeconds = Math.round((performance.now() - stoppedAt) / 100) / 10;
    await takeSample();
    clearInterval(sampleTimer);
    log(`drained ${drainSeconds} s after the last line`);

    const final = await waitFor(() => groupOffsets(), 60_000, 1000);
    const rawMessages = [...final.end.values()].reduce((a, b) => a + b, 0);
    const badEnds = await waitFor(async () => {
      const a = admin;
      return a ? a.fetchTopicOffsets(bad) : undefined;
    }, 30_000, 1000);
    const badMessages = badEnds.reduce((s, p) => s + Number(p.high), 0);
    const processorSinkErrors = await processor!.metric('tailplow_sink_errors_total').catch(() => NaN);
    const tailerOutputErrors = await tailer!.metric('tailplow_output_errors_total').catch(() => NaN);

    const store = await createClickHouseStore({ url: clickhouse.address, username: 'default', password: '', database: 'default', requestTimeoutMs: 300_000, asyncInsert: false });
    cleanups.push(() => store.close());
    const written = `${table}_written`;
    await store.command(`CREATE TABLE ${written} (event_id String) ENGINE = MergeTree ORDER BY event_id`);
    await loadIds(clickhouse.address, written, feed.idsFile);
    const [w] = await chQuery<{ n: number; u: number }>(store, `SELECT count() AS n, uniqExact(event_id) AS u FROM ${written}`);
    if (!w || w.n !== feed.eventsWritten || w.u !== feed.eventsWritten) throw new Error(`the ids file holds ${w?.n} ids (${w?.u} distinct), ${feed.eventsWritten} events were written`);
    const [stored] = await chQuery<{ rows: number; ids: number }>(store, `SELECT count() AS rows, uniqExact(toString(event_id)) AS ids FROM ${table}`);
    const [miss] = await chQuery<{ n: number }>(store, `SELECT count() AS n FROM ${written} WHERE event_id NOT IN (SELECT toString(event_id) FROM ${table})`);
    const [extra] = await chQuery<{ n: number }>(store, `SELECT count() AS n FROM ${table} WHERE toString(event_id) NOT IN (SELECT event_id FROM ${written})`);

    const report: SoakReport = {
      options: { seconds: opts.seconds, rate: opts.rate, rotateEverySeconds: opts.rotateEverySeconds, sampleEverySeconds: opts.sampleEverySeconds, faults: opts.faults, catchUpTimeoutSeconds: opts.catchUpTimeoutSeconds, keepRotated },
      startedAt,
      writeSeconds,
      linesWritten: writer.lines,
      eventsWritten: feed.eventsWritten,
      rotations: feed.rotations,
      rawMessages,
      badMessages,
      tailerDuplicates: rawMessages - feed.eventsWritten,
      storedRows: Number(stored!.rows),
      storedDistinct: Number(stored!.ids),
      storedDuplicates: Number(stored!.rows) - Number(stored!.ids),
      missing: Number(miss!.n),
      unexpected: Number(extra!.n),
      drained,
      drainSeconds,
      samples,
      faults,
      loadAverage: { start: loadStart, end: loadavg().map((l) => Math.round(l * 100) / 100) },
      processorSinkErrors,
      tailerOutputErrors,
      logDir,
    };
    const [tExit, pExit] = await Promise.all([tailer!.stop(), processor!.stop()]);
    tailer = undefined;
    processor = undefined;
    log(`tailer exit ${JSON.stringify(tExit)}, processor exit ${JSON.stringify(pExit)}`);
    return report;
  } finally {
    await runCleanups(cleanups);
    active = undefined;
  }
}

export interface Flatness {
  firstMax: number;
  lastMax: number;
  firstMedian: number;
  lastMedian: number;
  /** lastMedian <= firstMedian + margin */
  flat: boolean;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/**
 * A leak raises the level a process sits at, so the thirds are compared by their medians: single
 * samples taken mid-merge (chDB opens every part it merges) or mid catch-up after a kill are peaks,
 * not growth. The maxima are reported next to them.
 */
export function flatness(values: number[], margin: number): Flatness {
  const third = Math.max(1, Math.floor(values.length / 3));
  const first = values.slice(0, third);
  const last = values.slice(-third);
  const firstMedian = median(first);
  const lastMedian = median(last);
  return { firstMax: Math.max(...first), lastMax: Math.max(...last), firstMedian, lastMedian, flat: lastMedian <= firstMedian + margin };
}

/** Every sample of one process metric that was taken (process alive). */
export type ProcessName = 'tailer' | 'processor' | 'run';

export const series = (samples: Sample[], proc: ProcessName, field: 'rssMb' | 'rssAnonMb' | 'rssFileMb' | 'fds'): number[] =>
  samples.flatMap((s) => {
    const v = s[proc]?.[field];
    return v === undefined ? [] : [v];
  });

/** The curve in at most `points` evenly spaced samples, as a markdown table. */
export function curve(samples: Sample[], procs: ProcessName[] = ['tailer', 'processor'], points = 30): string[] {
  const f = (v: number | undefined, d = 0) => (v === undefined ? '-' : v.toFixed(d));
  const lagColumn = procs.includes('processor');
  const head = ['t (s)', 'written', ...(lagColumn ? ['consumer lag'] : []), 'file bytes behind (MB)', ...procs.flatMap((p) => [`${p} RSS (MB): anon + file`, `${p} fds`]), 'load'];
  const rss = (p?: ProcessSample) => (p === undefined ? '-' : p.rssAnonMb === undefined || p.rssFileMb === undefined ? f(p.rssMb) : `${f(p.rssMb)}: ${f(p.rssAnonMb)} + ${f(p.rssFileMb)}`);
  const row = (s: Sample) =>
    `| ${[
      s.atS.toFixed(0),
      String(s.written),
      ...(lagColumn ? [f(s.consumerLag)] : []),
      f(s.tailerBehindBytes === undefined ? undefined : s.tailerBehindBytes / 1e6, 1),
      ...procs.flatMap((p) => [rss(s[p]), f(s[p]?.fds)]),
      String(s.load1),
    ].join(' | ')} |`;
  const step = Math.max(1, Math.ceil(samples.length / points));
  const rows = [`| ${head.join(' | ')} |`, `|${head.map(() => ' ---: ').join('|')}|`];
  for (let i = 0; i < samples.length; i += step) rows.push(row(samples[i]!));
  if (samples.length > 0 && (samples.length - 1) % step !== 0) rows.push(row(samples[samples.length - 1]!));
  return rows;
}

/** The report as markdown lines (summary, faults, curve). */
export function formatReport(r: SoakReport): string[] {
  const lines = [
    `- ${r.writeSeconds} s (asked: ${r.options.seconds} s) at ${r.options.rate} lines/s, rotation every ${r.options.rotateEverySeconds} s (${r.rotations} rotations), faults ${r.options.faults ? 'on' : 'off'}; started ${r.startedAt}; load average ${r.loadAverage.start.join(' ')} at start, ${r.loadAverage.end.join(' ')} at end`,
    `- ${r.linesWritten} lines, ${r.eventsWritten} events written; ${r.rawMessages} messages in tracking_raw (${r.tailerDuplicates} tailer duplicates), ${r.badMessages} bad rows`,
    `- ClickHouse: ${r.storedRows} rows, ${r.storedDistinct} distinct event_ids, ${r.storedDuplicates} unmerged duplicates; **${r.missing} missing**, ${r.unexpected} unexpected`,
    `- logs of the tailplow processes: ${r.logDir}`,
    `- ${r.drained ? 'drained' : 'NOT drained, gave up'} ${r.drainSeconds} s after the last line; errors counted by the processes alive at the end: processor sink ${r.processorSinkErrors}, tailer output ${r.tailerOutputErrors}`,
  ];
  if (r.faults.length > 0) {
    lines.push('', '| fault | at (s) | over after (s) | caught up after (s) | lag then | tailer behind then (B) |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const f of r.faults) {
      lines.push(`| ${f.name} | ${f.atS.toFixed(0)} | ${(f.backAtS - f.atS).toFixed(1)} | ${f.caughtUpAtS === undefined ? 'not' : (f.caughtUpAtS - f.backAtS).toFixed(1)} | ${f.lagThen ?? '-'} | ${f.behindThen ?? '-'} |`);
    }
  }
  for (const proc of ['tailer', 'processor'] as const) {
    const rss = flatness(series(r.samples, proc, 'rssMb'), 0);
    const fds = flatness(series(r.samples, proc, 'fds'), 0);
    lines.push(`- ${proc}: RSS median ${rss.firstMedian} MB in the first third of the samples, ${rss.lastMedian} MB in the last (max ${rss.firstMax} / ${rss.lastMax}); fds median ${fds.firstMedian} / ${fds.lastMedian} (max ${fds.firstMax} / ${fds.lastMax})`);
  }
  lines.push('', ...curve(r.samples));
  return lines;
}
