// bin/tailplow, the launcher npm installs as `tailplow`: it must find the CLI through the symlink
// npm makes, and give node the options each command needs (young generation of `tail`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const LAUNCHER = resolve(__dirname, '../../../bin/tailplow');
const dir = mkdtempSync(join(tmpdir(), 'tailplow-launcher-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Preloaded into the node the launcher starts: prints the options node was started with, and
// which script, then exits before the CLI runs.
const probe = join(dir, 'probe.js');
writeFileSync(probe, 'console.log(JSON.stringify({ execArgv: process.execArgv, script: process.argv[1], args: process.argv.slice(2) })); process.exit(0);\n');

function launch(args: string[], env: Record<string, string> = {}, launcher = LAUNCHER) {
  const r = spawnSync(launcher, args, {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', TAILPLOW_NODE: process.execPath, TAILPLOW_NODE_OPTIONS: `--require=${probe}`, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { execArgv: string[]; script: string; args: string[] };
}

test('tail gets 4 MiB semi-spaces; batch commands keep V8 defaults; arguments pass through untouched', () => {
  const tail = launch(['tail', '-c', 'a file with spaces.yml']);
  assert.deepEqual(tail.execArgv, ['--max-semi-space-size=4', `--require=${probe}`]);
  assert.equal(tail.script, resolve(__dirname, '../../../bin/tailplow.js'));
  assert.deepEqual(tail.args, ['tail', '-c', 'a file with spaces.yml']);
  for (const command of ['replay', 'run', 'process', 'parse']) assert.deepEqual(launch([command, '--help']).execArgv, [`--require=${probe}`], command);
});

test('a --max-semi-space-size of the user (NODE_OPTIONS or TAILPLOW_NODE_OPTIONS) is left alone', () => {
  const viaNodeOptions = launch(['tail'], { NODE_OPTIONS: '--max-semi-space-size=8' });
  assert.ok(!viaNodeOptions.execArgv.includes('--max-semi-space-size=4'), viaNodeOptions.execArgv.join(' '));
  const viaOurs = launch(['tail'], { TAILPLOW_NODE_OPTIONS: `--max-semi-space-size=2 --require=${probe}` });
  assert.deepEqual(viaOurs.execArgv, ['--max-semi-space-size=2', `--require=${probe}`]);
});

test('through a symlink elsewhere, as npm links node_modules/.bin/tailplow, and with the real CLI', () => {
  const link = join(dir, 'tailplow');
  symlinkSync(LAUNCHER, link);
  assert.equal(launch(['tail'], {}, link).script, resolve(__dirname, '../../../bin/tailplow.js'));
  const version = spawnSync(link, ['--version'], { encoding: 'utf8', env: { ...process.env, TAILPLOW_NODE: process.execPath } });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
});
