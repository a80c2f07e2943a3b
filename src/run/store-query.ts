/**
 * `tailplow query`: SQL on the embedded store (chDB) in a data directory, printed by ClickHouse's
 * own output formats. chDB locks its data directory for the whole process (`<dir>/status`), so a
 * second process cannot open a store that `tailplow run` is writing: it prints "Cannot lock file
 * ... status. Another server instance in same directory is already running" and fails. Then the query
 * runs on a copy taken at that moment (read-only), and says so. The copy skips the lock file and
 * parts being written (tmp_*); a part that a merge removes while it is being copied makes the copy
 * fail with ENOENT, so it is taken again (the merged part replaces it). Copying costs time and
 * space in proportion to the store: for big stores stop `run` or query a ClickHouse server.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type * as Chdb from 'chdb';

export const QUERY_FORMATS = { table: 'PrettyCompactNoEscapes', json: 'JSONEachRow', csv: 'CSVWithNames', tsv: 'TSVWithNames' } as const;
export type QueryFormat = keyof typeof QUERY_FORMATS;

/** The store directory does not exist: nothing was stored there yet. */
export class NoStoreError extends Error {
  override name = 'NoStoreError';
}

/** The SQL failed (syntax, unknown column, ...): the user's to fix. */
export class QueryError extends Error {
  override name = 'QueryError';
}

export interface QueryResult {
  text: string;
  /** Set when the store was in use and a copy was queried. */
  snapshot?: { heldBy: number | undefined };
}

/**
 * chDB prints the lock message on stderr itself and throws only "Failed to create connection for
 * path ..."; with the directory's lock file present, that means another process holds it.
 */
export function isStoreLocked(err: unknown, storePath: string): boolean {
  return (err as { name?: string } | null)?.name === 'ChdbConnectionError' && existsSync(join(storePath, 'status'));
}

/** The pid in `run.pid` if that process is alive. */
export function runningPidOf(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export function queryStore(storePath: string, sql: string, format: QueryFormat, opts: { pidFile?: string; copyAttempts?: number } = {}): QueryResult {
  if (!existsSync(storePath)) throw new NoStoreError(`no embedded store at ${storePath}`);
  const chdb = require('chdb') as typeof Chdb;
  // A live `run` holds the lock for sure: copy at once (opening would only print chDB's lock error).
  if (opts.pidFile && runningPidOf(opts.pidFile) !== undefined && existsSync(join(storePath, 'status'))) return querySnapshot(chdb, storePath, sql, format, opts);
  let session: Chdb.Session;
  try {
    session = new chdb.Session(storePath);
  } catch (err) {
    if (!isStoreLocked(err, storePath)) throw err;
    return querySnapshot(chdb, storePath, sql, format, opts);
  }
  try {
    return { text: run(session, sql, format) };
  } finally {
    session.close();
  }
}

function run(session: Chdb.Session, sql: string, format: QueryFormat, readonly = false): string {
  session.query('SET output_format_pretty_row_numbers = 0');
  session.query('SET output_format_json_quote_64bit_integers = 0');
  if (readonly) session.query('SET readonly = 1');
  try {
    return session.query(sql, QUERY_FORMATS[format]);
  } catch (err) {
    throw new QueryError(String(err).replace(/^\w*Error: /, '').replace(/^Query failed: /, ''));
  }
}

function querySnapshot(chdb: typeof Chdb, storePath: string, sql: string, format: QueryFormat, opts: { pidFile?: string; copyAttempts?: number }): QueryResult {
  const heldBy = opts.pidFile ? runningPidOf(opts.pidFile) : undefined;
  const attempts = opts.copyAttempts ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-query-'));
  try {
    for (let attempt = 1; ; attempt++) {
      rmSync(dir, { recursive: true, force: true });
      try {
        cpSync(storePath, dir, { recursive: true, filter: (src) => !(src === join(storePath, 'status') || basename(src).startsWith('tmp_')) });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= attempts) throw err;
      }
    }
    const session = new chdb.Session(dir);
    try {
      return { text: run(session, sql, format, true), snapshot: { heldBy } };
    } finally {
      session.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
