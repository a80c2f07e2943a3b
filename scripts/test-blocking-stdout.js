// Preloaded by scripts/run-tests.js (test-runner-args.js) into the runner and, through it, into
// every test file's process (node --test passes its --require on to the files it runs). With
// --test-force-exit, Node 20 ends a file's process as soon as its last test finishes, and on
// Linux the results still buffered in its stdout (the channel the runner reads them from) are
// lost: the run reports fewer tests than ran, still with exit 0 when they passed
// (nodejs/node#64833; fix pending in nodejs/node#64875). A blocking stdout has written every
// result before the process can exit. test/runner/test-runner.test.ts shows the loss without it.
'use strict';
process.stdout._handle?.setBlocking?.(true);
