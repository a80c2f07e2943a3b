import { createHash } from 'node:crypto';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Snowplow accepts only canonical 8-4-4-4-12 hex UUIDs (and stores them lower-cased). */
export function isUuid(s: string): boolean {
  return s.length === 36 && UUID_RE.test(s);
}

/** Fixed namespace for tailplow's name-based event ids (a random v4 chosen once). */
const TAILPLOW_NAMESPACE = Buffer.from('6f1b8e0c2d4a4c7e9b3f5a1d7c9e2b40', 'hex');

/**
 * A name-based (version 5, SHA-1) UUID for a hit that carries no `eid`. The name is the raw log
 * line, its byte offset and the event's index within the line, so replaying the same file gives
 * the same ids (storage can de-duplicate) while the same line at another offset, or two events
 * of one POST, get different ids.
 */
export function deterministicEventId(line: string, offset: number | undefined, index: number): string {
  const digest = createHash('sha1')
    .update(TAILPLOW_NAMESPACE)
    .update(`${offset === undefined ? '' : offset}:${index}:`)
    .update(line)
    .digest();
  digest[6] = ((digest[6] as number) & 0x0f) | 0x50;
  digest[8] = ((digest[8] as number) & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
