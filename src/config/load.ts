/**
 * Loads a YAML config file, substitutes environment variables and validates it against a zod
 * schema. Every problem is reported as `file:line:col: field.path: message`, so a user can go
 * straight to the spot; all problems are reported at once, not just the first.
 */
import { readFileSync } from 'node:fs';
import { isScalar, LineCounter, parseDocument, visit, type Alias, type Document } from 'yaml';
import type { ZodIssue, ZodType, ZodTypeDef } from 'zod';

export interface ConfigProblem {
  file: string;
  line?: number;
  col?: number;
  /** Dotted path of the field, e.g. `processor.sinks[0].url`. */
  field: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

/** One line per problem, always starting with its place: text quoted from the file may hold line breaks. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line ? `${p.file}:${p.line}:${p.col ?? 1}` : p.file;
  const message = p.message.replace(/\r?\n/g, '\\n');
  return p.field ? `${where}: ${p.field}: ${message}` : `${where}: ${message}`;
}

export function fieldPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

/** Reads `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `${file:/path}` (a secret kept in a file). */
const SUBSTITUTION = /\$\$|\$\{([^}]*)\}/g;

export interface SubstitutionEnv {
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
}

/** Returns the value with substitutions applied, or an error message for the first failed one. */
export function substitute(value: string, src: SubstitutionEnv): { value: string } | { error: string } {
  let error: string | undefined;
  const out = value.replace(SUBSTITUTION, (whole, expr: string | undefined) => {
    if (whole === '$$') return '$';
    const body = expr ?? '';
    if (body.startsWith('file:')) {
      const path = body.slice(5);
      try {
        return src.readFile(path).replace(/\r?\n$/, '');
      } catch (e) {
        error ??= `cannot read secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
        return '';
      }
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::([-?])(.*))?$/s.exec(body);
    if (!m) {
      error ??= `invalid substitution \${${body}}: use \${NAME}, \${NAME:-default}, \${NAME:?message} or \${file:/path}`;
      return '';
    }
    const [, name, op, arg] = m as unknown as [string, string, string | undefined, string | undefined];
    const v = src.env[name];
    if (v !== undefined && v !== '') return v;
    if (op === '-') return arg ?? '';
    if (op === '?') error ??= `environment variable ${name} is not set${arg ? `: ${arg}` : ''}`;
    else error ??= `environment variable ${name} is not set (use \${${name}:-default} to give a default)`;
    return '';
  });
  return error === undefined ? { value: out } : { error };
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  readFile?: (path: string) => string;
  /** Command-line flags: applied to the parsed YAML before validation, so they are checked alike. */
  overrides?: (raw: Record<string, unknown>) => void;
}

/** Parses and validates config text; `file` is only used in messages. */
export function parseConfigText<T>(
  text: string,
  file: string,
  schema: ZodType<T, ZodTypeDef, unknown>,
  opts: LoadOptions = {},
): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  for (const err of doc.errors) {
    const pos = lineCounter.linePos(err.pos[0]);
    problems.push({ file, line: pos.line, col: pos.col, field: '', message: `YAML: ${err.message.split('\n')[0]}` });
  }
  if (problems.length) throw new ConfigError(problems);

  const src: SubstitutionEnv = {
    env: opts.env ?? process.env,
    readFile: opts.readFile ?? ((p) => readFileSync(p, 'utf8')),
  };
  visit(doc, {
    Scalar(_key, node, path) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const r = substitute(node.value, src);
      if ('error' in r) {
        const pos = node.range ? lineCounter.linePos(node.range[0]) : undefined;
        problems.push({ file, line: pos?.line, col: pos?.col, field: fieldPath(pathOf([...path, node])), message: r.error });
      } else {
        node.value = r.value;
      }
    },
  });
  if (problems.length) throw new ConfigError(problems);

  const raw = toJsOrProblem(doc, lineCounter, file);
  opts.overrides?.(raw);
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => problemOf(issue, doc, lineCounter, file)));
}

/**
 * The document as plain values. The YAML library reports an alias to an undefined anchor, and a
 * document whose aliases would expand past its limit (a "billion laughs"), only here, by throwing:
 * those are config errors too, at the first alias. So is a document that is not a mapping.
 */
function toJsOrProblem(doc: Document, lc: LineCounter, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = doc.toJS() ?? {};
  } catch (e) {
    let alias: Alias | undefined;
    visit(doc, {
      Alias(_key, node) {
        if (alias === undefined || node.resolve(doc) === undefined) alias = node;
        return node.resolve(doc) === undefined ? visit.BREAK : undefined;
      },
    });
    const pos = alias?.range ? lc.linePos(alias.range[0]) : { line: 1, col: 1 };
    throw new ConfigError([{ file, line: pos.line, col: pos.col, field: '', message: `YAML: ${(e as Error).message.split('\n')[0]}` }]);
  }
  // Command-line overrides set fields on it: a scalar or a list at the top cannot take them.
  if (typeof value !== 'object' || Array.isArray(value)) {
    const pos = doc.contents?.range ? lc.linePos(doc.contents.range[0]) : { line: 1, col: 1 };
    throw new ConfigError([{ file, line: pos.line, col: pos.col, field: '', message: `the config must be a mapping of fields (key: value), not ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}` }]);
  }
  return value as Record<string, unknown>;
}

/** Reads a config file; a missing or unreadable file is a ConfigError too. */
export function loadConfigFile<T>(file: string, schema: ZodType<T, ZodTypeDef, unknown>, opts: LoadOptions = {}): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, field: '', message: `cannot read config: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
  return parseConfigText(text, file, schema, opts);
}

function pathOf(path: readonly unknown[]): Array<string | number> {
  const out: Array<string | number> = [];
  for (let i = 0; i < path.length; i++) {
    const node = path[i] as { key?: unknown; items?: unknown[] };
    const next = path[i + 1];
    if (node && 'key' in node && isScalar(node.key)) out.push(String(node.key.value));
    else if (node && Array.isArray(node.items) && next !== undefined && !(next as { key?: unknown }).key) {
      out.push(node.items.indexOf(next));
    }
  }
  return out;
}

/** Finds the YAML node closest to the issue's path, so even "missing field" points at its parent. */
function problemOf(issue: ZodIssue, doc: Document, lc: LineCounter, file: string): ConfigProblem {
  // An unknown key is reported on its parent object; point at the key itself.
  let path = issue.code === 'unrecognized_keys' && issue.keys[0] ? [...issue.path, issue.keys[0]] : [...issue.path];
  const field = fieldPath(issue.path);
  for (;;) {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const pair = path.length ? (doc.getIn(path.slice(0, -1), true) as { items?: Array<{ key?: { value?: unknown; range?: [number, number, number] } }> } | undefined) : undefined;
    // Point at the key of a mapping entry when we can: that is where a person looks.
    const keyNode = pair?.items?.find((it) => it.key?.value === path[path.length - 1])?.key;
    const range = keyNode?.range ?? node?.range;
    if (range) {
      const pos = lc.linePos(range[0]);
      return { file, line: pos.line, col: pos.col, field, message: messageOf(issue) };
    }
    if (path.length === 0) return { file, field, message: messageOf(issue) };
    path = path.slice(0, -1);
  }
}

function messageOf(issue: ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return 'is required';
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}
