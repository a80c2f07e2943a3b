/**
 * bench/parse/stages: where the per-line time goes, stage by stage, on lines held in memory
 * (no I/O), in CPU time so that a loaded machine distorts the figures less than wall time.
 *
 *   node dist/bench/parse/stages.js [--lines 20000] [--rounds 7]
 *
 * Stages are cumulative: each includes the ones before it.
 *   json.parse    JSON.parse of the line (the floor)
 *   nginx         createLineParser('json'): line -> AccessRecord
 *   decode        + decodeRecord: AccessRecord -> events
 *   decode+json   + eventToJson of every event
 *   decode+tsv    + eventToTsv of every event (instead of JSON)
 *
 * Then the "native floor": the builtins any exact decoder of these lines must run whatever its
 * own JavaScript (JSON.parse of the line and of the tp2 body, base64 + JSON.parse of cx/ue_px,
 * MD5 of the fingerprint input, JSON.stringify of the events), each timed alone.
 */
import { hash } from 'node:crypto';
import { createLineParser } from '../../src/nginx';
import { decodeLine } from '../../src/snowplow/decode';
import { eventToJson, eventToTsv } from '../../src/snowplow/format';
import { createLineGenerator } from '../lib/generate';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const LINES = arg('lines', 20_000);
const ROUNDS = arg('rounds', 7);

const next = createLineGenerator({ seed: 7 });
const lines = Array.from({ length: LINES }, next);
const parser = createLineParser('json');
const now = () => 1_790_000_000_000;

let sink = 0;
const stages: Array<[string, () => void]> = [
  ['json.parse', () => {
    for (const l of lines) if (JSON.parse(l)) sink++;
  }],
  ['nginx', () => {
    for (const l of lines) if (parser(l).ok) sink++;
  }],
  ['decode', () => {
    for (let k = 0; k < lines.length; k++) sink += decodeLine(lines[k]!, parser, { offset: k, now }).events.length;
  }],
  ['decode+json', () => {
    for (let k = 0; k < lines.length; k++) {
      for (const e of decodeLine(lines[k]!, parser, { offset: k, now }).events) sink += eventToJson(e).length;
    }
  }],
  ['decode+tsv', () => {
    for (let k = 0; k < lines.length; k++) {
      for (const e of decodeLine(lines[k]!, parser, { offset: k, now }).events) sink += eventToTsv(e).length;
    }
  }],
];

let events = 0;
for (let k = 0; k < lines.length; k++) events += decodeLine(lines[k]!, parser, { offset: k, now }).events.length;

const cpuUs = (fn: () => void): number => {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const [, fn] of stages) fn(); // warm-up
const times = new Map<string, number[]>(stages.map(([name]) => [name, []]));
for (let r = 0; r < ROUNDS; r++) for (const [name, fn] of stages) times.get(name)!.push(cpuUs(fn));

const base = median(times.get('json.parse')!) / LINES;
console.log(`${LINES} lines, ${events} events (${(events / LINES).toFixed(2)}/line), CPU time, median of ${ROUNDS}`);
for (const [name] of stages) {
  const perLine = median(times.get(name)!) / LINES;
  const perEvent = (perLine * LINES) / events;
  console.log(
    `${name.padEnd(12)} ${perLine.toFixed(2).padStart(6)} us/line  ${(perLine / base).toFixed(2).padStart(5)}x  ` +
      `${perEvent.toFixed(2).padStart(6)} us/event  ${Math.round(1e6 / perEvent).toString().padStart(7)} events/s`,
  );
}

// The native floor.
const parsedLines = lines.map((l) => JSON.parse(l) as { request_body?: string; args?: string });
const rawEvents: Array<Record<string, string>> = [];
for (const o of parsedLines) {
  if (o.request_body) rawEvents.push(...(JSON.parse(o.request_body) as { data: Array<Record<string, string>> }).data);
  else rawEvents.push(Object.fromEntries(new URLSearchParams(o.args ?? '')));
}
const EXCLUDED = new Set(['cv', 'eid', 'nuid', 'stm']);
const fingerprintInputs = rawEvents.map((p) =>
  Object.keys(p).sort().filter((k) => !EXCLUDED.has(k)).map((k) => `${k}\u001f${p[k]}\u001f`).join(''),
);
const decoded = lines.flatMap((l, k) => decodeLine(l, parser, { offset: k, now }).events);
const floor: Array<[string, () => void]> = [
  ['JSON.parse of the line (baseline)', () => {
    for (const l of lines) if (JSON.parse(l)) sink++;
  }],
  ['JSON.parse of the tp2 body', () => {
    for (const o of parsedLines) if (o.request_body && JSON.parse(o.request_body)) sink++;
  }],
  ['base64 + JSON.parse of cx/ue_px', () => {
    for (const p of rawEvents) {
      if (p.cx && JSON.parse(Buffer.from(p.cx, 'base64').toString())) sink++;
      if (p.ue_px && JSON.parse(Buffer.from(p.ue_px, 'base64').toString())) sink++;
    }
  }],
  ['MD5 of the fingerprint input', () => {
    for (const input of fingerprintInputs) sink += hash('md5', input, 'hex').length;
  }],
  ['JSON.stringify of the events', () => {
    for (const e of decoded) sink += JSON.stringify(e).length;
  }],
];
for (const [, fn] of floor) fn(); // warm-up
let floorTotal = 0;
console.log('native floor (each builtin alone):');
for (const [name, fn] of floor) {
  const t: number[] = [];
  for (let r = 0; r < ROUNDS; r++) t.push(cpuUs(fn));
  const perLine = median(t) / LINES;
  floorTotal += perLine;
  console.log(`  ${name.padEnd(36)} ${perLine.toFixed(2).padStart(6)} us/line`);
}
console.log(`  ${'floor'.padEnd(36)} ${floorTotal.toFixed(2).padStart(6)} us/line  ${(floorTotal / base).toFixed(2)}x the JSON.parse baseline`);
if (sink === -1) console.log(sink);
