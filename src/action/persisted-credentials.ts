// actions/checkout persists the job's token in the checkout's .git/config unless told not to
// (persist-credentials: false). Every worktree Foreman makes shares that file, so the gate's
// commands and agents' commands could read the token, which may write the repository. The Action
// takes it out before it runs anything of the repository, and pushes with its own per-command
// header instead (git-auth.ts).
import { git, GitError } from '../workspace/git.ts';
import { holdsCredentialUrl } from '../workspace/command.ts';
import { scrubToken } from '../github/git-auth.ts';

const AUTHORIZATION_HEADER = /^\s*authorization\s*:/i;

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
    else if (AUTHORIZATION_HEADER.test(value) || holdsCredentialUrl(value)) names.add(name);
  }
  for (const name of names) await git(workspace, ['config', '--local', '--unset-all', name]);
  for (const section of sections) await git(workspace, ['config', '--local', '--remove-section', section]);
  return [...names, ...sections].map((name) => scrubToken(name, undefined));
}
