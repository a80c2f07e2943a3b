// What a soak run must show, as named checks: the CI test asserts each one, the long runner
// prints them and exits 1 when one fails.
import { flatness, series, type SoakReport } from './soak';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** RSS may end at most this much above the first third's max: max(MB, fraction of it). */
export const RSS_MARGIN_MB = 64;
export const RSS_MARGIN_FRACTION = 0.25;
/** Open descriptors may end at most this many above the first third's max. */
export const FDS_MARGIN = 16;
/** The tailer re-sends at most what it had read but not saved as acknowledged when killed. */
export const TAILER_DUPLICATES_FRACTION = 0.05;

export function soakChecks(r: SoakReport): Check[] {
  const checks: Check[] = [
    { name: 'drained after the last line (lag 0, every line acknowledged)', ok: r.drained, detail: `${r.drainSeconds} s` },
    { name: 'zero missing event_ids in ClickHouse', ok: r.missing === 0, detail: `${r.missing} of ${r.eventsWritten} missing` },
    { name: 'nothing in ClickHouse that was not written', ok: r.unexpected === 0, detail: `${r.unexpected} unexpected` },
    { name: 'every distinct event stored once under its id', ok: r.storedDistinct === r.eventsWritten, detail: `${r.storedDistinct} distinct of ${r.eventsWritten}` },
    { name: 'no bad rows', ok: r.badMessages === 0, detail: `${r.badMessages} bad rows` },
    {
      name: 'tailer duplicates bounded',
      ok: r.tailerDuplicates >= 0 && r.tailerDuplicates <= r.eventsWritten * TAILER_DUPLICATES_FRACTION,
      detail: `${r.tailerDuplicates} (bound ${Math.floor(r.eventsWritten * TAILER_DUPLICATES_FRACTION)})`,
    },
    { name: 'rotations happened', ok: r.rotations >= Math.floor(r.options.seconds / r.options.rotateEverySeconds) - 1, detail: `${r.rotations}` },
  ];
  if (r.options.faults) {
    checks.push({ name: 'five faults inflicted', ok: r.faults.length === 5, detail: r.faults.map((f) => f.name).join(', ') });
    for (const f of r.faults) {
      checks.push({
        name: `lag back to zero after ${f.name}`,
        ok: f.caughtUpAtS !== undefined,
        detail: f.caughtUpAtS === undefined ? `not within ${r.options.catchUpTimeoutSeconds} s` : `${(f.caughtUpAtS - f.backAtS).toFixed(1)} s after it was over`,
      });
    }
  }
  for (const proc of ['tailer', 'processor'] as const) {
    const rssValues = series(r.samples, proc, 'rssMb');
    const fdValues = series(r.samples, proc, 'fds');
    const enough = rssValues.length >= 6;
    checks.push({ name: `${proc} sampled throughout`, ok: enough, detail: `${rssValues.length} samples` });
    if (!enough) continue;
    const first = flatness(rssValues, 0).firstMax;
    const rss = flatness(rssValues, Math.max(RSS_MARGIN_MB, first * RSS_MARGIN_FRACTION));
    const fds = flatness(fdValues, FDS_MARGIN);
    checks.push({ name: `${proc} RSS flat`, ok: rss.flat, detail: `first third max ${rss.firstMax} MB, last third max ${rss.lastMax} MB` });
    checks.push({ name: `${proc} open fds flat`, ok: fds.flat, detail: `first third max ${fds.firstMax}, last third max ${fds.lastMax}` });
  }
  const last = r.samples[r.samples.length - 1];
  checks.push({ name: 'consumer lag 0 at the end', ok: last?.consumerLag === 0, detail: `${last?.consumerLag}` });
  return checks;
}
