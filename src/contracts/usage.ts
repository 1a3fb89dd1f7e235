// Token usage in Anthropic's four buckets, the server tools' request counts, and the arithmetic
// every layer does on them.
/** Token usage in Anthropic's four buckets, and the web requests the API ran for the agent. */
export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
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
  if (more.webSearches) into.webSearches = (into.webSearches ?? 0) + more.webSearches;
  if (more.webFetches) into.webFetches = (into.webFetches ?? 0) + more.webFetches;
  return into;
}

/** Every token the model processed or produced; what `budget` counts. */
export const totalTokens = (u: Usage): number => u.input + u.output + u.cacheRead + u.cacheWrite;
