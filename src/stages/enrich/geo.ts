/**
 * IP lookups (Snowplow `ip_lookups` enrichment): `user_ipaddress` → `geo_*` and `ip_*` fields
 * from MaxMind databases (GeoIP2/GeoLite2 City, GeoIP2 ISP, GeoLite2 ASN, GeoIP2 Domain, GeoIP2
 * Connection-Type), read with the `maxmind` package.
 *
 * ORDERING: this enrichment must run BEFORE IP anonymisation (`anon_ip`, anonymise.ts) and
 * before PII pseudonymisation of `user_ipaddress`: it needs the full address, and an anonymised
 * `1.2.x.x` is not an address any more (it would simply find nothing).
 *
 * Field mapping (Snowplow scala-maxmind-iplookups `IpLocation`):
 *   geo_country      country.iso_code
 *   geo_region       iso_code of the MOST SPECIFIC subdivision (the last one, e.g. WBK for
 *                    West Berkshire under ENG), geo_region_name its English name
 *   geo_city         city.names.en          geo_zipcode  postal.code
 *   geo_latitude/longitude  location.*      geo_timezone location.time_zone
 *   ip_isp, ip_organization  ISP database `isp`, `organization`
 *   ip_domain        Domain database `domain`
 *   ip_netspeed      Connection-Type database `connection_type`
 * and, as Enrich 6.7+ does, an ASN entity in derived_contexts
 * (`iglu:com.snowplowanalytics.snowplow/asn/jsonschema/1-0-1`, {number, organization}) from the
 * ISP database, or from the free GeoLite2 ASN database when no ISP database is configured.
 *
 * Like Snowplow: an address that is not in a database, or not an address at all, is not a
 * failure (the fields stay unset); an IPv4 address with a port (`1.2.3.4:8080`) is looked up
 * without the port; an event whose geo_country is already set is left alone.
 * Not copied: Snowplow writes latitude/longitude 0 when a record has no location; tailplow leaves
 * them unset rather than placing visitors in the Gulf of Guinea.
 */
import { isIP } from 'node:net';
import type * as Maxmind from 'maxmind';
import type { AsnResponse, CityResponse, ConnectionTypeResponse, DomainResponse, IspResponse } from 'maxmind';
import { z } from 'zod';
import { addDerivedContext, type Enrichment, type EnrichableEvent, type EnrichResult, OK, setLimited } from './types';

export const ASN_CONTEXT_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/asn/jsonschema/1-0-1';

/** What the enrichment needs of a MaxMind reader (the `maxmind` Reader has exactly this). */
export interface IpLookup<T> {
  get(ip: string): T | null;
}

/** The opened databases; any subset. Injected so tests and other readers can stand in. */
export interface GeoDatabases {
  city?: IpLookup<CityResponse>;
  isp?: IpLookup<IspResponse>;
  asn?: IpLookup<AsnResponse>;
  domain?: IpLookup<DomainResponse>;
  connectionType?: IpLookup<ConnectionTypeResponse>;
}

const dbPath = (what: string) => z.string().min(1).optional().describe(`Path of the MaxMind ${what} .mmdb file.`);

export const geoConfigSchema = z
  .object({
    type: z.literal('geo').default('geo').describe('Enrichment type: IP lookups (Snowplow ip_lookups). Must run before anon_ip.'),
    enabled: z.boolean().default(true).describe('Look up user_ipaddress in the configured MaxMind databases.'),
    city: dbPath('City (GeoLite2-City or GeoIP2-City)'),
    isp: dbPath('ISP (GeoIP2-ISP; also gives the ASN entity)'),
    asn: dbPath('ASN (GeoLite2-ASN; used for the ASN entity when no ISP database is set)'),
    domain: dbPath('Domain (GeoIP2-Domain)'),
    connectionType: dbPath('Connection-Type (GeoIP2-Connection-Type)'),
    cacheSize: z.number().int().min(0).default(10000).describe('Decoded records kept in memory per database (the maxmind reader\'s LRU cache).'),
  })
  .describe('IP lookups: country, region, city, postcode, coordinates, time zone, ISP/organisation/ASN of the visitor address.');

export type GeoConfig = z.infer<typeof geoConfigSchema>;

