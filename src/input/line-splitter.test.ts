import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createLineSplitter } from './line-splitter';
import type { LineRecord } from './types';

function splitAll(data: Buffer, cuts: number[], maxLineBytes: number, maxLines = 1000): LineRecord[] {
  const splitter = createLineSplitter(0, maxLineBytes);
  const out: LineRecord[] = [];
  let at = 0;
  for (const end of [...cuts.filter((c) => c > 0 && c < data.length).sort((a, b) => a - b), data.length]) {
    let chunk = data.subarray(at, end);
    while (chunk.length > 0) {
      const { lines, consumed } = splitter.feed(chunk, maxLines);
      out.push(...lines);
      chunk = chunk.subarray(consumed);
    }
    at = end;
  }
  return out;
}

/** The obvious reference: split on \n, drop the unterminated rest. */
function reference(data: Buffer, maxLineBytes: number): LineRecord[] {
  const out: LineRecord[] = [];
  let start = 0;
  for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
    let end = nl;
    if (end > start && data[end - 1] === 13) end--;
    const tooLong = end - start > maxLineBytes;
    const line: LineRecord = { text: data.toString('utf8', start, tooLong ? start + maxLineBytes : end), offset: start, nextOffset: nl + 1 };
    if (tooLong) line.tooLong = true;
    out.push(line);
    start = nl + 1;
  }
  return out;
}

test('any chunking gives the same lines and offsets as splitting the whole buffer', () => {
  const alphabet = fc.constantFrom('a', 'é', '\n', '\r', '\r', 'x', '€', ' ');
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 300 }), fc.array(fc.nat(400), { maxLength: 20 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 12 }), (chars, cuts, maxLines, maxLineBytes) => {
      const data = Buffer.from(chars.join(''));
      assert.deepEqual(splitAll(data, cuts, maxLineBytes, maxLines), reference(data, maxLineBytes));
    }),
    { numRuns: 1000 },
  );
});

test('a partial last line is held back until its newline arrives', () => {
  const splitter = createLineSplitter(100, 1024);
  assert.deepEqual(splitter.feed(Buffer.from('one\ntw'), 10).lines, [{ text: 'one', offset: 100, nextOffset: 104 }]);
  assert.deepEqual(splitter.state(), { lineStart: 104, position: 106, pendingBytes: 2 });
  assert.deepEqual(splitter.feed(Buffer.from('o'), 10).lines, []);
  assert.deepEqual(splitter.feed(Buffer.from('\n'), 10).lines, [{ text: 'two', offset: 104, nextOffset: 108 }]);
});

test('a too long line is cut, flagged once, and the rest skipped even across chunks', () => {
  const splitter = createLineSplitter(0, 8);
  assert.deepEqual(splitter.feed(Buffer.from('0123456'), 10).lines, []);
  assert.deepEqual(splitter.feed(Buffer.from('789abcdef'), 10).lines, []);
  assert.equal(splitter.state().pendingBytes, 16);
  assert.deepEqual(splitter.feed(Buffer.from('gh\nok\n'), 10).lines, [
    { text: '01234567', offset: 0, nextOffset: 19, tooLong: true },
    { text: 'ok', offset: 19, nextOffset: 22 },
  ]);
});

test('maxLines stops early and reports what was consumed', () => {
  const splitter = createLineSplitter(0, 100);
  const r = splitter.feed(Buffer.from('a\nb\nc\n'), 2);
  assert.deepEqual(r.lines.map((l) => l.text), ['a', 'b']);
  assert.equal(r.consumed, 4);
  assert.deepEqual(splitter.feed(Buffer.from('c\n'), 2).lines, [{ text: 'c', offset: 4, nextOffset: 6 }]);
});

test('flush returns the unterminated last line of a finished file', () => {
  const splitter = createLineSplitter(0, 100);
  splitter.feed(Buffer.from('a\nlast'), 10);
  assert.deepEqual(splitter.flush(), { text: 'last', offset: 2, nextOffset: 6 });
  assert.equal(splitter.flush(), null);
});
