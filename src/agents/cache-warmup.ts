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

/**
 * A leader's entry this old may have expired (the 5-minute TTL, less a margin): the next agent
 * with the prefix leads again rather than all of a new burst writing it at once.
 */
const LEADER_LAPSE_MS = 4 * 60_000;
/** Leaders kept before the lapsed ones are dropped: a long run finds new prefixes as it goes. */
const MAX_LEADERS = 256;

interface Leader {
  started: Promise<void>;
  at: number;
}

export class CacheWarmup {
  #maxWaitMs: number;
  readonly #now: () => number;
  #leaders = new Map<string, Leader>();

  constructor(options: CacheWarmupOptions = {}, now: () => number = Date.now) {
    this.#maxWaitMs = options.maxWaitMs ?? 5_000;
    this.#now = now;
  }

  /**
   * Call before an agent's first request. The leader returns at once; followers return when the
   * leader's response has started, after `maxWaitMs`, or when `signal` aborts, whichever is first.
   */
  async enter(prefixKey: string, signal?: AbortSignal): Promise<WarmupTicket> {
    const now = this.#now();
    const leader = this.#leaders.get(prefixKey);
    if (!leader || now - leader.at > LEADER_LAPSE_MS) {
      let release!: () => void;
      if (this.#leaders.size >= MAX_LEADERS) this.#dropLapsed(now);
      this.#leaders.set(prefixKey, { started: new Promise<void>((resolve) => (release = resolve)), at: now });
      return { leader: true, started: release };
    }
    await waitBounded(leader.started, this.#maxWaitMs, signal);
    return { leader: false, started: () => {} };
  }

  #dropLapsed(now: number): void {
    for (const [key, leader] of this.#leaders) if (now - leader.at > LEADER_LAPSE_MS) this.#leaders.delete(key);
    // All recent: the oldest go, since a Map keeps insertion order.
    for (const key of this.#leaders.keys()) {
      if (this.#leaders.size < MAX_LEADERS) break;
      this.#leaders.delete(key);
    }
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
