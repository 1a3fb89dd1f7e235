// Tokens for a forked worker: asked for over IPC, minted by the parent, scoped to one repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serveTokens } from '../src/app/token-broker.ts';
import { CachedTokenSource, type TokenSource } from '../src/github/installation.ts';

test('a forked worker gets tokens from its parent over IPC, and a refusal with the reason', async () => {
  const asked: string[] = [];
  const source: TokenSource = {
    async installationToken(installationId, repository) {
      asked.push(`${installationId}/${repository}`);
      if (repository === 'forbidden') throw new Error('the App is not installed on forbidden');
      return { token: `ghs_${repository}`, expiresAt: '2099-01-01T00:00:00Z' };
    },
  };
  const child = fork(fileURLToPath(new URL('./support/ipc-token-child.ts', import.meta.url)), { env: { PATH: process.env.PATH }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  serveTokens(child, source);
  const message = await new Promise<any>((resolve, reject) => {
    child.on('message', (m: any) => m?.type === 'results' && resolve(m));
    child.on('exit', (code) => reject(new Error(`child exited ${code} without results`)));
  });
  assert.deepEqual(asked, ['7/widgets', '7/forbidden']);
  assert.deepEqual(message.results[0], { ok: { token: 'ghs_widgets', expiresAt: '2099-01-01T00:00:00Z' } });
  assert.match(message.results[1].error, /could not get an installation token: the App is not installed on forbidden/);
  assert.deepEqual(message.env, []);
});

test('tokens are reused until five minutes before they expire, per repository', async () => {
  let minted = 0;
  let expiresIn = 3_600_000;
  const tokens = new CachedTokenSource({
    async installationToken(_id, repository) {
      minted++;
      return { token: `t${minted}-${repository}`, expiresAt: new Date(Date.now() + expiresIn).toISOString() };
    },
  });
  assert.equal((await tokens.installationToken(1, 'a')).token, 't1-a');
  assert.equal((await tokens.installationToken(1, 'a')).token, 't1-a');
  assert.equal((await tokens.installationToken(1, 'b')).token, 't2-b');
  expiresIn = 60_000;
  assert.equal((await tokens.installationToken(1, 'c')).token, 't3-c');
  assert.equal((await tokens.installationToken(1, 'c')).token, 't4-c', 'a token about to expire is replaced');
});
