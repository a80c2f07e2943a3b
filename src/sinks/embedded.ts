/**
 * The `embedded` sink: events into ClickHouse running in-process (chDB) in a local directory,
 * with the same table, columns and SQL as the `clickhouse` sink (the modern layout), so queries
 * and the dashboard work unchanged when moving to a server. A write is acknowledged after chDB's
 * insert returned (its parts are on disk). chDB is loaded only when this sink is created.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { createChdbStore } from '../storage/chdb-store';
import { ttlDaysSchema } from '../storage/retention';
import type { Sink, SinkDeps } from './sink';
import { openEventTableSink } from './table-sink';

export const embeddedSinkSchema = z
  .object({
    type: z.literal('embedded'),
    path: z.string().min(1).optional().describe('Data directory of the embedded engine; default `<dataDir>/clickhouse`. One per process.'),
    table: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _, not starting with a digit')
      .default('events')
      .describe('Table for the events; created if absent.'),
    ttlDays: ttlDaysSchema,
  })
  .strict()
  .describe('Store events in an embedded ClickHouse engine (chDB) in the data directory.');
export type EmbeddedSinkConfig = z.infer<typeof embeddedSinkSchema>;

/** Where the embedded engine keeps its data when the config names no path. */
export const embeddedStorePath = (config: EmbeddedSinkConfig, dataDir: string) => config.path ?? join(dataDir, 'clickhouse');

export async function createEmbeddedSink(config: EmbeddedSinkConfig, deps: SinkDeps): Promise<Sink> {
  const store = await createChdbStore(embeddedStorePath(config, deps.dataDir));
  return openEventTableSink(store, { name: 'embedded', table: config.table, logger: deps.logger, readyFields: { version: store.version, path: store.path }, ttlDays: config.ttlDays });
}
