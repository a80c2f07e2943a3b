import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clickhouseCodeOf, storeErrorKind, storeErrorMessage } from './event-store';

// Messages as the engines really word them (18.16 over HTTP, a current server, chDB).
const PARSE_18 = new Error(
  'Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected " before: abc"}\\n: (while read the value of key n): (at row 1)\n, e.what() = DB::Exception\n',
);
const PARSE_NEW = new Error("Code: 41. DB::Exception: Cannot read DateTime: unexpected word: (while reading the value of key t): (at row 1)\n: While executing ParallelParsingBlockInputFormat. (CANNOT_PARSE_DATETIME)");
const CHDB_INSERT = Object.assign(new Error('Code: 27. DB::Exception: Cannot parse input'), { code: 'CHDB_INSERT', clickhouseCode: 27 });
const AUTH_18 = new Error('Code: 193, e.displayText() = DB::Exception: Wrong password for user tailplow, e.what() = DB::Exception');
const NO_TABLE = new Error("Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist., e.what() = DB::Exception");
const TOO_MANY_PARTS = new Error('Code: 252. DB::Exception: Too many parts (300). Merges are processing significantly slower than inserts. (TOO_MANY_PARTS)');
const REFUSED = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:18999'), { code: 'ECONNREFUSED' });

test('ClickHouse error codes are read from 18.16 and current messages and from chDB errors', () => {
  assert.equal(clickhouseCodeOf(PARSE_18), 27);
  assert.equal(clickhouseCodeOf(PARSE_NEW), 41);
  assert.equal(clickhouseCodeOf(CHDB_INSERT), 27);
  assert.equal(clickhouseCodeOf(REFUSED), undefined);
  assert.equal(clickhouseCodeOf(new Error('Error code: 27 in text')), undefined);
});

test('bad input is rejected rows; network, timeouts and overload are retriable; auth and missing tables are fatal', () => {
  assert.equal(storeErrorKind(PARSE_18), 'rejected_rows');
  assert.equal(storeErrorKind(PARSE_NEW), 'rejected_rows');
  assert.equal(storeErrorKind(CHDB_INSERT), 'rejected_rows');
  assert.equal(storeErrorKind(REFUSED), 'retriable');
  assert.equal(storeErrorKind(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'retriable');
  assert.equal(storeErrorKind(new Error('Timeout error.')), 'retriable');
  assert.equal(storeErrorKind(TOO_MANY_PARTS), 'retriable');
  assert.equal(storeErrorKind(AUTH_18), 'fatal');
  assert.equal(storeErrorKind(NO_TABLE), 'fatal');
  assert.equal(storeErrorKind(new TypeError("Cannot read properties of undefined (reading 'x')")), 'fatal');
});

test('the message kept for a bad row is the first line, without 18.16\'s e.what() tail', () => {
  assert.equal(storeErrorMessage(AUTH_18), 'Code: 193, e.displayText() = DB::Exception: Wrong password for user tailplow');
  assert.equal(storeErrorMessage(PARSE_NEW), 'Code: 41. DB::Exception: Cannot read DateTime: unexpected word: (while reading the value of key t): (at row 1)');
});
