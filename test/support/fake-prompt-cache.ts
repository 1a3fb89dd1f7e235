// The Messages API's prompt cache, for the fake API: what a request reads from the cache, what it
// writes and what it pays as plain input, as the API documents it. The prompt is a row of blocks
// (tools, then system, then each message's content blocks); a `cache_control` block is a breakpoint
// and caches the prefix up to and including it. Deterministic (tokens are ceil(characters / 4) per
// block) so a test can predict every figure.

import { createHash } from 'node:crypto';

export type CacheTtl = '5m' | '1h';

export interface PromptCacheUsage {
  input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/** What one request reads and writes; `commit` makes its writes readable. */
export interface PromptCachePlan {
  usage: PromptCacheUsage;
  /** The entry read (refreshed on commit), or null. */
  read: string | null;
  writes: Array<{ key: string; ttl: CacheTtl }>;
}

/** The API's minimum cacheable prefix, in tokens, by model family (COMMON17.md). */
const MINIMUM_BY_MODEL: Array<[prefix: string, tokens: number]> = [
  ['claude-opus-4-5', 4096],
  ['claude-haiku-4-5', 4096],
  ['claude-sonnet-4-5', 1024],
  ['claude-haiku-5-5', 2048],
  ['claude-sonnet-5-5', 1024],
  ['claude-opus-5-5', 1024],
];
const DEFAULT_MINIMUM = 1024;

/** The API checks this many blocks before each breakpoint for an entry it can read. */
export const LOOK_BACK_BLOCKS = 20;
export const MAX_BREAKPOINTS = 4;
const TTL_MS: Record<CacheTtl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

export function minimumCacheableTokens(model: string): number {
  // Dated ids (claude-haiku-4-5-20251001) belong to their family.
  return MINIMUM_BY_MODEL.find(([prefix]) => model === prefix || model.startsWith(`${prefix}-`))?.[1] ?? DEFAULT_MINIMUM;
}

/** One block of the prompt, as the cache sees it. */
interface PromptBlock {
  /** Where it is in the request, as the API names it in errors: `messages.0.content.2`. */
  path: string;
  /** The section or role it belongs to: the same text as a tool and as a user turn differ. */
  role: string;
  /** Its JSON without `cache_control`: what the cache key hashes. */
  json: string;
  tokens: number;
  cacheControl: unknown;
}

const tokensOf = (characters: number) => Math.ceil(characters / 4);

function promptBlock(path: string, role: string, block: unknown): PromptBlock {
  if (typeof block === 'string') return { path, role, json: JSON.stringify({ type: 'text', text: block }), tokens: tokensOf(block.length), cacheControl: undefined };
  const { cache_control: cacheControl, ...rest } = (block ?? {}) as Record<string, unknown>;
  const json = JSON.stringify(rest);
  const tokens = rest.type === 'text' && typeof rest.text === 'string' ? tokensOf(rest.text.length) : tokensOf(json.length);
  return { path, role, json, tokens, cacheControl };
}

/** The prompt's blocks in the order the API caches them: tools, system, messages. */
export function promptBlocks(body: any): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  if (Array.isArray(body?.tools)) body.tools.forEach((tool: unknown, i: number) => blocks.push(promptBlock(`tools.${i}`, 'tool', tool)));
  const system = body?.system;
  if (typeof system === 'string') blocks.push(promptBlock('system', 'system', system));
  else if (Array.isArray(system)) system.forEach((block: unknown, i: number) => blocks.push(promptBlock(`system.${i}`, 'system', block)));
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  messages.forEach((message, m) => {
    const role = String(message?.role);
    const content = message?.content;
    if (typeof content === 'string') blocks.push(promptBlock(`messages.${m}.content`, role, content));
    else if (Array.isArray(content)) content.forEach((block: unknown, i: number) => blocks.push(promptBlock(`messages.${m}.content.${i}`, role, block)));
  });
  return blocks;
}

interface Breakpoint {
  index: number;
  ttl: CacheTtl;
}

