// The arguments scripts/run-tests.js gives `node`, in one place so test/ci/test-runner.test.ts
// checks the very flags CI runs with.
'use strict';
const { join } = require('node:path');

/**
 * Integration tests run one file at a time: they start private servers on fixed ports and
 * measure timing under load. A test that hangs fails after its timeout, and --test-force-exit
 * ends a file whose failed test left a handle open, so CI can never wait forever. The preload
 * keeps force-exit from losing a file's last results (see test-blocking-stdout.js).
 */
function runnerArgs(kind, files) {
  const preload = ['--require', join(__dirname, 'test-blocking-stdout.js')];
  return kind === 'integration'
    ? [...preload, '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=600000', '--test-force-exit', ...files]
    : [...preload, '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', '--test-force-exit', ...files];
}

module.exports = { runnerArgs };
