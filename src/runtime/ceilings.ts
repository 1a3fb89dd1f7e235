// A run's ceilings (DESIGN §2): what it has spent against its token budget, its USD cap and its
// agents per run, and the refusal of a call once one is reached or the run was stopped. The
// refusal says what happened (which cap, its value, what was spent); the remedy is the door's.
// The token budget counts output tokens, as Claude Code's `budget` does, so that the script's
// budget.spent() and the cap are one figure; every token (input and cache too) counts against the
// USD cap, the run's ceiling on what it pays.
import type { CapKind } from '../contracts/caps.ts';
import type { RunOptions } from '../contracts/store.ts';
import type { Usage } from '../contracts/usage.ts';

/** Why a host call was refused: a cap (which one, its value, what was used) or the run's stop (cap null). */
export interface Refusal {
  cap: CapKind | null;
  reason: string;
  limit?: number;
  used?: number;
}

export class Ceilings {
  readonly #limits: RunOptions;
  readonly #signal: AbortSignal | undefined;
  #agentCalls = 0;
  #spentTokens = 0;
  #spentUsd = 0;
  // The latest cap that refused or cut short an agent, and how many agents it kept from finishing.
  // Set even when the script caught the throw: the run is not complete.
  #capHit: Refusal | null = null;
  #cappedAgents = 0;

  constructor(limits: RunOptions, signal: AbortSignal | undefined) {
    this.#limits = limits;
    this.#signal = signal;
  }

  /** Output tokens spent: what `budget.spent()` returns and the token budget counts. */
  get spentTokens(): number {
    return this.#spentTokens;
  }

  get spentUsd(): number {
    return this.#spentUsd;
  }

  get cappedAgents(): number {
    return this.#cappedAgents;
  }

  /** The cap that ended the run, if one did; for tokens and USD, with what the spend ended at. */
  capThatEnded(): Refusal | null {
    const hit = this.#capHit;
    if (!hit) return null;
    // Agents already running when the cap was reached add to the spend.
    return hit.cap === 'tokens' || hit.cap === 'usd' ? (this.capRefusal() ?? hit) : hit;
  }

  stopRefusal(): Refusal | null {
    return this.#signal?.aborted ? { cap: null, reason: 'the run was stopped' } : null;
  }

  stopReason(): string | null {
    return this.stopRefusal()?.reason ?? null;
  }

  capRefusal(): Refusal | null {
    const { budgetTokens, maxCostUsd } = this.#limits;
    if (budgetTokens !== null && this.#spentTokens >= budgetTokens) {
      const reason = `the token budget is spent (${this.#spentTokens} of ${budgetTokens} output tokens)`;
      return { cap: 'tokens', reason, limit: budgetTokens, used: this.#spentTokens };
    }
    if (maxCostUsd !== null && this.#spentUsd >= maxCostUsd) {
      const reason = `the cost cap is reached ($${this.#spentUsd.toFixed(4)} of $${maxCostUsd})`;
      return { cap: 'usd', reason, limit: maxCostUsd, used: this.#spentUsd };
    }
    return null;
  }

  /** Counts an agent() call; the refusal once the run has started as many as it may. */
  agentCapRefusal(): Refusal | null {
    this.#agentCalls += 1;
    const max = this.#limits.maxAgents;
    if (this.#agentCalls <= max) return null;
    return { cap: 'agents', reason: `agent() was called ${this.#agentCalls} times; a run may start at most ${max} agents`, limit: max, used: this.#agentCalls };
  }

  /** A cap refused or cut short an agent. */
  noteCap(refusal: Refusal): void {
    this.#capHit = refusal;
    this.#cappedAgents += 1;
  }

  charge(usage: Usage, usd: number): void {
    this.#spentTokens += usage.output;
    this.#spentUsd += usd;
  }
}
