// The text sibling agents' prompts share. A fan-out script usually builds every prompt as one long
// common block (rules, context, a report to check) followed by its item; cached once and read by
// every sibling, that block bills a tenth of its price. A run's prompts are compared as they are
// queued (agent() calls, replays included, so a resume knows its first run's prefixes) with the
// last few prompts, for the longest common prefix, cut back to a word boundary so that no item's
// first characters are part of it. The work per prompt is linear in its length and bounded (the
// comparison runs a chunk at a time natively while the prompts agree); what is kept is bounded too.

/** A prefix found: its text and a number naming it in the run (the warm-up's key). */
export interface SharedPrefix {
  id: number;
  text: string;
  /** When an agent last started with it (ms, the detector's clock): the TTL rule reads it. */
  lastUsedAt: number;
  /** An agent started with it more than REUSE_GAP_FOR_LONG_TTL_MS after the one before: its writes keep an hour. */
  spacedOut: boolean;
  /** Prompts noted with it as their longest prefix whose agents have not started yet: never forgotten while any wait. */
  queued: number;
}

/** Prompts each new one is compared with. */
const RECENT_PROMPTS = 16;
/** Prefixes kept when none of them has agents still queued (the most recently used first). */
const KNOWN_PREFIXES = 16;
/** What all kept prefixes may come to, however many agents wait for them: characters, and prefixes. */
const MAX_KNOWN_CHARS = 4_000_000;
const MAX_KNOWN_PREFIXES = 256;
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
  /** The prompt noted last: its compared head (as `#recent` keeps it) and its whole length. */
  #latest: { head: string; length: number } | null = null;
  /** Agents waiting for the next prompt to be noted (nextNote). */
  readonly #noteWaiters = new Set<() => void>();
  #known: SharedPrefix[] = [];
  #nextId = 1;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * A prompt the run has queued: compared with the ones before it. A prefix is found when it
   * shares more with one of them than any prefix already known (by at least a preamble's length):
   * a short common header known first must not hide the long report its siblings share after it.
   */
  note(prompt: string): void {
    const known = this.#longestKnown(prompt);
    // Only what is ever compared is kept, and apart from the prompt: a script's 8 MB prompt is not
    // held here after its agent has finished.
    const head = prompt.length > MAX_COMPARED_CHARS ? detached(prompt.slice(0, MAX_COMPARED_CHARS)) : prompt;
    let cut = 0;
    for (const other of this.#recent) {
      // A sibling of a known prefix is compared only past it (one native look that both start with it).
      const from = known && other.startsWith(known.text) ? known.text.length : 0;
      cut = Math.max(cut, sharedCut(other, head, from));
    }
    this.#recent.unshift(head);
    this.#latest = { head, length: prompt.length };
    if (this.#recent.length > RECENT_PROMPTS) this.#recent.pop();
    // A copy: a slice would keep the whole prompt alive for as long as the prefix is known.
    const found = cut >= (known ? known.text.length : 0) + MIN_SHARED_PREFIX_CHARS ? this.#add(detached(head.slice(0, cut))) : known;
    if (found) found.queued += 1;
    for (const wake of this.#noteWaiters) wake();
  }

  /** Resolves when the next prompt is noted, or after `ms`, whichever comes first. */
  nextNote(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#noteWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#noteWaiters.add(wake);
    });
  }

  /**
   * Whether an agent about to send `prompt` may be the first of a burst whose siblings are still
   * being queued: it is the prompt noted last, long enough to share a preamble, and shares none
   * known yet. Such an agent waits for the next prompt, briefly (runAgentLoop): a script's calls
   * reach the host one turn of the event loop apart, and without the wait the first agent of
   * every fan-out sends its preamble whole, neither reading nor writing it.
   */
  mayShareSoon(prompt: string): boolean {
    return prompt.length > MIN_SHARED_PREFIX_CHARS && this.#isLatest(prompt) && this.#longestKnown(prompt) === null;
  }

  #isLatest(prompt: string): boolean {
    const latest = this.#latest;
    if (!latest || latest.length !== prompt.length) return false;
    return prompt.length > latest.head.length ? prompt.startsWith(latest.head) : prompt === latest.head;
  }

  /** The longest prefix found that `prompt` starts with, marked as used now; null when it shares none. */
  use(prompt: string): SharedPrefix | null {
    const found = this.#longestKnown(prompt);
    if (!found) return null;
    const now = this.#now();
    if (found.lastUsedAt > 0 && now - found.lastUsedAt > REUSE_GAP_FOR_LONG_TTL_MS) found.spacedOut = true;
    found.lastUsedAt = now;
    found.queued = Math.max(0, found.queued - 1);
    this.#known = [found, ...this.#known.filter((p) => p !== found)];
    return found;
  }

  #add(text: string): SharedPrefix {
    const prefix: SharedPrefix = { id: this.#nextId++, text, lastUsedAt: 0, spacedOut: false, queued: 0 };
    this.#known.unshift(prefix);
    this.#forget();
    return prefix;
  }

  /** Drops the least recently used prefixes past the limits, those that agents still wait for last. */
  #forget(): void {
    let chars = this.#known.reduce((sum, p) => sum + p.text.length, 0);
    for (let i = this.#known.length - 1; i > 0 && (this.#known.length > KNOWN_PREFIXES || chars > MAX_KNOWN_CHARS); i--) {
      const prefix = this.#known[i]!;
      if (prefix.queued > 0 && chars <= MAX_KNOWN_CHARS && this.#known.length <= MAX_KNOWN_PREFIXES) continue;
      this.#known.splice(i, 1);
      chars -= prefix.text.length;
    }
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
 * `from`: where to start comparing, when the caller knows the two agree before it.
 */
export function sharedCut(a: string, b: string, from = 0): number {
  const end = Math.min(a.length, b.length, MAX_COMPARED_CHARS);
  let i = Math.min(from, end);
  // A chunk at a time while they agree (a native comparison), then character by character.
  while (i + COMPARE_CHUNK <= end && a.slice(i, i + COMPARE_CHUNK) === b.slice(i, i + COMPARE_CHUNK)) i += COMPARE_CHUNK;
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

/** A copy that does not keep `text`'s parent alive (V8 makes a slice a view into the string it came from). */
const detached = (text: string): string => Buffer.from(text, 'utf16le').toString('utf16le');

const COMPARE_CHUNK = 256;

/** How far back from where two prompts differ a word boundary is looked for. */
const MAX_CUT_BACK_CHARS = 1_024;

const isSpace = (code: number): boolean => code === 32 || code === 10 || code === 9 || code === 13;
