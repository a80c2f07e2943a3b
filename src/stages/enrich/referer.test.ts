import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRefererClassifier,
  createRefererEnrichment,
  DEFAULT_REFERER_DATABASE_PATH,
  loadRefererDatabase,
  lookupReferer,
  parseRefererDatabase,
  refererConfigSchema,
} from './referer';

// dist/src/stages/enrich → repository root
const ROOT = join(__dirname, '..', '..', '..', '..');
const database = loadRefererDatabase(DEFAULT_REFERER_DATABASE_PATH);

interface UpstreamCase {
  spec: string;
  uri: string;
  medium: string;
  source: string | null;
  term: string | null;
  known: boolean;
}

const upstream: UpstreamCase[] = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/referer-parser/referer-tests.json'), 'utf8'));

test('the default database path is the shipped data/referer-parser/referers.yml', () => {
  assert.equal(DEFAULT_REFERER_DATABASE_PATH, join(ROOT, 'data', 'referer-parser', 'referers.yml'));
  assert.ok(database.entries.size > 2000, `only ${database.entries.size} entries`);
});

test('all 118 upstream referer-parser test cases pass (medium, source, term)', () => {
  assert.equal(upstream.length, 118);
  const classify = createRefererClassifier(database);
  const failures: string[] = [];
  for (const c of upstream) {
    const got = classify(c.uri, 'www.snowplowanalytics.com');
    const want = { medium: c.medium, source: c.source ?? undefined, term: c.term ?? undefined };
    const have = { medium: got?.medium, source: got?.source, term: got?.term };
    if (JSON.stringify(have) !== JSON.stringify(want)) failures.push(`${c.spec}: want ${JSON.stringify(want)} got ${JSON.stringify(have)}`);
  }
  assert.deepEqual(failures, []);
});

test('internal: same host as the page, configured internal domains (exact and *. wildcard)', () => {
  const classify = createRefererClassifier(database, [' blog.example.com ', '*.example.org']);
  assert.deepEqual(classify('https://www.example.com/a?q=1', 'www.example.com'), { medium: 'internal' });
  assert.deepEqual(classify('https://WWW.Example.com/a', 'www.example.com'), { medium: 'internal' });
  assert.deepEqual(classify('https://blog.example.com/post', 'www.example.com'), { medium: 'internal' });
  assert.deepEqual(classify('https://shop.example.org/', 'www.example.com'), { medium: 'internal' });
  assert.deepEqual(classify('https://example.org/', 'www.example.com'), { medium: 'internal' });
  // Exact entries do not match subdomains (Snowplow compares hosts for equality).
  assert.deepEqual(classify('https://x.blog.example.com/', 'www.example.com'), { medium: 'unknown' });
  // The page host wins over the database: Google linking to a page on google.com is internal.
  assert.deepEqual(classify('https://www.google.com/search?q=x', 'www.google.com'), { medium: 'internal' });
});

test('unknown: hosts not in the database and hosts of the database unknown section have no source', () => {
  const classify = createRefererClassifier(database);
  assert.deepEqual(classify('https://some-blog.example.net/post/1', 'www.example.com'), { medium: 'unknown' });
  assert.deepEqual(classify('https://support.google.com/answer/1', 'www.example.com'), { medium: 'unknown' });
});

test('not classified: non-web schemes, relative and malformed referers', () => {
  const classify = createRefererClassifier(database);
  assert.equal(classify('ftp://www.google.com/search?q=x', 'a.com'), undefined);
  assert.equal(classify('/relative/path', 'a.com'), undefined);
  assert.equal(classify('not a url', 'a.com'), undefined);
  assert.deepEqual(classify('android-app://com.google.android.gm/', 'a.com'), { medium: 'email', source: 'Gmail' });
});

