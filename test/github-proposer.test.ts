// GitHubProposer: one pull request per verified change. The remote is a real bare repository (or
// a local HTTP server, where the auth header matters); only GitHub's REST API is mocked.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Octokit } from '@octokit/core';
import nock from 'nock';
import { GitHubProposer, type GitHubProposerOptions } from '../src/github/proposer.ts';
import type { ProposalRequest } from '../src/contracts/ports.ts';
import { gitIn, makeRepo, repoWithChange, tempDir, writeFiles } from './support/repo.ts';

const API = 'https://api.github.test';
const TOKEN = 'ghs_s3cr3tT0kenThatMustNeverLeak';
const BRANCH = 'foreman/run-1/c1-bump-a';
const PULLS = '/repos/acme/widgets/pulls';
const OPEN_QUERY = { head: `acme:${BRANCH}`, state: 'open', per_page: '10' };

before(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
after(() => nock.enableNetConnect());

function proposer(repoDir: string, remoteUrl: string, extra: Partial<GitHubProposerOptions> = {}): GitHubProposer {
  const octokit = new Octokit({ auth: 'tok', baseUrl: API });
  return new GitHubProposer({ octokit, owner: 'acme', repo: 'widgets', repoDir, remoteUrl, token: TOKEN, baseBranch: 'main', ...extra });
}

function request(base: string, commitSha: string, overrides: Partial<ProposalRequest> = {}): ProposalRequest {
  return {
    runId: 'run-1',
    changeId: 'c1',
    branch: BRANCH,
    commitSha,
    baseSha: base,
    title: 'Bump a',
    body: 'a was wrong.\n\n<!-- foreman:report -->\n\n### Gate: ✅ passed\n',
    message: 'Bump a\n\na was wrong.\n\nForeman-Run: run-1\nForeman-Change: c1\n',
    draft: false,
    ...overrides,
  };
}

const remoteBranch = (remote: string): string | null => {
  try {
    return execFileSync('git', ['--git-dir', remote, 'rev-parse', '--verify', '--quiet', `refs/heads/${BRANCH}`], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};

const pull = (number: number) => ({ number, html_url: `https://github.test/acme/widgets/pull/${number}`, head: { ref: BRANCH } });

test('opens one pull request from the pushed branch, whose commit holds the change', async () => {
  const { repo, base, commitSha, remote } = repoWithChange();
  let posted: Record<string, unknown> | undefined;
  const scope = nock(API)
    .get(PULLS)
    .query(OPEN_QUERY)
    .reply(200, [])
    .post(PULLS, (body) => {
      posted = body;
      return true;
    })
    .reply(201, pull(7));

  const proposal = await proposer(repo, remote).propose(request(base, commitSha, { draft: true }));
  assert.deepEqual(proposal, { branch: BRANCH, pr: { number: 7, url: 'https://github.test/acme/widgets/pull/7' }, created: true });
  assert.ok(scope.isDone());
  assert.deepEqual(posted, { title: 'Bump a', head: BRANCH, base: 'main', body: request(base, commitSha).body, draft: true });

  const pushed = remoteBranch(remote);
  assert.ok(pushed, 'the branch is in the remote');
  const git = (...args: string[]) => execFileSync('git', ['--git-dir', remote, ...args], { encoding: 'utf8' });
  assert.equal(git('rev-parse', `${pushed}^{tree}`), gitIn(repo, 'rev-parse', `${commitSha}^{tree}`));
  assert.equal(git('rev-parse', `${pushed}^`).trim(), base);
  assert.equal(git('log', '-1', '--format=%B', pushed), 'Bump a\n\na was wrong.\n\nForeman-Run: run-1\nForeman-Change: c1\n\n');
});

test('an open pull request for the branch is returned, and nothing is pushed or posted', async () => {
  const { repo, base, commitSha, remote } = repoWithChange();
  const lookup = nock(API).get(PULLS).query(OPEN_QUERY).reply(200, [pull(3)]);
  const post = nock(API).post(PULLS).reply(201, pull(4));

  const proposal = await proposer(repo, remote).propose(request(base, commitSha));
  assert.deepEqual(proposal, { branch: BRANCH, pr: { number: 3, url: 'https://github.test/acme/widgets/pull/3' }, created: false });
  assert.ok(lookup.isDone());
  assert.equal(post.isDone(), false, 'no pull request was opened');
  assert.equal(nock.pendingMocks().length, 1);
  assert.equal(remoteBranch(remote), null);
});

test('a resumed propose after a crash before the PR: the branch is already there, one PR is opened', async () => {
  const { repo, base, commitSha, remote } = repoWithChange();
  nock(API).get(PULLS).query(OPEN_QUERY).reply(200, []).post(PULLS).reply(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: 'boom' }] });
  await assert.rejects(proposer(repo, remote).propose(request(base, commitSha)), /opening a pull request from .* into main in acme\/widgets failed: 422 .*boom/);
  const first = remoteBranch(remote);
  assert.ok(first);

  const scope = nock(API).get(PULLS).query(OPEN_QUERY).reply(200, []).post(PULLS).reply(201, pull(8));
  const proposal = await proposer(repo, remote).propose(request(base, commitSha));
  assert.deepEqual(proposal.pr, { number: 8, url: 'https://github.test/acme/widgets/pull/8' });
  assert.ok(scope.isDone());
  assert.equal(remoteBranch(remote), first, 'the same commit, not a new one');
});

