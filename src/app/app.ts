// The Probot app: the webhook side of the GitHub front door. Handlers only check what the
// delivery itself says and enqueue, so GitHub hears back within milliseconds; the intake
// (intake-loop.ts) does the API work after that (docs/security.md: who may trigger a run), and
// runs execute in a worker (worker.ts).
import type { ApplicationFunction } from 'probot';
import { commentJob, deliveredRepository } from './deliveries.ts';
import { ASKED_PRIORITY, SWEEP_PRIORITY, type AppQueue, type CheckActionJob, type EventJob, type Logger } from './jobs.ts';

export interface ForemanAppOptions {
  queue: AppQueue;
  /** A delivery was queued for the intake (intake-loop.ts), in this process or on its thread. */
  onDelivery?: () => void;
  /** Where the handlers log; without it Probot's per-delivery logger, whose lines are named `event`. */
  log?: Pick<Logger, 'info'> & { debug(obj: object, msg?: string): void };
}

/** The handlers: each checks what the delivery itself says, enqueues, and returns. */
export function createForemanApp(options: ForemanAppOptions): ApplicationFunction {
  const wake = () => options.onDelivery?.();
  return (app) => {
    app.on('issue_comment.created', async (context) => {
      const log = options.log ?? context.log;
      const job = commentJob(context.id, context.payload);
      if ('ignored' in job) {
        log.debug({ delivery: context.id }, `ignored: ${job.ignored}`);
        return;
      }
      const { created } = await options.queue.enqueue('comment', `delivery:${context.id}`, job, { priority: ASKED_PRIORITY });
      log.info({ delivery: context.id, repo: `${job.owner}/${job.repo}`, comment: job.commentId, created }, `/workflow ${job.command.kind} queued`);
      wake();
    });
    // The summary check's Stop and Resume buttons, and "Re-run" on any of a run's checks.
    app.on(['check_run.requested_action', 'check_run.rerequested'], async (context) => {
      const { check_run: check, repository, sender, installation } = context.payload;
      const action = context.payload.action === 'rerequested' ? 'resume' : (context.payload as { requested_action?: { identifier?: string } }).requested_action?.identifier;
      if (!check.external_id || !installation || sender.type === 'Bot' || (action !== 'stop' && action !== 'resume')) return;
      const job: CheckActionJob = { deliveryId: context.id, installationId: installation.id, owner: repository.owner.login, repo: repository.name, runId: check.external_id, action, author: sender.login };
      await options.queue.enqueue('check-action', `delivery:${context.id}`, job, { priority: ASKED_PRIORITY });
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
      await options.queue.enqueue('event', `delivery:${context.id}`, job, { priority: ASKED_PRIORITY });
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
      await options.queue.enqueue('event', `delivery:${context.id}`, job, { priority: SWEEP_PRIORITY });
      wake();
    });
  };
}
