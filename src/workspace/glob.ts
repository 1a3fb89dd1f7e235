// The one glob matcher for text that may be hostile: a model's list_files glob, a config's
// schedule branches. Node's path.matchesGlob turns a glob into a backtracking RegExp, so `*a` x 30
// + `b`, or `{a,b}` x 17, held the event loop for minutes. Here a glob is compiled once into a
// small automaton that is run on every path in time linear in the path's length times the
// automaton's size, and a glob whose automaton would pass a fixed bound is refused up front.
//
// Syntax, as path.matchesGlob reads it: `*` (within one `/`-separated part), `**` as a whole part
// (any number of parts), `?`, `[a-z]`, `[!a]`/`[^a]`, `[[:alpha:]]`, `\` escapes, `{a,b}` and
// `{1..9}` alternatives. Wildcards do not match a part starting with `.` unless the glob's part
// starts with `.` too. Extended patterns such as `+(a|b)` are refused.

/** Longest glob accepted, in characters. */
export const MAX_GLOB_CHARS = 1_000;
/** Most alternatives its `{…}` groups may expand to. */
export const MAX_GLOB_ALTERNATIVES = 64;
/** Most automaton states (about one per character or wildcard, over all alternatives). */
export const MAX_GLOB_STATES = 1_000;

/** A glob Foreman will not match; the message names the bound or the syntax, and the fix. */
export class GlobError extends Error {}

export type GlobMatcher = (path: string) => boolean;

