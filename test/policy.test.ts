// src/policy: the GitHub rules the App and the Action share.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorize, neededRole } from '../src/policy/authorize.ts';
import { commentTrigger, configuredStart, labelTrigger } from '../src/policy/trigger.ts';
import { preparePullRequest, pullRequestArgs, PullRequestMovedError } from '../src/policy/pull-request.ts';
import { planFirst } from '../src/policy/approval.ts';

test('authorize: the config bar, approve never below write, and a refusal in the words of what was asked', () => {
  const triage = { permissions: { trigger: 'triage' as const } };
  assert.equal(neededRole(null, { kind: 'command', command: 'run' }), 'write', 'a config that could not be read keeps the default bar');
  assert.equal(neededRole(triage, { kind: 'command', command: 'run' }), 'triage');
  assert.equal(neededRole(triage, { kind: 'command', command: 'approve' }), 'write');
  assert.deepEqual(authorize({ login: 'ann', role: 'triage' }, triage, { kind: 'command', command: 'run' }), { allowed: true, needed: 'triage' });

  const comment = authorize({ login: 'bob', role: null }, {}, { kind: 'command', command: 'run' });
  assert.equal(comment.allowed, false);
  assert.ok(!comment.allowed);
  assert.equal(comment.reason, 'bob has no access; `/workflow` needs write');
  assert.match(comment.refusal, /^@bob, thanks for asking: Foreman starts workflows only for people with \*\*write\*\* access to this repository \(you have none\)/);

  const button = authorize({ login: 'bob', role: 'read' }, {}, { kind: 'button', action: 'resume' });
  assert.ok(!button.allowed);
  assert.equal(button.refusal, '@bob, thanks: only people with **write** access can resume Foreman runs here (you have read).');

  const label = authorize({ login: 'bob', role: 'read' }, {}, { kind: 'event', event: 'label', name: 'audit', workflow: 'security-sweep' });
  assert.ok(!label.allowed);
  assert.equal(label.reason, 'bob has read access; label runs need write');
  assert.equal(label.refusal, '@bob, thanks: the label `audit` starts `security-sweep` only when someone with **write** access puts it on (you have read).');
});

test('configuredStart: a name or { workflow, args }, for labels and releases; nothing for what the config does not map', () => {
  const config = { labels: { audit: 'security-sweep', fix: { workflow: 'audit-fix', args: { depth: 2 } } }, on: { release: { workflow: 'release-notes' } } };
  assert.deepEqual(configuredStart(config, { kind: 'label', name: 'audit' }), { workflow: 'security-sweep', args: null });
  assert.deepEqual(configuredStart(config, { kind: 'label', name: 'fix' }), { workflow: 'audit-fix', args: { depth: 2 } });
  assert.equal(configuredStart(config, { kind: 'label', name: 'bug' }), null);
  assert.deepEqual(configuredStart(config, { kind: 'release' }), { workflow: 'release-notes', args: null });
  assert.equal(configuredStart({}, { kind: 'release' }), null);
  assert.equal(commentTrigger(`fix ${'x'.repeat(100)}`, 'ann'), `\`/workflow fix ${'x'.repeat(73)}...\` by @ann`);
  assert.equal(labelTrigger('foreman:audit', 'ann'), 'the label `foreman:audit` by @ann');
  assert.equal(labelTrigger('a`b', 'ann'), 'the label ``a`b`` by @ann', 'a backtick in a label cannot close its code span');
});

test('planFirst: generated scripts by default, every run with always, none with never', () => {
  assert.equal(planFirst({}, { origin: 'generated' }), true);
  assert.equal(planFirst({}, { origin: 'builtin' }), false);
  assert.equal(planFirst({ approval: 'always' }, { origin: 'saved' }), true);
  assert.equal(planFirst({ approval: 'never' }, { origin: 'generated' }), false);
});

/** GitHub's answer for a pull request whose head is in `headRepo` (null: a deleted fork). */
function github(headRepo: string | null, head = 'a'.repeat(40)) {
  const pull = {
    head: { sha: head, ref: 'feature', repo: headRepo === null ? null : { full_name: headRepo } },
    base: { sha: 'b'.repeat(40), ref: 'main' },
    title: 'Fix <!-- hidden -->it',
    body: null,
  };
  return { request: async (route: string) => ({ data: route.startsWith('GET /repos/{owner}/{repo}/pulls/') ? pull : null }) } as any;
}

test('preparePullRequest: fork detection, where fixes go, sanitised words, and a head that moved since the approval', async () => {
  const at = { owner: 'o', repo: 'r', number: 7 };
  const own = await preparePullRequest(github('o/r'), at);
  assert.deepEqual({ fork: own.fork, targetBranch: own.targetBranch, title: own.title, body: own.body }, { fork: false, targetBranch: 'feature', title: 'Fix it', body: '' });
  const fork = await preparePullRequest(github('stranger/r'), at);
  assert.deepEqual({ fork: fork.fork, targetBranch: fork.targetBranch }, { fork: true, targetBranch: 'main' });
  const gone = await preparePullRequest(github(null), at);
  assert.equal(gone.fork, true, 'a deleted fork is no more trusted than a live one');
  assert.deepEqual(pullRequestArgs(own, 'diff --git', 'c'.repeat(40)), { diff: 'diff --git', base: 'c'.repeat(40), head: 'a'.repeat(40), title: 'Fix it', body: '' });

  await assert.rejects(preparePullRequest(github('stranger/r', 'f'.repeat(40)), { ...at, approvedSha: 'a'.repeat(40) }), (error: unknown) => {
    assert.ok(error instanceof PullRequestMovedError);
    assert.deepEqual([error.approved, error.head, error.fork], ['a'.repeat(40), 'f'.repeat(40), true]);
    return true;
  });
  assert.equal((await preparePullRequest(github('o/r'), { ...at, approvedSha: 'a'.repeat(40) })).headSha, 'a'.repeat(40));
});
