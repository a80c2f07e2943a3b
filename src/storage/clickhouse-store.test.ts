import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tsvRows } from './clickhouse-schema';
import { coalesceInserts } from './clickhouse-store';

const COLUMNS = ['event_id', 'page_title'];

/** coalesceInserts taking lines, as the tests write them. */
function coalesced(...args: Parameters<typeof coalesceInserts>) {
  const insert = coalesceInserts(...args);
  return (table: string, columns: readonly string[], lines: string[]) => insert(table, columns, tsvRows(lines));
}

/** A server stand-in: records each INSERT's lines, holds it until released, refuses payloads containing `poison`. */
function fakeServer(opts: { fail?: (payload: string) => Error | undefined } = {}) {
  const inserts: string[][] = [];
  const held: Array<() => void> = [];
  const send = async (_table: string, _columns: readonly string[], bodies: readonly Buffer[]) => {
    const payload = Buffer.concat(bodies).toString('utf8');
    await new Promise<void>((resolve) => held.push(resolve));
    const err = opts.fail?.(payload);
    if (err) throw err;
    inserts.push(payload.split('\n').filter((l) => l !== ''));
  };
  /** Lets the oldest held insert finish, then waits for the callers' reactions. */
  const release = async () => {
    held.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { inserts, held, send, release };
}

const rejected = (payload: string) => (payload.includes('poison') ? new Error('Code: 27, e.displayText() = DB::Exception: Cannot parse input') : undefined);

test('inserts asked for while one is in flight go together as the next one; each caller resolves once its lines are stored', async () => {
  const server = fakeServer();
  const insert = coalesced(server.send);
  const done: string[] = [];
  const a = insert('t', COLUMNS, ['a1', 'a2']).then(() => done.push('a'));
  await new Promise((r) => setImmediate(r));
  const b = insert('t', COLUMNS, ['b1']).then(() => done.push('b'));
  const c = insert('t', COLUMNS, ['c1', 'c2']).then(() => done.push('c'));
  assert.equal(server.held.length, 1, 'one insert in flight per table');
  await server.release();
  assert.deepEqual(done, ['a']);
  assert.deepEqual(server.inserts, [['a1', 'a2']]);
  assert.equal(server.held.length, 1, 'b and c as one insert');
  await server.release();
  await Promise.all([a, b, c]);
  assert.deepEqual(done, ['a', 'b', 'c']);
  assert.deepEqual(server.inserts, [['a1', 'a2'], ['b1', 'c1', 'c2']]);
});

test('different tables or column lists are not combined', async () => {
  const server = fakeServer();
  const insert = coalesced(server.send);
  const all = [insert('t1', COLUMNS, ['x']), insert('t2', COLUMNS, ['y']), insert('t1', ['event_id'], ['z'])];
  assert.equal(server.held.length, 3);
  for (let i = 0; i < 3; i++) await server.release();
  await Promise.all(all);
  assert.deepEqual(server.inserts, [['x'], ['y'], ['z']]);
});

test('a combined insert refused for its data is tried per caller: only the caller with the bad line sees the refusal', async () => {
  const server = fakeServer({ fail: rejected });
  const insert = coalesced(server.send);
  const first = insert('t', COLUMNS, ['a1']);
  const good = insert('t', COLUMNS, ['b1', 'b2']);
  const bad = insert('t', COLUMNS, ['c1', 'poison']);
  const outcomes = Promise.allSettled([first, good, bad]);
  // a alone; then b+c together (refused); then b alone, c alone (refused).
  for (let i = 0; i < 4; i++) await server.release();
  const [a, b, c] = await outcomes;
  assert.equal(a.status, 'fulfilled');
  assert.equal(b.status, 'fulfilled');
  assert.equal(c.status, 'rejected');
  assert.match(String((c as PromiseRejectedResult).reason), /Code: 27/);
  assert.deepEqual(server.inserts, [['a1'], ['b1', 'b2']]);
});

test('a server failure that is not about the data reaches every caller of the group; the next insert goes out again', async () => {
  let down = true;
  const server = fakeServer({ fail: () => (down ? Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) : undefined) });
  const insert = coalesced(server.send);
  const first = insert('t', COLUMNS, ['a']).catch((e: unknown) => e);
  const b = insert('t', COLUMNS, ['b']).catch((e: unknown) => e);
  const c = insert('t', COLUMNS, ['c']).catch((e: unknown) => e);
  await server.release();
  await server.release();
  for (const outcome of await Promise.all([first, b, c])) assert.match(String(outcome), /ECONNREFUSED/);
  assert.equal(server.held.length, 0, 'b and c were one insert, not retried by the coalescer');
  down = false;
  const again = insert('t', COLUMNS, ['b', 'c']);
  await server.release();
  await again;
  assert.deepEqual(server.inserts, [['b', 'c']]);
});

test('with minRows, an insert waits for more rows until maxWaitMs since its oldest ones, then goes with what is there', async () => {
  const server = fakeServer();
  const insert = coalesced(server.send, { minRows: 100, maxWaitMs: 80 });
  const started = Date.now();
  const a = insert('t', COLUMNS, ['a1', 'a2']);
  await new Promise((r) => setTimeout(r, 20));
  const b = insert('t', COLUMNS, ['b1']);
  assert.equal(server.held.length, 0, 'nothing sent before maxWaitMs with fewer than minRows');
  while (server.held.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.ok(Date.now() - started >= 75, `sent after ${Date.now() - started} ms`);
  await server.release();
  await Promise.all([a, b]);
  assert.deepEqual(server.inserts, [['a1', 'a2', 'b1']]);
});

test('with minRows, an insert goes at once when its rows reach minRows', async () => {
  const server = fakeServer();
  const insert = coalesced(server.send, { minRows: 3, maxWaitMs: 60_000 });
  const a = insert('t', COLUMNS, ['a1', 'a2']);
  await new Promise((r) => setImmediate(r));
  assert.equal(server.held.length, 0);
  const b = insert('t', COLUMNS, ['b1']);
  await new Promise((r) => setImmediate(r));
  assert.equal(server.held.length, 1, 'three rows: sent without waiting');
  await server.release();
  await Promise.all([a, b]);
  assert.deepEqual(server.inserts, [['a1', 'a2', 'b1']]);
});