/** Compiles `glob` once; throws GlobError when it is refused. */
export function compileGlob(glob: string): GlobMatcher {
  const shown = JSON.stringify(glob.length > 80 ? `${glob.slice(0, 80)}…` : glob);
  if (glob.length > MAX_GLOB_CHARS) {
    throw new GlobError(`glob ${shown} is ${glob.length} characters; globs may have at most ${MAX_GLOB_CHARS}: shorten it`);
  }
  const extended = /(^|[^\\])[?*+@!]\(/.exec(glob);
  if (extended) {
    throw new GlobError(`glob ${shown} uses an extended pattern "${extended[0].slice(extended[1].length)}…)", which is not supported: write alternatives as {a,b}, or escape the parenthesis as [(]`);
  }
  const alternatives = expandBraces(glob, shown);
  const nodes: GlobNode[] = [];
  const starts: number[] = [];
  for (const alternative of alternatives) {
    starts.push(nodes.length);
    compileAlternative(alternative, nodes);
    if (nodes.length > MAX_GLOB_STATES) {
      throw new GlobError(
        `glob ${shown} is too complex: matching it needs more than ${MAX_GLOB_STATES} states (about one per character or wildcard, counted over every {…} alternative); shorten it or use fewer alternatives`,
      );
    }
  }
  return (path) => run(nodes, starts, normalise(path));
}

// ---- brace expansion -----------------------------------------------------------------------

function expandBraces(glob: string, shown: string): string[] {
  const tooMany = (): never => {
    throw new GlobError(
      `glob ${shown} expands to more than ${MAX_GLOB_ALTERNATIVES} alternatives through its {…} groups; globs may have at most ${MAX_GLOB_ALTERNATIVES}: use fewer groups, or narrow the listing with path instead`,
    );
  };
  const expand = (text: string): string[] => {
    const group = firstGroup(text);
    if (!group) return [text];
    const choices = group.choices ?? rangeOf(group.range!, tooMany);
    const rests = expand(text.slice(group.end + 1));
    const out: string[] = [];
    const head = text.slice(0, group.start);
    for (const choice of choices) {
      for (const middle of expand(choice)) {
        for (const rest of rests) {
          if (out.length === MAX_GLOB_ALTERNATIVES) tooMany();
          out.push(head + middle + rest);
        }
      }
    }
    return out;
  };
  return expand(glob);
}

interface BraceGroup {
  start: number;
  end: number;
  /** `{a,b}`: the alternatives; absent for a range. */
  choices?: string[];
  /** `{1..5}` or `{a..e}`. */
  range?: [string, string];
}

/** The first `{…}` with a top-level comma or a range; a `{` without one is a literal character. */
function firstGroup(text: string): BraceGroup | null {
  for (let start = 0; start < text.length; start++) {
    if (text[start] === '\\') {
      start += 1;
      continue;
    }
    if (text[start] !== '{') continue;
    let depth = 0;
    const commas: number[] = [];
    for (let i = start + 1; i < text.length; i++) {
      const c = text[i];
      if (c === '\\') i += 1;
      else if (c === '{') depth += 1;
      else if (c === ',' && depth === 0) commas.push(i);
      else if (c === '}' && depth-- === 0) {
        const body = text.slice(start + 1, i);
        if (commas.length > 0) {
          const bounds = [start, ...commas, i];
          return { start, end: i, choices: bounds.slice(1).map((at, k) => text.slice(bounds[k] + 1, at)) };
        }
        const range = /^(-?\d+)\.\.(-?\d+)$|^([^\\])\.\.([^\\])$/.exec(body);
        if (range) return { start, end: i, range: range[1] !== undefined ? [range[1], range[2]] : [range[3], range[4]] };
        break;
      }
    }
  }
  return null;
}

function rangeOf([from, to]: [string, string], tooMany: () => never): string[] {
  const numeric = /^-?\d+$/.test(from);
  const a = numeric ? Number(from) : from.codePointAt(0)!;
  const b = numeric ? Number(to) : to.codePointAt(0)!;
  if (Math.abs(b - a) >= MAX_GLOB_ALTERNATIVES) tooMany();
  const step = a <= b ? 1 : -1;
  const out: string[] = [];
  for (let n = a; n !== b + step; n += step) out.push(numeric ? String(n) : escapeLiteral(String.fromCodePoint(n)));
  return out;
}

const escapeLiteral = (c: string): string => (/[\\*?[\]{},/]/.test(c) ? `\\${c}` : c);

// ---- the automaton -------------------------------------------------------------------------

type GlobNode =
  /** One character; `segmentFirst` when it opens a part of the glob (only then may it match a leading `.`). */
  | { kind: 'char'; char: string; segmentFirst: boolean; next: number }
  | { kind: 'one'; test: (c: string) => boolean; next: number }
  /** `*`: any characters within one part. */
  | { kind: 'star'; next: number }
  /** `**` between parts, at the start of a part: any number of whole parts, each with its `/`. */
  | { kind: 'parts'; inside: number; next: number }
  /** Inside a part that `**` is passing over. */
  | { kind: 'in-part'; parts: number }
  | { kind: 'end' };

function compileAlternative(glob: string, nodes: GlobNode[]): void {
  const segments = splitSegments(glob);
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '**') {
      const at = nodes.length;
      nodes.push({ kind: 'parts', inside: at + 1, next: at + 2 }, { kind: 'in-part', parts: at });
      // A trailing `**` needs one part more: `a/**` matches a/b and a/b/c, not a.
      if (last) compileSegment('?*', nodes, true);
      return;
    }
    compileSegment(segment, nodes, last);
  });
  if (segments.length === 0) nodes.push({ kind: 'end' });
}

/** `/`-separated parts, empty ones dropped (a//b is a/b); a `/` inside `[…]` or escaped stays. */
function splitSegments(glob: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === '\\' && i + 1 < glob.length) {
      current += glob[i] + glob[i + 1];
      i += 1;
    } else if (glob[i] === '/') {
      if (current !== '') out.push(current);
      current = '';
    } else {
      current += glob[i];
    }
  }
  if (current !== '') out.push(current);
  return out;
}

