// test/support/fake-github-api.ts serves Foreman's own GitHub code as GitHub would, so `foreman app`
// and `foreman worker` processes can run App runs against it: here Foreman's real token source,
// proposer and run report talk to it over HTTP, in GitHub Enterprise Server's /api/v3 form (what
// GHE_HOST gives a process), and what they did is read back from the fake's state and timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Octokit } from '@octokit/core';
import { appTokenSource, tokenSourceAuth } from '../src/github/installation.ts';
import { GitHubProposer } from '../src/github/proposer.ts';
import { GitHubRunReport } from '../src/github/run-report.ts';
import type { ProposalRequest } from '../src/contracts/ports.ts';
import { startFakeGitHubApi } from './support/fake-github-api.ts';
import { startFakeAnthropic, text } from './support/fake-anthropic.ts';
import { runScript, serviceEnv } from './support/service.ts';
import { repoWithChange } from './support/repo.ts';

const BRANCH = 'foreman/run-1/c1-bump-a';

const request = (baseSha: string, commitSha: string): ProposalRequest =>
  ({ runId: 'run-1', changeId: 'c1', branch: BRANCH, commitSha, baseSha, title: 'Bump a', body: 'a was wrong.', message: 'Bump a\n\nForeman-Run: run-1\nForeman-Change: c1\n', draft: false });

test("installation tokens: the App's token source mints them from the fake, and a worker's requests carry them", async () => {
  const api = await startFakeGitHubApi('acme', 'widgets');
  try {
    api.installationId = 42;
    const baseUrl = `${api.url}/api/v3`;
    const tokens = appTokenSource(async () => new Octokit({ baseUrl }));
    const token = await tokens.installationToken(42, 'widgets');
    assert.equal(token.token, 'ghs_fake1');
    assert.ok(Date.parse(token.expiresAt) > Date.now() + 50 * 60_000, 'an hour, as GitHub gives');
    assert.deepEqual(api.tokens, [{ installationId: 42, repositories: ['widgets'], token: 'ghs_fake1' }]);
    await assert.rejects(tokens.installationToken(7, 'widgets'), /Not Found/, 'an installation the App is not installed as');

    const octokit = new Octokit({ baseUrl, authStrategy: tokenSourceAuth, auth: { tokens, installationId: 42, repository: 'widgets' } });
    await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: 'acme', repo: 'widgets', issue_number: 3, body: 'hello' });
    assert.equal(api.comments[0]?.body, 'hello');
    assert.deepEqual(api.unexpected, []);
    assert.ok(api.calls.every((call) => !call.path.startsWith('/api/v3')), 'paths are recorded without the GHE prefix');
  } finally {
    await api.close();
  }
});

test("the proposer against the fake: one pull request for a change, found again on the next attempt, and a racing attempt's 422 understood", async () => {
  const api = await startFakeGitHubApi('acme', 'widgets');
  try {
    const { repo, base, commitSha, remote } = repoWithChange();
    const proposer = () => new GitHubProposer({ octokit: new Octokit({ auth: 'tok', baseUrl: `${api.url}/api/v3` }), owner: 'acme', repo: 'widgets', repoDir: repo, remoteUrl: remote, token: 'tok', baseBranch: 'main' });
    const [first, racing] = await Promise.all([proposer().propose(request(base, commitSha)), proposer().propose(request(base, commitSha))]);
    assert.equal(api.openedPulls.length, 1, 'two attempts at once open one pull request');
    assert.equal(first.pr?.number, racing.pr?.number);
    assert.deepEqual([first.created, racing.created].sort(), [false, true]);
    const [pull] = api.openedPulls;
    assert.deepEqual({ head: pull!.head, base: pull!.base.ref, state: pull!.state }, { head: { ref: BRANCH, label: `acme:${BRANCH}` }, base: 'main', state: 'open' });
    assert.match(pull!.title, /Bump a/);

    const again = await proposer().propose(request(base, commitSha));
    assert.deepEqual(again.pr, first.pr);
    assert.equal(again.created, false);
    assert.equal(api.openedPulls.length, 1);
    assert.deepEqual(api.unexpected, []);
  } finally {
    await api.close();
  }
});

