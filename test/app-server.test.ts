// `foreman app` as a user starts it: the real executable, credentials in the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { childrenOf, startAppProcess } from './support/app-process.ts';
import { BIN } from './support/cli.ts';
import { exampleComment } from './support/github-app.ts';
import { tempDir } from './support/repo.ts';

function startApp(env: NodeJS.ProcessEnv, args?: string[], cwd?: string) {
  return startAppProcess(env, args, { cwd });
}

test('foreman app serves verified deliveries and a health check, forks a worker without its secrets, and stops both on SIGTERM', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const home = tempDir();
  const app = startApp({ APP_ID: '1', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: 's3cret', WORKER_SECRET: 'w0rker', ANTHROPIC_API_KEY: 'sk-test', FOREMAN_HOME: home, LOG_LEVEL: 'fatal' });
  const url = await app.listening;

  // The worker: forked, with the Anthropic key but none of the App's secrets.
  let workers: number[] = [];
  for (let i = 0; i < 100 && workers.length === 0; i++) {
    workers = childrenOf(app.child.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('worker'));
    if (workers.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(workers.length, 1, 'one forked worker');
  // The worker is non-dumpable (test/non-dumpable.test.ts): only CAP_SYS_PTRACE (root, as in CI) reads its environment.
  if (process.getuid?.() === 0) {
    const environment = readFileSync(`/proc/${workers[0]}/environ`, 'utf8').split('\0');
    assert.ok(environment.includes('ANTHROPIC_API_KEY=sk-test'));
    for (const secret of ['PRIVATE_KEY', 'WEBHOOK_SECRET', 'WORKER_SECRET']) assert.ok(!environment.some((v) => v.startsWith(`${secret}=`)), `the worker has no ${secret}`);
  }

  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  // Up or down per part, for a load balancer; how many jobs wait is the operator's, in the log.
  assert.deepEqual(await health.json(), { ok: true, parts: { 'webhook server': 'up', 'intake thread': 'up', worker: 'up', store: 'up' } });
  assert.equal(health.headers.get('cache-control'), 'no-store');

  const body = JSON.stringify(exampleComment());
  const post = (signature: string | null) =>
    fetch(`${url}/api/github/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'issue_comment', 'x-github-delivery': 'd1', ...(signature ? { 'x-hub-signature-256': signature } : {}) },
      body,
    });
  const unsigned = await post(null);
  assert.equal(unsigned.status, 401);
  assert.match(await unsigned.text(), /WEBHOOK_SECRET/);
  assert.equal((await post(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`)).status, 200);
  assert.equal((await fetch(`${url}/elsewhere`)).status, 404);

  // The token endpoint for workers elsewhere wants the worker secret.
  const token = (secret: string) => fetch(`${url}/internal/tokens`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: '{}' });
  assert.equal((await token('wrong')).status, 401);
  assert.equal((await token('w0rker')).status, 400, 'the right secret gets as far as checking the request');

  app.child.kill('SIGTERM');
  assert.equal(await app.exited, 0, app.stderr());
  assert.ok(!existsSync(`/proc/${workers[0]}`) || readFileSync(`/proc/${workers[0]}/stat`, 'utf8').split(' ')[2] === 'Z', 'the worker stopped with the app');
});

test('foreman app answers a /workflow comment from its intake thread, through the GitHub API it is pointed at', async () => {
  // GitHub Enterprise Server's API, as far as a /workflow help needs it.
  const calls: string[] = [];
  let answer = '';
  const api = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.url === '/api/v3/app/installations/1/access_tokens') return json(201, { token: 'ghs_t', expires_at: '2099-01-01T00:00:00Z' });
      if (req.url?.includes('/collaborators/Codertocat/permission')) return json(200, { permission: 'write', role_name: 'write' });
      if (req.url?.endsWith('/reactions')) return json(201, {});
      if (req.method === 'POST' && req.url === '/api/v3/repos/Codertocat/Hello-World/issues/1/comments') {
        answer = JSON.parse(body).body;
        return json(201, { id: 1 });
      }
      return json(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const app = startApp({
    APP_ID: '1',
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: 's3cret',
    ANTHROPIC_API_KEY: 'k',
    FOREMAN_HOME: tempDir(),
    LOG_LEVEL: 'fatal',
    GHE_HOST: `127.0.0.1:${(api.address() as AddressInfo).port}`,
    GHE_PROTOCOL: 'http',
  });
  try {
    const url = await app.listening;
    const payload = exampleComment();
    payload.comment.body = '/workflow help';
    const body = JSON.stringify(payload);
    const delivered = await fetch(`${url}/api/github/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'issue_comment', 'x-github-delivery': 'd2', 'x-hub-signature-256': `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}` },
      body,
    });
    assert.equal(delivered.status, 200);
    for (let i = 0; i < 200 && !answer; i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(answer, /^\*\*Foreman\*\* runs workflows on this repository/, `the help was posted; calls: ${calls.join(', ')}`);
    assert.ok(calls.includes('POST /api/v3/repos/Codertocat/Hello-World/issues/comments/492700400/reactions'));
  } finally {
    app.child.kill('SIGTERM');
    assert.equal(await app.exited, 0, app.stderr());
    api.close();
  }
});

test('foreman app without an Anthropic key says to set it or to run workers elsewhere, exit 2', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const app = startApp({ APP_ID: '1', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: 's', FOREMAN_HOME: tempDir() });
  await assert.rejects(app.listening, /ANTHROPIC_API_KEY is not set: .* pass --no-worker and run `foreman worker` elsewhere/);
  assert.equal(await app.exited, 2);
});

test('foreman app without a webhook secret says which variable to set, exit 2', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const app = startApp({ APP_ID: '1', PRIVATE_KEY: privateKey, FOREMAN_HOME: tempDir() });
  await assert.rejects(app.listening, /WEBHOOK_SECRET is not set: use the secret you gave the App on GitHub/);
  assert.equal(await app.exited, 2);
});

test('foreman app with a bad option shows the usage, exit 2', async () => {
  const app = startApp({}, ['--prot', '1']);
  await assert.rejects(app.listening, /Unknown option '--prot'[\s\S]*usage: foreman app/);
  assert.equal(await app.exited, 2);
});
