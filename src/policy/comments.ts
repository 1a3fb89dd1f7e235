// The one way Foreman answers on an issue or pull request: a comment on its thread.
import type { Octokit } from '@octokit/core';

/** Where an answer goes; a run with no issue or pull request (a schedule, a release) has none. */
export interface Thread {
  owner: string;
  repo: string;
  issueNumber: number | null;
}

/** Posts `body` on the thread; says nothing where there is no thread to say it on. */
export async function postComment(octokit: Pick<Octokit, 'request'>, thread: Thread, body: string): Promise<void> {
  if (thread.issueNumber === null) return;
  await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: thread.owner, repo: thread.repo, issue_number: thread.issueNumber, body });
}
