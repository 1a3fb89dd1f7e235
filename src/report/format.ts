// How figures read wherever a person sees them: the terminal, check runs, the progress comment.
export const formatTokens = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
export const formatUsd = (usd: number): string => `$${usd < 10 ? usd.toFixed(4) : usd.toFixed(2)}`;
export const formatMs = (ms: number): string => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${(ms / 1000).toFixed(1)}s`);
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
