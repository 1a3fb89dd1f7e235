// What a person is told about their checkout as a run starts: agents read a commit, never the
// working tree, so an empty repository has nothing to read and uncommitted work is not seen.
import { git, GitError } from '../workspace/git.ts';
import { RepositoryError, resolveCommit } from '../workspace/checkout.ts';
import { count } from '../report/format.ts';

/** resolveCommit, except that a repository without commits is told to commit first, not about --base. */
export async function resolveBase(repo: string, ref: string): Promise<string> {
  try {
    return await resolveCommit(repo, ref);
  } catch (error) {
    if (error instanceof RepositoryError && !(await hasCommits(repo))) {
      throw new RepositoryError(
        `${repo} has no commits yet, and agents read a commit, not the working tree: commit your files first (git add -A && git commit -m "initial"), then run again`,
      );
    }
    throw error;
  }
}

async function hasCommits(repo: string): Promise<boolean> {
  try {
    return (await git(repo, ['rev-list', '-n', '1', '--all'])).trim() !== '';
  } catch (error) {
    if (error instanceof GitError) return false;
    throw error;
  }
}

/** A note when the working tree differs from its commit (null when it does not, or has none: a bare clone). */
export async function uncommittedNote(repo: string, baseRef: string, baseSha: string): Promise<string | null> {
  let status: string;
  try {
    status = await git(repo, ['status', '--porcelain']);
  } catch (error) {
    if (error instanceof GitError) return null;
    throw error;
  }
  const files = status.split('\n').filter((line) => line.trim() !== '').length;
  if (files === 0) return null;
  return `the working tree has ${count(files, 'uncommitted file')}, which agents do not see: they read the commit ${baseRef} (${baseSha.slice(0, 12)}); commit first for agents to read your changes`;
}
