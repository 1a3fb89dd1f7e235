// Which prompt-cache TTL an agent's shared breakpoints ask for. A 5-minute write costs 1.25 times
// the input price, a 1-hour write twice it; a read costs a tenth either way, and refreshes the
// entry. The hour pays only when the next read would come more than 5 minutes after the last
// use: one read it saves (0.9 of the prefix) is worth more than the extra 0.75 of one write.
//
// The rule (docs/prompt-caching.md):
// - a sweep (a schedule or a release's sweep) takes the hour for the whole run: it is paced behind
//   interactive runs and its agents are spread over its repositories' time, not a burst;
// - a resumed run takes the hour: it has already outlived a 5-minute cache once (a cap, a stop,
//   a crash), and may again;
// - any other run takes 5 minutes, except for a prefix the detector saw reused more than
//   4 minutes after its previous use (a pipeline whose stage items arrive spaced out): from then
//   on that prefix is written for the hour (shared-prefix.ts);
// - the conversation's own moving breakpoint always takes 5 minutes: an agent's turns are seconds
//   apart, and the API wants longer TTLs before shorter ones, which this order keeps.
import type { CacheTtl } from './prompts.ts';

export interface CacheTtlFacts {
  /** The run is a sweep (scheduled, or a release's security sweep). */
  sweep: boolean;
  /** The run is a resume of a run that stopped. */
  resumed: boolean;
}

/** The TTL a run's shared breakpoints start with. */
export const runCacheTtl = (facts: CacheTtlFacts): CacheTtl => (facts.sweep || facts.resumed ? '1h' : '5m');

/** The TTL of one agent's shared breakpoints: the run's, or the hour for a prefix reused spaced out. */
export const agentCacheTtl = (run: CacheTtl, prefix: { spacedOut: boolean } | null): CacheTtl => (run === '1h' || prefix?.spacedOut ? '1h' : '5m');