/** The breakpoints, or the API's 400 message for them. */
export function breakpointsOf(blocks: PromptBlock[]): Breakpoint[] | { error: string } {
  const breakpoints: Breakpoint[] = [];
  for (const [index, block] of blocks.entries()) {
    if (block.cacheControl === undefined || block.cacheControl === null) continue;
    const control = block.cacheControl as { type?: unknown; ttl?: unknown };
    if (control.type !== 'ephemeral') return { error: `${block.path}.cache_control: Input tag '${String(control.type)}' found using 'type' does not match any of the expected tags: 'ephemeral'` };
    const ttl = control.ttl ?? '5m';
    if (ttl !== '5m' && ttl !== '1h') return { error: `${block.path}.cache_control.ephemeral.ttl: Input should be '5m' or '1h'` };
    if (ttl === '1h' && breakpoints.some((b) => b.ttl === '5m')) {
      return { error: `${block.path}.cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note that blocks are processed in the following order: \`tools\`, \`system\`, \`messages\`.` };
    }
    breakpoints.push({ index, ttl });
  }
  if (breakpoints.length > MAX_BREAKPOINTS) return { error: `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints.length}.` };
  return breakpoints;
}

/**
 * The cache key of every boundary: a hash of the model and every block up to it. Each key hashes
 * the one before it and its own block, so the whole row costs one pass over the request.
 */
function boundaryKeys(model: string, blocks: PromptBlock[]): string[] {
  let key = createHash('sha256').update(`model:${model}`).digest('hex');
  return blocks.map((block) => (key = createHash('sha256').update(key).update(`\n${block.role}\n`).update(block.json).digest('hex')));
}

interface Entry {
  ttl: CacheTtl;
  expiresAt: number;
}

export interface PromptCacheOptions {
  /** The most entries kept; past it, expired ones go first, then the least recently used. */
  maxEntries?: number;
}

export const DEFAULT_MAX_ENTRIES = 10_000;

export class PromptCache {
  // Map order is recency: a read or write re-inserts its key, so the first keys are the least recently used.
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(options: PromptCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!(this.#maxEntries >= 1)) throw new RangeError(`fake-prompt-cache: maxEntries must be at least 1, got ${this.#maxEntries}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** What this request reads, writes and pays as input at `now`, or the API's 400 message. */
  plan(body: any, now: number): PromptCachePlan | { error: string } {
    const blocks = promptBlocks(body);
    const breakpoints = breakpointsOf(blocks);
    if ('error' in breakpoints) return breakpoints;
    const keys = boundaryKeys(String(body?.model), blocks);
    const upTo: number[] = [];
    blocks.reduce((sum, block, i) => (upTo[i] = sum + block.tokens), 0);
    const total = upTo.at(-1) ?? 0;

    const hit = this.#longestHit(breakpoints, keys, now);
    const read = hit < 0 ? 0 : upTo[hit]!;
    const minimum = minimumCacheableTokens(String(body?.model));
    const writes: PromptCachePlan['writes'] = [];
    const written = { '5m': 0, '1h': 0 };
    let from = read;
    for (const { index, ttl } of breakpoints) {
      if (index <= hit || upTo[index]! < minimum) continue;
      written[ttl] += upTo[index]! - from;
      from = upTo[index]!;
      writes.push({ key: keys[index]!, ttl });
    }
    const creation = written['5m'] + written['1h'];
    return {
      usage: {
        input_tokens: total - read - creation,
        cache_read_input_tokens: read,
        cache_creation_input_tokens: creation,
        cache_creation: { ephemeral_5m_input_tokens: written['5m'], ephemeral_1h_input_tokens: written['1h'] },
      },
      read: hit < 0 ? null : keys[hit]!,
      writes,
    };
  }

  /** The response has started: its writes become readable and its read entry lives on from `now`. */
  commit(plan: PromptCachePlan, now: number): void {
    if (plan.read !== null) {
      const entry = this.#entries.get(plan.read);
      if (entry) this.#touch(plan.read, entry.ttl, now);
    }
    for (const { key, ttl } of plan.writes) this.#touch(key, ttl, now);
    if (this.#entries.size > this.#maxEntries) this.#evict(now);
  }

  /** The last boundary, over every breakpoint's look-back, holding a live entry; -1 for none. */
  #longestHit(breakpoints: Breakpoint[], keys: string[], now: number): number {
    let hit = -1;
    for (const { index } of breakpoints) {
      for (let i = index; i >= Math.max(hit + 1, index - LOOK_BACK_BLOCKS); i--) {
        if (this.#live(keys[i]!, now)) {
          hit = i;
          break;
        }
      }
    }
    return hit;
  }

  #live(key: string, now: number): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && now < entry.expiresAt;
  }

  #touch(key: string, ttl: CacheTtl, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { ttl, expiresAt: now + TTL_MS[ttl] });
  }

  #evict(now: number): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }
}
