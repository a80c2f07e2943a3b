import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { referenceTable } from './reference';
import { withReference } from './reference-sections';

test('reference rows carry type, default and description', () => {
  const schema = z.object({
    a: z.string().describe('the a'),
    b: z.number().default(3).describe('the b'),
    c: z.object({ d: z.enum(['x', 'y']).default('x') }).default({}),
  });
  const table = referenceTable(schema);
  assert.match(table, /\| `a` \| string \| \*\*required\*\* \| the a \|/);
  assert.match(table, /\| `b` \| number \| `3` \| the b \|/);
  assert.match(table, /\| `c\.d` \| `x` \\\| `y` \| `"x"` \|/);
});

test('README config reference is generated from the current schemas (run `npm run docs`)', () => {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  assert.equal(withReference(readme), readme);
});
