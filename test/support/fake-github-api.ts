// A local stand-in for GitHub's REST API, for code that runs in another process (the Action as the
// runner starts it, `foreman app` and `foreman worker` pointed at it with GHE_HOST and
// GHE_PROTOCOL=http), where nock cannot reach. It answers what a run needs and records every call
// with the time it came; anything else is a 404 that the test sees in `unexpected`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  /** Without GitHub Enterprise Server's /api/v3 prefix, so tests read the same paths either way. */
  path: string;
  body: any;
  /** Date.now() when the request arrived: which calls came after a moment (a worker's kill -9). */
  at: number;
  /** The token the call was made with (`Authorization: token …`): which worker made it, when each has its own. */
  token: string | null;
}

export interface CheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: { title?: string; summary?: string; text?: string } | null;
}

export interface PullRequest {
  number: number;
  state: 'open' | 'closed';
  title: string;
  body: string;
  draft: boolean;
  head: { ref: string; label: string };
  base: { ref: string };
  html_url: string;
}

export interface FakeGitHubApi {
  url: string;
  calls: ApiCall[];
  unexpected: string[];
  /** Role by login; anyone else is no collaborator (404). */
  roles: Record<string, string>;
  /** The pull requests GET /pulls/{n} answers with. */
  pulls: Record<number, unknown>;
  /** Their diffs, for `Accept: application/vnd.github.diff`. */
  diffs: Record<number, string>;
  /** Who the token is: the author of the comments and reactions it makes. */
  identity: string;
  /** Issue and pull request comments, oldest first: those posted through the API, and any a test adds. */
  comments: IssueComment[];
  /** GitHub Actions workflow runs by id, for GET and cancel. */
  workflowRuns: Record<number, { status: string; conclusion: string | null }>;
  /** What cancelling a workflow run answers instead of 202 (403: a token without `actions: write`). */
  cancelStatus: number | null;
  /** Called when a workflow run is cancelled, as the runner would stop its job. */
  onCancel: (runId: number) => void;
  /** Check runs by id, as created and then updated (each update's fields merged in). */
  checkRuns: Record<number, CheckRun>;
  /** The pull requests opened through the API, oldest first; GET /pulls lists the open ones. */
  openedPulls: PullRequest[];
  /** Git refs (`heads/main`) and the commit each points at; POST /git/refs adds to it. */
  refs: Record<string, string>;
  /** Files written with PUT /contents/{path}, by branch and path: `${branch}:${path}`. */
  files: Record<string, string>;
  /** The installation tokens minted for the App's JWT (POST /app/installations/{id}/access_tokens). */
  tokens: Array<{ installationId: number; repositories: string[]; token: string }>;
  /** The installation the App is installed as, for the token route and GET /app/installations. */
  installationId: number;
  /** The calls that came at or after `at` (Date.now()). */
  callsSince(at: number): ApiCall[];
  close(): Promise<void>;
}

export interface IssueComment {
  id: number;
  issue: number;
  body: string;
  user: { login: string; type: string };
  html_url: string;
}

