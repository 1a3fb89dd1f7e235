// Adaptive back-off shared by every agent of a run. The scheduler's p-limit caps how many agents
// run; this caps how many model requests are in flight, and shrinks that cap when the API says
// it is overloaded (429/529), so a 1,000-agent fan-out slows down instead of hammering the API
// with retries. AIMD, as in TCP: halve on congestion, add one per success.

import { Semaphore } from '../runtime/semaphore.ts';

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

export class RateGovernor {
  readonly maxInFlight: number;
  /** The requests in flight; its limit is the AIMD window, paused while the API asks for a pause. */
  readonly #slots: Semaphore;
  #pausedUntil = 0;
  #consecutiveRateLimits = 0;
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
    this.#slots = new Semaphore(maxInFlight, 'RateGovernor');
    this.#baseDelayMs = options.baseDelayMs ?? 1_000;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.#random = options.random ?? Math.random;
  }

  /** Requests currently allowed in flight. */
  get limit(): number {
    return this.#slots.limit;
  }

  get inFlight(): number {
    return this.#slots.active;
  }

  /** Milliseconds until new requests may start again (0 when not paused). */
  get pauseRemainingMs(): number {
    return Math.max(0, this.#pausedUntil - Date.now());
  }

  /** Waits for a request slot. Call the returned function exactly once when the request ends. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const slot = this.#slots.acquire(signal);
    // After the request is queued: a pause that has run out lets it in, one still running
    // schedules its end now that someone waits for it.
    this.#pump();
    return slot.then((release) => release ?? Promise.reject(signal?.reason));
  }

  /** The API answered; additive increase of the allowed in-flight requests. */
  onSuccess(): void {
    this.#consecutiveRateLimits = 0;
    if (this.#slots.limit < this.maxInFlight) this.#slots.limit += 1;
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
      this.#slots.limit = Math.max(1, Math.floor(this.#slots.limit / 2));
      this.#consecutiveRateLimits += 1;
    }
    const pauseMs =
      retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
        ? Math.min(retryAfterMs, this.#maxRetryAfterMs)
        : this.backoffDelayMs(this.#consecutiveRateLimits);
    this.#pausedUntil = Math.max(this.#pausedUntil, now + pauseMs);
    this.#pump();
    return pauseMs;
  }

  /** Back-off for the `attempt`-th consecutive rate limit (1-based) when no retry-after is given. */
  backoffDelayMs(attempt: number): number {
    return jitteredBackoffMs(attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random);
  }

  #pump(): void {
    if (Date.now() < this.#pausedUntil) {
      this.#slots.pause();
      this.#scheduleResume();
    } else {
      this.#slots.resume();
    }
  }

  // Only while someone waits: a pause with nobody behind it keeps no timer (and no process) alive.
  #scheduleResume(): void {
    if (this.#slots.waiting === 0) return;
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
