// Token usage in Anthropic's four buckets, the server tools' request counts, and the arithmetic
// every layer does on them.
/** Token usage in Anthropic's four buckets, and the web requests the API ran for the agent. */
export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  /** Every token written to the cache, whatever its TTL (`cache_creation_input_tokens`). */
  cacheWrite: number;
  /**
   * The part of `cacheWrite` written with the 1-hour TTL (`cache_creation.ephemeral_1h_input_tokens`),
   * priced higher than a 5-minute write. Absent when none: usages journaled before it read as 0.
   */
  cacheWrite1h?: number;
  /**
   * Web searches the API ran (`usage.server_tool_use.web_search_requests`), priced per search.
   * Absent when none: most runs never search, and their usage reads as it always did.
   */
  webSearches?: number;
  /** Web fetches the API ran (`web_fetch_requests`); they cost only the tokens they bring in. Absent when none. */
  webFetches?: number;
}

export const zeroUsage = (): Usage => ({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });

export function addUsage(into: Usage, more: Usage): Usage {
  into.input += more.input;
  into.output += more.output;
  into.cacheRead += more.cacheRead;
  into.cacheWrite += more.cacheWrite;
  if (more.cacheWrite1h) into.cacheWrite1h = (into.cacheWrite1h ?? 0) + more.cacheWrite1h;
  if (more.webSearches) into.webSearches = (into.webSearches ?? 0) + more.webSearches;
  if (more.webFetches) into.webFetches = (into.webFetches ?? 0) + more.webFetches;
  return into;
}

/** Every token the model processed or produced; what `budget` counts. */
export const totalTokens = (u: Usage): number => u.input + u.output + u.cacheRead + u.cacheWrite;

/** Every token of the prompts: uncached input, and what was read from and written to the cache. */
export const promptTokens = (u: Usage): number => u.input + u.cacheRead + u.cacheWrite;

/** The share of prompt tokens read from the cache, 0 to 1; null when there were no prompt tokens. */
export const cacheReadShare = (u: Usage): number | null => {
  const prompt = promptTokens(u);
  return prompt > 0 ? u.cacheRead / prompt : null;
};

/** Whether the cache was read or written at all: most reports show its figures only then. */
export const usedCache = (u: Usage): boolean => u.cacheRead > 0 || u.cacheWrite > 0;
