// A service run that proposes through the real GitHubProposer: a bare remote it pushes to, and a
// nock'd REST API where no pull request exists yet and the one opened is recorded.
import { execFileSync } from 'node:child_process';
import { Octokit } from '@octokit/core';
import { after, before } from 'node:test';
import nock from 'nock';
import { GitHubProposer } from '../../src/github/proposer.ts';
import type { ServiceEnv } from '../../src/service/runs.ts';
import { serviceEnv } from './service.ts';
import { tempDir } from './repo.ts';

/**
 * For the file's tests: GitHub only through nock, loopback (the fake Messages API) open; `close`
 * ends the fake when the file is done.
 */
export function onlyNockAndLoopback(close: () => Promise<void>): void {
  before(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  after(async () => {
    nock.enableNetConnect();
    await close();
  });
}

export interface OpenedPullRequest {
  title: string;
  body: string;
  head: string;
  base: string;
}

export function pullRequestEnv(anthropicUrl: string, options: { api: string; owner: string; repo: string; number: number }) {
  const remote = tempDir('foreman-remote-');
  execFileSync('git', ['init', '-q', '--bare', remote]);
  const path = `/repos/${options.owner}/${options.repo}/pulls`;
  let opened: OpenedPullRequest | undefined;
  const scope = nock(options.api)
    .get(path)
    .query(true)
    .reply(200, [])
    .post(path, (body) => ((opened = body as OpenedPullRequest), true))
    .reply(201, { number: options.number, html_url: `https://github.test/${options.owner}/${options.repo}/pull/${options.number}` });
  let repoDir = '';
  const env: ServiceEnv = serviceEnv(anthropicUrl, [], {
    proposer: (dir) => {
      repoDir = dir;
      return new GitHubProposer({ octokit: new Octokit({ auth: 't', baseUrl: options.api }), owner: options.owner, repo: options.repo, repoDir: dir, remoteUrl: remote, token: 'ghs_x', baseBranch: 'main' });
    },
  });
  return { env, scope, remote, opened: () => opened, repoDir: () => repoDir };
}
