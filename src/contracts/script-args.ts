// The one rule for a workflow's args given as text, in every door (the CLI's --args and
// `resume --args`, the Action's args input, a `/workflow <name> <args>` comment): text that starts
// with { or [ (after leading whitespace) must be JSON, and a mistake names its line and column;
// other text is the JSON value it parses as (42, true, "quoted"), else the text itself. A typo in
// an object must not reach a script as a string it then misreads.

/** Text that opened like JSON and is not: where, and what was expected there. */
export class ArgsTextError extends Error {
  /** 0-based, in the text as given (leading whitespace included). */
  readonly offset: number;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
  /** What the parser expected, in Foreman's words. */
  readonly reason: string;
  /** The character found instead (the writer's text), or null at the end of the text. */
  readonly found: string | null;
  /** The writer's text around the position, one line, at most about 40 characters. */
  readonly excerpt: string;

  constructor(text: string, offset: number, reason: string, found: string | null) {
    const { line, column } = lineAndColumn(text, offset);
    const excerpt = excerptAt(text, offset);
    super(argsTextMessage('args', { reason, found, line, column, excerpt }, JSON.stringify));
    this.offset = offset;
    this.line = line;
    this.column = column;
    this.reason = reason;
    this.found = found;
    this.excerpt = excerpt;
  }

  /**
   * The message for one door: `where` names what was given (`--args`, `the args input`), `quote`
   * shows the writer's text (a code span on GitHub, so nothing in it renders or mentions anyone).
   */
  explain(where: string, quote: (text: string) => string = JSON.stringify): string {
    return argsTextMessage(where, this, quote);
  }
}

function argsTextMessage(where: string, at: Pick<ArgsTextError, 'reason' | 'found' | 'line' | 'column' | 'excerpt'>, quote: (text: string) => string): string {
  const found = at.found === null ? ', found the end of the text' : `, found ${quote(at.found)}`;
  return (
    `${where} starts like JSON (with { or [) but is not valid JSON at line ${at.line}, column ${at.column}: ${at.reason}${found}, near ${quote(at.excerpt)}. ` +
    'Fix the JSON there; to pass text that starts with { or [, write it as a JSON string in double quotes'
  );
}

/** The args `text` stands for; an ArgsTextError when it opens like JSON and is not. */
export function parseArgsText(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      const lead = text.length - text.trimStart().length;
      const at = firstJsonError(trimmed) ?? { offset: trimmed.length, reason: (error as Error).message, found: null };
      throw new ArgsTextError(text, lead + at.offset, at.reason, at.found);
    }
  }
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const EXCERPT_BEFORE = 24;
const EXCERPT_AFTER = 16;

function excerptAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const newline = text.indexOf('\n', offset);
  const lineEnd = newline === -1 ? text.length : newline;
  const from = Math.max(lineStart, offset - EXCERPT_BEFORE);
  const to = Math.min(lineEnd, offset + EXCERPT_AFTER);
  return `${from > lineStart ? '…' : ''}${text.slice(from, to).replace(/\r/g, '')}${to < lineEnd ? '…' : ''}`;
}

interface JsonError {
  offset: number;
  reason: string;
  found: string | null;
}

type Expect = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close' | 'end';

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * Where JSON.parse gave up, found again: V8's messages give no position for most mistakes. One
 * pass with an explicit stack (no recursion, whatever the nesting); only run on text that failed.
 */
function firstJsonError(text: string): JsonError | null {
  const stack: Array<'{' | '['> = [];
  let i = 0;
  let expect: Expect = 'value';
  let afterComma = false;
  const fail = (reason: string): JsonError => ({ offset: i, reason, found: i < text.length ? String.fromCodePoint(text.codePointAt(i)!) : null });
  const closed = (): Expect => (stack.length > 0 ? 'comma-or-close' : 'end');
  while (true) {
    while (i < text.length && WHITESPACE.has(text[i])) i++;
    if (i >= text.length) {
      if (expect === 'end') return null;
      return fail(stack.length > 0 ? `the ${stack.at(-1) === '{' ? 'object' : 'array'} is not closed` : 'expected a value');
    }
    const c = text[i];
    switch (expect) {
      case 'end':
        return fail('expected nothing after the JSON value');
      case 'colon':
        if (c !== ':') return fail("expected ':' after the property name");
        i++;
        expect = 'value';
        break;
      case 'comma-or-close': {
        const close = stack.at(-1) === '{' ? '}' : ']';
        if (c === ',') {
          i++;
          afterComma = true;
          expect = close === '}' ? 'key' : 'value';
        } else if (c === close) {
          i++;
          stack.pop();
          expect = closed();
        } else {
          return fail(`expected ',' or '${close}'`);
        }
        continue;
      }
      case 'key':
      case 'key-or-close':
        if (c === '}' && (expect === 'key-or-close' || afterComma)) {
          if (afterComma) return fail("a comma before '}' is not JSON: remove it");
          i++;
          stack.pop();
          expect = closed();
          break;
        }
        if (c !== '"') return fail(c === "'" ? 'property names take double quotes, not single' : 'expected a property name in double quotes');
        {
          const bad = skipString(text, i);
          if (typeof bad !== 'number') return bad;
          i = bad;
        }
        expect = 'colon';
        break;
      case 'value':
      case 'value-or-close': {
        if (c === ']' && (expect === 'value-or-close' || (afterComma && stack.at(-1) === '['))) {
          if (afterComma) return fail("a comma before ']' is not JSON: remove it");
          i++;
          stack.pop();
          expect = closed();
          break;
        }
        if (c === '{' || c === '[') {
          stack.push(c);
          i++;
          expect = c === '{' ? 'key-or-close' : 'value-or-close';
          break;
        }
        const end = skipScalar(text, i);
        if (typeof end !== 'number') return end;
        i = end;
        expect = closed();
        break;
      }
    }
    afterComma = false;
  }
}

/** The offset after the scalar at `i`, or where it is wrong. */
function skipScalar(text: string, i: number): number | JsonError {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  for (const literal of ['true', 'false', 'null']) if (text.startsWith(literal, i)) return i + literal.length;
  if (c === '-' || (c >= '0' && c <= '9')) {
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (match) return i + match[0].length;
    return { offset: i, reason: 'this is not a JSON number', found: c };
  }
  const found = String.fromCodePoint(text.codePointAt(i)!);
  if (c === "'") return { offset: i, reason: 'strings take double quotes, not single', found };
  return { offset: i, reason: 'expected a value (an object, array, string in double quotes, number, true, false or null)', found };
}

/** The offset after the string opening at `start`, or where it is wrong. */
function skipString(text: string, start: number): number | JsonError {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') return i + 1;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return { offset: i, reason: '\\u takes four hexadecimal digits', found: '\\u' };
        i += 5;
      } else if (next !== undefined && ESCAPES.has(next)) {
        i += 1;
      } else {
        return { offset: i, reason: 'this escape is not JSON (use \\\\ for a backslash)', found: next === undefined ? '\\' : `\\${next}` };
      }
    } else if (c < ' ') {
      return { offset: i, reason: 'a string cannot hold a raw line break or control character: write \\n or \\t', found: JSON.stringify(c).slice(1, -1) };
    }
  }
  return { offset: text.length, reason: 'a string is not closed (a " is missing)', found: null };
}
