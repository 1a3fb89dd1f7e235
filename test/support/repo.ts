// Real git repositories in temp dirs for tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function tempDir(prefix = 'foreman-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function gitIn(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.com' } });
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** A repository with one commit holding `files`. */
export function makeRepo(files: Record<string, string>): string {
  const repo = tempDir('foreman-repo-');
  gitIn(repo, 'init', '-q', '-b', 'main');
  writeFiles(repo, files);
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

/** A repository whose change c1 of run-1 is a commit under refs/foreman/run-1/c1, and an empty bare remote to propose it to. */
export function repoWithChange() {
  const repo = makeRepo({ 'src/a.ts': 'export const a = 1;\n' });
  const base = gitIn(repo, 'rev-parse', 'HEAD').trim();
  const dir = join(tempDir(), 'change');
  gitIn(repo, 'worktree', 'add', '--detach', '--quiet', dir, base);
  writeFiles(dir, { 'src/a.ts': 'export const a = 2;\n' });
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', 'change c1');
  const commitSha = gitIn(dir, 'rev-parse', 'HEAD').trim();
  gitIn(repo, 'update-ref', 'refs/foreman/run-1/c1', commitSha);
  gitIn(repo, 'worktree', 'remove', '--force', dir);
  const remote = tempDir('foreman-remote-');
  execFileSync('git', ['init', '-q', '--bare', remote]);
  return { repo, base, commitSha, remote };
}
