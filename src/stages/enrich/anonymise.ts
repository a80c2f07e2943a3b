/**
 * Privacy enrichments: IP anonymisation (Snowplow `anon_ip`) and PII pseudonymisation (Snowplow
 * `pii_enrichment_config`, scalar fields only).
 *
 * Ordering: IP anonymisation must run **after** the geo enrichment (geo needs the full address)
 * and pseudonymisation **last**, after every enrichment that reads a field it hashes — the same
 * order as Snowplow Enrich.
 *
 * IP anonymisation output is Snowplow's: the masked part is replaced by `x`, not zeroed, so an
 * anonymised address can never be mistaken for a real one:
 *   IPv4  `94.15.223.151`, 2 octets   → `94.15.x.x`
 *   IPv6  `2605:2700:0:3::4713:93e3`, 4 segments → `2605:2700:0:3:x:x:x:x`
 * IPv6 is first written out in full, lowercase, without leading zeros (Java's
 * `Inet6Address.getHostAddress`, which Snowplow uses), so `4b0c::880c:99a8:4b0:4411` with 2
 * segments becomes `4b0c:0:0:0:880c:99a8:x:x`. IPv4-mapped addresses (`::ffff:1.2.3.4`) keep their
 * prefix and have their IPv4 part masked. Strings that are not addresses are masked the way
 * Snowplow masks them (split on `.` or `:`), so the output matches Snowplow byte for byte.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { hexDigest } from './hash';
import { type Enrichment, type EnrichableEvent, OK } from './types';

// ---------------------------------------------------------------------------------------------
// IP anonymisation

export const ipAnonymisationConfigSchema = z
  .object({
    type: z.literal('anon_ip').default('anon_ip').describe('Enrichment type: IP anonymisation (Snowplow anon_ip).'),
    enabled: z.boolean().default(true).describe('Mask the end of user_ipaddress. Runs after geo, which needs the full address.'),
    anonOctets: z.number().int().min(1).max(4).default(1).describe('IPv4: how many octets to replace with x, counted from the right (1-4).'),
    anonSegments: z
      .number()
      .int()
      .min(1)
      .max(8)
      .optional()
      .describe('IPv6: how many of the 8 segments to replace with x, from the right (1-8). Default: same as anonOctets, as in Snowplow.'),
  })
  .describe('IP anonymisation: replaces the last octets (IPv4) or segments (IPv6) of user_ipaddress with x.');

export type IpAnonymisationConfig = z.infer<typeof ipAnonymisationConfigSchema>;

const MASK = 'x';
const MAPPED_PREFIX = /^::ffff:/i;

/** Java's String.split(literal): no match → [s]; trailing empty strings are removed. */
function javaSplit(s: string, separator: string): string[] {
  if (s.indexOf(separator) === -1) return [s];
  const parts = s.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function maskIpv4(ip: string, octets: number): string {
  const parts = javaSplit(ip, '.');
  const out = parts.slice(0, 4 - octets);
  while (out.length < parts.length) out.push(MASK);
  return out.join('.');
}

function maskIpv6Segments(segments: string[], count: number): string {
  const out = segments.slice(0, 8 - count);
  while (out.length < 8) out.push(MASK);
  return out.join(':');
}

/** The 8 segments of a valid IPv6 address in Java's getHostAddress form (lowercase, no leading zeros). */
function ipv6Segments(ip: string): string[] {
  let address = ip;
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  const lastColon = address.lastIndexOf(':');
  const tail = address.slice(lastColon + 1);
  if (tail.indexOf('.') !== -1) {
    const o = tail.split('.').map(Number) as [number, number, number, number];
    address = `${address.slice(0, lastColon + 1)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const doubleColon = address.indexOf('::');
  let groups: string[];
  if (doubleColon === -1) {
    groups = address.split(':');
  } else {
    const head = address.slice(0, doubleColon);
    const rest = address.slice(doubleColon + 2);
    const headGroups = head === '' ? [] : head.split(':');
    const restGroups = rest === '' ? [] : rest.split(':');
    const zeros = new Array<string>(8 - headGroups.length - restGroups.length).fill('0');
    groups = [...headGroups, ...zeros, ...restGroups];
  }
  return groups.map((g) => parseInt(g, 16).toString(16));
}

/** Snowplow's anon_ip of one address string (see the module comment for the exact forms). */
export function anonymiseIp(ip: string, anonOctets: number, anonSegments: number = anonOctets): string {
  if (isIPv4(ip)) return maskIpv4(ip, anonOctets);
  if (isIPv6(ip)) {
    const mapped = MAPPED_PREFIX.exec(ip);
    if (mapped !== null && isIPv4(ip.slice(mapped[0].length))) {
      return mapped[0] + maskIpv4(ip.slice(mapped[0].length), anonOctets);
    }
    return maskIpv6Segments(ipv6Segments(ip), anonSegments);
  }
  if (ip.indexOf('.') !== -1 || ip === '') return maskIpv4(ip, anonOctets);
  if (ip.indexOf(':') !== -1) return maskIpv6Segments(javaSplit(ip, ':'), anonSegments);
  return ip;
}

export function createIpAnonymisationEnrichment(config: IpAnonymisationConfig): Enrichment {
  const octets = config.anonOctets;
  const segments = config.anonSegments ?? config.anonOctets;
  if (!config.enabled) return () => OK;
  return function anonymiseIpAddress(event: EnrichableEvent) {
    const ip = event.user_ipaddress;
    if (typeof ip === 'string' && ip !== '') event.user_ipaddress = anonymiseIp(ip, octets, segments);
    return OK;
  };
}

// ---------------------------------------------------------------------------------------------
// PII pseudonymisation

/** The scalar fields Snowplow's PII enrichment can pseudonymise (its ScalarMutators list). */
export const PII_FIELDS = [
  'user_id', 'user_ipaddress', 'user_fingerprint', 'domain_userid', 'network_userid',
  'ip_organization', 'ip_domain', 'tr_orderid', 'ti_orderid', 'mkt_term', 'mkt_content',
  'se_category', 'se_action', 'se_label', 'se_property', 'mkt_clickid', 'refr_domain_userid',
  'domain_sessionid',
] as const;
export type PiiField = (typeof PII_FIELDS)[number];

export const PII_HASH_FUNCTIONS = ['MD5', 'SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'] as const;
export type PiiHashFunction = (typeof PII_HASH_FUNCTIONS)[number];

const NODE_HASH: Readonly<Record<PiiHashFunction, string>> = Object.freeze({
  MD5: 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512',
});

export const pseudonymisationConfigSchema = z
  .object({
    type: z.literal('pii').default('pii').describe('Enrichment type: PII pseudonymisation (Snowplow pii_enrichment_config, scalar fields).'),
    enabled: z.boolean().default(true).describe('Replace the chosen fields by salted hashes. Runs last, after every enrichment that reads them.'),
    fields: z
      .array(z.enum(PII_FIELDS))
      .default(['user_id', 'user_ipaddress', 'user_fingerprint', 'network_userid'])
      .describe(`Canonical fields to pseudonymise. Allowed: ${PII_FIELDS.join(', ')}.`),
    hashFunction: z.enum(PII_HASH_FUNCTIONS).default('SHA-256').describe('Hash function, Snowplow names; the value becomes lowercase hex of hash(value + salt).'),
    salt: z
      .string()
      .default('')
      .describe('Secret appended to each value before hashing. Give it through the environment, e.g. salt: ${TAILPLOW_PII_SALT}. Changing it changes every pseudonym.'),
  })
  .superRefine((c, ctx) => {
    if (c.enabled && c.salt === '') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['salt'], message: 'a non-empty salt is required when PII pseudonymisation is enabled (an unsalted hash of an IP or id is easy to reverse)' });
    }
  })
  .describe('PII pseudonymisation: salted hashes of personal fields; equal inputs still give equal pseudonyms, so counting visitors keeps working.');

export type PseudonymisationConfig = z.infer<typeof pseudonymisationConfigSchema>;

/** Snowplow's pseudonym: lowercase hex of hash(UTF-8(value + salt)). */
export function pseudonymise(value: string, salt: string, hashFunction: PiiHashFunction = 'SHA-256'): string {
  return hexDigest(NODE_HASH[hashFunction], value + salt);
}

export function createPseudonymisationEnrichment(config: PseudonymisationConfig): Enrichment {
  if (!config.enabled || config.fields.length === 0) return () => OK;
  const fields = [...new Set(config.fields)];
  const algorithm = NODE_HASH[config.hashFunction];
  const salt = config.salt;
  return function pseudonymiseFields(event: EnrichableEvent) {
    for (const field of fields) {
      const value = event[field];
      // Snowplow hashes every non-null value, the empty string included.
      if (typeof value === 'string') event[field] = hexDigest(algorithm, value + salt);
    }
    return OK;
  };
}
