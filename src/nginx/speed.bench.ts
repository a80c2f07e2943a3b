/**
 * Per-line cost of the nginx line parsers against plain JSON.parse, on generated tracker lines
 * (bench/lib/generate.ts). Run: npx tsc -p tsconfig.json && node dist/src/nginx/speed.bench.js [lines]
 */
import { createLineGenerator } from '../../bench/lib/generate';
import { COMBINED_FORMAT } from './formats';
import { createLineParser } from './index';
import { renderLogLine } from './testing';

const count = Number(process.argv[2] ?? 100_000);
const next = createLineGenerator({ seed: 7 });
const jsonLines = Array.from({ length: count }, next);
const combinedLines = jsonLines.map((line) => {
  const v = JSON.parse(line) as Record<string, string>;
  const request = `${v['request_method']} ${v['uri']}${v['args'] ? '?' + v['args'] : ''} HTTP/1.1`;
  const t = new Date(Number(v['msec']) * 1000);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  const timeLocal = `${p(t.getUTCDate())}/${months[t.getUTCMonth()]}/${t.getUTCFullYear()}:${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())} +0000`;
  return renderLogLine(COMBINED_FORMAT, 'default', { ...v, request, time_local: timeLocal });
});

const recommended = createLineParser(
  `escape=json {"msec":"$msec","remote_addr":"$remote_addr","http_x_forwarded_for":"$http_x_forwarded_for","request_method":"$request_method","uri":"$uri","args":"$args","request_body":"$request_body","status":"$status","body_bytes_sent":"$body_bytes_sent","http_referer":"$http_referer","http_user_agent":"$http_user_agent","host":"$host","scheme":"$scheme","cookie_sp":"$cookie_sp"}`,
);
const candidates: Array<{ name: string; lines: string[]; parse: (line: string) => unknown }> = [
  { name: 'JSON.parse (baseline)', lines: jsonLines, parse: (l) => JSON.parse(l) },
  { name: "createLineParser('json')", lines: jsonLines, parse: createLineParser('json') },
  { name: 'tailplow format compiled as text', lines: jsonLines, parse: recommended },
  { name: "createLineParser('combined')", lines: combinedLines, parse: createLineParser('combined') },
];

// The machine is shared: rounds interleave the candidates and each keeps its best round.
const rounds = 9;
const best = candidates.map(() => Infinity);
for (let round = 0; round < rounds; round++) {
  candidates.forEach((c, k) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < c.lines.length; i++) c.parse(c.lines[i]!);
    best[k] = Math.min(best[k]!, Number(process.hrtime.bigint() - start) / c.lines.length);
  });
}
candidates.forEach((c, k) => {
  const chars = c.lines.reduce((n, l) => n + l.length, 0) / c.lines.length;
  const ratio = best[k]! / best[0]!;
  console.log(`${c.name.padEnd(34)} ${best[k]!.toFixed(0).padStart(6)} ns/line  ${ratio.toFixed(2)}x JSON.parse  (${chars.toFixed(0)} chars/line)`);
});
console.log(`best of ${rounds} interleaved rounds over ${count} lines each`);

const failures = [...jsonLines.map(createLineParser('json')), ...combinedLines.map(createLineParser('combined'))].filter((r) => !r.ok);
if (failures.length > 0) throw new Error(`unexpected failures: ${JSON.stringify(failures[0])}`);
