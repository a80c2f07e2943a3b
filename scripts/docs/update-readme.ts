/** `npm run docs`: regenerate README's config reference from the schemas. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withReference } from '../../src/config/reference-sections';

const path = join(__dirname, '../../../README.md');
const before = readFileSync(path, 'utf8');
const after = withReference(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'README config reference is up to date' : 'README config reference updated');
