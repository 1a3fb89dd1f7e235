// One part of `foreman app` that runs beside the webhook server (the intake thread, the worker):
// started, watched, and started again when it ends without being asked to, after a delay that
// grows while it keeps dying at once. Its state is what /healthz reports.
import type { PartState, SupervisedPart } from './health.ts';
import type { Logger } from './jobs.ts';

/** What a part tells its supervisor. */
export interface PartEvents {
  /** It runs. */
  up(): void;
  /** It ended: how (an exit code, a signal, an error). Later calls are ignored. */
  ended(how: Record<string, unknown>): void;
}

export interface SupervisedOptions<T> {
  /** As /healthz and the log name it: `intake thread`, `worker`. */
  name: string;
  log: Logger;
  /** Starts one instance, which reports through `events`. */
  launch(events: PartEvents): T;
  /** Runs as soon as an instance ended unasked, before the delay to the next one. */
  afterEnd?: () => Promise<unknown>;
  /**
   * The app's own stop: once aborted, nothing is started again. A signal sent to the whole process
   * group (Ctrl-C, systemd, `timeout`) ends the part on its own before stop() is called for it.
   */
  signal: AbortSignal;
}

/** A part alive this long before it died counts as having run well: the next delay starts small again. */
const STEADY_MS = 60_000;
const FIRST_DELAY_MS = 500;
const LONGEST_DELAY_MS = 60_000;

export class Supervised<T> implements SupervisedPart {
  readonly name: string;
  readonly #o: SupervisedOptions<T>;
  #current: T | null = null;
  #up = false;
  #stopping = false;
  #timer: NodeJS.Timeout | null = null;
  #restarts = 0;
  #settled: () => void = () => {};
  readonly #firstSettled = new Promise<void>((resolve) => (this.#settled = resolve));

  constructor(options: SupervisedOptions<T>) {
    this.name = options.name;
    this.#o = options;
    options.signal.addEventListener('abort', () => this.#noMoreRestarts(), { once: true });
  }

  /** The running instance, if any. */
  get current(): T | null {
    return this.#current;
  }

  state(): PartState {
    return this.#up ? 'up' : 'down';
  }

  /** Starts the first instance; resolves once it runs (or has already ended). */
  start(): Promise<void> {
    this.#launch();
    return this.#firstSettled;
  }

  /** No more restarts; `end` ends the running instance, if there is one. */
  async stop(end: (instance: T) => Promise<void>): Promise<void> {
    this.#noMoreRestarts();
    if (this.#current) await end(this.#current);
  }

  #noMoreRestarts(): void {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #launch(): void {
    if (this.#o.signal.aborted) {
      this.#settled();
      return;
    }
    const launched = Date.now();
    let ended = false;
    this.#current = this.#o.launch({
      up: () => {
        if (ended) return;
        this.#up = true;
        this.#o.log.info({ part: this.name }, `the ${this.name} started`);
        this.#settled();
      },
      ended: (how) => {
        if (ended) return;
        ended = true;
        this.#up = false;
        this.#current = null;
        this.#settled();
        if (!this.#stopping) void this.#restartLater(launched, how);
      },
    });
  }

  async #restartLater(launched: number, how: Record<string, unknown>): Promise<void> {
    this.#restarts = Date.now() - launched > STEADY_MS ? 0 : this.#restarts + 1;
    const delay = Math.min(LONGEST_DELAY_MS, FIRST_DELAY_MS * 2 ** this.#restarts);
    this.#o.log.warn({ part: this.name, ...how, restartInMs: delay }, `the ${this.name} stopped; starting it again in ${delay} ms`);
    try {
      await this.#o.afterEnd?.();
    } catch (error) {
      this.#o.log.error({ part: this.name, err: error }, `cleaning up after the ${this.name} failed`);
    }
    if (this.#stopping) return;
    this.#timer = setTimeout(() => this.#stopping || this.#launch(), delay);
    this.#timer.unref();
  }
}
