// The soak run of `tailplow run` (tailer and processor in one process, embedded stores): the same
// steady writer and rename rotation as the pipeline soak (feed.ts), one kill -9 of `run` and a
// restart, RSS and open fds sampled, and at the end every event_id written looked up in the
// embedded ClickHouse store (chDB opened in this process once `run` has stopped and let go of it).
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore } from '../../src/storage/chdb-store';
import { waitFor } from '../support/services';
import { createTailplowSpawner, type AgentExit, type TailplowChild } from '../support/tailplow-child';
import { FULL_ENRICH_STAGE } from '../process/processor-agent';
import { createFeed } from './feed';
import { bytesBehind, curve, flatness, processSample, series, type FaultResult, type Sample, type SoakOptions } from './soak';

export interface RunSoakReport {
  options: Omit<SoakOptions, 'log'>;
  startedAt: string;
  writeSeconds: number;
  linesWritten: number;
  eventsWritten: number;
  rotations: number;
  /** Rows in the embedded events table, and distinct event_ids in it. */
  storedRows: number;
  storedDistinct: number;
  missing: number;
  unexpected: number;
  /** Lines in <dataDir>/bad-rows.ndjson. */
  badRows: number;
  drained: boolean;
  drainSeconds: number;
  /** How `run` ended on SIGTERM after the drain. */
  exit: AgentExit;
  samples: Sample[];
  faults: FaultResult[];
  loadAverage: { start: number[]; end: number[] };
  logDir: string;
}

/**
 * The profile stage's dedup window in the soak's config: `run` keeps every event id it stored in
 * the last 600 s (LMDB, memory-mapped), so its RSS grows for that long by design.
 */
export const RUN_SOAK_DEDUP_WINDOW_SECONDS = 600;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round2 = (v: number) => Math.round(v * 100) / 100;

let activeCleanups: Array<() => Promise<void> | void> | undefined;

/** Stops the `run` process and removes the temp dir of the soak in progress (for SIGINT/SIGTERM in a runner). */
export async function abortActiveRunSoak(): Promise<void> {
  const cleanups = activeCleanups;
  while (cleanups && cleanups.length > 0) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
}