test('lookup order: full path, first segment, bare host; subdomains walked up', () => {
  assert.equal(lookupReferer(database, 'www.google.fr', '/imgres')?.source, 'Google Images');
  assert.equal(lookupReferer(database, 'images.google.fr', '/x')?.source, lookupReferer(database, 'images.google.fr', undefined)?.source);
  // Only the full path and the first segment are tried, as upstream: bing.com/images/search is
  // an entry, but /images/search/more falls back to the bare host.
  assert.equal(lookupReferer(database, 'www.bing.com', '/images/search')?.source, 'Bing Images');
  assert.equal(lookupReferer(database, 'www.bing.com', '/images/search/more')?.source, 'Bing');
  assert.equal(lookupReferer(database, 'a.b.c.www.google.com', '/')?.source, 'Google');
  assert.equal(lookupReferer(database, 'nothing-here.invalid', '/a/b'), undefined);
});

test('search terms: first matching parameter in query order, form-decoded, control chars cleaned, empty is none', () => {
  const classify = createRefererClassifier(database);
  assert.equal(classify('https://www.google.com/search?q=caf%C3%A9+cr%C3%A8me&hl=en', 'a.com')?.term, 'café crème');
  assert.equal(classify('https://www.google.com/search?q=a%09b%0Ac', 'a.com')?.term, 'a    bc');
  assert.equal(classify('https://www.google.com/search?q=&hl=en', 'a.com')?.term, undefined);
  assert.equal(classify('https://www.google.com/search?hl=en', 'a.com')?.term, undefined);
  assert.equal(classify('https://www.google.com/search?q=%zz', 'a.com')?.term, undefined);
});

test('the enrichment sets refr_medium/source/term in place, skips events without page_referrer', () => {
  const enrich = createRefererEnrichment(refererConfigSchema.parse({ internalDomains: ['login.example.com'] }), { database });
  const search: Record<string, unknown> = { page_url: 'https://www.example.com/p', page_urlhost: 'www.example.com', page_referrer: 'https://www.google.co.uk/search?q=snowplow+nginx' };
  assert.deepEqual(enrich(search), { kind: 'ok' });
  assert.equal(search.refr_medium, 'search');
  assert.equal(search.refr_source, 'Google');
  assert.equal(search.refr_term, 'snowplow nginx');
  const social: Record<string, unknown> = { page_urlhost: 'www.example.com', page_referrer: 'https://t.co/abc' };
  enrich(social);
  assert.deepEqual([social.refr_medium, social.refr_source, social.refr_term], ['social', 'Twitter', undefined]);
  const internal: Record<string, unknown> = { page_url: 'https://www.example.com/p', page_referrer: 'https://www.example.com/' };
  enrich(internal);
  assert.equal(internal.refr_medium, 'internal');
  const login: Record<string, unknown> = { page_urlhost: 'www.example.com', page_referrer: 'https://login.example.com/' };
  enrich(login);
  assert.equal(login.refr_medium, 'internal');
  const none: Record<string, unknown> = { page_urlhost: 'www.example.com' };
  enrich(none);
  assert.equal('refr_medium' in none, false);
});

test('a search term longer than Snowplow\'s refr_term limit (255) is a field_too_long bad result', () => {
  const enrich = createRefererEnrichment(refererConfigSchema.parse({}), { database });
  const result = enrich({ page_urlhost: 'a.com', page_referrer: `https://www.google.com/search?q=${'x'.repeat(256)}` });
  assert.equal(result.kind, 'bad');
  assert.equal(result.kind === 'bad' ? result.reason : '', 'field_too_long');
});

test('database loader rejects malformed files; disabled enrichment leaves events untouched', () => {
  assert.throws(() => parseRefererDatabase('weird:\n  X:\n    domains: [a.com]\n'), /unknown medium/);
  assert.throws(() => parseRefererDatabase('search:\n  X:\n    parameters: [q]\n'), /no domains/);
  const small = parseRefererDatabase('search:\n  Finder:\n    parameters: [find]\n    domains: [finder.test]\n');
  assert.deepEqual(createRefererClassifier(small)('http://www.finder.test/?find=it', 'a.com'), { medium: 'search', source: 'Finder', term: 'it' });
  const off = createRefererEnrichment(refererConfigSchema.parse({ enabled: false }), { database });
  const event: Record<string, unknown> = { page_referrer: 'https://www.google.com/' };
  off(event);
  assert.equal('refr_medium' in event, false);
});
