/**
 * PROFILE_RULES applied in JS, for the embedded store and the Redis store's cache (redis-cache.ts).
 * PROFILE_SCRIPT runs the same rules in Lua (redis-store.ts); the contract tests (store-contract.ts)
 * hold them all to the same results.
 */
import { PROFILE_RULES, SNAPSHOT_FIELDS, type ProfileInput, type ProfileRule, type ProfileStatus } from './spec';

/** Updates `profile` (a hash of strings) in place with one event's values. */
export function applyProfileRules(profile: Record<string, string>, values: Record<string, string>, rules: readonly ProfileRule[] = PROFILE_RULES): void {
  for (const rule of rules) {
    const value = rule.kind === 'count' && rule.from === undefined ? '' : values[rule.from as string];
    if (value === undefined) continue;
    const current = profile[rule.field];
    switch (rule.kind) {
      case 'min':
        if (current === undefined || Number(value) < Number(current)) profile[rule.field] = value;
        break;
      case 'max':
        if (current === undefined || Number(value) > Number(current)) profile[rule.field] = value;
        break;
      case 'count':
        profile[rule.field] = String(Number(current ?? 0) + 1);
        break;
      case 'countBy': {
        const field = rule.field + value;
        profile[field] = String(Number(profile[field] ?? 0) + 1);
        break;
      }
      case 'first':
        if (current === undefined) profile[rule.field] = value;
        break;
      case 'last':
        profile[rule.field] = value;
        break;
      case 'countChange':
        if (profile[rule.state] !== value) {
          profile[rule.field] = String(Number(current ?? 0) + 1);
          profile[rule.state] = value;
        }
        break;
    }
  }
}

/**
 * The collector time (epoch ms) below which a profile's remembered ids are out of the
 * de-duplication window: `windowMs` behind its latest event; -Infinity before its first.
 */
export function windowCutoff(h: Readonly<Record<string, string>>, windowMs: number): number {
  return h.last_seen_ms !== undefined ? Number(h.last_seen_ms) - windowMs : -Infinity;
}

/**
 * How one event meets its visitor's profile `h`, for the stores that judge in JS (embedded, and
 * the Redis store's cache): `duplicate` when its id was counted (`seen`: its collector time and
 * snapshot) within the window behind the latest event, `stale` when it is older than that window,
 * else `applied`, and the rules update `h`. PROFILE_SCRIPT makes the same judgement in Lua.
 */
export function countEvent(
  h: Record<string, string>,
  input: ProfileInput,
  seen: readonly [number, string] | undefined,
  windowMs: number,
): { status: Exclude<ProfileStatus, 'anonymous'>; snapshot: string } {
  const cutoff = windowCutoff(h, windowMs);
  // An id older than the window is forgotten, whether or not it has been deleted yet.
  if (seen && seen[0] >= cutoff) return { status: 'duplicate', snapshot: seen[1] };
  if (input.ts < cutoff) return { status: 'stale', snapshot: '' };
  applyProfileRules(h, input.values);
  return { status: 'applied', snapshot: SNAPSHOT_FIELDS.map((f) => h[f] ?? '').join(',') };
}
