// What a soak run must show, as named checks: the CI test asserts each one, the long runner
// prints them and exits 1 when one fails.
import { RUN_SOAK_DEDUP_WINDOW_SECONDS, type RunSoakReport } from './run-soak';
import { flatness, series, type FaultResult, type ProcessName, type Sample, type SoakReport } from './soak';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The last third's median RSS may be at most this much above the first third's: max(MB, fraction of it). */
export const RSS_MARGIN_MB = 64;
export const RSS_MARGIN_FRACTION = 0.25;
/** The fraction when the warm-up is left out (flatChecks): what remains should be level. */
export const RSS_MARGIN_FRACTION_AFTER_WARM_UP = 0.1;
/** The last third's median of open descriptors may be at most this many above the first third's. */
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
    checks.push(...catchUpChecks(r.faults, r.options.catchUpTimeoutSeconds));
  }
  checks.push(...flatChecks(r.samples, ['tailer', 'processor'], r.options.seconds));
  const last = r.samples[r.samples.length - 1];
  checks.push({ name: 'consumer lag 0 at the end', ok: last?.consumerLag === 0, detail: `${last?.consumerLag}` });
  return checks;
}

function catchUpChecks(faults: FaultResult[], timeoutSeconds: number): Check[] {
  return faults.map((f) => ({
    name: `lag back to zero after ${f.name}`,
    ok: f.caughtUpAtS !== undefined,
    detail: f.caughtUpAtS === undefined ? `not within ${timeoutSeconds} s` : `${(f.caughtUpAtS - f.backAtS).toFixed(1)} s after it was over`,
  }));
}

/**
 * Below this, flatness is reported but not asserted: in a 2-minute CI run the thirds are warm-up
 * (V8 growing its heap, chDB starting pool threads, each holding /proc files), a kill and its
 * catch-up, not the steady state a leak shows in. The long run (30 minutes) asserts it.
 */
export const FLAT_ASSERTED_FROM_SECONDS = 600;

/**
 * RSS and open fds of each process: the last third's median may not rise above the first third's
 * median + margin. RSS is compared over the samples after `warmUpSeconds`: the time the state the
 * config keeps in memory takes to fill (a dedup window of ids, mapped pages included), during which
 * growth is the design, not a leak. Every sample is still in the curve the report prints.
 */
export function flatChecks(samples: Sample[], procs: ProcessName[], runSeconds: number, warmUpSeconds = 0): Check[] {
  const asserted = runSeconds >= FLAT_ASSERTED_FROM_SECONDS;
  const suffix = asserted ? '' : ` (reported, not asserted under ${FLAT_ASSERTED_FROM_SECONDS / 60} minutes)`;
  const warm = samples.filter((s) => s.atS >= warmUpSeconds);
  const after = warmUpSeconds > 0 ? `, after the ${warmUpSeconds} s warm-up` : '';
  const checks: Check[] = [];
  for (const proc of procs) {
    const rssValues = series(warm, proc, 'rssMb');
    const fdValues = series(samples, proc, 'fds');
    const enough = fdValues.length >= 6 && (rssValues.length >= 6 || !asserted);
    checks.push({ name: `${proc} sampled throughout`, ok: enough, detail: `${fdValues.length} samples, ${rssValues.length}${after || ' in all'}` });
    if (!enough) continue;
    if (rssValues.length >= 2) {
      const first = flatness(rssValues, 0).firstMedian;
      const fraction = warmUpSeconds > 0 ? RSS_MARGIN_FRACTION_AFTER_WARM_UP : RSS_MARGIN_FRACTION;
      const rss = flatness(rssValues, Math.max(RSS_MARGIN_MB, first * fraction));
      checks.push({ name: `${proc} RSS flat${after}${suffix}`, ok: rss.flat || !asserted, detail: `median ${rss.firstMedian} -> ${rss.lastMedian} MB (max ${rss.firstMax} -> ${rss.lastMax})` });
    }
    const fds = flatness(fdValues, FDS_MARGIN);
    checks.push({ name: `${proc} open fds flat${suffix}`, ok: fds.flat || !asserted, detail: `median ${fds.firstMedian} -> ${fds.lastMedian} (max ${fds.firstMax} -> ${fds.lastMax})` });
  }
  return checks;
}

export function runSoakChecks(r: RunSoakReport): Check[] {
  const checks: Check[] = [
    { name: 'drained after the last line (every byte acknowledged)', ok: r.drained, detail: `${r.drainSeconds} s` },
    { name: 'zero missing event_ids in the embedded store', ok: r.missing === 0, detail: `${r.missing} of ${r.eventsWritten} missing` },
    { name: 'nothing in the store that was not written', ok: r.unexpected === 0, detail: `${r.unexpected} unexpected` },
    { name: 'every distinct event stored under its id', ok: r.storedDistinct === r.eventsWritten, detail: `${r.storedDistinct} distinct of ${r.eventsWritten}` },
    { name: 'no bad rows', ok: r.badRows === 0, detail: `${r.badRows}` },
    { name: 'rotations happened', ok: r.rotations >= Math.floor(r.options.seconds / r.options.rotateEverySeconds) - 1, detail: `${r.rotations}` },
    { name: 'run ends cleanly on SIGTERM', ok: r.exit.code === 0 && r.exit.signal === null, detail: JSON.stringify(r.exit) },
  ];
  if (r.options.faults) {
    checks.push({ name: 'run killed once', ok: r.faults.length === 1, detail: `${r.faults.length}` });
    checks.push(...catchUpChecks(r.faults, r.options.catchUpTimeoutSeconds));
  }
  checks.push(...flatChecks(r.samples, ['run'], r.options.seconds, RUN_SOAK_DEDUP_WINDOW_SECONDS));
  return checks;
}
