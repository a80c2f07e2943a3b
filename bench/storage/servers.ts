/**
 * The private Redis and ClickHouse a storage bench starts, and what their processes spent:
 * shared by bench/storage/run.ts and bench/storage/floors.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClickHouseStore, type ClickHouseStore } from '../../src/storage/clickhouse-store';
import type { PrivateService } from '../../test/support/services';
import { procCpuMs } from '../lib/cpu';

/** utime + stime of a server process in ms, 0 when unknown (a shared server: not attributable). */
export const serverCpuMs = (pid: number | undefined): number => (pid ? (procCpuMs(pid) ?? 0) : 0);

/** The pid in the *.pid file a service script keeps under its run dir. */
export function pidOf(service: PrivateService): number {
  for (const sub of readdirSync(service.runDir)) {
    for (const file of readdirSync(join(service.runDir, sub)).filter((f) => f.endsWith('.pid'))) return Number(readFileSync(join(service.runDir, sub, file), 'utf8').trim());
  }
  throw new Error(`no pid file under ${service.runDir}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const openClickHouseAdmin = (url: string): Promise<ClickHouseStore> =>
  createClickHouseStore({ url, username: 'default', password: '', database: 'default', requestTimeoutMs: 300_000, asyncInsert: false });

/**
 * Waits (up to 60 s) until ClickHouse merges no part of `table`, so their CPU counts for the run
 * that made the parts, and returns how many INSERTs made them: each makes one level-0 part, and a
 * merged one stays listed (inactive) for the server's old_parts_lifetime (8 minutes by default).
 */
export async function mergesSettled(url: string, table: string): Promise<{ inserts: number }> {
  const admin = await openClickHouseAdmin(url);
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const [row] = await admin.query<{ n: number }>(`SELECT count() AS n FROM system.merges WHERE table = '${table}'`);
      if (!row?.n) break;
      await sleep(200);
    }
    const [parts] = await admin.query<{ n: number }>(`SELECT count() AS n FROM system.parts WHERE table = '${table}' AND level = 0`);
    return { inserts: Number(parts?.n ?? 0) };
  } finally {
    await admin.close();
  }
}
