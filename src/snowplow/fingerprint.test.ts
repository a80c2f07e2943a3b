import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../../bench/lib/generate';
import { fingerprintInput } from '../stages/enrich/fingerprint';
import { FingerprintInputs } from './fingerprint';

const NAMES = ['e', 'eid', 'stm', 'tv', 'aid', 'p', 'url', 'cx', 'B', 'b', 'a', '10', '2', 'Z_', 'é', 'ue_px', 'nuid'];

/** The reference: merge body then query into one object, as Snowplow's raw parameters are. */
function reference(body: Record<string, string> | undefined, query: Array<[string, string]>, exclude: string[]): string {
  const merged: Record<string, string> = { ...body };
  for (const [name, value] of query) merged[name] = value;
  return fingerprintInput(merged, exclude);
}

test('fingerprint input equals fingerprintInput of the merged parameters, for cached and new layouts', () => {
  const rand = prng(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const exclude = ['cv', 'eid', 'nuid', 'stm'];
  const inputs = new FingerprintInputs(new Set(exclude));
  const layouts: string[][] = Array.from({ length: 6 }, () => Array.from({ length: 1 + Math.floor(rand() * 8) }, () => pick(NAMES)));
  let checked = 0;
  for (let round = 0; round < 3000; round++) {
    const names = rand() < 0.8 ? pick(layouts) : Array.from({ length: Math.floor(rand() * 6) }, () => pick(NAMES));
    const value = () => pick(['', 'x', '1', 'a\u001fb', String(round)]);
    const kind = rand();
    let body: Record<string, string> | undefined;
    const query: Array<[string, string]> = [];
    if (kind < 0.4) {
      body = {};
      for (const n of names) body[n] = value();
    } else {
      for (const n of names) query.push([n, value()]); // may repeat a name: the last one wins
    }
    if (kind > 0.2 && kind < 0.5 && body !== undefined) query.push([pick(NAMES), value()]);
    assert.equal(inputs.of(body, query), reference(body, query, exclude), JSON.stringify({ body, query }));
    checked++;
  }
  assert.equal(checked, 3000);
});

test('the layout cache stays bounded and correct past its size', () => {
  const inputs = new FingerprintInputs(new Set());
  for (let k = 0; k < 500; k++) {
    const query: Array<[string, string]> = [[`n${k}`, 'v'], ['a', String(k)]];
    assert.equal(inputs.of(undefined, query), reference(undefined, query, []));
  }
  assert.equal(inputs.of({ z: '1', y: '2' }, []), 'y\u001f2\u001fz\u001f1\u001f');
});