function compileSegment(segment: string, nodes: GlobNode[], last: boolean): void {
  let first = true;
  const push = (node: GlobNode) => {
    nodes.push(node);
    first = false;
  };
  const next = () => nodes.length + 1;
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') {
      while (segment[i + 1] === '*') i += 1;
      push({ kind: 'star', next: next() });
    } else if (c === '?') {
      push({ kind: 'one', test: () => true, next: next() });
    } else if (c === '[') {
      const parsed = parseClass(segment, i);
      if (parsed) {
        push({ kind: 'one', test: parsed.test, next: next() });
        i = parsed.end;
      } else {
        push({ kind: 'char', char: '[', segmentFirst: first, next: next() });
      }
    } else {
      const literal = c === '\\' && i + 1 < segment.length ? segment[++i] : c;
      push({ kind: 'char', char: literal, segmentFirst: first, next: next() });
    }
  }
  nodes.push(last ? { kind: 'end' } : { kind: 'char', char: '/', segmentFirst: false, next: nodes.length + 1 });
}

const POSIX_CLASSES: Record<string, RegExp> = {
  alpha: /\p{L}/u,
  digit: /\d/,
  alnum: /[\p{L}\p{Nd}]/u,
  upper: /\p{Lu}/u,
  lower: /\p{Ll}/u,
  space: /\s/,
  xdigit: /[0-9a-fA-F]/,
  punct: /\p{P}/u,
};

/** `[…]` from `start`; null when it does not close (then `[` is a literal). */
function parseClass(segment: string, start: number): { test: (c: string) => boolean; end: number } | null {
  let i = start + 1;
  const negated = segment[i] === '!' || segment[i] === '^';
  if (negated) i += 1;
  const tests: Array<(c: string) => boolean> = [];
  for (let firstChar = true; i < segment.length; firstChar = false) {
    if (segment[i] === ']' && !firstChar) {
      const test = (c: string) => tests.some((t) => t(c)) !== negated;
      return { test, end: i };
    }
    const posix = /^\[:([a-z]+):\]/.exec(segment.slice(i));
    if (posix && POSIX_CLASSES[posix[1]]) {
      const re = POSIX_CLASSES[posix[1]];
      tests.push((c) => re.test(c));
      i += posix[0].length;
      continue;
    }
    let low = segment[i];
    if (low === '\\' && i + 1 < segment.length) low = segment[++i];
    i += 1;
    if (segment[i] === '-' && i + 1 < segment.length && segment[i + 1] !== ']') {
      let high = segment[i + 1];
      i += 2;
      if (high === '\\' && i < segment.length) high = segment[i++];
      tests.push((c) => c >= low && c <= high);
    } else {
      tests.push((c) => c === low);
    }
  }
  return null;
}

const normalise = (path: string): string => path.split('/').filter((part) => part !== '').join('/');

/**
 * Runs the automaton over `path`, all live states at once: each character visits each state at
 * most once, so the time is at most the path's length times the number of states.
 */
function run(nodes: GlobNode[], starts: number[], path: string): boolean {
  let current: number[] = [];
  let next: number[] = [];
  // seen[i] === stamp: state i is already in the set being built.
  const seen = new Int32Array(nodes.length);
  let stamp = 1;
  const add = (set: number[], i: number): void => {
    if (seen[i] === stamp) return;
    seen[i] = stamp;
    set.push(i);
    const node = nodes[i];
    // States that can be passed over without a character.
    if (node.kind === 'star' || node.kind === 'parts') add(set, node.next);
  };
  for (const start of starts) add(current, start);

  for (let at = 0; at < path.length && current.length > 0; at++) {
    const c = path[at];
    const partStart = at === 0 || path[at - 1] === '/';
    // Wildcards do not match a leading dot; a glob part must spell it out.
    const wild = c !== '/' && !(partStart && c === '.');
    stamp += 1;
    next.length = 0;
    for (const i of current) {
      const node = nodes[i];
      switch (node.kind) {
        case 'char':
          if (c === node.char && !(partStart && c === '.' && !node.segmentFirst)) add(next, node.next);
          break;
        case 'one':
          if (wild && node.test(c)) add(next, node.next);
          break;
        case 'star':
          if (wild) add(next, i);
          break;
        case 'parts':
          if (wild) add(next, node.inside);
          break;
        case 'in-part':
          add(next, c === '/' ? node.parts : i);
          break;
        case 'end':
          break;
      }
    }
    [current, next] = [next, current];
  }
  return current.some((i) => nodes[i].kind === 'end');
}
