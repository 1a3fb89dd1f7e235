// The organisation's rate limits as the Messages API enforces them, for the fake API: requests,
// input tokens and output tokens per minute, each a bucket that refills continuously up to its
// limit. Input tokens are the uncached ones (cache reads do not count); output tokens are taken
// out at max_tokens when the request arrives and given back down to what the answer used.
// Every answer reports the buckets in the API's `anthropic-ratelimit-*` headers.

export interface FakeRateLimits {
  requestsPerMinute?: number;
  inputTokensPerMinute?: number;
  outputTokensPerMinute?: number;
}

type Name = 'requests' | 'input-tokens' | 'output-tokens';

interface Bucket {
  limit: number;
  level: number;
  at: number;
}

const MINUTE_MS = 60_000;

export class RateLimitBuckets {
  readonly #buckets = new Map<Name, Bucket>();
  readonly #now: () => number;

  constructor(limits: FakeRateLimits, now: () => number = Date.now) {
    this.#now = now;
    const start = now();
    const add = (name: Name, limit: number | undefined) => {
      if (limit === undefined) return;
      if (!(limit > 0)) throw new RangeError(`fake-anthropic: the ${name} limit must be positive, got ${limit}`);
      this.#buckets.set(name, { limit, level: limit, at: start });
    };
    add('requests', limits.requestsPerMinute);
    add('input-tokens', limits.inputTokensPerMinute);
    add('output-tokens', limits.outputTokensPerMinute);
  }

  /** Takes a request out of every bucket, or says after how many seconds it would fit. */
  take(inputTokens: number, maxTokens: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const wanted: Record<Name, number> = { requests: 1, 'input-tokens': inputTokens, 'output-tokens': maxTokens };
    let waitMs = 0;
    for (const [name, bucket] of this.#buckets) {
      const short = wanted[name] - this.#refill(bucket);
      if (short > 0) waitMs = Math.max(waitMs, (short * MINUTE_MS) / bucket.limit);
    }
    if (waitMs > 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    for (const [name, bucket] of this.#buckets) bucket.level -= wanted[name];
    return { ok: true };
  }

  /** The answer used `outputTokens` of the `maxTokens` taken out: the rest goes back. */
  settle(maxTokens: number, outputTokens: number): void {
    const bucket = this.#buckets.get('output-tokens');
    if (bucket) bucket.level = Math.min(bucket.limit, this.#refill(bucket) + Math.max(0, maxTokens - outputTokens));
  }

  /** The API's headers for every bucket; `tokens-*` is the token bucket closest to empty. */
  headers(): Record<string, string> {
    const headers: Record<string, string> = {};
    let tightest: { name: Name; remaining: number } | null = null;
    for (const [name, bucket] of this.#buckets) {
      const level = this.#refill(bucket);
      const remaining = Math.max(0, Math.floor(level));
      headers[`anthropic-ratelimit-${name}-limit`] = String(bucket.limit);
      headers[`anthropic-ratelimit-${name}-remaining`] = String(remaining);
      headers[`anthropic-ratelimit-${name}-reset`] = this.#fullAt(bucket, level);
      if (name !== 'requests' && (tightest === null || remaining < tightest.remaining)) tightest = { name, remaining };
    }
    if (tightest) {
      for (const part of ['limit', 'remaining', 'reset']) headers[`anthropic-ratelimit-tokens-${part}`] = headers[`anthropic-ratelimit-${tightest.name}-${part}`]!;
    }
    return headers;
  }

  #refill(bucket: Bucket): number {
    const now = this.#now();
    bucket.level = Math.min(bucket.limit, bucket.level + ((now - bucket.at) * bucket.limit) / MINUTE_MS);
    bucket.at = now;
    return bucket.level;
  }

  /** RFC 3339, as the API gives it: when the bucket will be full again. */
  #fullAt(bucket: Bucket, level: number): string {
    const ms = Math.max(0, ((bucket.limit - level) * MINUTE_MS) / bucket.limit);
    return new Date(this.#now() + Math.ceil(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}
