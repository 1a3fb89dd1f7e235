// The ceilings of DESIGN §2 that refuse agents, and the config key that sets each: the one name
// every door shares (each door adds its own way to raise it: a flag, an input, a config edit).

/** Token budget, USD cap, agents per run; spend: a repository's or installation's cap across runs (limits.spend). */
export type CapKind = 'tokens' | 'usd' | 'agents' | 'spend';

export const CAP_CONFIG_KEYS: Record<CapKind, string> = {
  tokens: 'limits.budgetTokens',
  usd: 'limits.maxCostUsd',
  agents: 'limits.agentsPerRun',
  spend: 'limits.spend',
};

/** Distinct phase titles a run shows; past it, new titles are counted, not shown. */
export const MAX_PHASE_TITLES = 1000;
