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
 */
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
if (sink === -1) console.log(sink);
