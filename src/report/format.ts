// How figures read wherever a person sees them: the terminal, check runs, the progress comment.
import { cacheReadShare, totalTokens, type Usage } from '../contracts/usage.ts';

export const formatTokens = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
export const formatUsd = (usd: number): string => `$${usd < 10 ? usd.toFixed(4) : usd.toFixed(2)}`;
export const formatMs = (ms: number): string => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${(ms / 1000).toFixed(1)}s`);
/**
 * A share as a whole percentage, "84%"; "–" when there was nothing to share (null). Never "100%"
 * short of all, nor "0%" above none: 99.7% read from the cache is not "everything".
 */
export function formatShare(share: number | null): string {
  if (share === null) return '–';
  const percent = Math.round(share * 100);
  return `${percent === 100 && share < 1 ? 99 : percent === 0 && share > 0 ? 1 : percent}%`;
}

/**
 * The cache in a table cell: the share of prompt tokens read from it, then the tokens read and
 * written, "84% r12.3k w1.2k"; "–" without prompt tokens (agents still queued).
 */
export function cacheCell(usage: Usage): string {
  const share = cacheReadShare(usage);
  return share === null ? '–' : `${formatShare(share)} r${formatTokens(usage.cacheRead)} w${formatTokens(usage.cacheWrite)}`;
}

/**
 * The cache in a sentence: "cache: 12.3k read (84% of prompt tokens), 1.2k written (1.0k for 1 hour)".
 * The 1-hour part only where there was one.
 */
export function cacheText(usage: Usage): string {
  const oneHour = usage.cacheWrite1h ? ` (${formatTokens(usage.cacheWrite1h)} for 1 hour)` : '';
  return `cache: ${formatTokens(usage.cacheRead)} read (${formatShare(cacheReadShare(usage))} of prompt tokens), ${formatTokens(usage.cacheWrite)} written${oneHour}`;
}

/**
 * Tokens with the share read from the cache, where any was read: "14.6k tok (84% from cache)";
 * where the cache was only written (the agent that wrote a prefix its siblings read), what it
 * wrote: "12.0k tok (11.9k written to cache)". `noun` as the place words it ("tok" in a line per
 * agent, "token" in a heading).
 */
export function tokensText(usage: Usage, noun: 'tok' | 'token'): string {
  const tokens = totalTokens(usage);
  const shown = noun === 'tok' ? `${formatTokens(tokens)} tok` : count(tokens, 'token', formatTokens(tokens));
  if (usage.cacheRead > 0) return `${shown} (${formatShare(cacheReadShare(usage))} from cache)`;
  return usage.cacheWrite > 0 ? `${shown} (${formatTokens(usage.cacheWrite)} written to cache)` : shown;
}

/** "1 agent", "3 agents"; `shown` is the figure as printed (e.g. formatTokens(n)). */
export const count = (n: number, noun: string, shown: string = String(n)): string => `${shown} ${n === 1 ? noun : `${noun}s`}`;

/**
 * A resumed run's replay, as every report says it: "replayed 12 of 15 calls", then what the
 * resume edited and the journaled calls no longer asked for.
 */
export function replayText(resume: { calls: number; replayed: number; unused: number; edited: readonly string[] }): string {
  const edited = resume.edited.length > 0 ? ` (resumed with ${editedText(resume.edited)})` : '';
  const unused = resume.unused > 0 ? `; ${count(resume.unused, 'journaled call')} no longer asked for` : '';
  return `replayed ${resume.replayed} of ${count(resume.calls, 'call')}${edited}${unused}`;
}

/** What a resume edited: "an edited script and new args". */
export const editedText = (edited: readonly string[]): string => edited.map((what) => (what === 'script' ? 'an edited script' : 'new args')).join(' and ');
