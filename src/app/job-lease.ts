// A worker's hold on one claimed job. A claim is a lease (contracts/queue.ts): the worker renews it
// while the job is in hand, and once the queue says the claim is no longer this one (it lapsed and
// another worker claimed the job again), the job is the other worker's. From then on this worker
// must write nothing more for it: the signal stops the run in hand, and `fence()` checks the lease
// afresh right before each write that others would see (GitHub, a git push).
import type { Claim, WorkQueue } from '../contracts/queue.ts';

/** A write was refused because this worker's claim on the job is gone: another worker holds it. */
export class LeaseLostError extends Error {
  constructor(claim: Claim, why: string) {
    super(`job ${claim.id} (${claim.kind}, claim ${claim.attempts}) is no longer this worker's: ${why}; the worker that claimed it again carries it on`);
    this.name = 'LeaseLostError';
  }
}

/** Renewal period when the queue's claims do not expire (the embedded queue): only a lost claim is looked for. */
export const UNLEASED_HEARTBEAT_MS = 10_000;

export interface JobLeaseOptions {
  /**
   * How often to renew, and how long one renewal may take (default: a third of the lease, the
   * shorter of the claim's and the queue's, so two renewals may fail before it lapses).
   */
  periodMs?: number;
  /** Told once, when the lease is lost. */
  onLost?: (error: LeaseLostError) => void;
}

export class JobLease {
  readonly #queue: Pick<WorkQueue, 'heartbeat' | 'leaseSeconds'>;
  readonly #claim: Claim;
  readonly #options: JobLeaseOptions;
  readonly #controller = new AbortController();
  #lastRenewed = Date.now();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** The renewal the queue has not answered yet. */
  #inFlight: Promise<boolean> | null = null;

  constructor(queue: Pick<WorkQueue, 'heartbeat' | 'leaseSeconds'>, claim: Claim, options: JobLeaseOptions = {}) {
    this.#queue = queue;
    this.#claim = claim;
    this.#options = options;
    this.#schedule();
  }

  /** Aborts once the lease is lost; its reason is the LeaseLostError. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the lease was held at the last renewal (cached: use `fence()` right before a write). */
  current(): boolean {
    return !this.#controller.signal.aborted;
  }

  assertCurrent(): void {
    if (!this.current()) throw this.#controller.signal.reason as LeaseLostError;
  }

  /**
   * Asks the queue, now, whether the claim is still this one (renewing it), and throws
   * LeaseLostError when it is not. A queue that cannot answer refuses the write too (its error is
   * thrown): a write this worker cannot vouch for is not made.
   */
  async fence(): Promise<void> {
    this.assertCurrent();
    if (!(await this.#renew())) this.assertCurrent();
  }

  /**
   * Like `fence()`, for a decision rather than a write: throws LeaseLostError only when the queue
   * says the claim is gone. A queue that cannot answer just now does not turn a finished run into a
   * failed one; each write after it is fenced on its own.
   */
  async confirm(): Promise<void> {
    await this.fence().catch((error: unknown) => {
      if (error instanceof LeaseLostError) throw error;
    });
  }

  /** Aborts `controller` once the lease is lost (at once if it is already); returns what undoes that. */
  stops(controller: AbortController): () => void {
    const abort = () => controller.abort();
    this.signal.addEventListener('abort', abort, { once: true });
    if (!this.current()) abort();
    return () => this.signal.removeEventListener('abort', abort);
  }

  /** The job is settled (or handed back): renewals end. The lease itself lapses in the queue. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /**
   * The lease to renew in time for: the shorter of the claim's own (what the queue checks this job
   * by, set when it was inserted, perhaps by another process with another setting) and this
   * queue's. Null when neither expires.
   */
  get #leaseMs(): number | null {
    const leases = [this.#claim.leaseSeconds, this.#queue.leaseSeconds].filter((s): s is number => typeof s === 'number');
    return leases.length === 0 ? null : Math.min(...leases) * 1_000;
  }

  /** How often to renew, and how long one renewal may take before it counts as failed. */
  get #periodMs(): number {
    const leaseMs = this.#leaseMs;
    return this.#options.periodMs ?? (leaseMs === null ? UNLEASED_HEARTBEAT_MS : leaseMs / 3);
  }

  #schedule(): void {
    if (this.#stopped || !this.current()) return;
    const leaseMs = this.#leaseMs;
    // One renewal at a time (setTimeout after each, not setInterval): a slow queue is not asked twice at once.
    this.#timer = setTimeout(() => {
      this.#renew().then(
        () => this.#schedule(),
        (error: unknown) => {
          // A claim that does not expire is not lost because the queue could not be reached once.
          if (leaseMs !== null && Date.now() - this.#lastRenewed > leaseMs) {
            this.#lose(`renewing it failed for longer than its ${leaseMs / 1_000} s lease (${error instanceof Error ? error.message : String(error)})`);
          }
          this.#schedule();
        },
      );
    }, this.#periodMs);
    // The job's own work keeps the process alive, not its renewals.
    this.#timer.unref();
  }

  /**
   * True while the claim is this one; false (and lost) once the queue says it is not. A queue that
   * has not answered within a renewal period fails the renewal: a connection that silently stopped
   * delivering must not keep this worker running on a lease it can no longer vouch for. A renewal
   * still in flight is waited on again rather than sent twice.
   */
  async #renew(): Promise<boolean> {
    this.#inFlight ??= this.#queue.heartbeat(this.#claim).finally(() => (this.#inFlight = null));
    const periodMs = this.#periodMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the queue did not answer within ${periodMs / 1_000} s`)), periodMs);
      timer.unref();
    });
    let held: boolean;
    try {
      held = await Promise.race([this.#inFlight, late]);
    } finally {
      clearTimeout(timer);
    }
    if (held) {
      this.#lastRenewed = Date.now();
      return true;
    }
    this.#lose('the queue says its claim lapsed and the job was claimed again, or settled');
    return false;
  }

  #lose(why: string): void {
    if (!this.current()) return;
    const error = new LeaseLostError(this.#claim, why);
    this.#controller.abort(error);
    this.stop();
    this.#options.onLost?.(error);
  }
}

/** A fetch as Octokit's `request.fetch` option takes it. */
type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** An Octokit's hook registry, as much of it as the fence needs. */
interface Hookable {
  hook: {
    // Octokit's own signature is generic over every route; the fence needs none of that.
    wrap(name: 'request', fn: (request: (options: any) => Promise<any>, options: any) => Promise<any>): void;
  };
}

/**
 * Every request of `octokit` that changes anything (all but GET and HEAD) first checks the lease
 * afresh, at the moment it leaves: a worker whose claim lapsed cannot update a check, post a
 * comment or open a pull request. Checked in the fetch the request is sent with, not in a hook
 * that runs before Octokit's throttling queue: writes wait there a second apart, and a worker
 * paused past its lease (SIGSTOP, a partition) would send the ones that waited once it came back.
 * The refusal reaches the caller as the LeaseLostError itself, not wrapped as a request error.
 */
export function fenceWrites<O extends { hook: object }>(octokit: O, lease: JobLease): O {
  (octokit.hook as Hookable['hook']).wrap('request', async (request, options) => {
    const send: Fetch = options.request?.fetch ?? ((input, init) => globalThis.fetch(input, init));
    options.request = { ...options.request, fetch: fencedFetch(lease, send) };
    try {
      return await request(options);
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      throw cause instanceof LeaseLostError ? cause : error;
    }
  });
  return octokit;
}

function fencedFetch(lease: JobLease, send: Fetch): Fetch {
  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') await lease.fence();
    return send(input, init);
  };
}
