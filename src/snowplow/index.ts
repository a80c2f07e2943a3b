/** The Snowplow side of tailplow: tracker protocol -> canonical events, bad rows, output forms. */
export { decodeRecord, decodeLine, firstForwardedIp, SKIP_REASONS } from './decode';
export type { DecodeContext, DecodeOutcome, SkipReason } from './decode';
export type { SnowplowEvent, SelfDescribing, IsoTimestamp } from './event';
export { eventToJson, eventToTsv } from './format';
export { ENRICHED_FIELDS, ENRICHED_FIELD_NAMES, ENRICHED_FIELD_COUNT, FIELD_TYPES, FIELD_MAX_LENGTHS } from './fields';
export type { FieldSpec, FieldType } from './fields';
export { badRowKind, BAD_ROW_VERSIONS, PROCESSOR, genericError } from './badrow';
export type { BadRow, BadRowKind } from './badrow';
export { deterministicEventId, isUuid } from './ids';
export { parseIgluUri } from './sdj';
export type { SchemaKey } from './sdj';
export { TAILPLOW_VERSION, TAILPLOW_ARTIFACT_VERSION } from './version';
