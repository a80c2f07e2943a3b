/**
 * `tailplow parse`: decode a log file (or stdin) into Snowplow events, for trying a log format,
 * debugging a line, or feeding Snowplow tooling with enriched TSV.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { openLineSource } from '../../input/line-source';
import { linesOfStream } from '../../input/stream-source';
import type { LineBatch } from '../../input/types';
import { createLineDecoder, DecodeTally } from '../../pipeline/decode-lines';
import { eventToJson, eventToTsv } from '../../snowplow/format';
import { inputError, usageError } from '../errors';
import { logFormatOption, maxLineBytesOption, parserFromOptions } from '../options';

interface ParseOptions {
  logFormat: string;
  output: 'json' | 'tsv';
  bad?: string;
  maxLineBytes: number;
}

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description('Decode an access log (plain or .gz; - for stdin) into Snowplow events on stdout')
    .argument('[file]', 'log file, .gz file, or - for stdin', '-')
    .addOption(logFormatOption())
    .option('-o, --output <form>', 'json (canonical field names) or tsv (Snowplow enriched TSV, 131 columns)', 'json')
    .option('--bad <file>', 'write bad rows (Snowplow bad-row JSON, one per line) here instead of stderr')
    .addOption(maxLineBytesOption())
    .addHelpText('after', '\nPrints a one-line summary (lines, events, bad rows, skipped) on stderr. Exit 0 when the input was read, even with bad lines.')
    .action(async (file: string, opts: ParseOptions) => {
      if (opts.output !== 'json' && opts.output !== 'tsv') throw usageError(`unknown --output "${opts.output}": use json or tsv`);
      const parser = parserFromOptions(opts);
      const decode = createLineDecoder(parser, { maxLineBytes: opts.maxLineBytes });
      const batches = await openInput(file, opts.maxLineBytes);
      const out = new BufferedWriter(process.stdout);
      const badStream: Writable = opts.bad ? createWriteStream(opts.bad) : process.stderr;
      const bad = new BufferedWriter(badStream);
      const tally = new DecodeTally();
      const format = opts.output === 'tsv' ? eventToTsv : eventToJson;
      try {
        for await (const batch of batches) {
          for (const line of batch.lines) {
            const outcome = decode(line, batch.path);
            tally.add(outcome);
            for (const e of outcome.events) await out.write(format(e));
            for (const b of outcome.bad) await bad.write(JSON.stringify(b));
          }
        }
      } catch (err) {
        throw inputError(`cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}`);
      }
      await out.end();
      await bad.end(badStream !== process.stderr);
      process.stderr.write(`tailplow parse: ${tally.summary()}\n`);
    });
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
