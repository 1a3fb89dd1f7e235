// The commit a proposal branch points at: the change commit's tree on the run's base, with the
// proposal's message. Nothing in it depends on the clock or the machine (identity fixed, dates
// copied from the change commit, no signature), so proposing the same change again after a crash
// gives the same sha, and "the branch is already there" can be told apart from "someone else's".
import type { ProposalRequest } from '../contracts/ports.ts';
import { git, GitError } from './git.ts';

export const FOREMAN_IDENTITY = { name: 'Foreman', email: 'foreman@users.noreply.github.com' };

export interface ProposalCommitOptions {
  /** Author and committer; Foreman's noreply identity unless the front door has its own (an App's bot). */
  identity?: { name: string; email: string };
}

export async function createProposalCommit(
  repo: string,
  changeCommit: string,
  baseSha: string,
  message: string,
  options: ProposalCommitOptions = {},
): Promise<string> {
  const identity = options.identity ?? FOREMAN_IDENTITY;
  const header = await readCommitHeader(repo, changeCommit);
  await verifyCommit(repo, baseSha, 'the base commit');
  const env = {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
    // '@' makes git read the date as a Unix time whatever its size.
    GIT_AUTHOR_DATE: `@${header.authorDate}`,
    GIT_COMMITTER_DATE: `@${header.committerDate}`,
  };
  // A signature would differ on every call (and may ask for a passphrase): never sign.
  const args = ['commit-tree', '--no-gpg-sign', header.tree, '-p', baseSha, '-F', '-'];
  return (await git(repo, args, { env, input: message })).trim();
}

/** Branches with a change's prefix looked at for an earlier proposal: one git process each. */
const MAX_EARLIER_CANDIDATES = 16;

/**
 * The branch among `branches` (name and commit) that is an earlier proposal of the request's change:
 * named with the change's prefix, its commit the change's own tree on the base, its last trailers
 * naming this run and change (as report/proposal.ts writes them). Trailers alone can be written
 * by anyone who may push a branch; the tree and parent make it this change's content. Null when
 * there is none, or its commit is not in `repo`.
 */
export async function earlierProposal(repo: string, request: ProposalRequest, branches: Array<{ name: string; sha: string }>): Promise<string | null> {
  const prefix = request.branchPrefix;
  if (!prefix) return null;
  const trailers = `\nForeman-Run: ${request.runId}\nForeman-Change: ${request.changeId}\n`;
  const candidates = branches.filter(({ name }) => name.startsWith(prefix)).slice(0, MAX_EARLIER_CANDIDATES);
  if (candidates.length === 0) return null;
  const tree = (await git(repo, ['rev-parse', `${request.commitSha}^{tree}`])).trim();
  const header = `tree ${tree}\nparent ${request.baseSha}\n`;
  for (const { name, sha } of candidates) {
    // A commit this clone does not hold is not one it proposed: never fetched on demand (partial clones).
    const commit = await git(repo, ['cat-file', 'commit', sha], { env: { GIT_NO_LAZY_FETCH: '1' } }).catch((error: unknown) => {
      if (error instanceof GitError) return '';
      throw error;
    });
    if (commit.startsWith(header) && commit.endsWith(trailers)) return name;
  }
  return null;
}

/** The directory of refs a change's branches are in: `refs/heads/foreman/<run>/`. */
export const branchFolder = (prefix: string): string => `refs/heads/${prefix.slice(0, prefix.lastIndexOf('/') + 1)}`;

/** The commit message of a proposal: the title, the script's own text, and Foreman's trailers. */
export const proposalMessage = (request: ProposalRequest): string => request.message;

/** Whether a branch name is one git accepts, with the reason when it is not. */
export async function checkBranchName(repo: string, branch: string): Promise<void> {
  try {
    await git(repo, ['check-ref-format', `refs/heads/${branch}`]);
  } catch (error) {
    if (error instanceof GitError) {
      throw new Error(`cannot propose on branch '${branch}': git does not accept it as a branch name (see git help check-ref-format); pick a title and ids made of letters, digits and dashes`);
    }
    throw error;
  }
}

interface CommitHeader {
  tree: string;
  /** "<unix seconds> <±hhmm>", as stored. */
  authorDate: string;
  committerDate: string;
}

async function readCommitHeader(repo: string, commit: string): Promise<CommitHeader> {
  const sha = await verifyCommit(repo, commit, 'the change commit');
  const raw = await git(repo, ['cat-file', 'commit', sha]);
  const head = raw.slice(0, raw.indexOf('\n\n') >= 0 ? raw.indexOf('\n\n') : raw.length);
  const tree = /^tree ([0-9a-f]+)$/m.exec(head)?.[1];
  const authorDate = /^author .* (\d+ [+-]\d{4})$/m.exec(head)?.[1];
  const committerDate = /^committer .* (\d+ [+-]\d{4})$/m.exec(head)?.[1];
  if (!tree || !authorDate || !committerDate) {
    throw new Error(`change commit ${sha} in ${repo} has no tree, author or committer line git can read: the repository may be damaged, run git fsck`);
  }
  return { tree, authorDate, committerDate };
}

async function verifyCommit(repo: string, commit: string, what: string): Promise<string> {
  try {
    return (await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}^{commit}`])).trim();
  } catch (error) {
    if (error instanceof GitError) {
      throw new Error(`${what} ${commit} is not in ${repo}: the change may have been discarded or the repository replaced; run the workflow again to make the change anew`);
    }
    throw error;
  }
}
