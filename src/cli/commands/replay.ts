/**
 * `tailplow replay`: backfill historic (also gzipped) logs, fit for cron. Files are replayed
 * oldest first; event ids are deterministic, so replaying twice never double counts in storage
 * that de-duplicates on event_id; `--state` makes re-runs resume instead of repeat.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import type { Command } from 'commander';
import { Option } from 'commander';
import { ConfigError, loadConfigFile, parseConfigText } from '../../config/load';
import { tailConfigSchema } from '../../config/tail';
import { isGzipPath } from '../../input/fingerprint';
import { openLineSource } from '../../input/line-source';
import { createKafka } from '../../kafka/connection';
import { createKafkaProducer } from '../../kafka/producer';
import type { DecodedBatch, Serialisation } from '../../pipeline/batch-decode';
import { DecodeTally } from '../../pipeline/decode-lines';
import { createDecodePool } from '../../pipeline/decode-pool';
import { isRetriableKafkaError } from '../../pipeline/kafka-output';
import { inTimeOrder, resolveInputs, uncompressedSize } from '../../replay/files';
import { isShortKey, prefixHashOf, resumePoint } from '../../replay/resume';
import { fileStream, kafkaOutput, nullOutput, stageSinkOutput, streamOutput, type ReplayOutput } from '../../replay/outputs';
import { openProcessing } from '../../run/processing';
import { createProcessMetrics } from '../../observe/process-metrics';
import { loadRunConfig } from './run';
import { createProgress } from '../../replay/progress';
import { acquireLock, loadState, LockedError, saveState, type ReplayState } from '../../replay/state';
import { parseTimeBound } from '../../replay/time-range';
import { createLogger } from '../../util/logger';
import { withRetry } from '../../util/retry';
import { CliError, ExitCode, inputError, outputError, usageError } from '../errors';
import { logFormatOption, maxLineBytesOption, parserFromOptions, positiveInt } from '../options';

interface ReplayOptions {
  logFormat: string;
  maxLineBytes: number;
  output: 'kafka' | 'json' | 'tsv' | 'null' | 'embedded';
  dataDir?: string;
  out?: string;
  bad?: string;
  since?: string;
  until?: string;
  dryRun?: boolean;
  state?: string;
  config?: string;
  brokers?: string;
  workers: number;
  progress: 'auto' | 'bar' | 'json' | 'none';
  progressInterval: number;
}

/** The counts `parse` keeps of decoded batches, plus what only replay's time filter adds. */
class ReplayTotals extends DecodeTally implements Pick<DecodedBatch, 'outOfRange' | 'minTs' | 'maxTs'> {
  outOfRange = 0;
  minTs?: string;
  maxTs?: string;

