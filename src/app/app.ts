// The Probot app: the webhook side of the GitHub front door. Handlers only check what the
// delivery itself says and enqueue; an intake loop in the same process does the API work after
// GitHub has had its answer (docs/security.md: who may trigger a run). Runs themselves execute
// in a worker (worker.ts), which the intake wakes through `onQueued`.
import type { ApplicationFunction, Probot } from 'probot';
import type { WorkQueue } from '../runtime/queue.ts';
import { commentJob, deliveredRepository, type CommentJob } from './deliveries.ts';
import { takeCheckAction, takeComment, takeEvent, type CheckActionJob, type EventJob, type InstallationOctokit, type IntakeOutcome } from './intake.ts';
import type { RunRegistry } from './run-registry.ts';
import { probotScheduleSource, Scheduler } from './scheduler.ts';

export interface ForemanAppOptions {
  queue: WorkQueue;
  registry: RunRegistry;
  /** Identifies this process's claims in the queue. */
  holder: string;
  /** How often the intake loop looks for work it was not woken for (another replica's). */
  pollMs?: number;
  /** Foreman's built-in workflows/ directory. */
  builtinDir: string;
  /** Called when the intake queued work for a worker (the in-process or forked one). */
  onQueued?: () => void;
  /** How often schedules are looked at; 0 turns them off (default a minute). */
  scheduleIntervalMs?: number;
}

export interface ForemanApp {
  appFn: ApplicationFunction;
  /** Stops the intake loop after the job in hand. */
  stop(): Promise<void>;
}

const INTAKE_KINDS = ['comment', 'check-action', 'event'] as const;

export function createForemanApp(options: ForemanAppOptions): ForemanApp {
  let wake: () => void = () => {};
  let stopped = false;
  let loop: Promise<void> = Promise.resolve();
  let scheduler: Scheduler | null = null;

  const appFn: ApplicationFunction = (app) => {
    app.on('issue_comment.created', async (context) => {
      const job = commentJob(context.id, context.payload);
      if ('ignored' in job) {
        context.log.debug({ delivery: context.id }, `ignored: ${job.ignored}`);
        return;
      }
      const { created } = await options.queue.enqueue('comment', `delivery:${context.id}`, job);
      context.log.info({ delivery: context.id, repo: `${job.owner}/${job.repo}`, comment: job.commentId, created }, `/workflow ${job.command.kind} queued`);
      wake();
    });
    // The summary check's Stop and Resume buttons, and "Re-run" on any of a run's checks.
    app.on(['check_run.requested_action', 'check_run.rerequested'], async (context) => {
      const { check_run: check, repository, sender, installation } = context.payload;
      const action = context.payload.action === 'rerequested' ? 'resume' : (context.payload as { requested_action?: { identifier?: string } }).requested_action?.identifier;
      if (!check.external_id || !installation || sender.type === 'Bot' || (action !== 'stop' && action !== 'resume')) return;
      const job: CheckActionJob = { deliveryId: context.id, installationId: installation.id, owner: repository.owner.login, repo: repository.name, runId: check.external_id, action, author: sender.login };
      await options.queue.enqueue('check-action', `delivery:${context.id}`, job);
      wake();
    });
    app.on(['issues.labeled', 'pull_request.labeled'], async (context) => {
      const { repository, sender, installation, label } = context.payload;
      const issue = 'issue' in context.payload ? context.payload.issue : context.payload.pull_request;
      if (!installation || !label || sender.type === 'Bot') return;
      const job: EventJob = {
        deliveryId: context.id,
        ...deliveredRepository(installation, repository),
        event: 'label',
        name: label.name,
        issueNumber: issue.number,
        isPullRequest: context.name === 'pull_request' || Boolean((issue as { pull_request?: unknown }).pull_request),
        author: sender.login,
      };
      await options.queue.enqueue('event', `delivery:${context.id}`, job);
      wake();
    });
    app.on('release.published', async (context) => {
      const { repository, sender, installation, release } = context.payload;
      if (!installation || !sender || sender.type === 'Bot') return;
      const job: EventJob = {
        deliveryId: context.id,
        ...deliveredRepository(installation, repository),
        event: 'release',
        name: release.tag_name,
        issueNumber: null,
        isPullRequest: false,
        author: sender.login,
      };
      await options.queue.enqueue('event', `delivery:${context.id}`, job);
      wake();
    });
    loop = intakeLoop(app);
    if (options.scheduleIntervalMs !== 0) {
      scheduler = new Scheduler({ queue: options.queue, source: probotScheduleSource(app), onQueued: options.onQueued, log: app.log });
      scheduler.start(options.scheduleIntervalMs);
    }
  };

  async function intakeLoop(app: Probot): Promise<void> {
    while (!stopped) {
      const job = await options.queue.claim(INTAKE_KINDS, options.holder);
      if (!job) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.pollMs ?? 1_000);
          timer.unref();
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        continue;
      }
      const payload = job.payload as CommentJob | CheckActionJob | EventJob;
      try {
        const octokit = (await app.auth(payload.installationId)) as unknown as InstallationOctokit;
        const intake = { builtinDir: options.builtinDir, registry: options.registry };
        const outcome: IntakeOutcome =
          job.kind === 'comment'
            ? await takeComment(payload as CommentJob, octokit, options.queue, intake)
            : job.kind === 'event'
              ? await takeEvent(payload as EventJob, octokit, options.queue, intake)
              : await takeCheckAction(payload as CheckActionJob, octokit, options.queue, intake);
        app.log.info({ delivery: payload.deliveryId, ...outcome }, `intake of ${job.kind}`);
        await options.queue.finish(job.id);
        if (outcome.outcome === 'enqueued') options.onQueued?.();
      } catch (error) {
        app.log.error({ delivery: payload.deliveryId, err: error }, 'intake failed');
        await options.queue.finish(job.id, error instanceof Error ? error.message : String(error));
      }
    }
  }

  return {
    appFn,
    async stop() {
      stopped = true;
      wake();
      await scheduler?.stop();
      await loop;
    },
  };
}
