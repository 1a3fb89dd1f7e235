// Token usage in Anthropic's four buckets, and the arithmetic every layer does on it.
/** Token usage in Anthropic's four buckets. */
export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export const zeroUsage = (): Usage => ({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });

export function addUsage(into: Usage, more: Usage): Usage {
  into.input += more.input;
  into.output += more.output;
  into.cacheRead += more.cacheRead;
  into.cacheWrite += more.cacheWrite;
  return into;
}

/** Every token the model processed or produced; what `budget` counts. */
export const totalTokens = (u: Usage): number => u.input + u.output + u.cacheRead + u.cacheWrite;