export async function runEmbeddedSoak(opts: SoakOptions): Promise<RunSoakReport> {
  const log = opts.log;
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-run-soak-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  activeCleanups = cleanups;
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'tailplow-run-soak-logs-'));
  mkdirSync(logDir, { recursive: true });
  const startedAt = new Date().toISOString();
  const loadStart = loadavg().map(round2);
  const spawner = createTailplowSpawner();
  cleanups.push(() => spawner.killAll());
  const lives: TailplowChild[] = [];
  const saved = new Map<TailplowChild, number>();
  const saveLogs = () =>
    lives.forEach((child, i) => {
      const lines = child.logs();
      const from = saved.get(child) ?? 0;
      if (lines.length > from) appendFileSync(join(logDir, `run-${i + 1}.log`), `${lines.slice(from).join('\n')}\n`);
      saved.set(child, lines.length);
    });
  cleanups.push(() => saveLogs());
  try {
    const feed = createFeed(dir, { rate: opts.rate, rotateEverySeconds: opts.rotateEverySeconds, keepRotated: opts.keepRotated ?? 3, log });
    cleanups.push(() => feed.close());
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'run.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir,
        logLevel: 'info',
        http: { listen: '127.0.0.1:0' },
        input: { paths: [`${feed.log}*`], startAt: 'beginning' },
        stages: [FULL_ENRICH_STAGE, { type: 'profile', dedupWindowSeconds: RUN_SOAK_DEDUP_WINDOW_SECONDS }],
        sinks: [{ type: 'embedded' }],
      }),
    );
    const startRun = async () => {
      const child = await spawner.start({ command: 'run', configFile, cwd: dir, readyLine: 'metrics on /metrics', readyMeans: 'serving metrics', timeoutMs: 60_000 });
      lives.push(child);
      return child;
    };
    let run: TailplowChild | undefined = await startRun();
    log(`run pid ${run.pid}; writing ${opts.rate} lines/s for ${opts.seconds} s, rotating every ${opts.rotateEverySeconds} s`);
    const behind = () => bytesBehind(run);

    const t0 = performance.now();
    const nowS = () => Math.round((performance.now() - t0) / 100) / 10;
    feed.start();
    const samples: Sample[] = [];
    const takeSample = async () => {
      saveLogs();
      const b = await behind();
      const s: Sample = { atS: nowS(), written: feed.eventsWritten, run: processSample(run), tailerBehindBytes: b, load1: round2(loadavg()[0]!) };
      samples.push(s);
      log(`${s.atS} s: written ${s.written}, behind ${b === undefined ? '-' : (b / 1e6).toFixed(1) + ' MB'}, run ${s.run ? `${s.run.rssMb} MB (anon ${s.run.rssAnonMb}, file ${s.run.rssFileMb})/${s.run.fds} fds` : '-'}, load ${s.load1}`);
    };
    let sampling: Promise<void> | undefined;
    const sampleTimer = setInterval(() => {
      if (!sampling) sampling = takeSample().finally(() => (sampling = undefined));
    }, opts.sampleEverySeconds * 1000);
    cleanups.push(() => clearInterval(sampleTimer));

    const faults: FaultResult[] = [];
    let watcher: Promise<void> = Promise.resolve();
    if (opts.faults) {
      await sleep(opts.seconds * 500);
      const fault: FaultResult = { name: 'run kill -9', atS: nowS(), backAtS: 0 };
      log(`${fault.atS} s: run kill -9`);
      const r = run;
      run = undefined;
      r.kill('SIGKILL');
      await r.exited;
      run = await startRun();
      fault.backAtS = nowS();
      faults.push(fault);
      log(`${fault.backAtS} s: run is back (pid ${run.pid})`);
      const bytesAtBack = feed.writer.bytes;
      // Caught up: everything written when `run` was back is stored (acknowledged = written - behind).
      watcher = waitFor(
        async () => {
          const b = await behind();
          return b !== undefined && feed.writer.bytes - b >= bytesAtBack ? b : undefined;
        },
        opts.catchUpTimeoutSeconds * 1000,
        1000,
      ).then(
        (b) => {
          fault.caughtUpAtS = nowS();
          fault.behindThen = b;
          log(`${fault.caughtUpAtS} s: caught up after run kill -9 (${(fault.caughtUpAtS - fault.backAtS).toFixed(1)} s)`);
        },
        () => log(`not caught up within ${opts.catchUpTimeoutSeconds} s after run kill -9`),
      );
    }
    await sleep(Math.max(0, opts.seconds * 1000 - (performance.now() - t0)));
    await feed.stop();
    const writeSeconds = nowS();
    const stoppedAt = performance.now();
    log(`${writeSeconds} s: writing stopped: ${feed.writer.lines} lines, ${feed.eventsWritten} events, ${feed.rotations} rotations; draining`);
    await watcher;
    let drained = true;
    await waitFor(async () => (await behind()) === 0, opts.catchUpTimeoutSeconds * 1000, 1000).catch(() => {
      drained = false;
      log(`not drained within ${opts.catchUpTimeoutSeconds} s`);
    });
    const drainSeconds = Math.round((performance.now() - stoppedAt) / 100) / 10;
    await sampling;
    await takeSample();
    clearInterval(sampleTimer);
    const exit = await run.stop(60_000);
    run = undefined;
    log(`drained ${drainSeconds} s after the last line; run exit ${JSON.stringify(exit)}`);

    const store = await createChdbStore(join(dataDir, 'clickhouse'));
    cleanups.push(() => store.close());
    const ids = `file('${feed.idsFile}', 'TabSeparated', 'event_id String')`;
    const [w] = await store.query<{ n: number; u: number }>(`SELECT count() AS n, uniqExact(event_id) AS u FROM ${ids}`);
    if (!w || Number(w.n) !== feed.eventsWritten || Number(w.u) !== feed.eventsWritten) throw new Error(`the ids file holds ${w?.n} ids (${w?.u} distinct), ${feed.eventsWritten} events were written`);
    const [stored] = await store.query<{ rows: number; ids: number }>(`SELECT count() AS rows, uniqExact(toString(event_id)) AS ids FROM events`);
    const [miss] = await store.query<{ n: number }>(`SELECT count() AS n FROM ${ids} WHERE event_id NOT IN (SELECT toString(event_id) FROM events)`);
    const [extra] = await store.query<{ n: number }>(`SELECT count() AS n FROM events WHERE toString(event_id) NOT IN (SELECT event_id FROM ${ids})`);
    const badFile = join(dataDir, 'bad-rows.ndjson');
    const badRows = existsSync(badFile) ? readFileSync(badFile, 'utf8').split('\n').filter(Boolean).length : 0;
    return {
      options: { seconds: opts.seconds, rate: opts.rate, rotateEverySeconds: opts.rotateEverySeconds, sampleEverySeconds: opts.sampleEverySeconds, faults: opts.faults, catchUpTimeoutSeconds: opts.catchUpTimeoutSeconds, keepRotated: opts.keepRotated ?? 3 },
      startedAt,
      writeSeconds,
      linesWritten: feed.writer.lines,
      eventsWritten: feed.eventsWritten,
      rotations: feed.rotations,
      storedRows: Number(stored!.rows),
      storedDistinct: Number(stored!.ids),
      missing: Number(miss!.n),
      unexpected: Number(extra!.n),
      badRows,
      drained,
      drainSeconds,
      exit,
      samples,
      faults,
      loadAverage: { start: loadStart, end: loadavg().map(round2) },
      logDir,
    };
  } finally {
    await abortActiveRunSoak();
    activeCleanups = undefined;
  }
}

