// Adaptive back-off shared by every agent of a run. The scheduler's p-limit caps how many agents
// run; this caps how many model requests are in flight, and shrinks that cap when the API says
// it is overloaded (429/529), so a 1,000-agent fan-out slows down instead of hammering the API
// with retries. AIMD, as in TCP: halve on congestion, add one per success.

export interface RateGovernorOptions {
  /** First delay of the exponential back-off used when the API gives no retry-after. */
  baseDelayMs?: number;
  /** Ceiling of that back-off. */
  maxDelayMs?: number;
  /** Ceiling on a server-supplied retry-after, so a bogus header cannot stall a run for hours. */
  maxRetryAfterMs?: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

interface Waiter {
  grant: (release: () => void) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class RateGovernor {
  readonly maxInFlight: number;
  #limit: number;
  #inFlight = 0;
  #pausedUntil = 0;
  #consecutiveRateLimits = 0;
  #waiters: Waiter[] = [];
  #resumeTimer: NodeJS.Timeout | undefined;
  #baseDelayMs: number;
  #maxDelayMs: number;
  #maxRetryAfterMs: number;
  #random: () => number;

  constructor(maxInFlight: number, options: RateGovernorOptions = {}) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError(`RateGovernor maxInFlight must be a positive integer, got ${maxInFlight}`);
    }
    this.maxInFlight = maxInFlight;
    this.#limit = maxInFlight;
    this.#baseDelayMs = options.baseDelayMs ?? 1_000;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.#random = options.random ?? Math.random;
  }

  /** Requests currently allowed in flight. */
  get limit(): number {
    return this.#limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Milliseconds until new requests may start again (0 when not paused). */
  get pauseRemainingMs(): number {
    return Math.max(0, this.#pausedUntil - Date.now());
  }

  /** Waits for a request slot. Call the returned function exactly once when the request ends. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((grant, reject) => {
      const waiter: Waiter = { grant, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#pump();
    });
  }

  /** The API answered; additive increase of the allowed in-flight requests. */
  onSuccess(): void {
    this.#consecutiveRateLimits = 0;
    if (this.#limit < this.maxInFlight) this.#limit += 1;
    this.#pump();
  }

  /**
   * The API answered 429/529. Halves the allowed in-flight requests and pauses new ones until
   * `retryAfterMs` (from the response) or an exponential back-off with jitter. Returns the pause.
   */
  onRateLimited(retryAfterMs?: number): number {
    const now = Date.now();
    // Requests that were already in flight when congestion began report it too; one congestion
    // episode (a pause still running) halves the limit once, not once per request.
    const alreadyPaused = now < this.#pausedUntil;
    if (!alreadyPaused) {
      this.#limit = Math.max(1, Math.floor(this.#limit / 2));
      this.#consecutiveRateLimits += 1;
    }
    const pauseMs =
      retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
        ? Math.min(retryAfterMs, this.#maxRetryAfterMs)
        : this.backoffDelayMs(this.#consecutiveRateLimits);
    this.#pausedUntil = Math.max(this.#pausedUntil, now + pauseMs);
    this.#scheduleResume();
    return pauseMs;
  }

  /** Back-off for the `attempt`-th consecutive rate limit (1-based) when no retry-after is given. */
  backoffDelayMs(attempt: number): number {
    return jitteredBackoffMs(attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random);
  }

  #pump(): void {
    if (Date.now() < this.#pausedUntil) {
      this.#scheduleResume();
      return;
    }
    while (this.#waiters.length > 0 && this.#inFlight < this.#limit) {
      const waiter = this.#waiters.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      this.#inFlight += 1;
      waiter.grant(this.#releaser());
    }
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= 1;
      this.#pump();
    };
  }

  #scheduleResume(): void {
    if (this.#waiters.length === 0) return;
    const delay = this.#pausedUntil - Date.now();
    if (delay <= 0) return;
    if (this.#resumeTimer) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = undefined;
      this.#pump();
    }, delay);
  }
}

/**
 * Exponential back-off with "equal jitter" for the `attempt`-th failure (1-based): at least half
 * the delay, so agents that failed together spread out without any retrying immediately.
 */
export function jitteredBackoffMs(attempt: number, baseMs: number, maxMs = 30_000, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Reads `retry-after-ms` or `retry-after` (seconds or an HTTP date) from response headers. */
export function retryAfterMsFromHeaders(headers: Headers | undefined | null): number | undefined {
  if (!headers) return undefined;
  const millis = headers.get('retry-after-ms');
  if (millis !== null && millis.trim() !== '') {
    const value = Number(millis);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers.get('retry-after');
  if (after === null || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(after);
  if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  return undefined;
}
