// actions/checkout persists the job's token in the checkout's git config unless told not to
// (persist-credentials: false): up to v5 in .git/config itself, from v6 in a file under
// $RUNNER_TEMP that .git/config includes (`includeIf.gitdir:<checkout>.path`). Every worktree Foreman makes shares that file, so the gate's
// commands and agents' commands could read the token, which may write the repository. The Action
// takes it out before it runs anything of the repository, and pushes with its own per-command
// header instead (git-auth.ts).
import { isAbsolute, join } from 'node:path';
import { git, GitError } from '../workspace/git.ts';
import { holdsCredentialUrl } from '../workspace/command.ts';
import { scrubToken } from '../github/git-auth.ts';

const AUTHORIZATION_HEADER = /^\s*authorization\s*:/i;
const INCLUDE = /^include(if\..*)?\.path$/i;

/** Removes every entry of the repository's own config that holds a credential; returns their names, credentials masked. */
export async function removePersistedCredentials(workspace: string): Promise<string[]> {
  let listing: string;
  try {
    // Only .git/config itself: an included file is not the checkout's to change.
    listing = await git(workspace, ['config', '--local', '--no-includes', '--list', '-z']);
  } catch (error) {
    // Not a git checkout: nothing persisted.
    if (error instanceof GitError) return [];
    throw error;
  }
  const names = new Set<string>();
  // A credential in a section's name (`[url "https://x-access-token:…@github.com/"]`) stays in
  // the file after its keys are unset: the whole section goes.
  const sections = new Set<string>();
  for (const entry of listing.split('\0')) {
    const newline = entry.indexOf('\n');
    if (newline < 0) continue;
    const name = entry.slice(0, newline);
    const value = entry.slice(newline + 1);
    if (holdsCredentialUrl(name)) sections.add(name.slice(0, name.lastIndexOf('.')));
    else if (holdsCredential(value) || (INCLUDE.test(name) && (await includesCredential(workspace, value)))) names.add(name);
  }
  for (const name of names) await git(workspace, ['config', '--local', '--unset-all', name]);
  for (const section of sections) await git(workspace, ['config', '--local', '--remove-section', section]);
  return [...names, ...sections].map((name) => scrubToken(name, undefined));
}

const holdsCredential = (value: string): boolean => AUTHORIZATION_HEADER.test(value) || holdsCredentialUrl(value);

/**
 * Whether the file an include entry names holds a credential. The include goes rather than the
 * file: the file is the checkout step's, which removes it after the job; without the include the
 * token no longer reaches any git the repository's code runs.
 */
async function includesCredential(workspace: string, path: string): Promise<boolean> {
  const gitDir = (await git(workspace, ['rev-parse', '--absolute-git-dir'])).trim();
  const file = isAbsolute(path) ? path : join(gitDir, path);
  let listing: string;
  try {
    listing = await git(workspace, ['config', '--file', file, '--no-includes', '--list', '-z']);
  } catch (error) {
    // Missing or unreadable: it holds nothing git would use.
    if (error instanceof GitError) return false;
    throw error;
  }
  return listing.split('\0').some((entry) => {
    const newline = entry.indexOf('\n');
    return newline >= 0 && (holdsCredentialUrl(entry.slice(0, newline)) || holdsCredential(entry.slice(newline + 1)));
  });
}
