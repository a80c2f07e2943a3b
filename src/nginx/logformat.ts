/**
 * Compiles an nginx `log_format` string once into a line parser.
 *
 * The format is split into literal text and variables (`$name` / `${name}`); when parsing, each
 * variable's value runs up to the next literal. Values are un-escaped per the format's
 * `escape=` mode. The scan is exact where the escaping makes it so (a default-escaped value
 * never contains a raw `"`; an escape=json value never contains an unescaped `"`), and lazy
 * ("first occurrence of the next literal") elsewhere, as any log_format reader must be.
 * `$time_local` / `$time_iso8601` have a fixed width, which also lets them contain the next
 * literal (e.g. a space) or be followed directly by another variable.
 */
import type { LineParser, LineParseResult } from './record';
import { decodeHexEscapes, decodeJsonEscapes, type EscapeMode } from './escape';
import { TIME_ISO8601_LENGTH, TIME_LOCAL_LENGTH } from './time';
import { RecordAssembler, VarId, isRequestVariable, variableId } from './variables';

/** A log_format that cannot be compiled: a configuration error, reported before any line is read. */
export class LogFormatError extends Error {
  override readonly name = 'LogFormatError';
}

export interface LogFormatText {
  escape: EscapeMode;
  /** The format string itself, nginx quoting removed and pieces concatenated. */
  body: string;
}

export interface CompiledLogFormat {
  /** How messages name the format: a builtin name or `custom`. */
  name: string;
  escape: EscapeMode;
  body: string;
  /** Variable names in order of appearance, without '$'. */
  variables: string[];
  /** False when the format logs no request variable: every line then fails `line_missing_request`. */
  carriesRequest: boolean;
  parse: LineParser;
}

const ESCAPE_MODES: readonly EscapeMode[] = ['default', 'json', 'none'];

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/**
 * Splits text written in nginx.conf syntax into its tokens, with nginx's quoting rules:
 * '…' and "…" strings, backslash escapes (\" \' \\ \t \r \n), `#` comments, an optional `;`.
 */
function nginxConfTokens(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (isSpace(text[i])) i++;
    if (i >= text.length) break;
    const c = text[i]!;
    if (c === '#') {
      const newline = text.indexOf('\n', i);
      i = newline < 0 ? text.length : newline + 1;
      continue;
    }
    if (c === ';') {
      if (text.slice(i + 1).trim() !== '' && !text.slice(i + 1).trim().startsWith('#')) {
        throw new LogFormatError(`unexpected text after ';' in log_format: ${JSON.stringify(text.slice(i + 1).trim().slice(0, 40))}`);
      }
      break;
    }
    const quote = c === "'" || c === '"' ? c : undefined;
    if (quote !== undefined) i++;
    let token = '';
    for (;;) {
      if (i >= text.length) {
        if (quote !== undefined) throw new LogFormatError(`log_format has an unterminated ${quote === "'" ? 'single' : 'double'}-quoted string`);
        break;
      }
      const ch = text[i]!;
      if (quote !== undefined ? ch === quote : isSpace(ch) || ch === ';' || ch === "'" || ch === '"') {
        if (quote !== undefined) i++;
        break;
      }
      if (ch === '\\' && i + 1 < text.length) {
        const next = text[i + 1]!;
        const unescaped = next === 't' ? '\t' : next === 'r' ? '\r' : next === 'n' ? '\n' : next === '"' || next === "'" || next === '\\' ? next : undefined;
        if (unescaped !== undefined) {
          token += unescaped;
          i += 2;
          continue;
        }
      }
      token += ch;
      i++;
    }
    tokens.push(token);
  }
  return tokens;
}

function escapeModeOf(token: string): EscapeMode {
  const mode = token.slice('escape='.length);
  if (!(ESCAPE_MODES as readonly string[]).includes(mode)) {
    throw new LogFormatError(`log_format has ${token}: escape must be one of ${ESCAPE_MODES.join(', ')}`);
  }
  return mode as EscapeMode;
}

/**
 * Reads a log_format as a user may give it: the raw format text (`$remote_addr - …`), the
 * nginx.conf form with single-quoted pieces (`'$remote_addr - ' '"$request"'`), either with a
 * leading `escape=default|json|none`, or a whole `log_format name …;` directive. A text starting
 * with a double quote is raw format text (combined-style formats start that way), not conf syntax.
 */
export function readLogFormatText(text: string): LogFormatText {
  const start = text.trimStart();
  let escape: EscapeMode = 'default';
  if (/^log_format\s/.test(start)) {
    const tokens = nginxConfTokens(start).slice(2);
    if (tokens[0]?.startsWith('escape=')) escape = escapeModeOf(tokens.shift()!);
    return { escape, body: tokens.join('') };
  }
  let rest = text;
  const escapeToken = /^escape=(\S*)\s+/.exec(start);
  if (escapeToken !== null) {
    escape = escapeModeOf(`escape=${escapeToken[1]}`);
    rest = start.slice(escapeToken[0].length);
  }
  if (rest.trimStart().startsWith("'")) return { escape, body: nginxConfTokens(rest).join('') };
  return { escape, body: rest };
}

