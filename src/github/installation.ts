// Installation tokens for the processes that do the work. Only the webhook process holds the
// App's private key; workers ask it for a short-lived token scoped to the one repository a run
// works on, and an Octokit here attaches the current token to every request, fetching a fresh
// one before the old expires (runs can outlast a token's hour).
import type { Octokit } from '@octokit/core';
import type { EndpointOptions, RequestInterface, RequestParameters, Route } from '@octokit/types';

export interface InstallationToken {
  token: string;
  /** ISO 8601, as GitHub says it. */
  expiresAt: string;
}

export interface TokenSource {
  /** A token of `installationId` that may act on `repository` (the name, without the owner) only. */
  installationToken(installationId: number, repository: string): Promise<InstallationToken>;
}

/** Fetches a token scoped to one repository with the App's own (JWT) Octokit: the webhook process's source. */
export function appTokenSource(appOctokit: () => Promise<Pick<Octokit, 'request'>>): TokenSource {
  return {
    async installationToken(installationId, repository) {
      const octokit = await appOctokit();
      const { data } = await octokit.request('POST /app/installations/{installation_id}/access_tokens', { installation_id: installationId, repositories: [repository] });
      return { token: data.token, expiresAt: data.expires_at };
    },
  };
}

/** Reuses a token until five minutes before it expires. */
export class CachedTokenSource implements TokenSource {
  readonly #source: TokenSource;
  readonly #cache = new Map<string, Promise<InstallationToken>>();
  readonly #marginMs: number;

  constructor(source: TokenSource, marginMs = 5 * 60_000) {
    this.#source = source;
    this.#marginMs = marginMs;
  }

  async installationToken(installationId: number, repository: string): Promise<InstallationToken> {
    const key = `${installationId}/${repository}`;
    const cached = this.#cache.get(key);
    if (cached) {
      const token = await cached.catch(() => null);
      if (token && Date.parse(token.expiresAt) - Date.now() > this.#marginMs) return token;
    }
    const fresh = this.#source.installationToken(installationId, repository);
    this.#cache.set(key, fresh);
    fresh.catch(() => this.#cache.delete(key));
    return fresh;
  }
}

/**
 * An Octokit auth strategy over a TokenSource (`new ProbotOctokit({ authStrategy, auth })`): each
 * request carries the current token of that installation and repository.
 */
export function tokenSourceAuth(options: { tokens: TokenSource; installationId: number; repository: string }) {
  const current = () => options.tokens.installationToken(options.installationId, options.repository);
  const auth = async () => ({ type: 'token', tokenType: 'installation', token: (await current()).token });
  return Object.assign(auth, {
    // Octokit's auth hook contract (@octokit/types), as @octokit/auth-token declares it.
    hook: async (request: RequestInterface, route: Route | EndpointOptions, parameters?: RequestParameters) => {
      // merge() takes a route or endpoint options alike at runtime; its overloads split the two.
      const endpoint = request.endpoint.merge(route as Route, parameters) as EndpointOptions & { headers: Record<string, string> };
      endpoint.headers.authorization = `token ${(await current()).token}`;
      return request(endpoint);
    },
  });
}

/** GitHub's REST base URL: api.github.com, or GitHub Enterprise Server's (Probot's GHE_HOST and GHE_PROTOCOL). */
export function githubApiUrl(env: NodeJS.ProcessEnv): string {
  if (env.GHE_HOST) return `${env.GHE_PROTOCOL || 'https'}://${env.GHE_HOST}/api/v3`;
  return 'https://api.github.com';
}
