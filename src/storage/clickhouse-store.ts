/**
 * EventStore over a ClickHouse server's HTTP interface (@clickhouse/client). Works with servers
 * back to 18.16: no query parameters (18.16 refuses them), settings only where the version has
 * them.
 */
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { Readable } from 'node:stream';
import { ASYNC_INSERT_SINCE, schemaVariantFor, versionAtLeast, type TsvRows } from './clickhouse-schema';
import { storeErrorKind, type EventStore } from './event-store';

export interface ClickHouseStoreOptions {
  url: string;
  username: string;
  password: string;
  database: string;
  requestTimeoutMs: number;
  /** Ask for async_insert (with wait_for_async_insert=1, so an insert still returns once stored). */
  asyncInsert: boolean;
  /** For an https:// url: the CA to trust instead of the system ones, and a client certificate. */
  tls?: { ca_cert: Buffer; cert?: Buffer; key?: Buffer };
  /** An INSERT waits up to `maxWaitMs` for at least `minRows` rows (see coalesceInserts). */
  insertBatch?: InsertBatching;
}

export interface ClickHouseStore extends EventStore {
  readonly engine: 'clickhouse';
  /** Whether inserts really use async_insert (asked for, and the server has it). */
  readonly asyncInsert: boolean;
}

/** Connects and asks the version; throws (the caller classifies) when the server is unreachable. */
export async function createClickHouseStore(opts: ClickHouseStoreOptions): Promise<ClickHouseStore> {
  // Loaded on use: commands that only validate a config should not pay for the client.
  const { ClickHouseLogLevel, createClient } = await import('@clickhouse/client');
  const client: ClickHouseClient = createClient({
    url: opts.url,
    username: opts.username,
    password: opts.password,
    database: opts.database,
    request_timeout: opts.requestTimeoutMs,
    ...(opts.tls ? { tls: opts.tls.cert && opts.tls.key ? { ca_cert: opts.tls.ca_cert, cert: opts.tls.cert, key: opts.tls.key } : { ca_cert: opts.tls.ca_cert } } : {}),
    // The sink reports failures itself (bad rows, retries); the client would log each one at ERROR.
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    const version = await selectVersion(client);
    const asyncInsert = opts.asyncInsert && versionAtLeast(version, ASYNC_INSERT_SINCE);
    const insertSettings: ClickHouseSettings = asyncInsert ? { async_insert: 1, wait_for_async_insert: 1 } : {};
    const querySettings: ClickHouseSettings = { output_format_json_quote_64bit_integers: 0 };
    return {
      engine: 'clickhouse',
      version,
      variant: schemaVariantFor(version),
      asyncInsert,
      async command(sql) {
        await client.command({ query: sql });
      },
      async query<T>(sql: string) {
        return (await client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: querySettings })).json<T>();
      },
      insert: coalesceInserts(async (qualifiedTable, columns, bodies) => {
        // The callers' buffers as they are: the client streams raw formats, so they need no joining.
        const values = Readable.from(bodies, { objectMode: false });
        await client.insert({ table: qualifiedTable, columns: columns as [string, ...string[]], format: 'TabSeparated', values, clickhouse_settings: insertSettings });
      }, opts.insertBatch),
      close: () => client.close(),
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}

async function selectVersion(client: ClickHouseClient): Promise<string> {
  const rows = await (await client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' })).json<{ version: string }>();
  return rows[0]?.version ?? '';
}

type InsertFn = (qualifiedTable: string, columns: readonly string[], rows: TsvRows) => Promise<void>;

export interface InsertBatching {
  /** Rows an INSERT waits for (0: none). */
  minRows: number;
  /** How long the oldest waiting rows may wait for `minRows`. */
  maxWaitMs: number;
}

/**
 * Group commit: one INSERT in flight per table and column list; inserts asked for meanwhile
 * (other partitions' batches, and with source.maxPendingEvents the next batches of the same
 * partitions) wait and go together as the next one. Before it starts, an INSERT waits up to
 * `maxWaitMs` (since its oldest rows arrived) for `minRows` rows. Each caller still resolves only
 * once its own rows are stored.
 *
 * On a server every INSERT makes a part of its own, a few files per column (~760 for the legacy
 * layout on 18.16), so fewer, bigger inserts cost the server less per event than many small
 * ones side by side (ClickHouse's advice: 10,000 to 100,000 rows, about one INSERT per second),
 * and there is never more than one insert per table to wait for.
 *
 * A combined insert the server refuses for its data is tried again per caller, so a refusal
 * only ever reaches the caller whose rows were refused (event-table bisects them). Any other
 * failure (server down, timeout, fatal) reaches every caller of the group.
 */
export function coalesceInserts(
  send: (qualifiedTable: string, columns: readonly string[], bodies: readonly Buffer[]) => Promise<void>,
  batching: InsertBatching = { minRows: 0, maxWaitMs: 0 },
): InsertFn {
  interface Waiting {
    rows: TsvRows;
    since: number;
    resolve(): void;
    reject(err: unknown): void;
  }
  interface Queue {
    waiting: Waiting[];
    rows: number;
    /** Wakes a drain that waits for more rows. */
    grew?: () => void;
  }
  const queues = new Map<string, Queue>();

  /** Until the queue holds minRows rows or its oldest rows waited maxWaitMs. */
  const enoughRows = async (queue: Queue) => {
    while (queue.rows < batching.minRows) {
      const left = queue.waiting[0]!.since + batching.maxWaitMs - Date.now();
      if (left <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        queue.grew = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      queue.grew = undefined;
    }
  };

  const drain = async (key: string, qualifiedTable: string, columns: readonly string[], queue: Queue) => {
    while (queue.waiting.length) {
      // Checked here, not only in enoughRows: awaiting it with enough rows already would still
      // delay the insert by a tick, and inserts asked for meanwhile would join this group.
      if (queue.rows < batching.minRows) await enoughRows(queue);
      const group = queue.waiting.splice(0);
      queue.rows = 0;
      try {
        await send(qualifiedTable, columns, group.map((w) => w.rows.body));
        for (const w of group) w.resolve();
      } catch (err) {
        if (group.length === 1 || storeErrorKind(err) !== 'rejected_rows') {
          for (const w of group) w.reject(err);
          continue;
        }
        for (const w of group) await send(qualifiedTable, columns, [w.rows.body]).then(w.resolve, w.reject);
      }
    }
    queues.delete(key);
  };

  return (qualifiedTable, columns, rows) =>
    new Promise<void>((resolve, reject) => {
      const key = `${qualifiedTable}(${columns.join(',')})`;
      const waiting: Waiting = { rows, since: Date.now(), resolve, reject };
      const queue = queues.get(key);
      if (queue) {
        queue.waiting.push(waiting);
        queue.rows += rows.count;
        queue.grew?.();
        return;
      }
      const fresh: Queue = { waiting: [waiting], rows: rows.count };
      queues.set(key, fresh);
      void drain(key, qualifiedTable, columns, fresh);
    });
}