/** The report as markdown lines (summary, fault, curve). */
export function formatRunReport(r: RunSoakReport): string[] {
  const rss = flatness(series(r.samples, 'run', 'rssMb'), 0);
  const fds = flatness(series(r.samples, 'run', 'fds'), 0);
  const anon = flatness(series(r.samples, 'run', 'rssAnonMb'), 0);
  const file = flatness(series(r.samples, 'run', 'rssFileMb'), 0);
  const f = r.faults[0];
  return [
    `- tailplow run: ${r.writeSeconds} s at ${r.options.rate} lines/s, rotation every ${r.options.rotateEverySeconds} s (${r.rotations} rotations); started ${r.startedAt}; load average ${r.loadAverage.start.join(' ')} at start, ${r.loadAverage.end.join(' ')} at end`,
    `- ${r.linesWritten} lines, ${r.eventsWritten} events written; embedded store: ${r.storedRows} rows, ${r.storedDistinct} distinct event_ids; **${r.missing} missing**, ${r.unexpected} unexpected; ${r.badRows} bad rows`,
    f ? `- kill -9 at ${f.atS.toFixed(0)} s, back after ${(f.backAtS - f.atS).toFixed(1)} s, caught up ${f.caughtUpAtS === undefined ? 'NOT' : `${(f.caughtUpAtS - f.backAtS).toFixed(1)} s later`}` : '- no kill',
    `- ${r.drained ? 'drained' : 'NOT drained, gave up'} ${r.drainSeconds} s after the last line; exit on SIGTERM ${JSON.stringify(r.exit)}; logs in ${r.logDir}`,
    `- run: RSS median ${rss.firstMedian} MB in the first third of the samples, ${rss.lastMedian} MB in the last (max ${rss.firstMax} / ${rss.lastMax}): anonymous ${anon.firstMedian} / ${anon.lastMedian} MB, file-backed ${file.firstMedian} / ${file.lastMedian} MB; fds median ${fds.firstMedian} / ${fds.lastMedian} (max ${fds.firstMax} / ${fds.lastMax})`,
    '',
    ...curve(r.samples, ['run']),
  ];
}
