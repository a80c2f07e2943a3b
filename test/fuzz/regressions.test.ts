/** Inputs the fuzzers found that once broke an invariant; each stays fixed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/load';
import { tailConfigSchema } from '../../src/config/tail';

/** Like `tailplow tail --config f.yml /var/log/x.log`: flags set fields on the parsed YAML. */
const overrides = (raw: Record<string, unknown>) => {
  raw.input = { ...((raw.input ?? {}) as object), paths: ['/var/log/x.log'] };
};

function problemOf(text: string): string {
  try {
    parseConfigText(text, 'f.yml', tailConfigSchema, { overrides });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `${(e as Error).name}: ${(e as Error).message}`);
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

test('config: an alias to an undefined anchor is a ConfigError at the alias, not a ReferenceError (fast-check: "*-")', () => {
  assert.match(problemOf('*-'), /^f\.yml:1:1: YAML: Unresolved alias/);
  assert.match(problemOf('input:\n  paths: *nowhere\n'), /^f\.yml:2:10: YAML: Unresolved alias/);
});

test('config: aliases that would expand past the limit (billion laughs) are a ConfigError', () => {
  const text = 'a: &a [x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
  assert.match(problemOf(text), /^f\.yml:\d+:\d+: YAML: Excessive alias count/);
});

test('config: a document that is a scalar or a list is a ConfigError, not a TypeError from the command-line overrides', () => {
  assert.equal(problemOf('hello'), 'f.yml:1:1: the config must be a mapping of fields (key: value), not a string');
  assert.equal(problemOf('\n- a\n- b\n'), 'f.yml:2:1: the config must be a mapping of fields (key: value), not a list');
  // An empty file is still the all-defaults config.
  assert.deepEqual(parseConfigText('', 'f.yml', tailConfigSchema, { overrides }).input.paths, ['/var/log/x.log']);
});

test('config: a substitution spanning lines in a block scalar is reported on one line that starts with file:line (fast-check: "|\\n!\\n  format: \\"${x\\"\\n}")', () => {
  const text = '|\n!\n  format: "${x"\n}';
  assert.throws(
    () => parseConfigText(text, 'fuzz.yml', tailConfigSchema, { env: {} }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      for (const line of err.message.split('\n')) assert.match(line, /^fuzz\.yml:\d+:\d+: /);
      return true;
    },
  );
});
