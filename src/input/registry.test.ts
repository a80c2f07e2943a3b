import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadRegistry, loadRegistryState, RegistryCorruptError, registryPath, saveRegistry } from './registry';
import { makeTempDir } from './testing';

test('saves atomically and loads back; a missing registry is empty', async (t) => {
  const dir = join(makeTempDir(t), 'data');
  assert.deepEqual(await loadRegistry(dir), {});
  const entries = { abc: { path: '/var/log/a.log', offset: 42, dev: '1', ino: '2', size: 50, updatedAt: 1000 } };
  await saveRegistry(dir, entries);
  await saveRegistry(dir, { ...entries, def: { ...entries.abc, offset: 7, removedAt: 2000 } });
  assert.deepEqual(await loadRegistry(dir), { ...entries, def: { ...entries.abc, offset: 7, removedAt: 2000 } });
  assert.deepEqual(readdirSync(dir), ['input-registry.json'], 'no temp file left behind');
});

test('the time of the save comes back with the entries; a registry saved without it loads without it', async (t) => {
  const dir = join(makeTempDir(t), 'data');
  const entries = { abc: { path: '/var/log/a.log', offset: 42, dev: '1', ino: '2', size: 50, updatedAt: 1000 } };
  await saveRegistry(dir, entries, 1_765_000_000_000);
  assert.deepEqual(await loadRegistryState(dir), { entries, savedAt: 1_765_000_000_000 });
  await saveRegistry(dir, entries);
  assert.deepEqual(await loadRegistryState(dir), { entries });
});

test('a corrupt registry is an error, not a silent reread of everything', async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(registryPath(dir), '{"something":"else"}');
  await assert.rejects(loadRegistry(dir), /not a version 1 tailplow input registry/);
  writeFileSync(registryPath(dir), '{"version":1,"entr');
  await assert.rejects(loadRegistry(dir), (err: Error) => err instanceof RegistryCorruptError && err.message.startsWith(`${registryPath(dir)}: not valid JSON`));
  writeFileSync(registryPath(dir), 'null');
  await assert.rejects(loadRegistry(dir), RegistryCorruptError);
});
