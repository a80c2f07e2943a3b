/**
 * The `file` sink: events appended to a local file as NDJSON (canonical JSON) or Snowplow's
 * enriched TSV. A write is acknowledged after fdatasync, so a crash never loses what was
 * acknowledged.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import { eventToJson, eventToTsv } from '../snowplow/format';
import type { Sink, SinkDeps } from './sink';

export const fileSinkSchema = z
  .object({
    type: z.literal('file'),
    path: z.string().min(1).describe('File to append to (created with its directory).'),
    format: z.enum(['ndjson', 'tsv']).default('ndjson').describe('ndjson: one canonical JSON event per line; tsv: Snowplow enriched TSV (131 columns).'),
    fsync: z.boolean().default(true).describe('fdatasync before acknowledging (off: faster, but a power loss can lose acknowledged events).'),
  })
  .strict()
  .describe('Append events to a local file.');
export type FileSinkConfig = z.infer<typeof fileSinkSchema>;

export async function createFileSink(config: FileSinkConfig, _deps: SinkDeps): Promise<Sink> {
  await mkdir(dirname(config.path), { recursive: true });
  const fh: FileHandle = await open(config.path, 'a');
  const serialise = config.format === 'tsv' ? eventToTsv : eventToJson;
  return {
    name: 'file',
    async write(events) {
      if (events.length) {
        let text = '';
        for (const e of events) text += serialise(e) + '\n';
        await fh.write(text);
        if (config.fsync) await fh.datasync();
      }
      return { failed: [] };
    },
    close: () => fh.close(),
  };
}
