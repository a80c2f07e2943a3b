/**
 * PROFILE_RULES applied in JS, for the embedded store. The Redis store runs the same rules in Lua
 * (redis-store.ts); the contract tests (store-contract.ts) hold the two to the same results.
 */
import { PROFILE_RULES, type ProfileRule } from './spec';

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
