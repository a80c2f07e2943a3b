/**
 * Event fingerprint, computed exactly as Snowplow's event_fingerprint enrichment does
 * (snowplow/enrich `EventFingerprintEnrichment.getEventFingerprint`):
 *
 * 1. take the event's raw tracker parameters (the query-string / payload_data names: `e`, `eid`,
 *    `tv`, `url`, `co`, `cx`, …, with their decoded string values),
 * 2. sort them by parameter name (plain code-unit order, as Scala's `String <`),
 * 3. skip the excluded names,
 * 4. concatenate `name US value US` for each (US = U+001F, the ASCII unit separator),
 * 5. hash the UTF-8 bytes of that string and write it as lowercase hex.
 *
 * Because it needs the raw parameters, the fingerprint can only be computed where they still
 * exist: in the decoder (tracker payload → event). By the time an event reaches the processor
 * from Kafka only canonical fields remain. So this module offers the pure function, a configured
 * `createFingerprinter(config)` over a parameter record, and `createDecoderFingerprint(config)`,
 * which the decoder calls with the raw body and query (no merged copy, no sort per event; see
 * snowplow/fingerprint.ts) and stores in `event_fingerprint`.
 */
import { z } from 'zod';
import { createRawParamsFingerprint, type RawParamsFingerprint } from '../../snowplow/fingerprint';
import { hexDigest } from './hash';

export const FINGERPRINT_ALGORITHMS = ['MD5', 'SHA1', 'SHA256', 'SHA384', 'SHA512'] as const;
export type FingerprintAlgorithm = (typeof FINGERPRINT_ALGORITHMS)[number];

const NODE_HASH: Readonly<Record<FingerprintAlgorithm, string>> = Object.freeze({
  MD5: 'md5',
  SHA1: 'sha1',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
});

/** Snowplow's shipped example config excludes these: they differ between retries of one event. */
export const DEFAULT_EXCLUDED_PARAMETERS: ReadonlyArray<string> = Object.freeze(['cv', 'eid', 'nuid', 'stm']);

export const fingerprintConfigSchema = z
  .object({
    type: z.literal('fingerprint').default('fingerprint').describe('Enrichment type: event_fingerprint (Snowplow event_fingerprint_config).'),
    enabled: z.boolean().default(true).describe('Compute event_fingerprint for every event.'),
    excludeParameters: z
      .array(z.string())
      .default([...DEFAULT_EXCLUDED_PARAMETERS])
      .describe('Raw tracker parameters left out of the hash: values that change when a tracker resends the same event (stm = sent time, eid = event id, cv/nuid = collector-set).'),
    hashAlgorithm: z
      .enum(FINGERPRINT_ALGORITHMS)
      .default('MD5')
      .describe('Hash of the sorted parameters, written as lowercase hex (MD5 = 32 chars, SHA512 = 128).'),
  })
  .describe('Event fingerprint: a hash of the tracker parameters, used with event_id to de-duplicate resent events.');

export type FingerprintConfig = z.infer<typeof fingerprintConfigSchema>;

export interface FingerprintOptions {
  excludeParameters?: ReadonlyArray<string>;
  hashAlgorithm?: FingerprintAlgorithm;
}

const UNIT_SEPARATOR = '\u001f';

/** The exact string Snowplow hashes (exported for tests and for debugging a mismatch). */
export function fingerprintInput(params: Readonly<Record<string, string | undefined>>, exclude: ReadonlyArray<string> | ReadonlySet<string>): string {
  const excluded = exclude instanceof Set ? exclude : new Set(exclude as ReadonlyArray<string>);
  const names = Object.keys(params).sort(compareCodeUnits);
  let out = '';
  for (const name of names) {
    const value = params[name];
    // Snowplow keeps only parameters that have a value (Some(v)); an empty string is a value.
    if (value === undefined || excluded.has(name)) continue;
    out += name + UNIT_SEPARATOR + value + UNIT_SEPARATOR;
  }
  return out;
}

/** Java/Scala String ordering: by UTF-16 code units (also JS's default sort order, made explicit). */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Snowplow's event fingerprint of one event's raw tracker parameters. */
export function eventFingerprint(params: Readonly<Record<string, string | undefined>>, opts: FingerprintOptions = {}): string {
  const exclude = opts.excludeParameters ?? DEFAULT_EXCLUDED_PARAMETERS;
  const algorithm = NODE_HASH[opts.hashAlgorithm ?? 'MD5'];
  return hexDigest(algorithm, fingerprintInput(params, exclude));
}

/**
 * A configured fingerprinter for the decoder: returns the fingerprint of the raw parameters, or
 * undefined when the enrichment is disabled (then `event_fingerprint` stays empty).
 */
export function createFingerprinter(config: FingerprintConfig): (params: Readonly<Record<string, string | undefined>>) => string | undefined {
  if (!config.enabled) return () => undefined;
  const excluded = new Set(config.excludeParameters);
  const algorithm = NODE_HASH[config.hashAlgorithm];
  return (params) => hexDigest(algorithm, fingerprintInput(params, excluded));
}

/** The decoder's fingerprint: same input and hash as `createFingerprinter`; undefined when disabled. */
export function createDecoderFingerprint(config: FingerprintConfig): RawParamsFingerprint | undefined {
  if (!config.enabled) return undefined;
  const algorithm = NODE_HASH[config.hashAlgorithm];
  return createRawParamsFingerprint(config.excludeParameters, (input) => hexDigest(algorithm, input));
}
