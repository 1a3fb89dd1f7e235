// Paces model requests by the organisation's rate limits before they are sent, with the state
// shared through the store, so N workers on N hosts together stay under limits the API sets per
// organisation and model class (the rule: rate-limit-buckets.ts, docs/architecture.md "Shared
// rate limits").
// The RateGovernor still backs off on a 429; this is what keeps the 429 from happening.

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../contracts/store.ts';
import { undatedModel } from '../runtime/pricing.ts';
import { emptyState, observe, rateLimitHeaders, reserve, type Amounts, type Need, type Priority, type Reservation, type SharedLimitState } from './rate-limit-buckets.ts';

export type { Priority } from './rate-limit-buckets.ts';

export interface SharedRateLimiterOptions {
  store: Pick<Store, 'updateRateLimit'>;
  /** What identifies the organisation: the API key (only its hash is stored) and the base URL. */
  apiKey: string | undefined;
  baseURL: string;
  priority: Priority;
  /** Share of each limit a sweep leaves for interactive runs (default 0.2). */
  reserveFraction?: number;
  /** Longest single wait before asking the store again: others' responses may have refilled it. */
  maxWaitStepMs?: number;
}

/** A granted request: hand it back with the response's headers. */
export type RateTicket = Amounts;

/** Input tokens are estimated at one per 3 characters of the request: above what the tokenizer counts, so an estimate errs towards waiting. */
const CHARS_PER_TOKEN = 3;

interface Waiting {
  need: Need;
  resolve: (ticket: RateTicket) => void;
  reject: (reason: unknown) => void;
  settled: boolean;
  /** Removes the abort listener: a run's signal outlives thousands of requests. */
  unlisten: () => void;
}

interface Observation {
  reported: ReturnType<typeof rateLimitHeaders>;
  ticket: RateTicket;
  at: number;
}

/**
 * The API's answers carry no rate-limit headers (a proxy that strips them, a stand-in): there is
 * nothing to pace by, so requests go without a store round trip, and the store is asked again
 * after this long.
 */
const UNPACED_RECHECK_MS = 10_000;

/** Responses whose input counts calibrate the estimate: recent enough to follow a run's changing prompts. */
const RATIOS_KEPT = 32;

/** Requests one store round trip reserves for at most. */
const MAX_BATCH = 32;

/** Model classes one limiter keeps apart; a script naming more shares the organisation's lane past them. */
const MAX_LANES = 32;

export class SharedRateLimiter {
  readonly priority: Priority;
  /** Store round trips, and the time they took, for the per-request cost (docs/benchmarks.md). */
  readonly stats = { roundTrips: 0, storeMs: 0, waitedMs: 0 };
  readonly #options: SharedRateLimiterOptions;
  readonly #organisation: string;
  readonly #lanes = new Map<string, RateLane>();
  /** Which lane granted a ticket: its response's headers and usage go back there. */
  readonly #laneOf = new WeakMap<RateTicket, RateLane>();

  constructor(options: SharedRateLimiterOptions) {
    this.priority = options.priority;
    this.#options = options;
    this.#organisation = rateLimitKey(options.apiKey, options.baseURL);
  }

  /** Waits until the request fits in every bucket of its model's class, then takes it out. */
  async acquire(params: { max_tokens: number; model?: string }, signal?: AbortSignal): Promise<RateTicket> {
    const lane = this.#lane(params.model);
    const ticket = await lane.acquire(params, signal);
    this.#laneOf.set(ticket, lane);
    return ticket;
  }

  /** What the API counted as the request's input (uncached and cache writes), to calibrate the next estimates. */
  learn(ticket: RateTicket, usage: { input_tokens: number; cache_creation_input_tokens?: number | null }): void {
    this.#laneOf.get(ticket)?.learn(ticket, usage);
  }

  /** The response's headers (a 429's too) re-anchor the buckets of the class its request was paced in. */
  observe(headers: Headers | undefined, ticket: RateTicket): Promise<void> {
    return this.#laneOf.get(ticket)?.observe(headers, ticket) ?? Promise.resolve();
  }

