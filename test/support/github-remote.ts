// The GitHub side of an end-to-end run, minus the REST API (nock plays that): the repository
// Codertocat/Hello-World served by `git http-backend` for one installation token, with a default
// branch and a pull request, and a nock'd REST API that records what the App did.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import nock from 'nock';
import { startGitHttp, type GitHttpServer } from './git-http.ts';
import { gitIn, makeRepo, tempDir, writeFiles } from './repo.ts';

export const OWNER = 'Codertocat';
export const NAME = 'Hello-World';
export const REPO_PATH = `/repos/${OWNER}/${NAME}`;
export const INSTALLATION_TOKEN = 'ghs_inst4llati0nT0ken';

export interface Remote {
  server: GitHttpServer;
  /** The bare repository the server serves. */
  bare: string;
  cloneUrl: string;
  mainSha: string;
  /** The pull request's head: main plus one commit on `feature`. */
  headSha: string;
  close(): Promise<void>;
}

/**
 * `main` holds `files`; pull request #1 (branch `feature`) adds `prFiles` on top. Served for
 * INSTALLATION_TOKEN, or for any token in `tokens` (a set the caller may add to).
 */
export async function startRemote(files: Record<string, string>, prFiles: Record<string, string> = { 'NOTES.md': 'a change under review\n' }, tokens: ReadonlySet<string> | null = null): Promise<Remote> {
  const root = tempDir('foreman-github-');
  const bare = join(root, OWNER, `${NAME}.git`);
  execFileSync('git', ['init', '-q', '--bare', bare]);
  // What github.com allows: partial clones, wants by object id (git's on-demand fetches), pushes.
  for (const [key, value] of [
    ['uploadpack.allowFilter', 'true'],
    ['uploadpack.allowAnySHA1InWant', 'true'],
    ['http.receivepack', 'true'],
  ]) {
    execFileSync('git', ['--git-dir', bare, 'config', key, value]);
  }
  const work = makeRepo(files);
  const mainSha = gitIn(work, 'rev-parse', 'HEAD').trim();
  gitIn(work, 'checkout', '-q', '-b', 'feature');
  writeFiles(work, prFiles);
  gitIn(work, 'add', '-A');
  gitIn(work, 'commit', '-q', '-m', 'the change under review');
  const headSha = gitIn(work, 'rev-parse', 'HEAD').trim();
  gitIn(work, 'push', '-q', bare, `${mainSha}:refs/heads/main`, `${headSha}:refs/heads/feature`, `${headSha}:refs/pull/1/head`);
  execFileSync('git', ['--git-dir', bare, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
  const server = await startGitHttp(root, tokens ?? INSTALLATION_TOKEN);
  return { server, bare, cloneUrl: `${server.url}/${OWNER}/${NAME}.git`, mainSha, headSha, close: () => server.close() };
}

/** What the App did through the REST API. */
export interface ApiRecord {
  tokenRequests: any[];
  reactions: any[];
  checksCreated: Array<{ id: number; body: any }>;
  checkUpdates: Array<{ id: number; body: any }>;
  comments: Array<{ id: number; body: string }>;
  commentEdits: Array<{ id: number; body: string }>;
  pullsOpened: any[];
  unexpected: string[];
}

/**
 * The REST API of one installation: tokens, checks, comments and pull requests are answered as
 * often as they come; everything else must be set up by the test. Unmatched requests are recorded.
 */
export function fakeRestApi(api: string): { record: ApiRecord; scope: nock.Scope; stop(): void } {
  const record: ApiRecord = { tokenRequests: [], reactions: [], checksCreated: [], checkUpdates: [], comments: [], commentEdits: [], pullsOpened: [], unexpected: [] };
  let nextCheck = 100;
  let nextComment = 9000;
  let nextPull = 50;
  // Requests to local servers (the fake model, git) pass through and are reported here too.
  const onNoMatch = (req: Request) => {
    if (new URL(req.url).hostname !== '127.0.0.1') record.unexpected.push(`${req.method} ${req.url}`);
  };
  nock.emitter.on('no match', onNoMatch);
  const scope = nock(api).persist();
  // Kept, so stop() can take them out: a stopped recorder must not answer the next test's calls.
  const interceptors: nock.Interceptor[] = [];
  const on = (interceptor: nock.Interceptor) => (interceptors.push(interceptor), interceptor);
  on(scope.post('/app/installations/1/access_tokens')).reply(201, async (req: Request) => {
    record.tokenRequests.push(await bodyOf(req));
    return { token: INSTALLATION_TOKEN, expires_at: new Date(Date.now() + 3_600_000).toISOString() };
  });
  on(scope.post(`${REPO_PATH}/check-runs`)).reply(201, async (req: Request) => {
    const id = nextCheck++;
    record.checksCreated.push({ id, body: await bodyOf(req) });
    return { id, html_url: `https://github.com/${OWNER}/${NAME}/runs/${id}` };
  });
  on(scope.patch(/\/repos\/Codertocat\/Hello-World\/check-runs\/\d+$/)).reply(200, async (req: Request) => {
    const id = Number(new URL(req.url).pathname.split('/').pop());
    record.checkUpdates.push({ id, body: await bodyOf(req) });
    return { id };
  });
  on(scope.post(`${REPO_PATH}/issues/1/comments`)).reply(201, async (req: Request) => {
    const id = nextComment++;
    record.comments.push({ id, body: (await bodyOf(req)).body });
    return { id };
  });
  on(scope.patch(/\/repos\/Codertocat\/Hello-World\/issues\/comments\/\d+$/)).reply(200, async (req: Request) => {
    const id = Number(new URL(req.url).pathname.split('/').pop());
    record.commentEdits.push({ id, body: (await bodyOf(req)).body });
    return { id };
  });
  on(scope.post(/\/repos\/Codertocat\/Hello-World\/issues\/comments\/\d+\/reactions$/)).reply(201, async (req: Request) => (record.reactions.push(await bodyOf(req)), {}));
  on(scope.get(`${REPO_PATH}/pulls`).query(true)).reply(200, []);
  on(scope.post(`${REPO_PATH}/pulls`)).reply(201, async (req: Request) => {
    const number = nextPull++;
    record.pullsOpened.push(await bodyOf(req));
    return { number, html_url: `https://github.com/${OWNER}/${NAME}/pull/${number}` };
  });
  return {
    record,
    scope,
    stop() {
      nock.emitter.removeListener('no match', onNoMatch);
      for (const interceptor of interceptors) nock.removeInterceptor(interceptor);
    },
  };
}

/** nock (15) hands a reply function the fetch Request. */
async function bodyOf(req: Request): Promise<any> {
  const text = await req.text();
  return text ? JSON.parse(text) : null;
}

/** The intake's reads: no config anywhere (repository, then the org's .github), and the commenter's role. */
export function intakeReads(api: string, login: string, role: string, config: string | null = null): nock.Scope {
  const scope = nock(api);
  if (config === null) scope.get(`${REPO_PATH}/contents/.github%2Fforeman.yml`).reply(404).get(`/repos/${OWNER}/.github/contents/.github%2Fforeman.yml`).reply(404);
  else scope.get(`${REPO_PATH}/contents/.github%2Fforeman.yml`).reply(200, config);
  scope.get(`${REPO_PATH}/collaborators/${login}/permission`).reply(200, { permission: role, role_name: role, user: { login } });
  return scope;
}

/** GitHub's answer for pull request #1; `fork` makes its head come from another repository. */
export function pullRequest(api: string, remote: Remote, options: { fork?: boolean } = {}): nock.Scope {
  return nock(api)
    .get(`${REPO_PATH}/pulls/1`)
    .reply(200, {
      number: 1,
      head: { sha: remote.headSha, ref: 'feature', repo: { full_name: options.fork ? `stranger/${NAME}` : `${OWNER}/${NAME}` } },
      base: { sha: remote.mainSha, ref: 'main', repo: { full_name: `${OWNER}/${NAME}` } },
    });
}
