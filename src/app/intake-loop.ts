// The API side of the webhook process: takes the deliveries the handlers queued, checks them
// against GitHub (config, the sender's role), answers or queues runs, and looks at schedules.
// `foreman app` runs it on a thread of its own (intake-thread.ts), so its requests and JSON never
// hold up the acknowledgement of the next delivery; tests run it in-process, where nock sees it.
import type { Probot } from 'probot';
import type { JobOf } from '../contracts/queue.ts';
import { ClaimLoop } from './claim-loop.ts';
import { takeCheckAction, takeComment, takeEvent, type InstallationOctokit, type IntakeOutcome } from './intake.ts';
import type { RunRegistry } from './run-registry.ts';
import type { SpendReader } from './spend-status.ts';
import { probotScheduleSource, Scheduler } from './scheduler.ts';
import type { AppJobs, AppQueue, Logger } from './jobs.ts';

export const INTAKE_KINDS = ['comment', 'check-action', 'event'] as const satisfies ReadonlyArray<keyof AppJobs>;
type IntakeJob = JobOf<AppJobs, (typeof INTAKE_KINDS)[number]>;

export interface IntakeLoopOptions {
  /** Probot with the App's credentials: app.auth() for installation tokens and the config plugin. */
  probot: Probot;
  queue: AppQueue;
  registry: RunRegistry;
  /** Identifies this process's claims in the queue. */
  holder: string;
  /** Foreman's built-in workflows/ directory, for `/workflow list`. */
  builtinDir: string;
  /** How often the loop looks for work it was not woken for (another replica's). */
  pollMs?: number;
  /** Called when work for a worker was queued. */
  onQueued?: () => void;
  /** How often schedules are looked at; 0 turns them off (default a minute). */
  scheduleIntervalMs?: number;
  /** Where the loop and its schedules log (default Probot's). */
  log?: Logger;
  /** The spend ledger `/workflow status` shows (limits.spend). */
  spend?: SpendReader;
}

export class IntakeLoop {
  readonly #o: IntakeLoopOptions;
  readonly #claims: ClaimLoop<AppJobs, (typeof INTAKE_KINDS)[number]>;
  #scheduler: Scheduler | null = null;
  readonly #log: Logger;

  constructor(options: IntakeLoopOptions) {
    this.#o = options;
    // Probot sets its log only once it has initialized, after start(): looked up at each call.
    const probot = options.probot;
    this.#log = options.log ?? { info: (obj, msg) => probot.log.info(obj, msg), warn: (obj, msg) => probot.log.warn(obj, msg), error: (obj, msg) => probot.log.error(obj, msg) };
    this.#claims = new ClaimLoop({ queue: options.queue, kinds: INTAKE_KINDS, holder: options.holder, ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}), handle: (job) => this.#take(job) });
  }

  start(): void {
    this.#claims.start();
    if (this.#o.scheduleIntervalMs !== 0) {
      this.#scheduler = new Scheduler({ queue: this.#o.queue, source: probotScheduleSource(this.#o.probot), onQueued: this.#o.onQueued, log: this.#log });
      this.#scheduler.start(this.#o.scheduleIntervalMs);
    }
  }

  /** A delivery was queued: take it now rather than at the next poll. */
  wake(): void {
    this.#claims.wake();
  }

  /** Stops after the job in hand. */
  async stop(): Promise<void> {
    const stopping = this.#claims.stop();
    await this.#scheduler?.stop();
    await stopping;
  }

  async #take(job: IntakeJob): Promise<void> {
    const { probot, queue } = this.#o;
    const payload = job.payload;
    try {
      const octokit = (await probot.auth(payload.installationId)) as unknown as InstallationOctokit;
      const intake = { builtinDir: this.#o.builtinDir, registry: this.#o.registry, ...(this.#o.spend ? { spend: this.#o.spend } : {}) };
      const outcome: IntakeOutcome =
        job.kind === 'comment'
          ? await takeComment(job.payload, octokit, queue, intake)
          : job.kind === 'event'
            ? await takeEvent(job.payload, octokit, queue, intake)
            : await takeCheckAction(job.payload, octokit, queue, intake);
      this.#log.info({ delivery: payload.deliveryId, ...outcome }, `intake of ${job.kind}`);
      await queue.finish(job);
      if (outcome.outcome === 'enqueued') this.#o.onQueued?.();
    } catch (error) {
      this.#log.error({ delivery: payload.deliveryId, err: error }, 'intake failed');
      await queue.finish(job, error instanceof Error ? error.message : String(error));
    }
  }
}