  #lane(model: string | undefined): RateLane {
    let modelClass = model === undefined ? '' : rateLimitClass(model);
    if (!this.#lanes.has(modelClass) && this.#lanes.size >= MAX_LANES) modelClass = '';
    let lane = this.#lanes.get(modelClass);
    if (!lane) {
      // The organisation's own key for requests that name no model (and past MAX_LANES).
      const key = modelClass === '' ? this.#organisation : `${this.#organisation}:${modelClass}`;
      lane = new RateLane(this.#options, key, this.stats);
      this.#lanes.set(modelClass, lane);
    }
    return lane;
  }
}

/**
 * The API's limits are per model class: its tables give a family's minor versions one limit
 * (Opus 4.x, Sonnet 4.x) and every other model its own. A dated or `-latest` id is its model's.
 * Ids of another shape are their own class.
 */
export function rateLimitClass(model: string): string {
  const id = undatedModel(model);
  const current = /^(claude-(?:opus|sonnet|haiku))-(\d+)(?:[-.]\d+)?$/.exec(id);
  return current ? `${current[1]}-${current[2]}` : id;
}

/** One model class's pacing: its requests waiting in this process, and its row in the store. */
class RateLane {
  readonly priority: Priority;
  readonly #store: Pick<Store, 'updateRateLimit'>;
  readonly #key: string;
  readonly #reserveFraction: number;
  readonly #maxWaitStepMs: number;
  /** The ticket of a request sent while unpaced: it reserved nothing. One per lane, so it names its lane. */
  readonly #unpacedTicket: RateTicket = Object.freeze({ requests: 0, input: 0, output: 0 });
  /** This process's requests waiting for a reservation, oldest first: one round trip reserves for all that fit. */
  #waiting: Waiting[] = [];
  #pumping = false;
  /** The newest response's headers not yet written; older ones it makes stale are dropped. */
  #observation: Observation | null = null;
  #observing: Promise<void> | null = null;
  /**
   * What the API counted as input against what was estimated, for the last responses: estimates
   * are scaled by the largest, so requests whose text undercounts their tokens (images, a denser
   * language, a tokenizer unlike the 3-characters rule) are reserved at what they really cost.
   */
  readonly #inputRatios: number[] = [];
  readonly #estimates = new WeakMap<RateTicket, number>();
  /** Until when requests go unpaced (the store said no answer had headers). */
  #unpacedUntil = 0;
  readonly stats: SharedRateLimiter['stats'];

  constructor(options: SharedRateLimiterOptions, key: string, stats: SharedRateLimiter['stats']) {
    this.priority = options.priority;
    this.#store = options.store;
    this.#key = key;
    this.#reserveFraction = options.reserveFraction ?? 0.2;
    this.#maxWaitStepMs = options.maxWaitStepMs ?? 1_000;
    this.stats = stats;
  }

