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
    this.#fire();
    await this.#inFlight;
  }

  #fire(): void {
    const send = this.#pending;
    this.#pending = null;
    if (!send) return;
    this.#lastAt = Date.now();
    this.#inFlight = this.#inFlight.then(send).catch(this.#onError);
  }
}