/** Opens the configured databases (a missing or corrupt file throws: that is a startup error). */
export async function openGeoDatabases(config: GeoConfig): Promise<GeoDatabases> {
  const opts = { cache: { max: config.cacheSize } };
  const dbs: GeoDatabases = {};
  // Loaded when databases are opened, not when the CLI starts.
  const maxmind = (require('maxmind') as typeof Maxmind).default;
  if (config.city !== undefined) dbs.city = await maxmind.open<CityResponse>(config.city, opts);
  if (config.isp !== undefined) dbs.isp = await maxmind.open<IspResponse>(config.isp, opts);
  if (config.asn !== undefined) dbs.asn = await maxmind.open<AsnResponse>(config.asn, opts);
  if (config.domain !== undefined) dbs.domain = await maxmind.open<DomainResponse>(config.domain, opts);
  if (config.connectionType !== undefined) dbs.connectionType = await maxmind.open<ConnectionTypeResponse>(config.connectionType, opts);
  return dbs;
}

export interface GeoDeps {
  databases: GeoDatabases;
}

const IPV4_WITH_PORT = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):\d+$/;

/** The address to look up, or undefined when the field holds no IP address. */
export function lookupAddress(value: string): string | undefined {
  const withPort = IPV4_WITH_PORT.exec(value);
  const ip = withPort === null ? value : (withPort[1] as string);
  return isIP(ip) === 0 ? undefined : ip;
}

function setIfString(event: EnrichableEvent, field: string, value: string | undefined): EnrichResult | undefined {
  return value === undefined || value === '' ? undefined : setLimited(event, field, value);
}

function applyCity(event: EnrichableEvent, r: CityResponse): EnrichResult | undefined {
  const subdivisions = r.subdivisions;
  const region = subdivisions !== undefined && subdivisions.length > 0 ? subdivisions[subdivisions.length - 1] : undefined;
  const failed =
    setIfString(event, 'geo_country', r.country?.iso_code) ??
    setIfString(event, 'geo_region', region?.iso_code) ??
    setIfString(event, 'geo_city', r.city?.names?.en) ??
    setIfString(event, 'geo_zipcode', r.postal?.code) ??
    setIfString(event, 'geo_region_name', region?.names?.en) ??
    setIfString(event, 'geo_timezone', r.location?.time_zone);
  if (failed !== undefined) return failed;
  const location = r.location;
  if (location !== undefined && typeof location.latitude === 'number' && typeof location.longitude === 'number') {
    event.geo_latitude = location.latitude;
    event.geo_longitude = location.longitude;
  }
  return undefined;
}

function asnContext(number: number | undefined, organization: string | undefined): { schema: string; data: Record<string, unknown> } | undefined {
  if (typeof number !== 'number') return undefined;
  const data: Record<string, unknown> = { number };
  if (organization !== undefined && organization !== '') data.organization = organization;
  return { schema: ASN_CONTEXT_SCHEMA, data };
}

export function createGeoEnrichment(config: GeoConfig, deps: GeoDeps): Enrichment {
  const { city, isp, asn, domain, connectionType } = deps.databases;
  if (!config.enabled || (city ?? isp ?? asn ?? domain ?? connectionType) === undefined) return () => OK;

  return function lookupIp(event: EnrichableEvent) {
    const value = event.user_ipaddress;
    if (typeof value !== 'string' || value === '') return OK;
    // Geo fields set upstream (e.g. by a tracker-side lookup) win, as in Snowplow.
    if (event.geo_country !== undefined && event.geo_country !== null) return OK;
    const ip = lookupAddress(value);
    if (ip === undefined) return OK;

    if (city !== undefined) {
      const record = city.get(ip);
      if (record !== null) {
        const failed = applyCity(event, record);
        if (failed !== undefined) return failed;
      }
    }
    let asnEntity: ReturnType<typeof asnContext>;
    if (isp !== undefined) {
      const record = isp.get(ip);
      if (record !== null) {
        const failed = setIfString(event, 'ip_isp', record.isp) ?? setIfString(event, 'ip_organization', record.organization);
        if (failed !== undefined) return failed;
        asnEntity = asnContext(record.autonomous_system_number, record.autonomous_system_organization);
      }
    }
    if (asnEntity === undefined && asn !== undefined) {
      const record = asn.get(ip);
      if (record !== null) asnEntity = asnContext(record.autonomous_system_number, record.autonomous_system_organization);
    }
    if (asnEntity !== undefined) addDerivedContext(event, asnEntity);
    if (domain !== undefined) {
      const failed = setIfString(event, 'ip_domain', domain.get(ip)?.domain);
      if (failed !== undefined) return failed;
    }
    if (connectionType !== undefined) {
      const failed = setIfString(event, 'ip_netspeed', connectionType.get(ip)?.connection_type);
      if (failed !== undefined) return failed;
    }
    return OK;
  };
}
