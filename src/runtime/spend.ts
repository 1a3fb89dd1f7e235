// Spend caps across runs (limits.spend): the ledger keys an agent's spend is added to, and the gate
// that refuses an agent when what its repository or installation has spent this UTC day or month,
// plus what it may cost, would cross a cap. The next agent is expected to cost as much as the
// largest agent recorded in that scope and period so far (by any run), or as this run's largest,
// whichever is more; agents of this run already admitted and not yet recorded count as much each.
// Agents of other runs still running are not seen until they are recorded: a cap can be passed by
// what those cost, never by more.
import type { CapKind } from '../contracts/caps.ts';
import type { SpendCap, SpendCharge, SpendKey, SpendScope, SpendTotals, Store } from '../contracts/store.ts';
import type { Usage } from '../contracts/usage.ts';

export type SpendPeriod = 'day' | 'month';
const DAY_MS = 86_400_000;
export const SPEND_PERIODS: readonly SpendPeriod[] = ['day', 'month'];

/** The ledger's name for a scope: `repository:owner/repo`, `installation:42`. */
export const scopeKey = (scope: Pick<SpendScope, 'kind' | 'id'>): string => `${scope.kind}:${scope.id}`;

/** The ledger's name for the UTC day or month `at` falls in: `day:2026-12-01`, `month:2026-12`. */
export function periodKey(period: SpendPeriod, at: Date): string {
  const iso = at.toISOString();
  return period === 'day' ? `day:${iso.slice(0, 10)}` : `month:${iso.slice(0, 7)}`;
}

/** When the UTC day or month `at` falls in ends, and its spend starts again from nothing. */
export function periodEnd(period: SpendPeriod, at: Date): Date {
  const [y, m, d] = [at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()];
  return period === 'day' ? new Date(Date.UTC(y, m, d + 1)) : new Date(Date.UTC(y, m + 1, 1));
}

/** What a cap counts of an agent's usage: output tokens, as the run's token budget does. */
export const spendTokens = (usage: Usage): number => usage.output;

/** Every ledger row an agent of these scopes adds to at `at`. */
export function spendKeys(scopes: readonly SpendScope[], at: Date): SpendKey[] {
  return scopes.flatMap((scope) => SPEND_PERIODS.map((period) => ({ scope: scopeKey(scope), period: periodKey(period, at) })));
}

/** What the agents one commit records add to one ledger row. */
export interface LedgerAddition extends SpendKey {
  usd: number;
  tokens: number;
  agents: number;
  largestUsd: number;
  largestTokens: number;
}

/**
 * The charges of a commit's agents added up per ledger row, in one order: a commit then writes
 * each row once (not once per agent, twice per agent for a repository's day and month), and two
 * commits never wait on each other's rows crosswise.
 */
