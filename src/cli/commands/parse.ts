/**
 * `tailplow parse`: decode a log file (or stdin) into Snowplow events, for trying a log format,
 * debugging a line, or feeding Snowplow tooling with enriched TSV.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import { isGzipPath } from '../../input/fingerprint';
import { openLineSource } from '../../input/line-source';
import { linesOfStream } from '../../input/stream-source';
import type { LineBatch } from '../../input/types';
import type { DecodedBatch } from '../../pipeline/batch-decode';
import { createDecodePool } from '../../pipeline/decode-pool';
import { createLineDecoder, DecodeTally } from '../../pipeline/decode-lines';
import { eventToJson, eventToTsv } from '../../snowplow/format';
import { inputError, usageError } from '../errors';
import { logFormatOption, maxLineBytesOption, parserFromOptions, positiveInt } from '../options';

interface ParseOptions {
  logFormat: string;
  output: 'json' | 'tsv';
  bad?: string;
  maxLineBytes: number;
  workers?: number;
}

/**
 * Below this size a file decodes faster in the main thread than it takes to start workers
 * (each loads the decoder and warms up its JIT: ~50 ms).
 */
const WORKERS_FROM_BYTES = 16 * 1024 * 1024;
/** Batches (of up to 1000 lines) decoding at once per worker, so none waits for the next. */
const BATCHES_IN_FLIGHT_PER_WORKER = 3;

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description('Decode an access log (plain or .gz; - for stdin) into Snowplow events on stdout')
    .argument('[file]', 'log file, .gz file, or - for stdin', '-')
    .addOption(logFormatOption())
    .option('-o, --output <form>', 'json (canonical field names) or tsv (Snowplow enriched TSV, 131 columns)', 'json')
    .option('--bad <file>', 'write bad rows (Snowplow bad-row JSON, one per line) here instead of stderr')
    .addOption(maxLineBytesOption())
    .addOption(
      new Option('--workers <n>', `decoding threads, output order kept (0: decode in the main thread; default: one per core for files over ${WORKERS_FROM_BYTES >> 20} MiB)`)
        .argParser((v) => (v === '0' ? 0 : positiveInt(v))),
    )
    .addHelpText('after', '\nPrints a one-line summary (lines, events, bad rows, skipped) on stderr. Exit 0 when the input was read, even with bad lines.')
    .action(async (file: string, opts: ParseOptions) => {
      if (opts.output !== 'json' && opts.output !== 'tsv') throw usageError(`unknown --output "${opts.output}": use json or tsv`);
      const parser = parserFromOptions(opts); // also rejects a bad --log-format before any worker starts
      const batches = await openInput(file, opts.maxLineBytes);
      const workers = opts.workers ?? (await defaultWorkers(file));
      const out = new BufferedWriter(process.stdout);
      const badStream: Writable = opts.bad ? createWriteStream(opts.bad) : process.stderr;
      const bad = new BufferedWriter(badStream);
      const tally = new DecodeTally();
      try {
        if (workers > 0) await decodeOnWorkers(batches, opts, workers, { out, bad, tally });
        else await decodeHere(batches, createLineDecoder(parser, { maxLineBytes: opts.maxLineBytes }), opts, { out, bad, tally });
      } catch (err) {
        throw inputError(`cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}`);
      }
      await out.end();
      await bad.end(badStream !== process.stderr);
      process.stderr.write(`tailplow parse: ${tally.summary()}\n`);
    });
}

interface Sinks {
  out: BufferedWriter;
  bad: BufferedWriter;
  tally: DecodeTally;
}

async function decodeHere(
  batches: AsyncIterable<LineBatch>,
  decode: ReturnType<typeof createLineDecoder>,
  opts: ParseOptions,
  { out, bad, tally }: Sinks,
): Promise<void> {
  const format = opts.output === 'tsv' ? eventToTsv : eventToJson;
  for await (const batch of batches) {
    for (const line of batch.lines) {
      const outcome = decode(line, batch.path);
      tally.add(outcome);
      for (const e of outcome.events) await out.write(format(e));
      for (const b of outcome.bad) await bad.write(JSON.stringify(b));
    }
  }
}

/** Decodes batches on worker threads and writes their results strictly in input order. */
async function decodeOnWorkers(batches: AsyncIterable<LineBatch>, opts: ParseOptions, workers: number, { out, bad, tally }: Sinks): Promise<void> {
  const pool = createDecodePool({ format: opts.logFormat, maxLineBytes: opts.maxLineBytes, serialise: opts.output }, workers);
  const decoding: Array<Promise<DecodedBatch>> = [];
  const writeNext = async (): Promise<void> => {
    const result = await (decoding.shift() as Promise<DecodedBatch>);
    tally.addBatch(result);
    for (const e of result.events) await out.write(e.value);
    for (const b of result.bad) await bad.write(b.value);
  };
  let readError: unknown;
  try {
    const reader = batches[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<LineBatch>;
      try {
        next = await reader.next();
      } catch (err) {
        // A corrupt .gz: the lines read before the damage are still written, as without workers.
        readError = err;
        break;
      }
      if (next.done === true) break;
      const submitted = pool.submit(next.value);
      submitted.catch(() => {}); // awaited in order by writeNext, which reports a failure
      decoding.push(submitted);
      if (decoding.length >= workers * BATCHES_IN_FLIGHT_PER_WORKER) await writeNext();
    }
    while (decoding.length > 0) await writeNext();
  } finally {
    await pool.close();
  }
  if (readError !== undefined) throw readError;
}

async function defaultWorkers(file: string): Promise<number> {
  if (file === '-') return 0;
  const { size } = await stat(file);
  // A .gz file holds several times its size in lines.
  const lineBytes = isGzipPath(file) ? size * 5 : size;
  return lineBytes >= WORKERS_FROM_BYTES ? availableParallelism() : 0;
}

async function openInput(file: string, maxLineBytes: number): Promise<AsyncIterable<LineBatch>> {
  if (file === '-') return linesOfStream(process.stdin, { name: 'stdin', maxLineBytes });
  try {
    await access(file);
    return await openLineSource(file, { maxLineBytes });
  } catch (err) {
    throw inputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Joins lines into large writes and waits for 'drain', so a slow pipe applies backpressure. */
class BufferedWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly stream: Writable, private readonly flushAt = 64 * 1024) {}

  async write(line: string): Promise<void> {
    this.parts.push(line);
    this.size += line.length + 1;
    if (this.size >= this.flushAt) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('\n') + '\n';
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }

  async end(close = false): Promise<void> {
    await this.flush();
    if (close) await new Promise<void>((resolve) => (this.stream as WriteStream).end(resolve));
  }
}
