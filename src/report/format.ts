// How figures read wherever a person sees them: the terminal, check runs, the progress comment.
export const formatTokens = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
export const formatUsd = (usd: number): string => `$${usd < 10 ? usd.toFixed(4) : usd.toFixed(2)}`;
export const formatMs = (ms: number): string => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${(ms / 1000).toFixed(1)}s`);
/** "1 agent", "3 agents"; `shown` is the figure as printed (e.g. formatTokens(n)). */
export const count = (n: number, noun: string, shown: string = String(n)): string => `${shown} ${n === 1 ? noun : `${noun}s`}`;
