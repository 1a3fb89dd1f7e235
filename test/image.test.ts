// The Docker image, as far as it can be tried without a Docker daemon: the files the Dockerfile
// copies, installed the way it installs them (production dependencies, no install scripts), must
// start `foreman app`, load isolated-vm's prebuilt binary, and pass the image's health check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './support/repo.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

test('the Dockerfile: node:24-slim with git, production install, a non-root user, a volume, a health check, foreman app', () => {
  assert.match(dockerfile, /^FROM node:24-slim$/m);
  assert.match(dockerfile, /apt-get install -y --no-install-recommends git/);
  assert.match(dockerfile, /^RUN npm ci --omit=dev --ignore-scripts/m);
  assert.match(dockerfile, /^USER foreman$/m);
  assert.match(dockerfile, /^ENV FOREMAN_HOME=\/data/m);
  assert.match(dockerfile, /^HEALTHCHECK /m);
  assert.match(dockerfile, /^CMD \["app"\]$/m);
});

test("the Dockerfile installs the sandbox's bubblewrap and says which docker run options its user namespaces need", () => {
  assert.match(dockerfile, /apt-get install -y --no-install-recommends [^\n]*\bbubblewrap\b/);
  assert.match(dockerfile, /--security-opt seccomp=unconfined --security-opt apparmor=unconfined/);
});

test("the image's files check the sandbox: it works here, and without bubblewrap doctor names it and the fix", () => {
  const dir = tempDir('foreman-image-sandbox-');
  for (const [, sources] of dockerfile.matchAll(/^COPY (.+) \S+$/gm)) {
    for (const source of sources.split(/\s+/)) cpSync(join(ROOT, source), join(dir, source), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const entry = JSON.parse(dockerfile.match(/^ENTRYPOINT (.+)$/m)![1]) as string[];
  const doctor = (extra: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [...entry.slice(1), 'doctor'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, FOREMAN_HOME: join(dir, 'data'), ...extra }, encoding: 'utf8' });
  const works = doctor({});
  assert.equal(works.status, 0, works.stdout + works.stderr);
  assert.match(works.stdout, /^sandbox: works/m);
  const missing = doctor({ FOREMAN_BWRAP: join(dir, 'no-bwrap') });
  assert.equal(missing.status, 1);
  assert.match(missing.stdout, /sandbox: unavailable: bubblewrap \(.*no-bwrap\) is not installed\n  fix: install bubblewrap \(Debian\/Ubuntu: sudo apt-get install bubblewrap/);
});

test('what the image holds, installed as the image installs it, serves the App and passes the health check', async () => {
  const dir = tempDir('foreman-image-');
  for (const [, sources] of dockerfile.matchAll(/^COPY (.+) \S+$/gm)) {
    for (const source of sources.split(/\s+/)) cpSync(join(ROOT, source), join(dir, source), { recursive: true });
  }
  const npm = dockerfile.match(/^RUN (npm ci [^&\n]+)/m)![1].trim().split(/\s+/);
  execFileSync(npm[0], [...npm.slice(1), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'ignore' });
  const entry = JSON.parse(dockerfile.match(/^ENTRYPOINT (.+)$/m)![1]) as string[];

  const ivm = execFileSync(process.execPath, ['--no-node-snapshot', '--input-type=module', '-e', "const { default: ivm } = await import('isolated-vm'); const i = new ivm.Isolate(); process.stdout.write(String(i.compileScriptSync('6 * 7').runSync(i.createContextSync())))"], { cwd: dir, encoding: 'utf8' });
  assert.equal(ivm, '42', 'isolated-vm loads its prebuilt binary without install scripts');

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const port = String(20_000 + Math.floor(Math.random() * 20_000));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, FOREMAN_HOME: join(dir, 'data'), PORT: port, APP_ID: '1', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: 's', ANTHROPIC_API_KEY: 'k', LOG_LEVEL: 'fatal' };
  const app = spawn(process.execPath, [...entry.slice(1), 'app', '--host', '127.0.0.1'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  app.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
  try {
    const check = dockerfile.match(/CMD (node -e .+)$/m)![1];
    const script = /^node -e "(.+)"$/.exec(check)![1];
    let healthy = false;
    for (let i = 0; i < 100 && !healthy; i++) {
      await new Promise((r) => setTimeout(r, 100));
      healthy = await new Promise<boolean>((resolve) => spawn(process.execPath, ['-e', script], { env }).on('close', (code) => resolve(code === 0)));
    }
    assert.ok(healthy, `the health check passes: ${stderr}`);
  } finally {
    // It must stop on SIGTERM, worker and intake thread included; a hang fails here, not the suite.
    const exited = new Promise<number | null>((resolve) => app.on('close', resolve));
    app.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref())]);
    if (code === 'hung') app.kill('SIGKILL');
    assert.equal(code, 0, `foreman app stops on SIGTERM: ${stderr}`);
  }
});
