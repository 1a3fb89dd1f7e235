// Comment text is written by whoever can comment on a public repository. Before any of it
// reaches a prompt (as args or as free text for a generated script), what a reader of the
// rendered comment cannot see is removed, so a maintainer who approves "/workflow audit auth"
// approves exactly what the model will read.
//
// Every step is a forward scan in linear time. Regular expressions that search for a closing
// `>`, `]`, `)` or tag after an opening one try again at every later opening when the closing
// one is missing, which is quadratic or worse on hostile text (`<a hidden ` 2,000 times blocked
// the App for 28 s); here each "where is the next X" is answered once and remembered.

// Zero-width and formatting characters, bidirectional overrides and isolates, the byte-order
// mark, Unicode tag characters (used to smuggle ASCII past readers), and C0/C1 controls other
// than tab and line breaks. One character (or surrogate pair) at a time: linear.
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB]|\uDB40[\uDC00-\uDC7F]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** Elements whose content a reader does not see (or sees only on a click). */
const HIDING_ELEMENTS = ['details', 'picture', 'svg', 'style', 'script', 'template', 'noscript'];
/** Elements that show nothing but an image (alt text reaches screen readers only). */
const IMAGE_ELEMENTS = ['img', 'source'];

/** Text as a reader of the rendered comment sees it, minus the markup that hides things. */
export function sanitizeCommentText(text: string): string {
  let out = text.normalize('NFKC').replace(INVISIBLE, '');
  // HTML comments render as nothing; an unterminated one hides the rest of the comment.
  out = removeComments(out);
  // Hidden elements and attributes that carry text a reader does not see.
  out = removeHidingElements(out);
  out = removeTags(out, (text, at) => IMAGE_ELEMENTS.some((name) => opensElement(text, at, name)));
  out = removeHiddenAttributeElements(out);
  out = removeTags(out, (text, at) => /[a-z]/i.test(text[at + (text[at + 1] === '/' ? 2 : 1)] ?? ''));
  // Markdown images render their alt text only to screen readers; link titles only on hover.
  out = removeMarkdownImages(out);
  out = removeLinkTitles(out);
  // Reference-style link definitions never render.
  out = removeReferenceDefinitions(out);
  return out.trim();
}

/** The first index of `needle` at or after a position, remembered: a run of calls costs one pass. */
function finder(text: string, needle: string): (from: number) => number {
  let askedFrom = Infinity;
  let found = -1;
  return (from) => {
    // The answer for an earlier start still holds for a later one that is not past it.
    if (from >= askedFrom && (found === -1 || from <= found)) return found;
    askedFrom = from;
    found = text.indexOf(needle, from);
    return found;
  };
}

/** ASCII letters lower-cased, nothing else: every index stays where it was (unlike toLowerCase). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z0-9_]/.test(char);
}

/** The `<` at `at` opens the element `name` (lower-case). */
function opensElement(text: string, at: number, name: string): boolean {
  return asciiLower(text.slice(at + 1, at + 1 + name.length)) === name && !isWordChar(text[at + 1 + name.length]);
}

/** A stretch of text to take out, and what stands in its place. */
interface Cut {
  start: number;
  end: number;
  keep?: string;
}

/**
 * `text` without the stretches `next` finds: `next(from)` is the first at or after `from`, or
 * null when there is none. Each search starts where the last cut ended, so the finders below,
 * which remember what they have read, see the text once.
 */
function cutOut(text: string, next: (from: number) => Cut | null): string {
  let out = '';
  let copied = 0;
  for (let cut = next(0); cut; cut = next(cut.end)) {
    out += text.slice(copied, cut.start) + (cut.keep ?? '');
    copied = cut.end;
  }
  return out + text.slice(copied);
}

function removeComments(text: string): string {
  return cutOut(text, (from) => {
    const open = text.indexOf('<!--', from);
    if (open === -1) return null;
    const close = text.indexOf('-->', open + 4);
    return { start: open, end: close === -1 ? text.length : close + 3 };
  });
}

/** `<name …>…</name>` of the hiding elements, the first closing tag ending it. */
function removeHidingElements(text: string): string {
  const lower = asciiLower(text);
  const nextGt = finder(text, '>');
  const closers = new Map(HIDING_ELEMENTS.map((name) => [name, closingTagFinder(lower, name)]));
  return cutOut(text, (from) => {
    for (let lt = text.indexOf('<', from); lt !== -1; lt = text.indexOf('<', lt + 1)) {
      const name = HIDING_ELEMENTS.find((candidate) => lower.startsWith(candidate, lt + 1) && !isWordChar(text[lt + 1 + candidate.length]));
      if (!name) continue;
      const gt = nextGt(lt);
      if (gt === -1) return null;
      const end = closers.get(name)!(gt + 1);
      if (end !== -1) return { start: lt, end };
    }
    return null;
  });
}

/** The end of the first `</name\s*>` at or after a position, remembered like finder(). */
function closingTagFinder(lower: string, name: string): (from: number) => number {
  const next = finder(lower, `</${name}`);
  let askedFrom = Infinity;
  let found = -1;
  let foundStart = -1;
  return (from) => {
    if (from >= askedFrom && (found === -1 || from <= foundStart)) return found;
    askedFrom = from;
    for (let start = next(from); start !== -1; start = next(start + 1)) {
      let i = start + 2 + name.length;
      while (i < lower.length && /\s/.test(lower[i])) i++;
      if (lower[i] === '>') {
        foundStart = start;
        return (found = i + 1);
      }
    }
    return (found = -1);
  };
}

