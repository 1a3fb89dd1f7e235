// A local stand-in for GitHub's REST API, for code that runs in another process (the Action as the
// runner starts it), where nock cannot reach. It answers what a run needs and records every call;
// anything else is a 404 that the test sees in `unexpected`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  path: string;
  body: any;
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
  };
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d)).on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const body = text ? JSON.parse(text) : null;
      api.calls.push({ method: req.method ?? '', path, body });
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      const route = `${req.method} ${path}`;
      const permission = new RegExp(`^GET ${base}/collaborators/([^/]+)/permission$`).exec(route);
      if (permission) {
        const role = api.roles[decodeURIComponent(permission[1])];
        return role ? json(200, { permission: role === 'maintain' ? 'write' : role, role_name: role }) : json(404, { message: 'Not Found' });
      }
      const pull = new RegExp(`^GET ${base}/pulls/(\\d+)$`).exec(route);
      if (pull && api.pulls[Number(pull[1])]) {
        // GitHub answers with the pull request's diff when asked for that media type.
        if (String(req.headers.accept).includes('diff')) return res.writeHead(200, { 'content-type': 'text/plain' }).end(api.diffs[Number(pull[1])] ?? '');
        return json(200, api.pulls[Number(pull[1])]);
      }
      if (route === `POST ${base}/check-runs`) return json(201, { id: next++, html_url: `https://github.test/${owner}/${repo}/runs/${next}` });
      if (new RegExp(`^PATCH ${base}/check-runs/\\d+$`).test(route)) return json(200, {});
      const onIssue = new RegExp(`^(GET|POST) ${base}/issues/(\\d+)/comments$`).exec(route);
      if (onIssue?.[1] === 'POST') {
        const id = next++;
        const comment: IssueComment = { id, issue: Number(onIssue[2]), body: body.body, user: { login: api.identity, type: 'Bot' }, html_url: `https://github.test/${owner}/${repo}/issues/${onIssue[2]}#issuecomment-${id}` };
        api.comments.push(comment);
        return json(201, comment);
      }
      if (onIssue?.[1] === 'GET') {
        // Oldest first, a page at a time, with the Link header GitHub sends.
        const query = new URL(req.url ?? '/', 'http://x').searchParams;
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
      if (route === `GET ${base}/pulls`) return json(200, []);
      if (route === `POST ${base}/pulls`) {
        const number = 100 + next++;
        return json(201, { number, html_url: `https://github.test/${owner}/${repo}/pull/${number}` });
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
