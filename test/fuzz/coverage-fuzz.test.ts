/**
 * The coverage-guided fuzzer works (finds a bug behind nested comparisons that blind random
 * input would practically never hit) and a short run over each real target breaks no invariant.
 * TAILPLOW_FUZZ_SECONDS sets the per-target time of the real-target run (default 1 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../../bench/lib/generate';
import { procCpuMs } from '../../bench/lib/cpu';
import { fuzz } from './coverage-fuzz';
import { fixtureLines, TARGETS } from './targets';

/** A bug only an input starting with `{"x` reaches, one branch per character. */
function planted(input: string): void {
  if (input.charCodeAt(0) === 0x7b) {
    if (input.charCodeAt(1) === 0x22) {
      if (input.charCodeAt(2) === 0x78) throw new Error('planted bug reached');
    }
  }
}

test('coverage guidance finds a bug behind three nested byte comparisons', () => {
  const r = fuzz(planted, { timeMs: 20_000, seeds: ['hello'], include: (url) => url.includes('coverage-fuzz.test'), random: prng(42) });
  assert.ok(r.crash, `not found in ${r.execs} inputs`);
  assert.ok(r.crash.input.startsWith('{"x'), JSON.stringify(r.crash.input));
  // Blind guessing needs ~256^3/3 tries; guided, each new branch joins the corpus and is built on.
  assert.ok(r.execs < 2_000_000, `${r.execs} inputs`);
  // The corpus holds the stepping stones: an input starting '{' and one starting '{"'.
  assert.ok(r.corpus.some((c) => c.startsWith('{"')), JSON.stringify(r.corpus.slice(0, 10)));
});

const seconds = Number(process.env.TAILPLOW_FUZZ_SECONDS ?? 1);
const seeds: Record<string, string[]> = (() => {
  const f = fixtureLines();
  return { 'line-json': f.json, 'line-combined': f.combined, 'line-custom': f.custom, querystring: [...f.combined, ...f.custom].map((l) => /\?([^ "]*)/.exec(l)?.[1] ?? '') };
})();

for (const [name, seedInputs] of Object.entries(seeds)) {
  test(`coverage-guided run of ${name} (${seconds} s): no invariant broken, coverage grows past the seeds`, () => {
    const r = fuzz(TARGETS[name]!, { timeMs: seconds * 1000, seeds: seedInputs, include: (url) => url.includes('/dist/src/'), random: prng(1) });
    assert.equal(r.crash, undefined, r.crash ? `input ${JSON.stringify(r.crash.input)}: ${String(r.crash.error)}` : '');
    assert.ok(r.seedFeatures > 0 && r.features > r.seedFeatures, `blocks: ${r.features} after fuzzing vs ${r.seedFeatures} from the seeds`);
  });
}

test('the hang watchdog reads CPU time, not wall time, of the fuzzing child (/proc)', () => {
  const before = procCpuMs(process.pid);
  assert.ok(before !== undefined && before > 0);
  const start = process.cpuUsage();
  while (process.cpuUsage(start).user < 200_000); // burn 200 ms of CPU, however long that takes here
  const burnt = procCpuMs(process.pid)! - before;
  assert.ok(burnt >= 150 && burnt < 5_000, `${burnt} ms`);
  assert.equal(procCpuMs(2 ** 22 + 1), undefined, 'no such process');
});
