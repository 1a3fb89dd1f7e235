// Prompt-cache warm-up for fan-outs. When 100 agents with the same prefix start at once, each
// would write the same cache entry because none of the writes has landed yet. Instead the first
// agent with a given prefix goes alone; the others wait (bounded) until its response starts
// streaming — by then the prefix is cached — and read it.

export interface CacheWarmupOptions {
  /** Longest a follower waits for the leader, so a slow or failing leader costs little. */
  maxWaitMs?: number;
}

export interface WarmupTicket {
  /** True for the first agent with this prefix: it sends at once and must call `started`. */
  leader: boolean;
  /** Leader only: its response started (or it gave up); releases the followers. Idempotent. */
  started: () => void;
}

export class CacheWarmup {
  #maxWaitMs: number;
  #prefixes = new Map<string, Promise<void>>();

  constructor(options: CacheWarmupOptions = {}) {
    this.#maxWaitMs = options.maxWaitMs ?? 5_000;
  }

  /**
   * Call before an agent's first request. The leader returns at once; followers return when the
   * leader's response has started, after `maxWaitMs`, or when `signal` aborts, whichever is first.
   */
  async enter(prefixKey: string, signal?: AbortSignal): Promise<WarmupTicket> {
    const leaderStarted = this.#prefixes.get(prefixKey);
    if (!leaderStarted) {
      let release!: () => void;
      this.#prefixes.set(prefixKey, new Promise<void>((resolve) => (release = resolve)));
      return { leader: true, started: release };
    }
    await waitBounded(leaderStarted, this.#maxWaitMs, signal);
    return { leader: false, started: () => {} };
  }
}

function waitBounded(promise: Promise<void>, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, maxWaitMs);
    signal?.addEventListener('abort', done, { once: true });
    promise.then(done);
  });
}
