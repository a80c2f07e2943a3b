/**
 * Splits a page or referrer URL into Snowplow's six URL columns, the way Enrich does with
 * `java.net.URI` (raw, still percent-encoded path/query/fragment; empty parts are absent;
 * a missing port is 443 for https and 80 otherwise). A hand split is several times faster
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

/** Scheme characters after the first: [a-zA-Z0-9+.-]. */
function isSchemeChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 43 || c === 46 || c === 45;
}

/** 1 to 5 ASCII digits. */
function isPortText(s: string): boolean {
  if (s.length === 0 || s.length > 5) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Returns undefined for strings that are not absolute `scheme://host…` URLs. A hand scan with
 * the exact result of /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#([\s\S]*))?$/
 * (the regex it replaced), about twice as fast.
 */
export function splitUrl(url: string): UrlParts | undefined {
  const n = url.length;
  const c0 = url.charCodeAt(0);
  if (!((c0 >= 97 && c0 <= 122) || (c0 >= 65 && c0 <= 90))) return undefined;
  let i = 1;
  while (i < n && isSchemeChar(url.charCodeAt(i))) i++;
  if (url.charCodeAt(i) !== 58 /* : */ || url.charCodeAt(i + 1) !== 47 /* / */ || url.charCodeAt(i + 2) !== 47) return undefined;
  const scheme = url.slice(0, i);
  const authorityStart = i + 3;
  let k = authorityStart;
  for (; k < n; k++) {
    const c = url.charCodeAt(k);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
  }
  let authority = url.slice(authorityStart, k);
  const pathStart = k;
  for (; k < n; k++) {
    const c = url.charCodeAt(k);
    if (c === 63 || c === 35) break;
  }
  const pathEnd = k;
  let queryStart = -1;
  let queryEnd = -1;
  if (url.charCodeAt(k) === 63) {
    queryStart = k + 1;
    const hash = url.indexOf('#', queryStart);
    queryEnd = hash === -1 ? n : hash;
    k = queryEnd;
  }
  const fragmentStart = url.charCodeAt(k) === 35 ? k + 1 : -1;

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
  if (isPortText(portText)) port = Number(portText);
  const parts: UrlParts = { scheme, host, port };
  if (pathEnd > pathStart) parts.path = url.slice(pathStart, pathEnd);
  if (queryEnd > queryStart) parts.query = url.slice(queryStart, queryEnd);
  if (fragmentStart !== -1 && fragmentStart < n) parts.fragment = url.slice(fragmentStart);
  return parts;
}
