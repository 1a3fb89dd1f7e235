// Installation tokens for workers on other machines: the app answers POST /internal/tokens when
// WORKER_SECRET is set, for a caller that presents the same secret. The worker asks with
// HttpTokenSource. Tokens are scoped to one repository and expire within the hour.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InstallationToken, TokenSource } from '../github/installation.ts';

export const TOKEN_PATH = '/internal/tokens';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Handles the request when it is for the token endpoint; returns false otherwise. */
export async function serveTokenRequest(req: IncomingMessage, res: ServerResponse, secret: string | undefined, source: TokenSource): Promise<boolean> {
  if (req.url !== TOKEN_PATH) return false;
  const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  // Compared as digests, so neither the length nor the content leaks through timing.
  if (!secret || req.method !== 'POST' || !timingSafeEqual(digest(presented), digest(secret))) {
    res.writeHead(secret ? 401 : 404, { 'content-type': 'text/plain' }).end(secret ? 'a worker secret is required\n' : 'not found\n');
    return true;
  }
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4_096) break;
  }
  let request: { installationId?: unknown; repository?: unknown };
  try {
    request = JSON.parse(body);
  } catch {
    request = {};
  }
  if (typeof request.installationId !== 'number' || typeof request.repository !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(request.repository)) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('send {"installationId": number, "repository": "name"}\n');
    return true;
  }
  try {
    const token = await source.installationToken(request.installationId, request.repository);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(token));
  } catch (error) {
    res.writeHead(502, { 'content-type': 'text/plain' }).end(`GitHub refused a token: ${(error as Error).message}\n`);
  }
  return true;
}

export class HttpTokenSource implements TokenSource {
  readonly #url: string;
  readonly #secret: string;

  constructor(appUrl: string, secret: string) {
    this.#url = new URL(TOKEN_PATH, appUrl).toString();
    this.#secret = secret;
  }

  async installationToken(installationId: number, repository: string): Promise<InstallationToken> {
    const response = await fetch(this.#url, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ installationId, repository }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`the app at ${this.#url} answered ${response.status}: ${text.trim()}; check FOREMAN_APP_URL and that WORKER_SECRET matches the app's`);
    return JSON.parse(text) as InstallationToken;
  }
}