  acquire(params: { max_tokens: number }, signal?: AbortSignal): Promise<RateTicket> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (Date.now() < this.#unpacedUntil) return Promise.resolve(this.#unpacedTicket);
    const estimate = estimateInputTokens(params);
    return new Promise<RateTicket>((resolve, reject) => {
      const onAbort = () => settle(waiting, () => reject(signal!.reason));
      const waiting: Waiting = {
        need: { input: Math.ceil(estimate * Math.max(1, ...this.#inputRatios)), output: params.max_tokens },
        resolve: (ticket) => {
          this.#estimates.set(ticket, estimate);
          resolve(ticket);
        },
        reject,
        settled: false,
        unlisten: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiting);
      if (!this.#pumping) void this.#pump();
    });
  }

  learn(ticket: RateTicket, usage: { input_tokens: number; cache_creation_input_tokens?: number | null }): void {
    const estimate = this.#estimates.get(ticket);
    if (!estimate) return;
    this.#inputRatios.push((usage.input_tokens + (usage.cache_creation_input_tokens ?? 0)) / estimate);
    if (this.#inputRatios.length > RATIOS_KEPT) this.#inputRatios.shift();
  }

  /**
   * The response's headers (a 429's too) re-anchor the shared buckets. Written behind the caller's
   * back, and coalesced: responses that arrive while one is being written are written as one.
   */
  observe(headers: Headers | undefined, ticket: RateTicket): Promise<void> {
    const reported = headers ? rateLimitHeaders(headers) : null;
    if (reported) this.#unpacedUntil = 0;
    else if (ticket === this.#unpacedTicket) return Promise.resolve();
    const observation = { reported, ticket, at: Date.now() };
    if (!this.#observation || ticket.requests >= this.#observation.ticket.requests) this.#observation = observation;
    this.#observing ??= this.#writeObservations().finally(() => (this.#observing = null));
    return this.#observing;
  }

  async #writeObservations(): Promise<void> {
    while (this.#observation) {
      const { reported, ticket, at } = this.#observation;
      this.#observation = null;
      await this.#update((state) => ({ state: observe(state, reported, ticket, at), result: undefined }));
    }
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for (;;) {
        this.#waiting = this.#waiting.filter((w) => !w.settled);
        if (this.#waiting.length === 0) return;
        const batch = this.#waiting.slice(0, MAX_BATCH);
        const now = Date.now();
        let results: Reservation[];
        let unpaced = false;
        try {
          results = await this.#update((state) => {
            unpaced = state.unpaced;
            const out: Reservation[] = [];
            let current = state;
            for (const w of batch) {
              const { state: next, reservation } = reserve(current, w.need, this.priority, this.#reserveFraction, now);
              out.push(reservation);
              if (!reservation.granted) break;
              current = next;
            }
            return { state: current, result: out };
          });
        } catch (error) {
          for (const w of batch) settle(w, () => w.reject(error));
          continue;
        }
        if (unpaced) this.#unpacedUntil = Date.now() + UNPACED_RECHECK_MS;
        let refused: Reservation | undefined;
        results.forEach((r, i) => {
          if (r.granted) settle(batch[i]!, () => batch[i]!.resolve(r.ticket));
          else refused = r;
        });
        if (refused && !refused.granted) {
          const step = Math.min(refused.waitMs, this.#maxWaitStepMs);
          this.stats.waitedMs += step;
          await sleep(step);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #update<T>(change: (state: SharedLimitState) => { state: SharedLimitState; result: T }): Promise<T> {
    const started = performance.now();
    try {
      return await this.#store.updateRateLimit(this.#key, (text) => {
        const { state, result } = change(text ? parseState(text) : emptyState());
        return { state: JSON.stringify(state), result };
      });
    } finally {
      this.stats.roundTrips += 1;
      this.stats.storeMs += performance.now() - started;
    }
  }
}

function settle(waiting: Waiting, how: () => void): void {
  if (waiting.settled) return;
  waiting.settled = true;
  waiting.unlisten();
  how();
}

/** The store's key for an organisation: never the API key itself. */
export function rateLimitKey(apiKey: string | undefined, baseURL: string): string {
  return `sha256:${createHash('sha256').update(`${baseURL}\n${apiKey ?? ''}`).digest('hex')}`;
}

/** Everything the API counts as input: system prompt, tools and messages. */
export function estimateInputTokens(params: object): number {
  const { system, tools, messages } = params as { system?: unknown; tools?: unknown; messages?: unknown };
  const chars = JSON.stringify(system ?? '').length + JSON.stringify(tools ?? []).length + JSON.stringify(messages ?? []).length;
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** A row another Foreman wrote in a shape this one does not know starts over rather than failing every request. */
function parseState(text: string): SharedLimitState {
  try {
    const parsed = JSON.parse(text) as SharedLimitState;
    if (parsed && typeof parsed === 'object' && parsed.debited && parsed.buckets) return parsed;
  } catch {
    // Falls through.
  }
  return emptyState();
}