interface Segment {
  /** Variable name without '$'. */
  name: string;
  id: VarId;
  /** Literal text that follows the variable ('' when it ends the format). */
  terminator: string;
  /** Exact width of the value when nginx always writes it so; 0 otherwise. */
  fixedWidth: number;
}

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** Splits a format body into its leading literal and (variable, following literal) segments. */
function splitFormat(body: string): { prefix: string; segments: Segment[] } {
  const literals: string[] = [];
  const names: string[] = [];
  let literal = '';
  let i = 0;
  while (i < body.length) {
    const dollar = body.indexOf('$', i);
    if (dollar < 0) {
      literal += body.slice(i);
      break;
    }
    literal += body.slice(i, dollar);
    let name: string;
    if (body[dollar + 1] === '{') {
      const close = body.indexOf('}', dollar + 2);
      if (close < 0) throw new LogFormatError(`log_format has '\${' without a closing '}' at column ${dollar + 1}`);
      name = body.slice(dollar + 2, close);
      i = close + 1;
    } else {
      let end = dollar + 1;
      while (end < body.length && isNameChar(body.charCodeAt(end))) end++;
      name = body.slice(dollar + 1, end);
      i = end;
    }
    if (name === '' || ![...name].every((ch) => isNameChar(ch.charCodeAt(0)))) {
      throw new LogFormatError(`log_format has '$' without a valid variable name at column ${dollar + 1}: ${JSON.stringify(body.slice(dollar, dollar + 20))}`);
    }
    literals.push(literal);
    names.push(name);
    literal = '';
  }
  literals.push(literal);
  if (names.length === 0) {
    throw new LogFormatError(`log_format ${JSON.stringify(body.slice(0, 60))} contains no $variables: is it the format string, or a misspelt builtin name (json, combined, main)?`);
  }
  const segments = names.map((name, k): Segment => {
    const fixedWidth = name === 'time_local' ? TIME_LOCAL_LENGTH : name === 'time_iso8601' ? TIME_ISO8601_LENGTH : 0;
    const terminator = literals[k + 1]!;
    if (terminator === '' && k + 1 < names.length && fixedWidth === 0) {
      throw new LogFormatError(`log_format has $${name} directly followed by $${names[k + 1]}: with no text between them there is no telling where one value ends`);
    }
    return { name, id: variableId(name), terminator, fixedWidth };
  });
  return { prefix: literals[0]!, segments };
}

/** Index of `term` at or after `from` whose leading '"' is not escaped by an odd run of '\'. */
function indexOfUnescaped(line: string, term: string, from: number): number {
  let at = line.indexOf(term, from);
  while (at > from) {
    let backslashes = 0;
    for (let k = at - 1; k >= from && line.charCodeAt(k) === 92; k--) backslashes++;
    if ((backslashes & 1) === 0) return at;
    at = line.indexOf(term, at + 1);
  }
  return at;
}

/** A short, printable excerpt of the line at `pos` for messages. */
function excerptAt(line: string, pos: number): string {
  if (pos >= line.length) return 'the end of the line';
  const piece = line.slice(pos, pos + 30);
  return JSON.stringify(piece) + (pos + 30 < line.length ? '…' : '');
}

/**
 * Compiles a log_format (see readLogFormatText for the accepted spellings). `name` is how
 * failure messages refer to it. Throws LogFormatError for a format that cannot be parsed.
 */
export function compileLogFormat(text: string, name = 'custom'): CompiledLogFormat {
  const { escape, body } = readLogFormatText(text);
  const { prefix, segments } = splitFormat(body);
  const decode = escape === 'default' ? decodeHexEscapes : escape === 'json' ? decodeJsonEscapes : (s: string) => s;
  const count = segments.length;
  // Per segment: can its terminator be found exactly (it contains a character the escaping
  // never leaves raw inside a value)?
  const exact = segments.map((s) =>
    escape === 'default' ? s.terminator.includes('"') || s.terminator.includes('\\') : escape === 'json' && s.terminator.startsWith('"'),
  );
  const quoteAware = segments.map((s) => escape === 'json' && s.terminator.startsWith('"'));
  const carriesRequest = segments.some((s) => isRequestVariable(s.id));
  const assembler = new RecordAssembler();
  const label = `log_format ${name}`;

  const mismatch = (line: string, pos: number, expectation: string): LineParseResult => {
    assembler.reset();
    return {
      ok: false,
      reason: 'line_malformed',
      message: `line does not match ${label}: expected ${expectation} at column ${pos + 1}, found ${excerptAt(line, pos)}`,
    };
  };

  const parse: LineParser = (line) => {
    if (!line.startsWith(prefix)) return mismatch(line, 0, `the line to start with ${JSON.stringify(prefix)}`);
    let pos = prefix.length;
    for (let v = 0; v < count; v++) {
      const segment = segments[v]!;
      const term = segment.terminator;
      let end: number;
      const fixedEnd = pos + segment.fixedWidth;
      if (segment.fixedWidth > 0 && fixedEnd <= line.length && line.startsWith(term, fixedEnd) && (v + 1 < count || fixedEnd + term.length === line.length)) {
        end = fixedEnd;
      } else if (v + 1 === count && !exact[v]) {
        // The last value runs to the format's closing literal at the very end of the line.
        end = line.length - term.length;
        if (end < pos || !line.endsWith(term)) {
          return mismatch(line, Math.max(pos, end), `${JSON.stringify(term)} ending the line after $${segment.name}`);
        }
      } else {
        end = quoteAware[v] ? indexOfUnescaped(line, term, pos) : line.indexOf(term, pos);
        if (end < 0) return mismatch(line, pos, `$${segment.name} followed by ${JSON.stringify(term)}`);
      }
      assembler.set(segment.id, segment.name, decode(line.slice(pos, end)));
      pos = end + term.length;
    }
    if (pos !== line.length) return mismatch(line, pos, 'the end of the line (the format ends here)');
    return assembler.finish(true, label);
  };

  return { name, escape, body, variables: segments.map((s) => s.name), carriesRequest, parse };
}
