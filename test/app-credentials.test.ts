// The App's credentials as `foreman app` gets them: from the environment or ./.env, in the forms
// a PEM takes through shells and `docker --env-file`, and, when they are wrong, named at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeGitHubApps } from './support/fake-github-apps.ts';
import { startAppIn, type AppProcess } from './support/app-process.ts';
import { tempDir } from './support/repo.ts';

const rsaPem = () => generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;

async function ping(url: string, secret: string): Promise<number> {
  const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const response = await fetch(`${url}/api/github/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': signature },
    body,
  });
  return response.status;
}

async function stopped(app: AppProcess): Promise<void> {
  assert.equal(await app.stop(), 0, app.stderr());
}

test('bad App credentials are named at start, with the variable and the fix, exit 2', async () => {
  const dir = tempDir('foreman-credentials-');
  const pem = rsaPem();
  const lines = pem.trim().split('\n');
  const pemShaped = `${lines[0]}\n${'QUJD'.repeat(16)}\n${'QUJD'.repeat(16)}\n${lines.at(-1)}\n`;
  const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  const cases: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
    ['not a key', { APP_ID: '1', PRIVATE_KEY: 'not-a-key', WEBHOOK_SECRET: 's' }, /PRIVATE_KEY is not a PEM private key \(no "-----BEGIN … PRIVATE KEY-----" line\): set PRIVATE_KEY to the whole of the \.pem file GitHub gave you/],
    ['a missing key file', { APP_ID: '1', PRIVATE_KEY_PATH: 'gone.pem', WEBHOOK_SECRET: 's' }, new RegExp(`PRIVATE_KEY_PATH is ${dir}/gone\\.pem, which does not exist: set it to the \\.pem file GitHub gave you`)],
    ['a truncated PEM', { APP_ID: '1', PRIVATE_KEY: lines.slice(0, 10).join('\n'), WEBHOOK_SECRET: 's' }, /PRIVATE_KEY stops before its "-----END RSA PRIVATE KEY-----" line, so it was cut off/],
    ['a PEM-shaped bad key', { APP_ID: '1', PRIVATE_KEY: pemShaped, WEBHOOK_SECRET: 's' }, /PRIVATE_KEY does not parse as a private key \(OpenSSL: .+\): set PRIVATE_KEY/],
    ['an EC key', { APP_ID: '1', PRIVATE_KEY: ecKey, WEBHOOK_SECRET: 's' }, /PRIVATE_KEY is an ec key, but GitHub Apps sign with RSA/],
    ['APP_ID alone', { APP_ID: '1' }, /APP_ID is set but no private key is: set PRIVATE_KEY_PATH to the \.pem file GitHub gave you .*; or unset APP_ID to register a new App/],
    ['a key without APP_ID', { PRIVATE_KEY: pem, WEBHOOK_SECRET: 's' }, /PRIVATE_KEY is set but APP_ID is not: set APP_ID to the App's ID/],
    ['a client ID for APP_ID', { APP_ID: 'Iv1.0123', PRIVATE_KEY: pem, WEBHOOK_SECRET: 's' }, /APP_ID must be the App's numeric ID/],
    ['no webhook secret', { APP_ID: '1', PRIVATE_KEY: pem }, /WEBHOOK_SECRET is not set: use the secret you gave the App on GitHub/],
  ];
  await Promise.all(
    cases.map(async ([name, env, message]) => {
      const app = startAppIn(dir, { ANTHROPIC_API_KEY: 'k', ...env }, ['--no-worker']);
      assert.equal(await app.exited, 2, `${name}: ${app.stderr()}`);
      assert.match(app.stderr(), message, name);
      assert.doesNotMatch(app.stderr(), /registration|privateKey option/, name);
    }),
  );
});

test('the key as `docker --env-file` passes a .env line (in quotes, with \\n escapes) signs the App\'s requests', async () => {
  const github = await startFakeGitHubApps();
  const quoted = `"${github.pem.trim().replace(/\n/g, '\\n')}"`;
  const app = startAppIn(tempDir(), { APP_ID: String(github.appId), PRIVATE_KEY: quoted, WEBHOOK_SECRET: '"s3cret"', WORKER_SECRET: 'w', GHE_HOST: github.host, GHE_PROTOCOL: 'http' }, ['--no-worker']);
  try {
    const url = (await app.waitFor(/listening on (http:\/\/\S+)/))[1];
    const token = await fetch(`${url}/internal/tokens`, { method: 'POST', headers: { authorization: 'Bearer w' }, body: JSON.stringify({ installationId: 7, repository: 'demo' }) });
    assert.equal(token.status, 200, await token.clone().text());
    assert.equal(github.tokenRequests, 1, 'GitHub checked the JWT against the App\'s public key');
    assert.equal(await ping(url, 's3cret'), 200, 'the webhook secret lost its quotes too');
  } finally {
    await stopped(app);
    await github.close();
  }
});

test('foreman app reads ./.env, says so, lets the environment win, and warns when others can read it', async () => {
  const dir = tempDir('foreman-dotenv-');
  writeFileSync(join(dir, 'app.pem'), rsaPem());
  writeFileSync(join(dir, '.env'), 'APP_ID=12\nPRIVATE_KEY_PATH=app.pem\nWEBHOOK_SECRET=from-file\n', { mode: 0o644 });
  const app = startAppIn(dir, { WEBHOOK_SECRET: 'from-env' }, ['--no-worker']);
  try {
    const url = (await app.waitFor(/listening on (http:\/\/\S+)/))[1];
    assert.match(app.stderr(), new RegExp(`read APP_ID, PRIVATE_KEY_PATH from ${dir}/\\.env \\(the environment's own WEBHOOK_SECRET win\\)`));
    assert.match(app.stderr(), new RegExp(`warning: ${dir}/\\.env holds secrets and others can read it \\(mode 644\\): chmod 600`));
    assert.equal(await ping(url, 'from-env'), 200);
    assert.equal(await ping(url, 'from-file'), 401);
  } finally {
    await stopped(app);
  }
});
