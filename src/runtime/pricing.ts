// What models cost and what their aliases mean: the price table (config `models` over the defaults)
// and the arithmetic from a usage to USD, which the ceilings, the reports and the bench all share.
import type { Usage } from '../contracts/usage.ts';

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
  /** A write with the 5-minute TTL (the API's list price: 1.25 × input). */
  cacheWrite: number;
  /** A write with the 1-hour TTL; absent: 2 × input, the API's list multiplier. */
  cacheWrite1h?: number;
}

/** The 1-hour write's price where the table gives none. */
export const CACHE_WRITE_1H_MULTIPLIER = 2;

export interface ModelTable {
  /** alias → model id, e.g. sonnet → claude-sonnet-5-5 */
  aliases: Record<string, string>;
  /** model id → price */
  prices: Record<string, ModelPrice>;
  /** model id used when a script names none */
  defaultModel: string;
  /** USD per 1,000 web searches, whatever the model; absent counts as free (a table a test built by hand). */
  webSearchUsdPer1000?: number;
}

// Current Claude models (list prices as of 2026-11). Overridable in `.github/foreman.yml`
// (`models.aliases`, `models.prices`) because prices and ids change faster than releases.
export const DEFAULT_MODELS: ModelTable = {
  aliases: {
    haiku: 'claude-haiku-5-5',
    sonnet: 'claude-sonnet-5-5',
    opus: 'claude-opus-5-5',
  },
  prices: {
    'claude-haiku-5-5': { input: 0.1, output: 0.5, cacheRead: 0.005, cacheWrite: 0.125 },
    'claude-sonnet-5-5': { input: 2, output: 10, cacheRead: 0.1, cacheWrite: 2.5 },
    'claude-opus-5-5': { input: 4, output: 20, cacheRead: 0.2, cacheWrite: 5 },
    'claude-haiku-4-5': { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
    'claude-sonnet-4-5': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    'claude-opus-4-5': { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
  },
  defaultModel: 'claude-sonnet-5-5',
  // The API's list price for its web_search server tool; the results it returns are input tokens on top.
  // Web fetches cost only their tokens.
  webSearchUsdPer1000: 10,
};

/**
 * A model id without its date or `-latest` (`claude-haiku-4-5-20251001` is `claude-haiku-4-5`):
 * what the API's per-model tables (cache minimums, rate-limit classes) name. Cut to 100 characters
 * first: a script may name any model.
 */
export const undatedModel = (model: string): string => model.slice(0, 100).toLowerCase().replace(/-(\d{8}|latest)$/, '');

export function resolveModel(table: ModelTable, nameOrAlias: string | undefined): string {
  if (!nameOrAlias) return table.defaultModel;
  return table.aliases[nameOrAlias] ?? nameOrAlias;
}

/** Cost of `usage` on `model`, its web searches included, cache writes at their TTL's price. Unknown models cost the most expensive
 * known price, so a cap never under-counts. */
export function costUsd(table: ModelTable, model: string, usage: Usage): number {
  const price = table.prices[model] ?? mostExpensive(table);
  // cacheWrite counts both TTLs; its 1-hour part is priced apart (never more than the whole, whatever a journal says).
  const oneHour = Math.min(usage.cacheWrite1h ?? 0, usage.cacheWrite);
  const tokens =
    (usage.input * price.input +
      usage.output * price.output +
      usage.cacheRead * price.cacheRead +
      (usage.cacheWrite - oneHour) * price.cacheWrite +
      oneHour * (price.cacheWrite1h ?? price.input * CACHE_WRITE_1H_MULTIPLIER)) /
    1_000_000;
  return tokens + ((usage.webSearches ?? 0) * (table.webSearchUsdPer1000 ?? 0)) / 1_000;
}

function mostExpensive(table: ModelTable): ModelPrice {
  const all = Object.values(table.prices);
  if (all.length === 0) return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  return all.reduce((a, b) => (b.output > a.output ? b : a));
}
