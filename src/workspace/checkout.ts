// The run's checkout, which the plain agents of a run share (and edit, unless the run is read-only):
// a detached worktree of the base commit outside the user's repository, so the user's working tree
// and branches are never touched.
import { mkdir, rm } from 'node:fs/promises';
import { setTimeout } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import { git, GitError } from './git.ts';

export class RepositoryError extends Error {}

/** The top of the working tree; for a bare repository (the App's clones), its git directory. */
export async function repositoryRoot(dir: string): Promise<string> {
  try {
    const [bare, gitDir] = (await git(resolve(dir), ['rev-parse', '--is-bare-repository', '--absolute-git-dir'])).trim().split('\n');
    if (bare === 'true') return gitDir;
    return (await git(resolve(dir), ['rev-parse', '--show-toplevel'])).trim();
  } catch (error) {
    if (error instanceof GitError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new RepositoryError(`${resolve(dir)} is not a git repository: run foreman inside a checkout, or pass --repo DIR`);
    }
    throw error;
  }
}

/** `flag` names the option the ref came from, for the error. */
export async function resolveCommit(repo: string, ref: string, flag = '--base'): Promise<string> {
  try {
    return (await git(repo, ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`])).trim();
  } catch (error) {
    if (error instanceof GitError) {
      throw new RepositoryError(`${flag} ${ref} is not a commit in ${repo}: pass a branch, tag or commit that exists (git log shows them)`);
    }
    throw error;
  }
}

/**
 * What `head` changed since it left `from`: `git diff from...head`, the diff a pull request shows.
 * `--diff-from` hands it to a workflow (review-pr) as `{ diff, base, head }`.
 */
export async function changesSince(dir: string, from: string, head: string): Promise<{ diff: string; base: string; head: string }> {
  const repo = await repositoryRoot(dir);
  const base = await resolveCommit(repo, from, '--diff-from');
  const headSha = await resolveCommit(repo, head);
  const diff = await git(repo, ['diff', '--no-color', `${base}...${headSha}`]);
  if (diff.trim() === '') throw new RepositoryError(`${head} has no changes since it left ${from}: there is nothing to review`);
  return { diff, base, head: headSha };
}

/** Where Foreman keeps the worktrees of one run. */
export const runWorktreeDir = (home: string, runId: string): string => join(home, 'worktrees', runId);

/**
 * The run's checkout of `sha`, at `worktrees/<run>/base`. With `files` (the last snapshot of a
 * resumed run's shared worktree), its files are that commit's while HEAD and the index stay at
 * `sha`: the agents' edits show as uncommitted changes, as they did before the crash.
 */
export async function createRunCheckout(repo: string, sha: string, home: string, runId: string, files?: string): Promise<string> {
  const dir = join(runWorktreeDir(home, runId), 'base');
  await removeRunWorktrees(repo, home, runId);
  await mkdir(runWorktreeDir(home, runId), { recursive: true });
  await git(repo, ['worktree', 'add', '--detach', '--quiet', dir, files ?? sha]);
  if (files) await git(dir, ['reset', '--quiet', sha]);
  return dir;
}

/** Removes every worktree of a run; safe to call when there are none. */
export async function removeRunWorktrees(repo: string, home: string, runId: string): Promise<void> {
  const root = runWorktreeDir(home, runId);
  for (const worktree of await listWorktrees(repo)) {
    if (worktree.startsWith(root + '/')) {
      await git(repo, ['worktree', 'remove', '--force', worktree]).catch(() => undefined);
    }
  }
  await rm(root, { recursive: true, force: true });
  await git(repo, ['worktree', 'prune']);
}

/** Removes Foreman worktrees left by runs that are no longer alive (a crash, a SIGKILL). */
export async function pruneStaleWorktrees(repo: string, home: string, isLive: (runId: string) => boolean | Promise<boolean>): Promise<number> {
  const root = join(home, 'worktrees') + '/';
  const stale = new Set<string>();
  for (const worktree of await listWorktrees(repo)) {
    if (!worktree.startsWith(root)) continue;
    const runId = worktree.slice(root.length).split('/')[0];
    if (runId && !(await isLive(runId))) stale.add(runId);
  }
  for (const runId of stale) await removeRunWorktrees(repo, home, runId);
  return stale.size;
}

/**
 * Another process adding a worktree to the same repository (two runs, a worker's runs on one
 * clone) makes its entry in `.git/worktrees/` before the files in it: a listing in between fails
 * on the half-made entry. Looked again a few times, briefly; an entry still half-made is an error.
 */
const LIST_ATTEMPTS = 6;
const LIST_RETRY_MS = 50;

async function listWorktrees(repo: string): Promise<string[]> {
  let out: string;
  for (let attempt = 1; ; attempt++) {
    try {
      out = await git(repo, ['worktree', 'list', '--porcelain']);
      break;
    } catch (error) {
      const halfMade = error instanceof GitError && /failed to read .*worktrees\//.test(error.stderr);
      if (!halfMade || attempt >= LIST_ATTEMPTS) throw error;
      await setTimeout(LIST_RETRY_MS * attempt);
    }
  }
  return out
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));
}
