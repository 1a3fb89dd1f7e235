// Installation tokens from the webhook process to its forked worker, over the IPC channel Node
// sets up for fork(): the worker asks for a token of one installation and repository and gets
// the token back, never the private key that minted it.
import type { ChildProcess } from 'node:child_process';
import type { InstallationToken, TokenSource } from '../github/installation.ts';

type TokenRequest = { type: 'token-request'; id: number; installationId: number; repository: string };
type TokenReply = { type: 'token-reply'; id: number; token?: InstallationToken; error?: string };
/** The webhook process queued work: the worker looks at the queue now. */
export type WakeMessage = { type: 'wake' };
/**
 * The app is stopping: the worker hands its runs back and exits. Asked over IPC rather than with
 * SIGTERM, because a worker that got SIGTERM from a signal to the whole process group already would
 * take a second one as "die now" (the default action once its handler has run).
 */
export type StopMessage = { type: 'stop' };

/** The webhook side: answers a child's token requests from `source`. */
export function serveTokens(child: ChildProcess, source: TokenSource): void {
  child.on('message', (message: TokenRequest) => {
    if (message?.type !== 'token-request') return;
    source.installationToken(message.installationId, message.repository).then(
      (token) => child.connected && child.send({ type: 'token-reply', id: message.id, token } satisfies TokenReply),
      (error: unknown) => child.connected && child.send({ type: 'token-reply', id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies TokenReply),
    );
  });
}

/** The worker side: a TokenSource that asks the parent process. */
export class IpcTokenSource implements TokenSource {
  readonly #pending = new Map<number, { resolve: (t: InstallationToken) => void; reject: (e: Error) => void }>();
  #next = 1;

  constructor() {
    if (!process.send) throw new Error('IpcTokenSource needs an IPC channel: the worker must be forked by `foreman app`');
    process.on('message', (message: TokenReply) => {
      if (message?.type !== 'token-reply') return;
      const waiting = this.#pending.get(message.id);
      if (!waiting) return;
      this.#pending.delete(message.id);
      if (message.token) waiting.resolve(message.token);
      else waiting.reject(new Error(`the app could not get an installation token: ${message.error ?? 'no reason given'}`));
    });
  }

  installationToken(installationId: number, repository: string): Promise<InstallationToken> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      process.send!({ type: 'token-request', id, installationId, repository } satisfies TokenRequest);
    });
  }
}
