// What the webhook process does with a delivery: only local work, so GitHub hears back within
// milliseconds. Checks that need the API (the commenter's permission, the repository's config)
// happen after the acknowledgement, in intake.ts, before anything runs.
import type { Context } from 'probot';
import { parseWorkflowCommand, type WorkflowCommand } from '../github/commands.ts';

/** The repository a delivery is about, and the installation that may act on it. */
export interface DeliveredRepository {
  installationId: number;
  owner: string;
  repo: string;
  cloneUrl: string;
  defaultBranch: string;
}

export function deliveredRepository(
  installation: { id: number },
  repository: { name: string; owner: { login: string }; clone_url: string; default_branch: string },
): DeliveredRepository {
  return { installationId: installation.id, owner: repository.owner.login, repo: repository.name, cloneUrl: repository.clone_url, defaultBranch: repository.default_branch };
}

/** A `/workflow` comment, as the intake step needs it; enqueued as a `comment` job. */
export interface CommentJob extends DeliveredRepository {
  deliveryId: string;
  issueNumber: number;
  isPullRequest: boolean;
  commentId: number;
  commentUrl: string;
  author: string;
  command: WorkflowCommand;
}

export type Ignored = { ignored: string };

type IssueCommentCreatedEvent = Context<'issue_comment.created'>['payload'];

/** The job for a created comment, or why it is ignored. Edited and deleted comments never get here. */
export function commentJob(deliveryId: string, payload: IssueCommentCreatedEvent): CommentJob | Ignored {
  const { comment, issue, repository, sender, installation } = payload;
  // Bots, Foreman itself included: a bot's comment must never start (or loop) a run.
  // A comment without a user is a deleted ("ghost") account: nobody to check the permission of.
  if (!comment.user) return { ignored: 'comment without an author' };
  if (comment.user.type === 'Bot' || sender.type === 'Bot') return { ignored: `comment by a bot (${comment.user.login})` };
  const command = parseWorkflowCommand(comment.body ?? '');
  if (!command) return { ignored: 'not a /workflow command' };
  if (!installation) return { ignored: 'delivery without an installation: the app is not installed on this repository' };
  return {
    deliveryId,
    ...deliveredRepository(installation, repository),
    issueNumber: issue.number,
    isPullRequest: Boolean(issue.pull_request),
    commentId: comment.id,
    commentUrl: comment.html_url,
    author: comment.user.login,
    command,
  };
}