test('the run report against the fake: its check runs and comment are kept as created and updated, each call timed', async () => {
  const api = await startFakeGitHubApi('o', 'r');
  const model = await startFakeAnthropic({ handler: () => [text('ok')] });
  try {
    const report = new GitHubRunReport(
      { octokit: new Octokit({ baseUrl: `${api.url}/api/v3` }), owner: 'o', repo: 'r', headSha: 'a'.repeat(40), issueNumber: 7, progressCommentId: null, workflow: 'fan', trigger: 'a test', version: '0' },
      { intervalMs: 0 },
    );
    let moment = 0;
    const env = serviceEnv(model.url, [], { listener: report.listener, onRunId: (id) => void report.started(id).then(() => (moment = Date.now())) });
    const outcome = await runScript(`phase('Scan')\nreturn await agent('reply ok')`, env);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await report.finish(outcome);
    assert.equal(outcome.status, 'completed');

    const checks = Object.values(api.checkRuns);
    assert.ok(checks.length >= 1);
    assert.ok(checks.every((check) => check.head_sha === 'a'.repeat(40)));
    assert.ok(checks.some((check) => check.status === 'completed' && check.conclusion === 'success'), JSON.stringify(checks));
    const comment = api.comments.find((c) => c.issue === 7);
    assert.ok(comment, 'the progress comment');
    const after = api.callsSince(moment);
    assert.ok(after.length > 0 && after.length < api.calls.length, 'the calls since a moment are a part of them');
    assert.ok(after.every((call) => call.at >= moment));
    assert.ok(after.some((call) => call.method === 'PATCH' && call.path === `/repos/o/r/issues/comments/${comment.id}`), 'the final comment edit came after the moment');
    assert.deepEqual(api.unexpected, []);
  } finally {
    await api.close();
    await model.close();
  }
});

test('git refs and contents as /workflow save uses them: a missing ref is 404, a second create 422', async () => {
  const api = await startFakeGitHubApi('o', 'r');
  const octokit = new Octokit({ baseUrl: `${api.url}/api/v3` });
  const repo = { owner: 'o', repo: 'r' };
  try {
    await assert.rejects(octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { ...repo, ref: 'heads/main' }), (error: { status?: number }) => error.status === 404);
    api.refs['heads/main'] = 'b'.repeat(40);
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { ...repo, ref: 'heads/main' });
    assert.equal(data.object.sha, 'b'.repeat(40));
    await octokit.request('POST /repos/{owner}/{repo}/git/refs', { ...repo, ref: 'refs/heads/foreman/save-x', sha: data.object.sha });
    assert.equal(api.refs['heads/foreman/save-x'], 'b'.repeat(40));
    await assert.rejects(octokit.request('POST /repos/{owner}/{repo}/git/refs', { ...repo, ref: 'refs/heads/foreman/save-x', sha: data.object.sha }), (error: { status?: number }) => error.status === 422);
    await octokit.request('PUT /repos/{owner}/{repo}/contents/{path}', { ...repo, path: '.claude/workflows/x.js', branch: 'foreman/save-x', message: 'save', content: Buffer.from('return 1\n').toString('base64') });
    assert.equal(api.files['foreman/save-x:.claude/workflows/x.js'], 'return 1\n');
    await assert.rejects(octokit.request('GET /repos/{owner}/{repo}/contents/{path}', { ...repo, path: '.github/foreman.yml' }), (error: { status?: number }) => error.status === 404);
    assert.deepEqual(api.unexpected, [], 'a missing file is an answer, not a route the fake lacks');
  } finally {
    await api.close();
  }
});
