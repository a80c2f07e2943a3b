// Child process for the CLI tests: writes the dashboard fixture into <dir>/clickhouse (chDB lets one
// process hold a data directory, so the test process itself must not open it), and with --hold
// keeps the store open, printing "holding", until SIGTERM.
import { join } from 'node:path';
import { createChdbStore } from '../../src/storage/chdb-store';
import { openEventTable } from '../../src/storage/event-table';
import { dashboardEvents } from './fixture';

async function main(): Promise<void> {
  const [dir, ...flags] = process.argv.slice(2);
  if (!dir) throw new Error('usage: seed-store DIR [--hold] [--seed N]');
  const seedAt = flags.indexOf('--seed');
  const store = await createChdbStore(join(dir, 'clickhouse'));
  const writer = await openEventTable(store, { table: 'events' });
  const { failed } = await writer.write(dashboardEvents(seedAt === -1 ? 42 : Number(flags[seedAt + 1])));
  if (failed.length) throw new Error(`${failed.length} events not stored`);
  if (flags.includes('--hold')) {
    process.stdout.write('holding\n');
    // A signal listener alone does not keep Node running: the timer does.
    const alive = setInterval(() => {}, 60_000);
    await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
    clearInterval(alive);
  }
  await store.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
