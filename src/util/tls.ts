/**
 * TLS pieces every client connection shares (Kafka, Redis, ClickHouse, Elasticsearch): reading
 * the PEM files a config names, and telling a certificate problem (fix the config) from a
 * network problem (retry).
 */
import { readFileSync } from 'node:fs';

/** Reads a PEM file named in the config; the error names the field and never the file's content. */
export function readPem(field: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${field}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/**
 * Node's codes for a peer certificate that failed verification. Retrying cannot help (the CA,
 * the certificate or the name must be fixed), so these errors stop a command instead of looping.
 */
const TLS_VERIFICATION_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  // The broker refused our certificate (none sent, or not signed by the CA it trusts).
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
]);

/** The messages of those errors, for clients that keep only the message (the Elasticsearch transport). */
const TLS_VERIFICATION_MESSAGE =
  /unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate|certificate has expired|certificate is not yet valid|does not match certificate's altnames|alert certificate required|alert bad certificate|alert unknown ca/i;

/** True when `err` (or an error it wraps) is a failed TLS certificate verification, ours or the peer's. */
export function isTlsVerificationError(err: unknown): boolean {
  let e = err as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && TLS_VERIFICATION_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && TLS_VERIFICATION_MESSAGE.test(e.message)) return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}
