/** `--since`/`--until`: ISO dates/times, or durations before now such as 30m, 12h, 2d, 1w. */
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseTimeBound(value: string, now: number = Date.now()): number | undefined {
  const rel = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(value.trim());
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  // A bare date means midnight UTC, not local time: log times are compared in UTC.
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}
