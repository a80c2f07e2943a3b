/**
 * The request line (`$request`) and request target (`$request_uri`) as clients send them.
 * Nothing here percent-decodes: path and query stay exactly as received.
 */

export interface RequestTarget {
  path: string;
  /** Without the '?'; undefined when the target had no query or an empty one. */
  queryString?: string;
}

export interface RequestLine extends RequestTarget {
  method: string;
  /** `HTTP/1.1` etc.; undefined for an HTTP/0.9-style line without one. */
  protocol?: string;
}

/** Methods are HTTP tokens; nginx itself accepts only upper-case letters, '_' and '-'. */
function isMethod(s: string, end: number): boolean {
  if (end < 1 || end > 32) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const upper = c >= 65 && c <= 90;
    const lower = c >= 97 && c <= 122;
    if (!upper && !lower && c !== 95 && c !== 45) return false;
  }
  return true;
}

/** Length of `scheme://` at the start of s, or 0. */
function schemePrefixLength(s: string): number {
  const colon = s.indexOf('://');
  if (colon < 1 || colon > 16) return 0;
  for (let i = 0; i < colon; i++) {
    const c = s.charCodeAt(i);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alpha && !(i > 0 && ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46))) return 0;
  }
  return colon + 3;
}

/**
 * Splits a request target into path and query. Accepts origin form (`/i?e=pv`), absolute form
 * (`http://host/i?e=pv`, sent to proxies) and `*`. Anything else is not a request target.
 */
export function parseRequestTarget(target: string): RequestTarget | undefined {
  let pathStart = 0;
  const first = target.charCodeAt(0);
  if (first !== 47 && first !== 42) { // '/' '*'
    const prefix = schemePrefixLength(target);
    if (prefix === 0) return undefined;
    const slash = target.indexOf('/', prefix);
    const question = target.indexOf('?', prefix);
    if (slash < 0 || (question >= 0 && question < slash)) {
      // `http://host` or `http://host?q`: the path is '/'.
      return question < 0 ? { path: '/' } : withQuery('/', target.slice(question + 1));
    }
    pathStart = slash;
  }
  const question = target.indexOf('?', pathStart);
  if (question < 0) return { path: pathStart === 0 ? target : target.slice(pathStart) };
  return withQuery(target.slice(pathStart, question), target.slice(question + 1));
}

function withQuery(path: string, query: string): RequestTarget {
  return query === '' ? { path } : { path, queryString: query };
}

/**
 * Parses `GET /i?e=pv HTTP/1.1`. Returns undefined for anything that is not a request line,
 * e.g. the TLS handshake bytes nginx logs when HTTPS is spoken to a plain-HTTP port.
 */
export function parseRequestLine(line: string): RequestLine | undefined {
  const space = line.indexOf(' ');
  if (!isMethod(line, space)) return undefined;
  const last = line.lastIndexOf(' ');
  let targetEnd = line.length;
  let protocol: string | undefined;
  if (last > space && line.startsWith('HTTP/', last + 1)) {
    targetEnd = last;
    protocol = line.slice(last + 1);
  }
  const target = parseRequestTarget(line.slice(space + 1, targetEnd));
  if (target === undefined) return undefined;
  const request: RequestLine = { method: line.slice(0, space), path: target.path };
  if (target.queryString !== undefined) request.queryString = target.queryString;
  if (protocol !== undefined) request.protocol = protocol;
  return request;
}
