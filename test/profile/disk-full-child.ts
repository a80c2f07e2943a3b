/**
 * The embedded profile store on a file system that fills up (run by
 * embedded-disk-full.integration.test.ts, in a process of its own because what it checks is that
 * the process survives). Arguments: the store's directory, and a filler file on the same file
 * system. Prints one JSON line per step; exits 0 when every step went as a store should.
 *
 *   1. a batch is applied;
 *   2. the filler takes all but a few KB of the file system;
 *   3. three batches too big for what is left are refused, each with an error that says so;
 *   4. the filler is removed and the store closed right after the failures (lmdb-js's own close
 *      waits forever then: the process would hang on SIGTERM);
 *   5. reopened, a batch is applied; reopened again, every visitor's counters count the applied
 *      batches only.
 */
import { rmSync, statfsSync, writeFileSync } from 'node:fs';
import { openEmbeddedProfileStore } from '../../src/stages/profile/embedded-store';
import type { ProfileInput } from '../../src/stages/profile/spec';

const [path, filler] = process.argv.slice(2) as [string, string];
const VISITORS = 50;
const opts = { path, prefix: 'full:', ttlSeconds: 0, dedupWindowSeconds: 3600 };
let seq = 0;
const start = Date.parse('2026-11-01T00:00:00Z');

/** `n` page views spread over the visitors, each with a long URL so a batch takes room. */
function batch(n: number): ProfileInput[] {
  const inputs: ProfileInput[] = [];
  for (let i = 0; i < n; i++, seq++) {
    const ts = start + seq * 10;
    inputs.push({
      event_id: `00000000-0000-4000-8000-${seq.toString(16).padStart(12, '0')}`,
      ts,
      domain_userid: `v${seq % VISITORS}`,
      values: { ts: String(ts), type: 'page_view', page_view: '1', page_url: `https://shop.example/${'p'.repeat(400)}/${seq}` },
    });
  }
  return inputs;
}

const say = (step: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(step)}\n`);
const freeBytes = () => {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
};

async function main(): Promise<void> {
  let store = openEmbeddedProfileStore(opts);
  let applied = 0;
  await store.apply(batch(100));
  applied += 100;
  say({ step: 'applied', events: applied });

  writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes() - 8192)));
  say({ step: 'filled', freeBytes: freeBytes() });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await store.apply(batch(2000));
      say({ step: 'refused', ok: false, attempt, message: 'a batch larger than the free space was applied' });
    } catch (err) {
      say({ step: 'refused', ok: true, attempt, message: (err as Error).message });
    }
    // Room for lmdb-js's writer thread to report anything late (an unhandled rejection ends the process here).
    await new Promise((r) => setTimeout(r, 100));
  }

  rmSync(filler);
  const closing = Date.now();
  await store.close();
  say({ step: 'closed', ms: Date.now() - closing });

  store = openEmbeddedProfileStore(opts);
  await store.apply(batch(100));
  applied += 100;
  say({ step: 'applied', events: applied });
  await store.close();

  store = openEmbeddedProfileStore(opts);
  const counts: number[] = [];
  for (let v = 0; v < VISITORS; v++) {
    const profile = store.read(`full:profile:d:v${v}`) as { h?: Record<string, string> } | undefined;
    counts.push(Number(profile?.h?.events ?? 0));
  }
  await store.close();
  say({ step: 'reopened', totalEvents: counts.reduce((a, b) => a + b, 0), expected: applied });
}

main().catch((err: unknown) => {
  say({ step: 'failed', message: String(err) });
  process.exit(1);
});