  override addBatch(b: DecodedBatch): void {
    super.addBatch(b);
    this.outOfRange += b.outOfRange;
    if (b.minTs && (!this.minTs || b.minTs < this.minTs)) this.minTs = b.minTs;
    if (b.maxTs && (!this.maxTs || b.maxTs > this.maxTs)) this.maxTs = b.maxTs;
  }
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('Backfill historic nginx logs (plain or .gz, any order) into Kafka or as JSON/TSV; resumable with --state')
    .argument('<files...>', 'log files or globs, e.g. "/var/log/nginx/tracker.log*"')
    .addOption(logFormatOption())
    .addOption(new Option('-o, --output <output>', 'kafka, json, tsv, null, or embedded (the stages and sinks of `tailplow run`: by default enrich, profile and the embedded store)').choices(['kafka', 'json', 'tsv', 'null', 'embedded']).default('kafka'))
    .option('--out <file>', 'for json/tsv: write events here instead of stdout (appended to when --state is given)')
    .option('--bad <file>', 'write bad rows (Snowplow bad-row JSON) here; kafka output sends them to the bad topic')
    .option('--since <time>', 'only events with collector time >= this (ISO date/time, or 30m, 12h, 2d, 1w ago)')
    .option('--until <time>', 'only events with collector time < this')
    .option('--dry-run', 'read and decode everything, send nothing: counts per file, event type, bad-row reason, time range')
    .option('--state <file>', 'remember delivered files/offsets here; a re-run continues where this one stopped')
    .option('-c, --config <file>', 'YAML config: for kafka the `tail` file (kafka, output.topic, output.badTopic); for embedded the `run` file (dataDir, stages, sinks)')
    .option('--data-dir <dir>', 'for embedded: the data directory of `tailplow run` (default ./tailplow-data, or dataDir of -c)')
    .option('--brokers <list>', 'Kafka brokers, comma separated')
    .addOption(new Option('--workers <n>', 'decoding threads (0: decode in the main thread)').default(Math.max(1, availableParallelism())).argParser((v) => (v === '0' ? 0 : positiveInt(v))))
    .addOption(new Option('--progress <mode>', 'auto (bar on a terminal, JSON lines otherwise), bar, json, none').choices(['auto', 'bar', 'json', 'none']).default('auto'))
    .addOption(new Option('--progress-interval <ms>', 'JSON progress line interval').default(10_000).argParser(positiveInt))
    .addOption(maxLineBytesOption())
    .addHelpText(
      'after',
      `
Exit codes: 0 done; 2 invalid options or config; 3 an input file could not be read (the others were
replayed); 4 the output failed (nothing undelivered was marked done in --state); 5 another run holds
the --state lock; 130 interrupted by SIGINT/SIGTERM (delivered work saved in --state).`,
    )
    .action(async (args: string[], opts: ReplayOptions) => {
      process.exitCode = await replay(args, opts);
    });
}

/** A plain file not modified for this long is not being written: its last line is final, newline or not. */
const UNTERMINATED_FINAL_AFTER_MS = 60_000;

