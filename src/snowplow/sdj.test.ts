import { test } from 'node:test';
import assert from 'node:assert/strict';
import { igluKeyOf, isIgluUri, parseIgluUri } from './sdj';

test('Iglu URIs: valid and invalid, the same answer every time (answers are remembered)', () => {
  for (let round = 0; round < 3; round++) {
    assert.deepEqual(parseIgluUri('iglu:com.acme/click/jsonschema/1-0-2'), { vendor: 'com.acme', name: 'click', format: 'jsonschema', version: '1-0-2' });
    assert.equal(parseIgluUri('iglu:com.acme/click/jsonschema/0-1-0'), undefined);
    assert.equal(isIgluUri('iglu:com.acme/click/jsonschema/1-0-0'), true);
    assert.equal(isIgluUri('iglu:com.acme/click/jsonschema/1-0'), false);
  }
});

test('parseIgluUri hands out a copy: changing it does not change the next answer', () => {
  const uri = 'iglu:com.acme/mutable/jsonschema/1-0-0';
  const first = parseIgluUri(uri)!;
  first.vendor = 'changed';
  assert.equal(parseIgluUri(uri)!.vendor, 'com.acme');
  assert.ok(Object.isFrozen(igluKeyOf(uri)));
});

test('many distinct and very long URIs: answers stay right past the remembered limit', () => {
  for (let k = 0; k < 2000; k++) {
    assert.equal(parseIgluUri(`iglu:com.acme/e${k}/jsonschema/1-0-${k}`)?.name, `e${k}`);
  }
  const long = `iglu:com.acme/${'n'.repeat(5000)}/jsonschema/1-0-0`;
  assert.equal(parseIgluUri(long)?.name.length, 5000);
  assert.equal(parseIgluUri('iglu:com.acme/e7/jsonschema/1-0-7')?.version, '1-0-7');
});
