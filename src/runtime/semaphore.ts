// The one counting semaphore: at most `limit` holders at a time, the rest wait in FIFO order.
// A wait ends early when its signal aborts, so a stopped caller never queues behind others.
// The gate slots use it as it is; the rate governor moves its limit and pauses it.

/** Gives a held slot back; a second call does nothing. */
export type Release = () => void;

export class Semaphore {
  readonly #what: string;
  #limit: number;
  #active = 0;
  #paused = false;
  #waiting: Array<(release: Release) => void> = [];

  /** `what` names the semaphore in the error a bad limit gets. */
  constructor(limit: number, what = 'semaphore') {
    this.#what = what;
    this.#limit = checkedLimit(limit, what);
  }

  get limit(): number {
    return this.#limit;
  }

  /** A higher limit lets waiters in at once; a lower one takes effect as holders release. */
  set limit(value: number) {
    this.#limit = checkedLimit(value, this.#what);
    this.#pump();
  }

  /** Holders now. */
  get active(): number {
    return this.#active;
  }

  /** Waiters now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** While paused nobody is let in, whatever the limit; waiters keep their place. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  /** Resolves to the slot's release function, or to null if `signal` aborted first. */
  acquire(signal?: AbortSignal): Promise<Release | null> {
    if (signal?.aborted) return Promise.resolve(null);
    if (!this.#paused && this.#waiting.length === 0 && this.#active < this.#limit) {
      this.#active += 1;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((done) => {
      const grant = (release: Release): void => {
        signal?.removeEventListener('abort', onAbort);
        done(release);
      };
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(grant);
        if (at >= 0) this.#waiting.splice(at, 1);
        done(null);
      };
      this.#waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #pump(): void {
    while (!this.#paused && this.#waiting.length > 0 && this.#active < this.#limit) {
      this.#active += 1;
      this.#waiting.shift()!(this.#releaser());
    }
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active -= 1;
      this.#pump();
    };
  }
}

function checkedLimit(limit: number, what: string): number {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`${what}: the limit must be a whole number of at least 1, got ${limit}`);
  return limit;
}