async function replay(args: string[], opts: ReplayOptions): Promise<number> {
  const logger = createLogger({ name: 'tailplow-replay', level: 'warn' });
  const parser = parserFromOptions(opts);
  const sinceMs = opts.since === undefined ? undefined : parseTimeBound(opts.since);
  const untilMs = opts.until === undefined ? undefined : parseTimeBound(opts.until);
  if (opts.since !== undefined && sinceMs === undefined) throw usageError(`invalid --since "${opts.since}": use an ISO date/time or a duration like 2d`);
  if (opts.until !== undefined && untilMs === undefined) throw usageError(`invalid --until "${opts.until}": use an ISO date/time or a duration like 2d`);
  const output = opts.dryRun ? 'null' : opts.output;
  if (opts.out && opts.output !== 'json' && opts.output !== 'tsv') throw usageError('--out goes with --output json or tsv');

  const { files, unusable } = await resolveInputs(args);
  const failures: string[] = [...unusable];
  const ordered = await inTimeOrder(files, parser);

  const release = opts.state && !opts.dryRun ? lockOrExplain(opts.state) : () => {};
  try {
    const state: ReplayState = opts.state ? await loadState(opts.state).catch((e: unknown) => {
      throw usageError(`cannot use --state ${opts.state}: ${(e as Error).message}`);
    }) : { version: 1, files: {} };
    const sink = await openOutput(output, opts, logger);
    const serialise: Serialisation = output === 'tsv' ? 'tsv' : output === 'null' ? 'none' : 'json';
    const pool = createDecodePool(
      {
        format: opts.logFormat,
        maxLineBytes: opts.maxLineBytes,
        serialise,
        sinceIso: sinceMs === undefined ? undefined : new Date(sinceMs).toISOString(),
        untilIso: untilMs === undefined ? undefined : new Date(untilMs).toISOString(),
      },
      opts.workers,
    );
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

    const sizes = await Promise.all(ordered.map((f) => uncompressedSize(f).catch(() => 0)));
    const totalBytes = sizes.reduce((a, b) => a + b, 0);
    const mode = opts.progress === 'auto' ? (process.stderr.isTTY ? 'bar' : 'json') : opts.progress;
    const progress = mode === 'none' ? undefined : createProgress({ tty: mode === 'bar', intervalMs: opts.progressInterval, write: (l) => process.stderr.write(l + '\n') });
    const totals = new ReplayTotals();
    const perFile: Array<{ file: string; status: string; lines?: number; events?: number; bad?: number; time_range?: { from?: string; to?: string } | null }> = [];
    let bytesBefore = 0;
    let outputFailure: unknown;
    let saveTimer: NodeJS.Timeout | undefined;
    let dirty = false;
    // Saves run one after another: the timer's save and the final one share a temp file name, and
    // an older snapshot must never be renamed over a newer one.
    let saving: Promise<void> = Promise.resolve();
    const persist = () => {
      saving = saving
        .catch(() => {})
        .then(async () => {
          if (opts.state && !opts.dryRun && dirty) {
            dirty = false;
            await saveState(opts.state, state);
          }
        });
      return saving;
    };
    if (opts.state && !opts.dryRun) saveTimer = setInterval(() => void persist().catch((e: unknown) => logger.error({ err: String(e) }, 'saving state failed')), 1000);

    try {
      for (let i = 0; i < ordered.length && !stop.signal.aborted && outputFailure === undefined; i++) {
        const path = ordered[i]!;
        const fileTotals = new ReplayTotals();
        let source;
        try {
          source = await openLineSource(path, { maxLineBytes: opts.maxLineBytes, maxBatchLines: 1000 });
        } catch (err) {
          failures.push(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          perFile.push({ file: path, status: 'unreadable' });
          bytesBefore += sizes[i]!;
          continue;
        }
        const size = sizes[i]!;
        const { key, done, startOffset, bytes, mtimeMs, replaces } = await resumePoint(path, source.fileKey, state);
        if (replaces !== undefined) {
          // A short file that grew: its progress moves to its new key.
          state.files[key] = state.files[replaces]!;
          delete state.files[replaces];
          dirty = true;
        }
        if (done) {
          perFile.push({ file: path, status: 'already done' });
          bytesBefore += size;
          continue;
        }
        // With --state a plain file written to in the last minute may be mid-line: a last line
        // without its newline is left for the run that sees it whole. Archives and files at rest
        // are final (nginx writes whole lines; a partial one that stays is the end of the file).
        const emitUnterminatedLastLine = !opts.state || isGzipPath(path) || Date.now() - mtimeMs > UNTERMINATED_FINAL_AFTER_MS;
        if (startOffset > 0 || !emitUnterminatedLastLine) {
          source = await openLineSource(path, { maxLineBytes: opts.maxLineBytes, maxBatchLines: 1000, startOffset, emitUnterminatedLastLine });
        }
        let status = 'done';
        /** Events at or after --until start here: the offset never passes it, so a later bound gets them. */
        let late: number | undefined;
        const record = (offset: number, finished: boolean) => {
          state.files[key] = { path, offset, done: finished, updatedAt: new Date().toISOString(), bytes };
          dirty = true;
        };
        try {
          await pumpFile(source, pool, sink, stop.signal, (b) => {
            totals.addBatch(b);
            fileTotals.addBatch(b);
            late ??= b.firstLateOffset;
            record(late ?? b.endOffset, false);
            progress?.update({ bytes: bytesBefore + b.endOffset, totalBytes, lines: totals.lines, events: totals.events, bad: totals.bad, file: path });
          });
          if (stop.signal.aborted) status = 'interrupted';
          else {
            const end = state.files[key]?.offset ?? startOffset;
            record(end, late === undefined);
            if (late !== undefined) status = `done up to --until (from byte ${late} next time)`;
            else if (!isGzipPath(path) && end < bytes) status = `done but the last line (no newline yet, from byte ${end})`;
          }
          if (isShortKey(key) && state.files[key]) state.files[key]!.prefixHash = await prefixHashOf(path, state.files[key]!.offset);
        } catch (err) {
          if (err instanceof OutputFailure) {
            outputFailure = err.cause;
            status = 'output failed';
          } else {
            // A read error (corrupt gzip): what was delivered stays delivered; the file is not done.
            failures.push(`${path}: ${(err as Error).message}`);
            status = 'unreadable from byte ' + (state.files[key]?.offset ?? startOffset);
          }
        }
        perFile.push({ file: path, status, lines: fileTotals.lines, events: fileTotals.events, bad: fileTotals.bad, time_range: fileTotals.minTs ? { from: fileTotals.minTs, to: fileTotals.maxTs } : null });
        bytesBefore += size;
      }
    } finally {
      clearInterval(saveTimer);
      progress?.stop();
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      await pool.close();
      await sink.close().catch((e: unknown) => {
        outputFailure ??= e;
      });
      await persist();
    }

    const summary = {
      summary: opts.dryRun ? 'dry run' : 'replay',
      output,
      files: ordered.length,
      lines: totals.lines,
      events: totals.events,
      bad: totals.bad,
      skipped: totals.skipped,
      out_of_range: totals.outOfRange,
      events_by_type: Object.fromEntries(totals.eventsByType),
      bad_by_reason: Object.fromEntries(totals.badByKind),
      skipped_by_reason: Object.fromEntries(totals.skippedByReason),
      time_range: totals.minTs ? { from: totals.minTs, to: totals.maxTs } : null,
      per_file: perFile,
      errors: failures,
    };
    if (opts.dryRun) process.stderr.write(dryRunReport(summary) + '\n');
    process.stderr.write(JSON.stringify(summary) + '\n');
    if (outputFailure !== undefined) {
      throw outputError(`output failed: ${String(outputFailure)}`, opts.state ? `${opts.state} holds only what was delivered; re-run the same command to continue` : undefined);
    }
    if (stop.signal.aborted) return ExitCode.interrupted;
    if (failures.length) {
      for (const f of failures) process.stderr.write(`tailplow: cannot read ${f}\n`);
      return ExitCode.input;
    }
    return ExitCode.ok;
  } finally {
    release();
  }
}

class OutputFailure extends Error {}

/**
 * Reads, decodes in parallel and delivers one file in order. Up to 4 batches wait for the output
 * at once (Kafka round trips overlap); `onDelivered` runs strictly in file order.
 */
async function pumpFile(
  source: AsyncIterable<import('../../input/types').LineBatch>,
  pool: ReturnType<typeof createDecodePool>,
  sink: ReplayOutput,
  signal: AbortSignal,
  onDelivered: (b: DecodedBatch) => void,
): Promise<void> {
  const decoding: Array<Promise<DecodedBatch>> = [];
  const writing: Array<{ batch: DecodedBatch; done: Promise<void> }> = [];
  const maxDecoding = 8;
  const maxWriting = 4;
  const settleOneWrite = async () => {
    const w = writing.shift()!;
    try {
      await w.done;
    } catch (err) {
      throw new OutputFailure('output failed', { cause: err });
    }
    onDelivered(w.batch);
  };
  const writeOne = async () => {
    const batch = await decoding.shift()!;
    const done = sink.write(batch);
    done.catch(() => {});
    writing.push({ batch, done });
    if (writing.length >= maxWriting) await settleOneWrite();
  };
  let readError: unknown;
  try {
    try {
      for await (const batch of source) {
        decoding.push(pool.submit(batch));
        if (decoding.length >= maxDecoding) await writeOne();
        if (signal.aborted) break;
      }
    } catch (err) {
      if (err instanceof OutputFailure) throw err;
      // A corrupt or truncated .gz: the lines read before the damage are still delivered.
      readError = err;
    }
    while (decoding.length) await writeOne();
    if (readError !== undefined) throw readError;
  } finally {
    // Whatever happened, deliver what was decoded and record it, so state stays exact.
    while (writing.length) await settleOneWrite();
  }
}

function lockOrExplain(stateFile: string): () => void {
  try {
    return acquireLock(stateFile);
  } catch (err) {
    if (err instanceof LockedError) throw new CliError(err.message, ExitCode.busy, 'wait for it to finish, or remove the lock file if that process is gone');
    throw usageError(`cannot lock ${stateFile}: ${(err as Error).message}`);
  }
}

async function openOutput(output: string, opts: ReplayOptions, logger: ReturnType<typeof createLogger>): Promise<ReplayOutput> {
  if (output === 'null') return nullOutput;
  if (output === 'embedded') return openEmbeddedOutput(opts, logger);
  if (output === 'json' || output === 'tsv') {
    // With --state, earlier runs' output is delivered work: append to it, never truncate it.
    const append = opts.state !== undefined;
    return streamOutput(fileStream(opts.out, append), opts.bad ? fileStream(opts.bad, append) : undefined);
  }
  const overrides = (raw: Record<string, unknown>) => {
    raw.input = { paths: ['-'], ...((raw.input ?? {}) as object) };
    if (opts.brokers) raw.kafka = { ...((raw.kafka ?? {}) as object), brokers: opts.brokers.split(',').map((s) => s.trim()) };
  };
  let config;
  try {
    config = opts.config ? loadConfigFile(opts.config, tailConfigSchema, { overrides }) : parseConfigText('', '(command line)', tailConfigSchema, { overrides });
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message);
    throw err;
  }
  const kafka = createKafka(config.kafka, logger);
  const producer = await withRetry(() => createKafkaProducer(kafka, config.output), {
    policy: { initialMs: 200, maxMs: 5000, maxAttempts: 5 },
    isRetriable: isRetriableKafkaError,
  }).catch((err: unknown) => {
    throw outputError(`cannot connect to Kafka at ${config.kafka.brokers.join(', ')}: ${String(err)}`);
  });
  const out = kafkaOutput(producer, config.output);
  return {
    write: (b) =>
      withRetry(() => out.write(b), {
        policy: { initialMs: 200, maxMs: 10_000, maxAttempts: 8 },
        isRetriable: isRetriableKafkaError,
        onRetry: (err, attempt) => logger.warn({ err: String(err), attempt }, 'Kafka send failed; retrying'),
      }),
    close: out.close,
  };
}

