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
  close(): Promise<void>;
}

export async function startFakeGitHubApi(owner: string, repo: string): Promise<FakeGitHubApi> {
  const base = `/repos/${owner}/${repo}`;
  let next = 1;
  const api: Omit<FakeGitHubApi, 'url' | 'close'> = { calls: [], unexpected: [], roles: {}, pulls: {}, diffs: {} };
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
      if (new RegExp(`^POST ${base}/issues/\\d+/comments$`).test(route)) return json(201, { id: next++ });
      if (new RegExp(`^PATCH ${base}/issues/comments/\\d+$`).test(route)) return json(200, {});
      if (new RegExp(`^POST ${base}/issues/comments/\\d+/reactions$`).test(route)) return json(201, {});
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
  return {
    ...api,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  } as FakeGitHubApi;
}
