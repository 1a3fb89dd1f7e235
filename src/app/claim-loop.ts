// The one claim/poll loop of the App: the intake and the worker each claim their kinds of job from
// the queue, up to `capacity` at once, and sleep until woken (work was queued here) or until the
// next poll (another replica's work).
import type { JobMap, JobOf, WorkQueue } from '../contracts/queue.ts';

export interface ClaimLoopOptions<Jobs extends object, Kinds extends keyof Jobs & string> {
  queue: WorkQueue<Jobs>;
  kinds: readonly Kinds[];
  /** Identifies this process's claims in the queue. */
  holder: string;
  /** Jobs in hand at once (default 1: one after the other). */
  capacity?: number;
  /** How often to look for work nobody woke the loop for (default 1 s). */
  pollMs?: number;
  /** Whether the poll timer alone keeps the process alive (the worker's does; the intake's does not). */
  keepAlive?: boolean;
  /** Handles a claimed job, finishing or releasing it; must not throw. */
  handle(job: JobOf<Jobs, Kinds>): Promise<void>;
}

export class ClaimLoop<Jobs extends object = JobMap, Kinds extends keyof Jobs & string = keyof Jobs & string> {
  readonly #o: ClaimLoopOptions<Jobs, Kinds>;
  readonly #active = new Set<Promise<void>>();
  #stopped = false;
  #wake: () => void = () => {};
  #loop: Promise<void> = Promise.resolve();

  constructor(options: ClaimLoopOptions<Jobs, Kinds>) {
    this.#o = options;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Work was queued: look now rather than at the next poll. */
  wake(): void {
    this.#wake();
  }

  /** Claims nothing more, and waits for the jobs in hand. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake();
    await this.#loop;
    await Promise.allSettled([...this.#active]);
  }

  async #run(): Promise<void> {
    const capacity = this.#o.capacity ?? 1;
    while (!this.#stopped) {
      const job = this.#active.size < capacity ? await this.#o.queue.claim(this.#o.kinds, this.#o.holder) : null;
      if (!job) {
        await this.#sleep();
        continue;
      }
      const work = this.#o.handle(job).finally(() => {
        this.#active.delete(work);
        this.#wake();
      });
      this.#active.add(work);
    }
  }

  #sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#o.pollMs ?? 1_000);
      if (!this.#o.keepAlive) timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
