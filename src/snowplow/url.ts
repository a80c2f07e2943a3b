/**
 * Splits a page or referrer URL into Snowplow's six URL columns, the way Enrich does with
 * `java.net.URI` (raw, still percent-encoded path/query/fragment; empty parts are absent;
 * a missing port is 443 for https and 80 otherwise). A regex split is several times faster
 * than WHATWG `new URL` here and, unlike it, keeps the raw encoding Snowplow keeps.
 */
export interface UrlParts {
  scheme: string;
  host: string;
  port: number;
  path?: string;
  query?: string;
  fragment?: string;
}

const URL_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#([\s\S]*))?$/;

/** Returns undefined for strings that are not absolute `scheme://host…` URLs. */
export function splitUrl(url: string): UrlParts | undefined {
  const m = URL_RE.exec(url);
  if (m === null) return undefined;
  const scheme = m[1] as string;
  let authority = m[2] as string;
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  let host = authority;
  let portText = '';
  if (authority.charCodeAt(0) === 91 /* [ */) {
    const close = authority.indexOf(']');
    if (close !== -1) {
      host = authority.slice(0, close + 1);
      if (authority.charCodeAt(close + 1) === 58 /* : */) portText = authority.slice(close + 2);
    }
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon !== -1) {
      host = authority.slice(0, colon);
      portText = authority.slice(colon + 1);
    }
  }
  if (host === '') return undefined;
  const lowerScheme = scheme.toLowerCase();
  let port = lowerScheme === 'https' ? 443 : 80;
  if (portText !== '' && /^\d{1,5}$/.test(portText)) port = Number(portText);
  const parts: UrlParts = { scheme, host, port };
  if (m[3]) parts.path = m[3];
  if (m[4]) parts.query = m[4];
  if (m[5]) parts.fragment = m[5];
  return parts;
}