/** Every `<…>` (to the first `>`) whose start `remove` picks, gone. */
function removeTags(text: string, remove: (text: string, at: number) => boolean): string {
  const nextGt = finder(text, '>');
  return cutOut(text, (from) => {
    for (let lt = text.indexOf('<', from); lt !== -1; lt = text.indexOf('<', lt + 1)) {
      const gt = nextGt(lt);
      if (gt === -1) return null;
      if (remove(text, lt)) return { start: lt, end: gt + 1 };
    }
    return null;
  });
}

/** A tag with a `hidden` or `aria-hidden` attribute, and all up to the next closing tag. */
function removeHiddenAttributeElements(text: string): string {
  const nextGt = finder(text, '>');
  const nextCloser = finder(text, '</');
  return cutOut(text, (from) => {
    for (let lt = text.indexOf('<', from); lt !== -1; ) {
      const gt = nextGt(lt);
      if (gt === -1) return null;
      // The earliest `<` before this `>` holds the longest tag: if it has no hidden attribute,
      // no later `<` before the same `>` has one either.
      if (!/\b(?:hidden|aria-hidden)\b/i.test(text.slice(lt, gt + 1))) {
        lt = text.indexOf('<', gt + 1);
        continue;
      }
      const end = closingTagEnd(gt + 1, nextCloser, nextGt);
      return end === -1 ? null : { start: lt, end };
    }
    return null;
  });
}

/** The end of the first `</x…>` (at least one character before `>`) at or after `from`; -1 if none. */
function closingTagEnd(from: number, nextCloser: (from: number) => number, nextGt: (from: number) => number): number {
  for (let start = nextCloser(from); start !== -1; start = nextCloser(start + 1)) {
    const gt = nextGt(start + 2);
    if (gt === -1) return -1;
    if (gt > start + 2) return gt + 1;
  }
  return -1;
}

/** `![alt](url)`: the alt text up to the first `]`, the url up to the first `)`. */
function removeMarkdownImages(text: string): string {
  const nextBracket = finder(text, ']');
  const nextParen = finder(text, ')');
  return cutOut(text, (from) => {
    for (let open = text.indexOf('![', from); open !== -1; ) {
      const close = nextBracket(open + 2);
      if (close === -1) return null;
      if (text[close + 1] === '(') {
        const end = nextParen(close + 2);
        return end === -1 ? null : { start: open, end: end + 1 };
      }
      // Every other `![` before this `]` meets the same `]`.
      open = text.indexOf('![', close + 1);
    }
    return null;
  });
}

/** `[text](url "title")` → `[text](url)`: the title shows only on hover. */
function removeLinkTitles(text: string): string {
  const nextBracket = finder(text, ']');
  const nextDouble = finder(text, '"');
  const nextSingle = finder(text, "'");
  const destinationEnd = runEnd(text, (c) => c === ')' || /\s/.test(c));
  // One per use: each is asked at ever later positions, so each remembers its last answer.
  const notSpace = (c: string) => !/\s/.test(c);
  const [afterParen, afterDestination, afterTitle] = [runEnd(text, notSpace), runEnd(text, notSpace), runEnd(text, notSpace)];
  return cutOut(text, (from) => {
    for (let open = text.indexOf('[', from); open !== -1; ) {
      const close = nextBracket(open + 1);
      if (close === -1) return null;
      // Every `[` before this `]` meets the same `]`: one try for all of them.
      open = text.indexOf('[', close + 1);
      if (text[close + 1] !== '(') continue;
      const i = afterParen(close + 2);
      const destination = destinationEnd(i);
      if (destination === i) continue;
      const j = afterDestination(destination);
      if (j === destination || (text[j] !== '"' && text[j] !== "'")) continue;
      const quote = (text[j] === '"' ? nextDouble : nextSingle)(j + 1);
      if (quote === -1) continue;
      const k = afterTitle(quote + 1);
      if (text[k] === ')') return { start: destination, end: k + 1, keep: ')' };
    }
    return null;
  });
}

/** Where the run of characters not matching `stops` that begins at a position ends, remembered. */
function runEnd(text: string, stops: (char: string) => boolean): (from: number) => number {
  let askedFrom = Infinity;
  let end = -1;
  return (from) => {
    if (from >= askedFrom && from <= end) return end;
    askedFrom = from;
    end = from;
    while (end < text.length && !stops(text[end])) end++;
    return end;
  };
}

/** Lines `[label]: url …` (up to three spaces in) are link definitions: they never render. */
function removeReferenceDefinitions(text: string): string {
  const nextBracket = finder(text, ']');
  const lines: string[] = [];
  let start = 0;
  while (start <= text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(start, end);
    let i = 0;
    while (i < 3 && (line[i] === ' ' || line[i] === '\t')) i++;
    let definition = false;
    if (line[i] === '[') {
      const close = nextBracket(start + i + 1);
      // The label may not be empty and, here, stays on its line.
      if (close > start + i + 1 && close < end && text[close + 1] === ':' && /\S/.test(text.slice(close + 2, end))) definition = true;
    }
    lines.push(definition ? '' : line);
    if (newline === -1) break;
    start = newline + 1;
  }
  return lines.join('\n');
}
