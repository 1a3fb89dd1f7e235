import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRunCheckout, pruneStaleWorktrees, removeRunWorktrees, resolveCommit } from '../src/workspace/checkout.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';

test('the pristine checkout holds the base commit and leaves the user\'s tree, index and branches alone', async () => {
  const repo = makeRepo({ 'a.txt': 'base\n' });
  writeFileSync(join(repo, 'a.txt'), 'edited\n');
  gitIn(repo, 'add', 'a.txt');
  const home = tempDir();
  const sha = await resolveCommit(repo, 'HEAD');
  const dir = await createRunCheckout(repo, sha, home, 'run-1');
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'base\n');
  assert.equal(gitIn(repo, 'status', '--porcelain').trim(), 'M  a.txt');
  assert.deepEqual(gitIn(repo, 'branch', '--format=%(refname:short)').trim().split('\n'), ['main']);
  await removeRunWorktrees(repo, home, 'run-1');
  assert.equal(existsSync(dir), false);
  assert.equal(gitIn(repo, 'worktree', 'list').trim().split('\n').length, 1);
});

test('stale worktrees of dead runs are pruned; those of live runs are kept', async () => {
  const repo = makeRepo({ 'a.txt': 'x\n' });
  const home = tempDir();
  const sha = await resolveCommit(repo, 'HEAD');
  const dead = await createRunCheckout(repo, sha, home, 'dead-run');
  const live = await createRunCheckout(repo, sha, home, 'live-run');
  const pruned = await pruneStaleWorktrees(repo, home, (runId) => runId === 'live-run');
  assert.equal(pruned, 1);
  assert.equal(existsSync(dead), false);
  assert.equal(existsSync(live), true);
  await removeRunWorktrees(repo, home, 'live-run');
});

test('a base that is not a commit names the ref and the fix', async () => {
  const repo = makeRepo({ 'a.txt': 'x\n' });
  await assert.rejects(resolveCommit(repo, 'no-such-branch'), /--base no-such-branch is not a commit in .*: pass a branch, tag or commit that exists/);
});

test('a worktree another process is adding (its entry half-made) does not fail the listing: it is looked at again', async () => {
  const repo = makeRepo({ 'a.txt': 'a\n' });
  const home = tempDir();
  // What `git worktree add` leaves for a moment: the entry with its `commondir` created, not yet written.
  const entry = join(repo, '.git', 'worktrees', 'being-added');
  const halfMade = () => {
    mkdirSync(entry, { recursive: true });
    writeFileSync(join(entry, 'gitdir'), join(tempDir(), '.git') + '\n');
    writeFileSync(join(entry, 'commondir'), '');
  };
  halfMade();
  setTimeout(() => writeFileSync(join(entry, 'commondir'), '../..\n'), 120);
  assert.equal(await pruneStaleWorktrees(repo, home, () => false), 0);
  // One that stays half-made is an error, not a listing that skips it.
  rmSync(entry, { recursive: true, force: true });
  halfMade();
  await assert.rejects(pruneStaleWorktrees(repo, home, () => false), /failed to read/);
});