test('a pull request opened meanwhile by another attempt (422) is looked up and returned', async () => {
  const { repo, base, commitSha, remote } = repoWithChange();
  const scope = nock(API)
    .get(PULLS)
    .query(OPEN_QUERY)
    .reply(200, [])
    .post(PULLS)
    .reply(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for acme:${BRANCH}.` }] })
    .get(PULLS)
    .query(OPEN_QUERY)
    .reply(200, [pull(5)]);

  const proposal = await proposer(repo, remote).propose(request(base, commitSha));
  assert.deepEqual(proposal, { branch: BRANCH, pr: { number: 5, url: 'https://github.test/acme/widgets/pull/5' }, created: false });
  assert.ok(scope.isDone());
});

test('a repository without draft pull requests gets a ready one', async () => {
  const { repo, base, commitSha, remote } = repoWithChange();
  const drafts: unknown[] = [];
  const scope = nock(API)
    .get(PULLS)
    .query(OPEN_QUERY)
    .reply(200, [])
    .post(PULLS, (body) => (drafts.push(body.draft), true))
    .reply(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: 'Draft pull requests are not supported in this repository.' }] })
    .post(PULLS, (body) => (drafts.push(body.draft), true))
    .reply(201, pull(6));
  const proposal = await proposer(repo, remote).propose(request(base, commitSha, { draft: true }));
  assert.equal(proposal.pr?.number, 6);
  assert.deepEqual(drafts, [true, false]);
  assert.ok(scope.isDone());
});

test('a remote branch of the same name with other commits is never overwritten', async () => {
  const { repo, base, commitSha, remote } = repoWithChange();
  gitIn(repo, 'push', '-q', remote, `${base}:refs/heads/${BRANCH}`);
  const lookup = nock(API).get(PULLS).query(OPEN_QUERY).reply(200, []);
  const post = nock(API).post(PULLS).reply(201, pull(9));
  await assert.rejects(proposer(repo, remote).propose(request(base, commitSha)), /branch foreman\/run-1\/c1-bump-a already exists in acme\/widgets with other commits .*delete or rename that branch/);
  assert.ok(lookup.isDone());
  assert.equal(post.isDone(), false);
  assert.equal(remoteBranch(remote), base);
});

test('the token is in no error when the push fails', async () => {
  const { repo, base, commitSha } = repoWithChange();
  nock(API).get(PULLS).query(OPEN_QUERY).reply(200, []);
  const error = await proposer(repo, join(tempDir(), 'no-such-remote.git')).propose(request(base, commitSha)).catch((e: Error) => e);
  assert.ok(error instanceof Error);
  assert.match(error.message, /acme\/widgets failed: .*no-such-remote\.git.*; check that the remote URL is right/s);
  assertNoToken(error.message);
});

test('over HTTP the token travels only as a header, replacing a checkout\'s, and is scrubbed from git\'s verbose output', async () => {
  const { repo, base, commitSha } = repoWithChange();
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.statusCode = 500;
    res.end('unavailable');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/acme/widgets.git`;
  // What actions/checkout leaves behind; sending both headers would make GitHub refuse the push.
  gitIn(repo, 'config', `http.http://127.0.0.1:${(server.address() as AddressInfo).port}/.extraheader`, 'AUTHORIZATION: basic Y2hlY2tvdXQ=');
  const saved = { verbose: process.env.GIT_CURL_VERBOSE, redact: process.env.GIT_TRACE_REDACT };
  // Makes git print every request header, the token's included, to the stderr the error is built from.
  process.env.GIT_CURL_VERBOSE = '1';
  process.env.GIT_TRACE_REDACT = '0';
  try {
    nock(API).get(PULLS).query(OPEN_QUERY).reply(200, []);
    const error = await proposer(repo, url).propose(request(base, commitSha)).catch((e: Error) => e);
    assert.ok(error instanceof Error);
    assert.match(error.message, /reading branches of acme\/widgets failed: .*500/s);
    assertNoToken(error.message);
  } finally {
    process.env.GIT_CURL_VERBOSE = saved.verbose;
    process.env.GIT_TRACE_REDACT = saved.redact;
    if (saved.verbose === undefined) delete process.env.GIT_CURL_VERBOSE;
    if (saved.redact === undefined) delete process.env.GIT_TRACE_REDACT;
    server.close();
  }
  assert.ok(seen.length > 0, 'git reached the server');
  for (const req of seen) {
    const auth = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i].toLowerCase() === 'authorization').length;
    assert.equal(auth, 1, 'exactly one Authorization header');
    assert.equal(req.headers.authorization, `basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`);
    assert.ok(!req.url?.includes(TOKEN));
  }
});

function assertNoToken(message: string): void {
  assert.ok(!message.includes(TOKEN), `the token leaked: ${message}`);
  assert.ok(!message.includes(Buffer.from(`x-access-token:${TOKEN}`).toString('base64')), `the encoded token leaked: ${message}`);
}
