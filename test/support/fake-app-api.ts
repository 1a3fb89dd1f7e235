// GitHub Enterprise Server's REST API (under /api/v3) as far as `foreman app`'s webhook side needs
// it: one installation, its repositories with their `.github/foreman.yml`, the commenter's role,
// reactions and replies. For the App as a child process (GHE_HOST points it here), where nock
// cannot reach. Records every call.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAppApi {
  /** For GHE_HOST (with GHE_PROTOCOL=http). */
  host: string;
  /** `METHOD path` of every request, in order. */
  calls: string[];
  /** The bodies of the comments posted, by `owner/repo#number`. */
  replies: Array<{ issue: string; body: string }>;
  /** While true, role look-ups get no answer: an intake job stays in hand (claimed) as long as a test needs. */
  holdRoles: boolean;
  close(): void;
}

/** `repositories`: name → the text of its .github/foreman.yml, or null for none. */
export async function startFakeAppApi(owner: string, repositories: Record<string, string | null>): Promise<FakeAppApi> {
  const calls: string[] = [];
  const replies: FakeAppApi['replies'] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d)).on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/api\/v3/, '');
      const route = `${req.method} ${path}`;
      calls.push(route);
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (/^POST \/app\/installations\/\d+\/access_tokens$/.test(route)) return json(201, { token: 'ghs_t', expires_at: '2099-01-01T00:00:00Z' });
      if (route === 'GET /app/installations') return json(200, [{ id: 1, account: { login: owner } }]);
      if (route === 'GET /installation/repositories') {
        const list = Object.keys(repositories).map((name) => ({ name, owner: { login: owner }, clone_url: `https://github.test/${owner}/${name}.git`, default_branch: 'main', archived: false }));
        return json(200, { total_count: list.length, repositories: list });
      }
      const config = /^GET \/repos\/[^/]+\/([^/]+)\/contents\/\.github%2Fforeman\.yml$/.exec(route);
      if (config) {
        const file = repositories[config[1]];
        return file == null ? json(404, { message: 'Not Found' }) : res.writeHead(200, { 'content-type': 'text/plain' }).end(file);
      }
      if (/^GET \/repos\/[^/]+\/[^/]+\/collaborators\/[^/]+\/permission$/.test(route)) {
        if (api.holdRoles) return;
        return json(200, { permission: 'write', role_name: 'write' });
      }
      if (/^POST \/repos\/[^/]+\/[^/]+\/issues\/comments\/\d+\/reactions$/.test(route)) return json(201, {});
      const comment = /^POST \/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/.exec(route);
      if (comment) {
        replies.push({ issue: `${comment[1]}#${comment[2]}`, body: JSON.parse(text).body });
        return json(201, { id: replies.length });
      }
      json(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const api: FakeAppApi = {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    replies,
    holdRoles: false,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
  return api;
}
