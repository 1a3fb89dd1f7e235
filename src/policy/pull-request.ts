// A run on a pull request: which commit it reads, whether that code is trusted, where its fixes
// go, and what a workflow asked for without args gets (the change under review). The App and the
// Action fetch the commit each their own way (a cached clone; the runner's checkout).
import type { Octokit } from '@octokit/core';
import { sanitizeCommentText } from '../github/sanitize.ts';

export interface PreparedPullRequest {
  number: number;
  headSha: string;
  baseSha: string;
  /** The head comes from another repository (or from a deleted fork): its code is not trusted. */
  fork: boolean;
  /** Where fixes go: the pull request's own branch, or, for a fork's, the branch it targets. */
  targetBranch: string;
  /** The author's words, maybe a stranger's: sanitised like a comment. */
  title: string;
  body: string;
}

/** The args a workflow asked for on a pull request without any gets: what review-pr reads. */
export interface PullRequestArgs {
  diff: string;
  base: string;
  head: string;
  title: string;
  body: string;
}

/** The pull request's head is not the commit someone approved: nothing pushed since runs on that approval. */
export class PullRequestMovedError extends Error {
  readonly approved: string;
  readonly head: string;
  readonly fork: boolean;
  constructor(approved: string, head: string, fork: boolean) {
    super(`the pull request changed after the approval (approved ${approved.slice(0, 7)}, now ${head.slice(0, 7)})`);
    this.approved = approved;
    this.head = head;
    this.fork = fork;
  }
}

/**
 * Reads the pull request. With `approvedSha` (a run someone approved), a head that moved since is a
 * PullRequestMovedError: each door says what to do about it in its own words.
 */
export async function preparePullRequest(
  octokit: Pick<Octokit, 'request'>,
  at: { owner: string; repo: string; number: number; approvedSha?: string | null },
): Promise<PreparedPullRequest> {
  const { data: pull } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner: at.owner, repo: at.repo, pull_number: at.number });
  // A deleted fork has no head repository: its code is no more trusted than a live fork's.
  const fork = pull.head.repo?.full_name !== `${at.owner}/${at.repo}`;
  if (at.approvedSha && at.approvedSha !== pull.head.sha) throw new PullRequestMovedError(at.approvedSha, pull.head.sha, fork);
  return {
    number: at.number,
    headSha: pull.head.sha,
    baseSha: pull.base.sha,
    fork,
    // A fork's branch is not ours to push to: fixes go to the branch the pull request targets.
    targetBranch: fork ? pull.base.ref : pull.head.ref,
    title: sanitizeCommentText(pull.title ?? ''),
    body: sanitizeCommentText(pull.body ?? ''),
  };
}

/** The change under review, diffed from `base`. */
export function pullRequestArgs(pull: PreparedPullRequest, diff: string, base: string): PullRequestArgs {
  return { diff, base, head: pull.headSha, title: pull.title, body: pull.body };
}
