// Where a run from GitHub starts: the commit it reads, whether its code is trusted, where fixes go
// (policy/pull-request.ts decides those for a pull request), and the clone with that commit in it.
import { join } from 'node:path';
import type { Octokit } from '@octokit/core';
import { extractWorkflows, hydrateCommits, syncClone } from '../github/clone.ts';
import { preparePullRequest, pullRequestArgs, PullRequestMovedError, type PreparedPullRequest } from '../policy/pull-request.ts';
import { resolveCommit } from '../workspace/checkout.ts';
import { git } from '../workspace/git.ts';
import type { StartJob } from './jobs.ts';
import type { GitHubRunContext } from './run-registry.ts';

export interface CloneAccess {
  /** $FOREMAN_HOME: clones live in its clones/, the default branch's workflows in github/workflows/. */
  home: string;
  /** An installation token for the context's repository. */
  token(context: GitHubRunContext): Promise<string>;
}

export interface PreparedRun {
  clone: string;
  workflowRoot: string;
  context: Partial<GitHubRunContext>;
  /** What a workflow asked for on a pull request without args gets: the change itself. */
  pullRequestArgs: unknown;
}

/** Where the run starts from, and whether its code is trusted; clones and fetches what it needs. */
export async function prepareRun(octokit: Pick<Octokit, 'request'>, context: GitHubRunContext, job: StartJob, access: CloneAccess): Promise<PreparedRun> {
  let pull: PreparedPullRequest | null = null;
  const refs: string[] = job.tag ? [`refs/tags/${job.tag}`] : [];
  if (context.isPullRequest && context.issueNumber !== null) {
    pull = await preparePullRequest(octokit, { owner: context.owner, repo: context.repo, number: context.issueNumber, approvedSha: context.approvedSha ?? null }).catch((error: unknown) => {
      if (!(error instanceof PullRequestMovedError)) throw error;
      throw new Error(`${error.message}: nothing pushed since is run on that approval; review the new commits, then \`/workflow approve\` again`);
    });
    refs.push(`refs/pull/${context.issueNumber}/head`);
  }
  const targetBranch = pull?.targetBranch ?? job.branch ?? context.defaultBranch;
  const clone = await syncClone({ cacheDir: join(access.home, 'clones'), owner: context.owner, repo: context.repo, cloneUrl: context.cloneUrl, token: await access.token(context), refs });
  const defaultSha = await resolveCommit(clone, `refs/remotes/origin/${context.defaultBranch}`, 'the default branch');
  const headSha = pull?.headSha ?? (await resolveCommit(clone, job.tag ? `refs/tags/${job.tag}` : `refs/remotes/origin/${targetBranch}`, job.tag ? 'the tag' : 'the branch'));
  // The base branch may have been force-pushed past the pull request's base: no merge base, no diff.
  const mergeBase = pull ? (await git(clone, ['merge-base', pull.baseSha, headSha]).catch(() => '')).trim() : '';
  // One hydration for every commit the run reads, the merge base included.
  const { workflowRoot } = await fetchRun({ ...context, headSha, defaultSha }, mergeBase ? [headSha, defaultSha, mergeBase] : [headSha, defaultSha], access, clone);
  const args = pull && mergeBase ? pullRequestArgs(pull, await git(clone, ['diff', '--no-color', `${mergeBase}...${headSha}`]), mergeBase) : null;
  return { clone, workflowRoot, context: { headSha, defaultSha, targetBranch, fork: pull?.fork ?? false, ...(job.tag ? { tag: job.tag } : {}) }, pullRequestArgs: args };
}

/** Brings the clone up to date, downloads the commits' files, and extracts the default branch's saved workflows. */
export async function fetchRun(context: GitHubRunContext, shas: string[], access: CloneAccess, synced?: string): Promise<{ clone: string; workflowRoot: string }> {
  const token = await access.token(context);
  const refs = context.isPullRequest && context.issueNumber !== null ? [`refs/pull/${context.issueNumber}/head`] : [];
  const clone = synced ?? (await syncClone({ cacheDir: join(access.home, 'clones'), owner: context.owner, repo: context.repo, cloneUrl: context.cloneUrl, token, refs }));
  await hydrateCommits(clone, [...new Set(shas)], { cloneUrl: context.cloneUrl, token });
  // Saved workflows and config come from the default branch: a pull request cannot change what runs on it.
  const workflowRoot = await extractWorkflows(clone, context.defaultSha!, join(access.home, 'github', 'workflows', context.owner, context.repo, context.defaultSha!));
  return { clone, workflowRoot };
}

/**
 * For a resume someone asked for: the clone, and the saved workflows of the default branch as it is
 * now, not as it was when the run started (the run still reads its own base commit).
 */
export async function fetchRunNow(context: GitHubRunContext, access: CloneAccess): Promise<{ clone: string; workflowRoot: string }> {
  const pinned = await fetchRun(context, [context.headSha!, context.defaultSha!], access);
  const defaultSha = await resolveCommit(pinned.clone, `refs/remotes/origin/${context.defaultBranch}`, 'the default branch');
  if (defaultSha === context.defaultSha) return pinned;
  return fetchRun({ ...context, defaultSha }, [defaultSha], access, pinned.clone);
}
