import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createPathMatcher, expandPaths, globToRegExp } from './glob';
import { makeTempDir } from './testing';

test('glob syntax', () => {
  const cases: [string, string, boolean][] = [
    ['/l/*.log', '/l/a.log', true],
    ['/l/*.log', '/l/sub/a.log', false],
    ['/l/access.log*', '/l/access.log.1.gz', true],
    ['/l/?.log', '/l/ab.log', false],
    ['/l/**/*.log', '/l/a.log', true],
    ['/l/**/*.log', '/l/x/y/a.log', true],
    ['/l/[ab].log', '/l/b.log', true],
    ['/l/[!ab].log', '/l/b.log', false],
    ['/l/{access,error}.log', '/l/error.log', true],
    ['/l/{access,error}.log', '/l/other.log', false],
    ['/l/a+b(1).log', '/l/a+b(1).log', true],
  ];
  for (const [pattern, path, expected] of cases) assert.equal(globToRegExp(pattern).test(path), expected, `${pattern} vs ${path}`);
});

test('expands patterns into files, with excludes by name or by path', async (t) => {
  const dir = makeTempDir(t);
  mkdirSync(join(dir, 'nginx/old'), { recursive: true });
  for (const name of ['nginx/access.log', 'nginx/access.log.1', 'nginx/access.log.2.gz', 'nginx/error.log', 'nginx/old/access.log']) writeFileSync(join(dir, name), 'x\n');
  symlinkSync(join(dir, 'nginx/error.log'), join(dir, 'nginx/linked.log'));
  const files = await expandPaths(createPathMatcher([`${dir}/nginx/*.log*`], ['*.gz', `${dir}/nginx/error.*`]));
  assert.deepEqual(files, ['access.log', 'access.log.1', 'linked.log'].map((n) => join(dir, 'nginx', n)));
  const deep = await expandPaths(createPathMatcher([`${dir}/**/access.log`]));
  assert.deepEqual(deep, [join(dir, 'nginx/access.log'), join(dir, 'nginx/old/access.log')]);
  const plain = createPathMatcher([`${dir}/nginx/access.log`]);
  assert.deepEqual(plain.roots, [{ dir: join(dir, 'nginx'), maxDepth: 1 }]);
  assert.deepEqual(await expandPaths(plain), [join(dir, 'nginx/access.log')]);
});
