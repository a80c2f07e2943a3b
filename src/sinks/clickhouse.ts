/**
 * The `clickhouse` sink: events into a ClickHouse server's events table over HTTP, one
 * TabSeparated INSERT per batch. The table is created if absent, in the layout the server's
 * version takes (storage/clickhouse-schema.ts: DateTime64/LowCardinality/Bool from 22.3,
 * DateTime + milliseconds column before). Events the server refuses become bad rows; a server
 * that is down or overloaded throws a RetriableError, so the batch is retried.
 */
import { z } from 'zod';
import { createClickHouseStore } from '../storage/clickhouse-store';
import { asThrownStoreError } from '../storage/event-store';
import { ttlDaysSchema } from '../storage/retention';
import type { Sink, SinkDeps } from './sink';
import { openEventTableSink } from './table-sink';
import { readPem } from '../util/tls';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _, not starting with a digit');

export const clickhouseSinkSchema = z
  .object({
    type: z.literal('clickhouse'),
    url: z.string().url().default('http://127.0.0.1:8123').describe('HTTP(S) interface of the server (or a load balancer in front of a cluster); https:// for TLS (the server\'s https_port, 8443 by default).'),
    username: z.string().min(1).default('default').describe('User for HTTP basic authentication.'),
    password: z.string().default('').describe('Use ${ENV_VAR} or ${file:/path}: never write it here in clear.'),
    tls: z
      .object({
        caFile: z.string().min(1).describe('PEM file with the CA that signed the server certificate (replaces the system CAs).'),
        certFile: z.string().min(1).optional().describe('Client certificate (PEM) for a server that verifies clients; needs keyFile.'),
        keyFile: z.string().min(1).optional().describe('Client private key (PEM, unencrypted); needs certFile.'),
      })
      .strict()
      .refine((tls) => !tls.certFile === !tls.keyFile, { message: 'certFile and keyFile go together (mutual TLS needs both)' })
      .optional()
      .describe('TLS settings for an https:// url whose certificate is not signed by a system CA.'),
    database: identifier.default('default').describe('Database of the table; it must exist.'),
    table: identifier.default('events').describe('Table for the events; created if absent.'),
    asyncInsert: z
      .boolean()
      .default(false)
      .describe('Server-side batching (async_insert with wait_for_async_insert=1, so a write is still acknowledged only once stored). ClickHouse >= 21.11; ignored, with a warning, on older servers.'),
    requestTimeoutMs: z.number().int().positive().default(30_000).describe('Give up on one request after this long (it is then retried).'),
    insertMinRows: z
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe(
        'Rows an INSERT waits for, from every batch the processor has pending (source.maxPendingEvents), up to insertMaxWaitMs. Every INSERT makes a part on the server: bigger, fewer inserts cost it several times less per event. 0: insert what is there at once.',
      ),
    insertMaxWaitMs: z.number().int().min(0).default(1000).describe('How long rows may wait for insertMinRows before they are inserted anyway: the added delay of a quiet stream.'),
    ttlDays: ttlDaysSchema,
  })
  .strict()
  .describe('Store events in a ClickHouse server (one row per event_id after merges or FINAL).');
export type ClickHouseSinkConfig = z.infer<typeof clickhouseSinkSchema>;

export async function createClickHouseSink(config: ClickHouseSinkConfig, deps: SinkDeps): Promise<Sink> {
  // A server that is down at start-up is as retriable as one that goes down later.
  const tls = config.tls && {
    ca_cert: Buffer.from(readPem('clickhouse.tls.caFile', config.tls.caFile)),
    ...(config.tls.certFile && config.tls.keyFile
      ? { cert: Buffer.from(readPem('clickhouse.tls.certFile', config.tls.certFile)), key: Buffer.from(readPem('clickhouse.tls.keyFile', config.tls.keyFile)) }
      : {}),
  };
  const insertBatch = { minRows: config.insertMinRows, maxWaitMs: config.insertMaxWaitMs };
  const store = await createClickHouseStore({ ...config, tls, insertBatch }).catch((err: unknown) => {
    throw asThrownStoreError(err);
  });
  if (config.asyncInsert && !store.asyncInsert) deps.logger.warn({ sink: 'clickhouse', version: store.version }, 'asyncInsert needs ClickHouse 21.11 or newer; inserting synchronously');
  return openEventTableSink(store, {
    name: 'clickhouse',
    table: config.table,
    database: config.database,
    logger: deps.logger,
    readyFields: { version: store.version, schema: store.variant },
    ttlDays: config.ttlDays,
  });
}
