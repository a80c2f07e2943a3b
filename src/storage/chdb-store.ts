/**
 * EventStore on chDB (npm `chdb`, ClickHouse in-process) over a data directory: the embedded
 * default's event store. chdb is required only when a store is opened, never at import, because
 * loading it costs ≈200 ms and ≈150 MiB (the tailer never needs it).
 *
 * chDB keeps one data directory per process: opening a second directory while one is open
 * throws; opening the same directory again shares it.
 */
import { mkdir } from 'node:fs/promises';
import type * as Chdb from 'chdb';
import { schemaVariantFor } from './clickhouse-schema';
import type { EventStore } from './event-store';

export interface ChdbStore extends EventStore {
  readonly engine: 'chdb';
  readonly path: string;
}

/**
 * The engine's server defaults are sized for a database host (5 GiB mark and index caches, a
 * 16-thread merge pool): an analytics store inside a log agent keeps its caches small, so RSS
 * stays flat over days instead of growing with the data it has touched. Its global thread pool
 * keeps up to 1,000 idle threads by default, and each thread that ran query work holds three
 * /proc files open for its counters: in the 30-minute soak of `run` the pool grew past 130
 * threads and the descriptors from ~90 to ~370. At most 16 idle threads keep both flat.
 */
const EMBEDDED_ENGINE_ARGS = [
  '--mark_cache_size=67108864',
  '--index_mark_cache_size=33554432',
  '--primary_index_cache_size=67108864',
  '--uncompressed_cache_size=0',
  '--background_pool_size=2',
  '--max_thread_pool_free_size=16',
];

/** A chDB session on `path` with the embedded store's engine settings (the store, the dashboard). */
export function openChdbSession(path: string): Chdb.Session {
  // Loaded here, not imported at the top: see the comment above.
  const chdb = require('chdb') as typeof Chdb;
  return new chdb.Session(path, { connectionArgs: EMBEDDED_ENGINE_ARGS });
}

/** The rows of a JSONEachRow answer. */
export function parseEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line) as T);
  return rows;
}

export async function createChdbStore(path: string): Promise<ChdbStore> {
  await mkdir(path, { recursive: true });
  const session = openChdbSession(path);
  try {
    // Session settings apply to every later query, async ones included: numbers stay numbers,
    // as the server store asks for per query.
    session.query('SET output_format_json_quote_64bit_integers = 0');
    const version = session.query('SELECT version()', 'TSV').trim();
    return {
      engine: 'chdb',
      path,
      version,
      variant: schemaVariantFor(version),
      async command(sql) {
        await session.queryAsync(sql, { format: 'TSV' });
      },
      async query<T>(sql: string) {
        return parseEachRow<T>((await session.queryAsync(sql, { format: 'JSONEachRow' })).text());
      },
      async insert(qualifiedTable, columns, rows) {
        await session.insert({ table: qualifiedTable, columns, format: 'TabSeparated', values: rows.body });
      },
      async close() {
        session.close();
      },
    };
  } catch (err) {
    session.close();
    throw err;
  }
}