export async function startFakeGitHubApi(owner: string, repo: string): Promise<FakeGitHubApi> {
  const base = `/repos/${owner}/${repo}`;
  let next = 1;
  const api: Omit<FakeGitHubApi, 'url' | 'close'> = {
    calls: [],
    unexpected: [],
    roles: {},
    pulls: {},
    diffs: {},
    identity: 'github-actions[bot]',
    comments: [],
    workflowRuns: {},
    cancelStatus: null,
    onCancel: () => {},
    checkRuns: {},
    openedPulls: [],
    refs: {},
    files: {},
    tokens: [],
    installationId: 1,
    callsSince: (at) => api.calls.filter((call) => call.at >= at),
  };
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d)).on('end', () => {
      const at = Date.now();
      // GitHub Enterprise Server's form (GHE_HOST): the same routes under /api/v3.
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/api\/v3(?=\/)/, '');
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      const body = text ? JSON.parse(text) : null;
      const token = /^(?:token|bearer) (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
      api.calls.push({ method: req.method ?? '', path, body, at, token });
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      const route = `${req.method} ${path}`;
      const permission = new RegExp(`^GET ${base}/collaborators/([^/]+)/permission$`).exec(route);
      if (permission) {
        const role = api.roles[decodeURIComponent(permission[1])];
        return role ? json(200, { permission: role === 'maintain' ? 'write' : role, role_name: role }) : json(404, { message: 'Not Found' });
      }
      const pull = new RegExp(`^GET ${base}/pulls/(\\d+)$`).exec(route);
      const opened = pull && api.openedPulls.find((p) => p.number === Number(pull[1]));
      if (opened && !api.pulls[opened.number]) return json(200, opened);
      if (pull && api.pulls[Number(pull[1])]) {
        // GitHub answers with the pull request's diff when asked for that media type.
        if (String(req.headers.accept).includes('diff')) return res.writeHead(200, { 'content-type': 'text/plain' }).end(api.diffs[Number(pull[1])] ?? '');
        return json(200, api.pulls[Number(pull[1])]);
      }
      if (route === `POST ${base}/check-runs`) {
        const id = next++;
        const check: CheckRun = { id, name: body.name, head_sha: body.head_sha, status: body.status ?? 'queued', conclusion: body.conclusion ?? null, output: body.output ?? null };
        api.checkRuns[id] = check;
        return json(201, { ...check, html_url: `https://github.test/${owner}/${repo}/runs/${id}` });
      }
      const checkUpdate = new RegExp(`^PATCH ${base}/check-runs/(\\d+)$`).exec(route);
      if (checkUpdate) {
        const check = api.checkRuns[Number(checkUpdate[1])];
        if (check) Object.assign(check, body);
        return json(200, check ?? {});
      }
      const onIssue = new RegExp(`^(GET|POST) ${base}/issues/(\\d+)/comments$`).exec(route);
      if (onIssue?.[1] === 'POST') {
        const id = next++;
        const comment: IssueComment = { id, issue: Number(onIssue[2]), body: body.body, user: { login: api.identity, type: 'Bot' }, html_url: `https://github.test/${owner}/${repo}/issues/${onIssue[2]}#issuecomment-${id}` };
        api.comments.push(comment);
        return json(201, comment);
      }
      if (onIssue?.[1] === 'GET') {
        // Oldest first, a page at a time, with the Link header GitHub sends.
        const perPage = Number(query.get('per_page') ?? 30);
        const page = Number(query.get('page') ?? 1);
        const all = api.comments.filter((c) => c.issue === Number(onIssue[2]));
        const last = Math.max(1, Math.ceil(all.length / perPage));
        res.setHeader('link', `<http://x${path}?per_page=${perPage}&page=${last}>; rel="last"`);
        return json(200, all.slice((page - 1) * perPage, page * perPage));
      }
      const edit = new RegExp(`^PATCH ${base}/issues/comments/(\\d+)$`).exec(route);
      if (edit) {
        const comment = api.comments.find((c) => c.id === Number(edit[1]));
        if (comment) comment.body = body.body;
        return json(200, comment ?? {});
      }
      if (new RegExp(`^POST ${base}/issues/comments/\\d+/reactions$`).test(route)) return json(201, { id: next++, content: body.content, user: { login: api.identity, type: 'Bot' } });
      const workflowRun = new RegExp(`^(GET|POST) ${base}/actions/runs/(\\d+)(/cancel)?$`).exec(route);
      if (workflowRun) {
        const id = Number(workflowRun[2]);
        const known = api.workflowRuns[id];
        if (!workflowRun[3]) return known ? json(200, { id, ...known }) : json(404, { message: 'Not Found' });
        if (api.cancelStatus !== null) return json(api.cancelStatus, { message: 'Resource not accessible by integration' });
        if (!known) return json(404, { message: 'Not Found' });
        if (known.status === 'completed') return json(409, { message: 'Cannot cancel a workflow run that is completed.' });
        api.onCancel(id);
        return json(202, {});
      }
      if (route === `GET ${base}/pulls`) {
        // As GitHub filters: head is `owner:branch`, state open unless asked otherwise.
        const head = query.get('head');
        const state = query.get('state') ?? 'open';
        return json(200, api.openedPulls.filter((p) => (state === 'all' || p.state === state) && (!head || p.head.label === head)));
      }
      if (route === `POST ${base}/pulls`) {
        const label = String(body.head).includes(':') ? String(body.head) : `${owner}:${body.head}`;
        if (api.openedPulls.some((p) => p.state === 'open' && p.head.label === label)) {
          return json(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${label}.` }] });
        }
        const number = 100 + next++;
        const created: PullRequest = { number, state: 'open', title: body.title, body: body.body ?? '', draft: Boolean(body.draft), head: { ref: label.slice(label.indexOf(':') + 1), label }, base: { ref: body.base }, html_url: `https://github.test/${owner}/${repo}/pull/${number}` };
        api.openedPulls.push(created);
        return json(201, created);
      }
      const gitRef = new RegExp(`^GET ${base}/git/ref/(.+)$`).exec(route);
      if (gitRef) {
        const sha = api.refs[decodeURIComponent(gitRef[1])];
        return sha ? json(200, { ref: `refs/${decodeURIComponent(gitRef[1])}`, object: { sha, type: 'commit' } }) : json(404, { message: 'Not Found' });
      }
      if (route === `POST ${base}/git/refs`) {
        const name = String(body.ref).replace(/^refs\//, '');
        if (api.refs[name]) return json(422, { message: 'Reference already exists' });
        api.refs[name] = body.sha;
        return json(201, { ref: body.ref, object: { sha: body.sha, type: 'commit' } });
      }
      const contents = new RegExp(`^(GET|PUT) ${base}/contents/(.+)$`).exec(route);
      if (contents?.[1] === 'PUT') {
        const key = `${body.branch ?? 'main'}:${decodeURIComponent(contents[2])}`;
        const existed = key in api.files;
        api.files[key] = Buffer.from(String(body.content), 'base64').toString('utf8');
        return json(existed ? 200 : 201, { content: { path: decodeURIComponent(contents[2]) }, commit: { sha: `${next++}`.padStart(40, '0') } });
      }
      if (contents?.[1] === 'GET') {
        const key = `${query.get('ref') ?? 'main'}:${decodeURIComponent(contents[2])}`;
        // A missing file is an answer, not a route the fake lacks.
        if (!(key in api.files)) return json(404, { message: 'Not Found' });
        return json(200, { type: 'file', path: decodeURIComponent(contents[2]), encoding: 'base64', content: Buffer.from(api.files[key]!).toString('base64') });
      }
      const mint = /^POST \/app\/installations\/(\d+)\/access_tokens$/.exec(route);
      if (mint) {
        if (Number(mint[1]) !== api.installationId) return json(404, { message: 'Not Found' });
        const token = `ghs_fake${api.tokens.length + 1}`;
        api.tokens.push({ installationId: api.installationId, repositories: body?.repositories ?? [], token });
        return json(201, { token, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {}, repository_selection: 'selected' });
      }
      if (route === 'GET /app/installations') return json(200, [{ id: api.installationId, account: { login: owner, type: 'Organization' } }]);
      if (route === 'GET /installation/repositories') {
        return json(200, { total_count: 1, repositories: [{ id: 1, name: repo, full_name: `${owner}/${repo}`, owner: { login: owner }, default_branch: 'main', private: true }] });
      }
      if (route === `POST ${base}/code-scanning/sarifs`) return json(202, { id: 'sarif' });
      api.unexpected.push(route);
      json(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // One object, so that what a test sets (onCancel, cancelStatus) is what the server reads.
  return Object.assign(api, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  }) as FakeGitHubApi;
}
