// Local copies of repositories the App works on: one partial clone (no file contents until a
// checkout needs them) per repository under $FOREMAN_HOME/clones, fetched again before each
// run, so a run never starts from a full download. The token travels as an HTTP header only
// (git-auth.ts); the clone's config keeps the plain URL.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { git, GitError } from '../workspace/git.ts';
import { gitAuthConfig, scrubToken } from './git-auth.ts';

export interface SyncRequest {
  /** $FOREMAN_HOME/clones */
  cacheDir: string;
  owner: string;
  repo: string;
  /** repository.clone_url */
  cloneUrl: string;
  token: string;
  /** Extra refs to fetch besides the branches, e.g. `refs/pull/7/head`. */
  refs?: string[];
}

export class CloneError extends Error {}

const NAME = /^[A-Za-z0-9_.-]+$/;
// One sync per clone at a time in this process; git's own locks guard against other processes.
const syncing = new Map<string, Promise<unknown>>();

/** The clone's path, up to date with the remote's branches (and `refs`). */
export async function syncClone(request: SyncRequest): Promise<string> {
  const { owner, repo } = request;
  if (!NAME.test(owner) || !NAME.test(repo) || owner.startsWith('.') || repo.startsWith('.')) {
    throw new CloneError(`refusing to clone ${owner}/${repo}: not a GitHub owner/repository name`);
  }
  const host = new URL(request.cloneUrl).host.replace(/[^A-Za-z0-9_.-]/g, '_');
  const dir = join(request.cacheDir, host, owner, `${repo}.git`);
  const previous = syncing.get(dir) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => sync(dir, request));
  syncing.set(dir, next);
  try {
    await next;
  } finally {
    if (syncing.get(dir) === next) syncing.delete(dir);
  }
  return dir;
}

async function sync(dir: string, request: SyncRequest): Promise<void> {
  const config = gitAuthConfig(request.cloneUrl, request.token);
  const run = async (cwd: string, args: string[]) => {
    try {
      return await git(cwd, args, { config });
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      throw new CloneError(
        `${args[0]} of ${request.owner}/${request.repo} failed: ${scrubToken(error.stderr.trim(), request.token).slice(-2_000)}; ` +
          'check that the App is installed on the repository and may read its contents',
      );
    }
  };
  const extra = (request.refs ?? []).map((ref) => `+${ref}:${ref}`);
  if (existsSync(join(dir, 'HEAD'))) {
    await run(dir, ['remote', 'set-url', 'origin', request.cloneUrl]);
    await run(dir, ['fetch', '--quiet', '--prune', '--filter=blob:none', 'origin', '+refs/heads/*:refs/remotes/origin/*', ...extra]);
    return;
  }
  // Into a temporary directory first: a clone cut short never looks like a finished one.
  await mkdir(dirname(dir), { recursive: true });
  const partial = `${dir}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await run(dirname(dir), ['clone', '--quiet', '--bare', '--filter=blob:none', request.cloneUrl, partial]);
    // A bare clone maps branches onto refs/heads; fetches keep them under refs/remotes/origin.
    await run(partial, ['config', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*']);
    await run(partial, ['fetch', '--quiet', '--filter=blob:none', 'origin', '+refs/heads/*:refs/remotes/origin/*', ...extra]);
    await rename(partial, dir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Downloads the file contents of `shas` that the partial clone does not have yet, in one fetch,
 * with the token. Afterwards checkouts, diffs and worktrees of those commits need no network:
 * git's own on-demand fetch would run without credentials, from inside agents' and gates' git
 * commands, which must never see the token.
 */
export async function hydrateCommits(dir: string, shas: string[], auth: { cloneUrl: string; token: string }): Promise<number> {
  const missing = new Set<string>();
  for (const sha of shas) {
    // The commit's own tree only (--no-walk), not its history; --missing=print lists absent
    // objects as `?<oid>` instead of fetching them one by one.
    const out = await git(dir, ['rev-list', '--objects', '--no-walk', '--missing=print', sha]);
    for (const line of out.split('\n')) if (line.startsWith('?')) missing.add(line.slice(1).trim());
  }
  if (missing.size === 0) return 0;
  try {
    // What git itself runs for a promisor fetch, in one batch.
    await git(dir, ['-c', 'fetch.negotiationAlgorithm=noop', 'fetch', '--quiet', 'origin', '--no-tags', '--no-write-fetch-head', '--recurse-submodules=no', '--filter=blob:none', '--stdin'], {
      config: gitAuthConfig(auth.cloneUrl, auth.token),
      input: [...missing].join('\n') + '\n',
    });
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    throw new CloneError(`fetching the files of ${shas.join(', ')} failed: ${scrubToken(error.stderr.trim(), auth.token).slice(-2_000)}; check that the App may read the repository contents`);
  }
  return missing.size;
}

/**
 * The saved workflows of commit `sha` (`.claude/workflows/*.js`), written under
 * `<dest>/.claude/workflows/` so the service can look them up as it does in a checkout.
 * Returns `dest`. A worker runs several runs at once, often of one repository at one commit: each
 * extraction writes a directory of its own and renames it into place, so no run ever reads a
 * directory another is still writing or removing. What a commit holds never changes, so a
 * directory already in place is kept.
 */
export async function extractWorkflows(dir: string, sha: string, dest: string): Promise<string> {
  const target = join(dest, '.claude', 'workflows');
  if (existsSync(target)) return dest;
  const staging = `${target}.${randomBytes(6).toString('hex')}`;
  await mkdir(staging, { recursive: true });
  try {
    const listing = await git(dir, ['ls-tree', '-z', `${sha}:.claude/workflows`]).catch((error) => {
      // No such directory at that commit: no saved workflows.
      if (error instanceof GitError) return '';
      throw error;
    });
    for (const entry of listing.split('\0')) {
      const match = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(entry);
      if (!match || !match[2].endsWith('.js') || match[2].includes('/')) continue;
      await writeFile(join(staging, match[2]), await git(dir, ['cat-file', 'blob', match[1]]));
    }
    await rename(staging, target).catch((error: NodeJS.ErrnoException) => {
      // Another run put the same commit's workflows in place first.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return dest;
}
