// Foreman's own git commands against a hostile repository: config, hooks and .gitattributes that
// name programs (as a gate step or a crafted repository could leave them) run nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChangeWorktrees } from '../src/workspace/changes.ts';
import { changesSince, createPristineCheckout, removeRunWorktrees } from '../src/workspace/checkout.ts';
import { createProposalCommit } from '../src/workspace/proposal-commit.ts';
import { BranchProposer } from '../src/workspace/branch-proposer.ts';
import { executeTool } from '../src/agents/tools.ts';
import { git } from '../src/workspace/git.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';

const HOOKS = ['reference-transaction', 'post-checkout', 'post-index-change', 'pre-commit', 'post-commit', 'pre-push', 'fsmonitor-watchman'];

/**
 * Makes `repo` hostile: an in-tree .gitattributes naming a filter and a diff driver whose
 * programs, like every hook, append their name to the returned marker file.
 */
function plantHostileRepository(repo: string): string {
  const dir = tempDir('foreman-hostile-');
  const marker = join(dir, 'ran');
  const program = join(dir, 'evil.sh');
  // Passes content through where git expects a filter's output; fails anything else fast.
  writeFileSync(program, `#!/bin/sh\necho "$(basename "$0") $*" >> ${marker}\ncase "$1" in clean|smudge) exec cat ;; textconv) exec cat "$2" ;; esac\nexit 1\n`);
  chmodSync(program, 0o755);
  const commonDir = join(repo, gitIn(repo, 'rev-parse', '--git-common-dir').trim());
  const hookDirs = [join(commonDir, 'hooks'), join(dir, 'hooks')];
  for (const hooks of hookDirs) {
    mkdirSync(hooks, { recursive: true });
    for (const hook of HOOKS) {
      writeFileSync(join(hooks, hook), `#!/bin/sh\necho "${hook}" >> ${marker}\n`);
      chmodSync(join(hooks, hook), 0o755);
    }
  }
  const config: Array<[string, string]> = [
    ['filter.evil.clean', `${program} clean`],
    ['filter.evil.smudge', `${program} smudge`],
    ['filter.evil.required', 'true'],
    ['filter.Evil.Sub.process', `${program} process`],
    ['diff.evil.textconv', `${program} textconv`],
    ['diff.evil.command', `${program} diff-command`],
    ['diff.external', `${program} diff-external`],
    ['core.hooksPath', join(dir, 'hooks')],
    ['core.fsmonitor', join(dir, 'hooks', 'fsmonitor-watchman')],
    ['core.sshCommand', `${program} ssh`],
    ['credential.helper', `!${program} credential`],
    ['commit.gpgSign', 'true'],
    ['gpg.program', `${program} gpg`],
    ['remote.origin.url', dir],
    ['remote.origin.uploadpack', `${program} upload-pack`],
  ];
  for (const [key, value] of config) gitIn(repo, 'config', key, value);
  writeFileSync(join(repo, '.git', 'info', 'attributes'), '* filter=evil diff=evil\n');
  return marker;
}

const ran = (marker: string): string => (existsSync(marker) ? readFileSync(marker, 'utf8') : '');

test("Foreman's worktree add, add, commit, diff, update-ref, search and fetch run no hook, filter or driver the repository names", { timeout: 30_000 }, async () => {
  const repo = makeRepo({ '.gitattributes': '* filter=evil diff=evil\n*.txt filter=Evil.Sub\n', 'a.js': 'one\n', 'b.txt': 'two\n' });
  const marker = plantHostileRepository(repo);
  // The planted config is live for plain git: the test would prove nothing otherwise.
  gitIn(repo, 'diff', 'HEAD', '--', 'a.js');
  assert.notEqual(ran(marker), '', 'the hostile repository runs its programs under plain git');
  writeFileSync(marker, '');

  const home = tempDir();
  const base = gitIn(repo, 'rev-parse', 'HEAD').trim();
  const changes = new ChangeWorktrees({ repo, home, runId: 'run-1', baseSha: base });
  const dir = await changes.open('c1');
  assert.equal(readFileSync(join(dir, 'a.js'), 'utf8'), 'one\n');
  writeFileSync(join(dir, 'a.js'), 'one\ntwo\n');
  writeFileSync(join(dir, 'b.txt'), 'changed\n');
  const snapshot = await changes.snapshot('c1', 'change');
  assert.ok(snapshot);
  assert.match(snapshot.diff, /\+two/);
  assert.equal(gitIn(repo, 'show', `${snapshot.commit}:a.js`), 'one\ntwo\n', 'no clean filter rewrote the content');
  await changes.checkout('c1');
  await createProposalCommit(repo, snapshot.commit, base, 'proposal');
  const proposed = await new BranchProposer(repo).propose({ runId: 'run-1', changeId: 'c1', branch: 'foreman/hardening', commitSha: snapshot.commit, baseSha: base, message: 'proposal', title: 't', body: '', draft: false });
  assert.equal(proposed.created, true);
  await changesSince(repo, base, snapshot.commit);
  await executeTool('search', { pattern: 'two' }, { root: dir });
  await git(repo, ['log', '-p', '-1', snapshot.commit]);
  await git(repo, ['show', snapshot.commit]);
  // A fetch from `origin` would run the planted upload-pack program.
  await git(repo, ['fetch', '--quiet', 'origin']).catch(() => undefined);
  await changes.discard('c1');
  const pristine = await createPristineCheckout(repo, base, home, 'run-2');
  await removeRunWorktrees(repo, home, 'run-2');
  assert.ok(pristine);

  assert.equal(ran(marker), '', 'nothing the repository named ran');
});

test('argv stays free of the hardening, and a value passed as config never shows in argv', async () => {
  const repo = makeRepo({ 'a.txt': 'x\n' });
  const error = await git(repo, ['rev-parse', '--verify', 'no-such-ref'], { config: [['http.extraheader', 'AUTHORIZATION: basic secret-value']] }).catch((e: Error) => e);
  assert.ok(error instanceof Error);
  assert.doesNotMatch(error.message, /secret-value|hooksPath/);
  assert.match(error.message, /^git rev-parse --verify no-such-ref failed/);
});
