// Coalesces updates of one GitHub object (a check run, a comment): at most one call per
// interval, the newest state wins, and calls never overlap. GitHub's secondary rate limits
// punish bursts of writes to one resource; a fan-out emits thousands of events.
export class Throttle {
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #lastAt = -Infinity;
  #timer: NodeJS.Timeout | null = null;
  #pending: (() => Promise<void>) | null = null;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(intervalMs: number, onError: (error: unknown) => void) {
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Sends `send` when the interval allows, unless a newer one replaces it first. */
  schedule(send: () => Promise<void>): void {
    this.#pending = send;
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastAt + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#fire();
    }, wait);
  }

  /** Sends what is pending now and waits until every call has finished. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#fire(true);
    await this.#inFlight;
  }

  #fire(now = false): void {
    const send = this.#pending;
    this.#pending = null;
    if (!send) return;
    // Spaced from when the previous call was sent, not when it was scheduled: a call that waited
    // behind a slow one would otherwise go out right after it.
    this.#inFlight = this.#inFlight
      .then(async () => {
        const wait = now ? 0 : this.#lastAt + this.#intervalMs - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        this.#lastAt = Date.now();
        await send();
      })
      .catch(this.#onError);
  }
}
