import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deterministicEventId, isUuid } from './ids';

test('generated ids are version-5 UUIDs and stable for the same line, offset and index', () => {
  const a = deterministicEventId('line one', 42, 0);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(deterministicEventId('line one', 42, 0), a);
});

test('another offset, index or line gives another id', () => {
  const a = deterministicEventId('line one', 42, 0);
  assert.notEqual(deterministicEventId('line one', 43, 0), a);
  assert.notEqual(deterministicEventId('line one', 42, 1), a);
  assert.notEqual(deterministicEventId('line two', 42, 0), a);
  assert.notEqual(deterministicEventId('line one', undefined, 0), a);
  // The offset and index are delimited, so "1"+"23" and "12"+"3" do not collide.
  assert.notEqual(deterministicEventId('x', 1, 23), deterministicEventId('x', 12, 3));
});

test('isUuid accepts only canonical 8-4-4-4-12 hex', () => {
  assert.equal(isUuid('4b6c2c57-5f0e-4f3a-9b1c-2f6d0d1e8a10'), true);
  assert.equal(isUuid('4B6C2C57-5F0E-4F3A-9B1C-2F6D0D1E8A10'), true);
  assert.equal(isUuid('4b6c2c575f0e4f3a9b1c2f6d0d1e8a10'), false);
  assert.equal(isUuid('{4b6c2c57-5f0e-4f3a-9b1c-2f6d0d1e8a10}'), false);
  assert.equal(isUuid('4b6c2c57-5f0e-4f3a-9b1c-2f6d0d1e8a1g'), false);
});

test('property: isUuid agrees with the 8-4-4-4-12 hex regex', () => {
  const re = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
  const chars = '0123456789abcdefABCDEFgG-/:@`{ '.split('');
  let seed = 5;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const base = '4b6c2c57-5f0e-4f3a-9b1c-2f6d0d1e8a10';
  for (let k = 0; k < 5000; k++) {
    const s = base.split('');
    const edits = 1 + Math.floor(rand() * 2);
    for (let e = 0; e < edits; e++) s[Math.floor(rand() * s.length)] = chars[Math.floor(rand() * chars.length)]!;
    if (rand() < 0.1) s.pop();
    const candidate = s.join('');
    assert.equal(isUuid(candidate), re.test(candidate), candidate);
  }
});
