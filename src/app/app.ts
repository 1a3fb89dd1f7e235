// The Probot app: the webhook side of the GitHub front door. Handlers only check what the
// delivery itself says and enqueue; an intake loop in the same process does the API work after
// GitHub has had its answer (docs/security.md: who may trigger a run). Runs themselves execute
// in a worker (worker.ts), which the intake wakes through `onQueued`.
import type { ApplicationFunction, Probot } from 'probot';
import type { WorkQueue } from '../runtime/queue.ts';
import { commentJob, type CommentJob } from './deliveries.ts';
import { takeCheckAction, takeComment, type CheckActionJob, type InstallationOctokit, type IntakeOutcome } from './intake.ts';
import type { RunRegistry } from './run-registry.ts';

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
}

export interface ForemanApp {
  appFn: ApplicationFunction;
  /** Stops the intake loop after the job in hand. */
  stop(): Promise<void>;
}

const INTAKE_KINDS = ['comment', 'check-action'] as const;

export function createForemanApp(options: ForemanAppOptions): ForemanApp {
  let wake: () => void = () => {};
  let stopped = false;
  let loop: Promise<void> = Promise.resolve();

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
    loop = intakeLoop(app);
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
      const payload = job.payload as CommentJob | CheckActionJob;
      try {
        const octokit = (await app.auth(payload.installationId)) as unknown as InstallationOctokit;
        const intake = { builtinDir: options.builtinDir, registry: options.registry };
        const outcome: IntakeOutcome =
          job.kind === 'comment' ? await takeComment(payload as CommentJob, octokit, options.queue, intake) : await takeCheckAction(payload as CheckActionJob, octokit, options.queue, intake);
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
      await loop;
    },
  };
}
