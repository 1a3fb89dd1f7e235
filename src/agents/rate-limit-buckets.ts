// The organisation's rate limits as the API reports them, kept as token buckets every worker shares
// through the store (shared-rate-limiter.ts). Pure: the store runs `reserve` and `observe` inside
// its lock, so these never wait and never do I/O.
//
// The API meters requests, input tokens and output tokens per minute, each a bucket that refills
// continuously (limit / 60 s) up to its limit. A request is sent only once its estimate fits in
// every bucket; the estimate is taken out then, and each response's headers re-anchor the buckets.

/** The three limits the API enforces, as its headers name them. */
export const DIMENSIONS = ['requests', 'input', 'output'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export type Amounts = Record<Dimension, number>;

/** How many per minute, and how many were left when the API answered. */
export interface Bucket {
  limit: number;
  remaining: number;
  /** When `remaining` was true (ms since the epoch); it has refilled since. */
  at: number;
}

export interface SharedLimitState {
  /** A dimension is absent until a response's headers report it. */
  buckets: Partial<Record<Dimension, Bucket>>;
  /** What reservations took out, in total, ever: tells a response which later reservations its headers cannot include. */
  debited: Amounts;
  /** `debited.requests` as of the reservation whose response last anchored the buckets: an older response's headers are stale. */
  anchoredAt: number;
  /** Until headers are known, one request at a time across all workers; another may go after this (ms). */
  probeUntil: number;
  /** A response came without rate-limit headers (a proxy, a gateway): nothing to pace by. */
  unpaced: boolean;
}

export type Priority = 'interactive' | 'sweep';

export interface Need {
  input: number;
  output: number;
}

export type Reservation = { granted: true; ticket: Amounts } | { granted: false; waitMs: number };

/**
 * How long the first request may hold the others back while its headers are awaited: short, since
 * it may be a long answer, and agents may wait on each other's answers. What goes after it goes
 * unpaced until headers arrive, as without a limiter.
 */
const PROBE_MS = 1_000;
const MINUTE_MS = 60_000;

export const emptyState = (): SharedLimitState => ({ buckets: {}, debited: { requests: 0, input: 0, output: 0 }, anchoredAt: 0, probeUntil: 0, unpaced: false });

/** A bucket's level at `now`: what was left plus what has refilled since, up to the limit. */
export const levelAt = (bucket: Bucket, now: number): number =>
  Math.min(bucket.limit, bucket.remaining + (Math.max(0, now - bucket.at) * bucket.limit) / MINUTE_MS);

/**
 * Takes one request and `need` tokens out of every known bucket, or says how long to wait.
 * A sweep leaves `reserveFraction` of each limit untouched, for interactive runs only: when the
 * window is short, sweeps wait first.
 */
export function reserve(state: SharedLimitState, need: Need, priority: Priority, reserveFraction: number, now: number): { state: SharedLimitState; reservation: Reservation } {
  const wanted: Amounts = { requests: 1, input: Math.max(0, need.input), output: Math.max(0, need.output) };
  const known = DIMENSIONS.filter((d) => state.buckets[d] !== undefined);
  if (state.unpaced) return { state, reservation: { granted: true, ticket: state.debited } };
  if (known.length === 0) {
    if (state.probeUntil > now) return { state, reservation: { granted: false, waitMs: Math.min(state.probeUntil - now, 100) } };
    const next = { ...state, probeUntil: now + PROBE_MS, debited: add(state.debited, wanted) };
    return { state: next, reservation: { granted: true, ticket: next.debited } };
  }
  let waitMs = 0;
  const taken: Amounts = { requests: 0, input: 0, output: 0 };
  for (const d of known) {
    const bucket = state.buckets[d]!;
    const floor = priority === 'sweep' ? bucket.limit * reserveFraction : 0;
    // More than the bucket can ever hold waits for a full bucket, rather than forever.
    taken[d] = Math.min(wanted[d], bucket.limit - floor);
    const short = taken[d] + floor - levelAt(bucket, now);
    if (short > 0) waitMs = Math.max(waitMs, Math.ceil((short * MINUTE_MS) / bucket.limit));
  }
  if (waitMs > 0) return { state, reservation: { granted: false, waitMs } };
  const buckets: SharedLimitState['buckets'] = { ...state.buckets };
  for (const d of known) buckets[d] = { limit: state.buckets[d]!.limit, remaining: levelAt(state.buckets[d]!, now) - taken[d], at: now };
  const next = { ...state, buckets, debited: add(state.debited, wanted) };
  return { state: next, reservation: { granted: true, ticket: next.debited } };
}

/**
 * A response's headers, for the reservation `ticket` returned. The headers count every request the
 * API had received by then; reservations made after this one may still be on their way, so what
 * they took out stays taken out. A response to an older reservation than the one that last
 * anchored the buckets is stale and changes nothing.
 */
export function observe(state: SharedLimitState, reported: Partial<Record<Dimension, { limit: number; remaining: number }>> | null, ticket: Amounts, now: number): SharedLimitState {
  if (reported === null) return Object.keys(state.buckets).length > 0 ? state : { ...state, unpaced: true, probeUntil: 0 };
  if (ticket.requests < state.anchoredAt) return state;
  const buckets: SharedLimitState['buckets'] = { ...state.buckets };
  for (const d of DIMENSIONS) {
    const r = reported[d];
    if (!r) continue;
    buckets[d] = { limit: r.limit, remaining: r.remaining - (state.debited[d] - ticket[d]), at: now };
  }
  return { ...state, buckets, anchoredAt: ticket.requests, probeUntil: 0, unpaced: false };
}

/**
 * The `anthropic-ratelimit-*` headers of a response, or null when it has none. The input and
 * output token limits are read where given; an API that reports only the combined
 * `anthropic-ratelimit-tokens-*` (the most restrictive token limit) paces input by it.
 */
export function rateLimitHeaders(headers: Headers): Partial<Record<Dimension, { limit: number; remaining: number }>> | null {
  // Answers through a proxy that strips them, and a stand-in's, carry none: a few looks, not eight reads.
  if (!headers.has('anthropic-ratelimit-requests-limit') && !headers.has('anthropic-ratelimit-input-tokens-limit') && !headers.has('anthropic-ratelimit-tokens-limit') && !headers.has('anthropic-ratelimit-output-tokens-limit')) return null;
  const read = (name: string): { limit: number; remaining: number } | undefined => {
    const limit = Number(headers.get(`anthropic-ratelimit-${name}-limit`) ?? NaN);
    const remaining = Number(headers.get(`anthropic-ratelimit-${name}-remaining`) ?? NaN);
    return Number.isFinite(limit) && limit > 0 && Number.isFinite(remaining) && remaining >= 0 ? { limit, remaining } : undefined;
  };
  const found: Partial<Record<Dimension, { limit: number; remaining: number }>> = {};
  const requests = read('requests');
  const input = read('input-tokens') ?? read('tokens');
  const output = read('output-tokens');
  if (requests) found.requests = requests;
  if (input) found.input = input;
  if (output) found.output = output;
  return Object.keys(found).length > 0 ? found : null;
}

const add = (a: Amounts, b: Amounts): Amounts => ({ requests: a.requests + b.requests, input: a.input + b.input, output: a.output + b.output });
