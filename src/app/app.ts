// The Probot app: the webhook side of the GitHub front door. Handlers only check what the
// delivery itself says and enqueue; an intake loop in the same process does the API work after
// GitHub has had its answer (docs/security.md: who may trigger a run).
import type { ApplicationFunction, Probot } from 'probot';
import type { WorkQueue } from '../runtime/queue.ts';
import { commentJob, type CommentJob } from './deliveries.ts';
import { takeComment, type InstallationOctokit } from './intake.ts';

export interface ForemanAppOptions {
  queue: WorkQueue;
  /** Identifies this process's claims in the queue. */
  holder: string;
  /** How often the intake loop looks for work it was not woken for (another replica's). */
  pollMs?: number;
  /** Foreman's built-in workflows/ directory. */
  builtinDir: string;
}

export interface ForemanApp {
  appFn: ApplicationFunction;
  /** Stops the intake loop after the job in hand. */
  stop(): Promise<void>;
}

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
    loop = intakeLoop(app);
  };

  async function intakeLoop(app: Probot): Promise<void> {
    while (!stopped) {
      const job = await options.queue.claim(['comment'], options.holder);
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
      const comment = job.payload as CommentJob;
      try {
        const octokit = (await app.auth(comment.installationId)) as unknown as InstallationOctokit;
        const outcome = await takeComment(comment, octokit, options.queue, { builtinDir: options.builtinDir });
        app.log.info({ delivery: comment.deliveryId, ...outcome }, `intake of /workflow ${comment.command.kind}`);
        await options.queue.finish(job.id);
      } catch (error) {
        app.log.error({ delivery: comment.deliveryId, err: error }, 'intake failed');
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