/** The run config's stages and sinks, retried a while (a cron job should end), then exit 4. */
async function openEmbeddedOutput(opts: ReplayOptions, logger: ReturnType<typeof createLogger>): Promise<ReplayOutput> {
  const config = loadRunConfig([], { config: opts.config, dataDir: opts.dataDir });
  const metrics = createProcessMetrics(new Registry());
  const processing = await openProcessing({ ...config, dataDir: resolve(config.dataDir) }, logger, metrics, { retry: { initialMs: 200, maxMs: 10_000, maxAttempts: 8 } }).catch((err: unknown) => {
    throw err instanceof CliError ? err : outputError(`cannot open the stages and sinks: ${String(err)}`);
  });
  return stageSinkOutput(processing.run, processing.close);
}

function dryRunReport(s: { per_file: Array<{ file: string; status: string; lines?: number; events?: number; bad?: number }>; events_by_type: Record<string, number>; bad_by_reason: Record<string, number>; time_range: { from?: string; to?: string } | null; lines: number; events: number; bad: number; skipped: number }): string {
  const rows = [`dry run: ${s.lines} lines, ${s.events} events, ${s.bad} bad rows, ${s.skipped} skipped; nothing was sent`];
  rows.push('per file:');
  for (const f of s.per_file) rows.push(`  ${f.file}: ${f.status}${f.lines !== undefined ? `, ${f.lines} lines, ${f.events} events, ${f.bad} bad` : ''}`);
  rows.push('events by type: ' + (Object.entries(s.events_by_type).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'));
  rows.push('bad rows by reason: ' + (Object.entries(s.bad_by_reason).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'));
  rows.push(`time range: ${s.time_range ? `${s.time_range.from} .. ${s.time_range.to}` : 'no events'}`);
  return rows.join('\n');
}
