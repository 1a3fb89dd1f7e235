// The text sibling agents' prompts share. A fan-out script usually builds every prompt as one long
// common block (rules, context, a report to check) followed by its item; cached once and read by
// every sibling, that block bills a tenth of its price. A run's prompts are compared as they are
// queued (agent() calls, replays included, so a resume knows its first run's prefixes): a new
// prompt that starts with a prefix already found needs no other work, and one that does not is
// compared with the last few prompts for the longest common prefix, cut back to a word boundary so
// that no item's first characters are part of it. The work per prompt is linear in its length and
// bounded; what is kept is bounded too.

/** A prefix found: its text and a number naming it in the run (the warm-up's key). */
export interface SharedPrefix {
  id: number;
  text: string;
  /** When an agent last started with it (ms, the detector's clock): the TTL rule reads it. */
  lastUsedAt: number;
  /** An agent started with it more than REUSE_GAP_FOR_LONG_TTL_MS after the one before: its writes keep an hour. */
  spacedOut: boolean;
}

/** Prompts compared with each new one that matches no prefix found so far. */
const RECENT_PROMPTS = 16;
/** Prefixes kept, the most recently used first: older ones are forgotten (a prefix from an earlier stage). */
const KNOWN_PREFIXES = 16;
/** Characters of a prompt compared, whatever a script sends (about 100 k tokens). */
const MAX_COMPARED_CHARS = 400_000;
/** Shorter than this (about 64 tokens) a shared start is a coincidence of wording, not a preamble. */
export const MIN_SHARED_PREFIX_CHARS = 256;
/**
 * An agent that starts with a prefix this long after the previous one did finds the 5-minute
 * entry gone or about to go: the prefix's stages are spaced out, and its writes take the hour.
 */
export const REUSE_GAP_FOR_LONG_TTL_MS = 4 * 60_000;

export class SharedPrefixes {
  readonly #recent: string[] = [];
  #known: SharedPrefix[] = [];
  #nextId = 1;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A prompt the run has queued: compared with the ones before it. */
  note(prompt: string): void {
    if (this.#longestKnown(prompt)) return;
    let cut = 0;
    for (const other of this.#recent) cut = Math.max(cut, sharedCut(other, prompt));
    this.#recent.unshift(prompt);
    if (this.#recent.length > RECENT_PROMPTS) this.#recent.pop();
    if (cut < MIN_SHARED_PREFIX_CHARS) return;
    this.#known.unshift({ id: this.#nextId++, text: prompt.slice(0, cut), lastUsedAt: 0, spacedOut: false });
    if (this.#known.length > KNOWN_PREFIXES) this.#known.pop();
  }

  /** The longest prefix found that `prompt` starts with, marked as used now; null when it shares none. */
  use(prompt: string): SharedPrefix | null {
    const found = this.#longestKnown(prompt);
    if (!found) return null;
    const now = this.#now();
    if (found.lastUsedAt > 0 && now - found.lastUsedAt > REUSE_GAP_FOR_LONG_TTL_MS) found.spacedOut = true;
    found.lastUsedAt = now;
    this.#known = [found, ...this.#known.filter((p) => p !== found)];
    return found;
  }

  #longestKnown(prompt: string): SharedPrefix | null {
    let best: SharedPrefix | null = null;
    for (const prefix of this.#known) {
      if ((!best || prefix.text.length > best.text.length) && prompt.startsWith(prefix.text)) best = prefix;
    }
    return best;
  }
}

/**
 * How much of `b` a common prefix with `a` covers, cut back to just after its last whitespace:
 * "rules…\nFile: src/a.ts" and "rules…\nFile: src/b.ts" share "rules…\nFile: ", never "src/".
 */
export function sharedCut(a: string, b: string): number {
  const end = Math.min(a.length, b.length, MAX_COMPARED_CHARS);
  let i = 0;
  while (i < end && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === b.length && i === a.length) return i;
  // Text without whitespace (minified code, base64) is cut where it differs rather than scanned
  // back to its start: a common prefix that is never kept would be compared again with every prompt.
  const floor = Math.max(0, i - MAX_CUT_BACK_CHARS);
  let cut = i;
  while (cut > floor && !isSpace(b.charCodeAt(cut - 1))) cut--;
  if (cut > floor || floor === 0) return cut;
  // Never between the two halves of a character outside the BMP (an emoji): each half alone is not text.
  return isHighSurrogate(b.charCodeAt(i - 1)) ? i - 1 : i;
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/** How far back from where two prompts differ a word boundary is looked for. */
const MAX_CUT_BACK_CHARS = 1_024;

const isSpace = (code: number): boolean => code === 32 || code === 10 || code === 9 || code === 13;