export function tallySpend(charges: Iterable<SpendCharge>): LedgerAddition[] {
  const rows = new Map<string, LedgerAddition>();
  for (const charge of charges) {
    for (const key of charge.keys) {
      const name = `${key.scope}\0${key.period}`;
      const row = rows.get(name) ?? { ...key, usd: 0, tokens: 0, agents: 0, largestUsd: 0, largestTokens: 0 };
      row.usd += charge.usd;
      row.tokens += charge.tokens;
      row.agents += 1;
      row.largestUsd = Math.max(row.largestUsd, charge.usd);
      row.largestTokens = Math.max(row.largestTokens, charge.tokens);
      rows.set(name, row);
    }
  }
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

const UNITS = { usd: 'USD', tokens: 'output-token' } as const;
const PERIOD_WORDS = { day: { cap: 'daily', spent: 'today' }, month: { cap: 'monthly', spent: 'this month' } } as const;

export const formatSpend = (unit: keyof SpendCap, amount: number): string => (unit === 'usd' ? `$${amount.toFixed(2)}` : `${Math.round(amount)} tokens`);

/** A cap the gate refused an agent by: which, of how much, what is spent, and when it resets. */
export interface SpendRefusal {
  cap: CapKind;
  reason: string;
  limit: number;
  used: number;
}

/** The spend gate of one run: reads the shared ledger before each agent starts. */
export class SpendGate {
  readonly #store: Pick<Store, 'readSpend'>;
  readonly #scopes: readonly SpendScope[];
  readonly #clock: () => Date;
  /** Agents admitted and not yet recorded: the ledger does not count them yet. */
  #pending = 0;
  #largest = { usd: 0, tokens: 0 };
  #keys: { day: number; keys: SpendKey[] } | null = null;
  /** Some scope has a cap: without one, an agent is admitted without reading the ledger. */
  readonly capped: boolean;

  constructor(store: Pick<Store, 'readSpend'>, scopes: readonly SpendScope[], clock: () => Date) {
    this.#store = store;
    this.#scopes = scopes;
    this.#clock = clock;
    this.capped = scopes.some((scope) => scope.day !== undefined || scope.month !== undefined);
  }

  /**
   * Admits the next agent, or the cap it would cross. Admitted, it counts as pending until
   * `settle()`: call that once its spend is recorded (or it never ran).
   */
  async admit(): Promise<SpendRefusal | null> {
    // Counted before the read, so agents of this run admitted at once see each other.
    this.#pending += 1;
    try {
      const refusal = await this.#refusal();
      if (refusal) this.#pending -= 1;
      return refusal;
    } catch (error) {
      this.#pending -= 1;
      throw error;
    }
  }

  settle(): void {
    this.#pending = Math.max(0, this.#pending - 1);
  }

  /** The charge an agent's spend adds to the ledger, in the transaction that records it. */
  charge(usage: Usage, usd: number): SpendCharge {
    const tokens = spendTokens(usage);
    this.noteAgent(usage, usd);
    return { keys: this.#keysAt(this.#clock()), usd, tokens };
  }

  /** The ledger rows of this UTC day, worked out once a day rather than for each of a fan-out's agents. */
  #keysAt(now: Date): SpendKey[] {
    const day = Math.floor(now.getTime() / DAY_MS);
    if (this.#keys?.day !== day) this.#keys = { day, keys: spendKeys(this.#scopes, now) };
    return this.#keys.keys;
  }

  /** An agent of this run (replayed ones too): the largest is what the next one may cost. */
  noteAgent(usage: Usage, usd: number): void {
    this.#largest = { usd: Math.max(this.#largest.usd, usd), tokens: Math.max(this.#largest.tokens, spendTokens(usage)) };
  }

  async #refusal(): Promise<SpendRefusal | null> {
    const now = this.#clock();
    const checks = this.#scopes.flatMap((scope) =>
      SPEND_PERIODS.flatMap((period) => (scope[period] ? [{ scope, period, cap: scope[period], key: { scope: scopeKey(scope), period: periodKey(period, now) } }] : [])),
    );
    if (checks.length === 0) return null;
    const totals = await this.#store.readSpend(checks.map((check) => check.key));
    for (const [i, check] of checks.entries()) {
      for (const unit of ['usd', 'tokens'] as const) {
        const limit = check.cap[unit];
        if (limit === undefined) continue;
        const spent = totals[i]![unit];
        const next = Math.max(this.#largest[unit], largestOf(totals[i]!, unit));
        if (spent >= limit || spent + this.#pending * next > limit) {
          return { cap: 'spend', reason: capReason(check.scope, check.period, unit, limit, spent, next, periodEnd(check.period, now)), limit, used: spent };
        }
      }
    }
    return null;
  }
}

const largestOf = (totals: SpendTotals, unit: keyof SpendCap): number => (unit === 'usd' ? totals.largestUsd : totals.largestTokens);

/** "the repository's daily USD cap of $5.00 (repository:o/r) is reached: $4.80 spent today, ...; it resets at ...". */
function capReason(scope: SpendScope, period: SpendPeriod, unit: keyof SpendCap, limit: number, spent: number, next: number, resets: Date): string {
  const words = PERIOD_WORDS[period];
  const which = `the ${scope.kind}'s ${words.cap} ${UNITS[unit]} cap of ${formatSpend(unit, limit)} (${scopeKey(scope)})`;
  const state = spent >= limit ? 'is reached' : `would be crossed by the next agent (up to ${formatSpend(unit, next)}, as much as the largest so far)`;
  return `${which} ${state}: ${formatSpend(unit, spent)} spent ${words.spent} (UTC); it resets at ${resets.toISOString()}`;
}
