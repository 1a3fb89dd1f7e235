// compose.yaml, as far as it can be tried without Docker: it parses, its services run the image
// the Dockerfile builds with real foreman commands, and every variable it sets is one Foreman reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_LEASE_SECONDS } from '../src/runtime/pgboss-queue.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const composeText = readFileSync(join(ROOT, 'compose.yaml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, Service>; volumes?: Record<string, unknown> };

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  volumes?: string[];
  ports?: string[];
  container_name?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  security_opt?: string[];
}

/** Every NAME that src reads as `env.NAME`: what a deployment can set and have heard. */
function variablesForemanReads(): Set<string> {
  const names = new Set<string>();
  for (const file of readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    for (const [, name] of readFileSync(join(ROOT, 'src', file), 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(name);
  }
  return names;
}

const { postgres, app, worker } = compose.services;
const databaseUrl = (service: Service) => new URL(service.environment!.DATABASE_URL!.replace('${POSTGRES_PASSWORD}', 'password'));

test('compose.yaml: postgres, app and worker; the official postgres image with a health check and a volume', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['app', 'postgres', 'worker']);
  assert.match(postgres.image!, /^postgres:\d+$/);
  assert.match(postgres.healthcheck!.test.join(' '), /pg_isready/);
  assert.ok(postgres.volumes!.some((v) => v.startsWith('postgres-data:/var/lib/postgresql/data')));
  assert.ok(compose.volumes && 'postgres-data' in compose.volumes);
});

test('compose.yaml: app and worker are built from the Dockerfile unchanged and run real foreman commands', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const entry = JSON.parse(dockerfile.match(/^ENTRYPOINT (.+)$/m)![1]) as string[];
  assert.deepEqual(entry.slice(0, 3), ['node', '--no-node-snapshot', 'bin/foreman.js'], 'the command is foreman arguments');
  assert.deepEqual(app.command, ['app', '--no-worker']);
  assert.deepEqual(worker.command, ['worker']);
  for (const service of [app, worker]) {
    assert.equal(service.build, '.');
    assert.equal(service.image, app.image, 'one image for both roles');
    // foreman parses its options strictly before --help answers: an unknown command or flag fails here.
    const help = spawnSync(process.execPath, ['--no-node-snapshot', join(ROOT, 'bin/foreman.js'), ...service.command!, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: ROOT } });
    assert.equal(help.status, 0, `foreman ${service.command!.join(' ')} --help: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`foreman ${service.command![0]}`));
  }
});

test('compose.yaml sets only variables Foreman reads', () => {
  const read = variablesForemanReads();
  for (const [name, service] of Object.entries({ app, worker })) {
    for (const variable of Object.keys(service.environment ?? {})) {
      assert.ok(read.has(variable), `${name} sets ${variable}, which nothing in src reads`);
    }
  }
});

test('compose.yaml: both roles share one PostgreSQL; the worker asks the app for tokens and never holds its secrets', () => {
  for (const service of [app, worker]) {
    const url = databaseUrl(service);
    assert.equal(url.hostname, 'postgres');
    assert.equal(url.username, postgres.environment!.POSTGRES_USER);
    assert.equal(url.pathname, `/${postgres.environment!.POSTGRES_DB}`);
    assert.equal(service.depends_on?.postgres?.condition, 'service_healthy');
  }
  const appUrl = new URL(worker.environment!.FOREMAN_APP_URL!);
  assert.equal(appUrl.hostname, 'app');
  assert.ok(app.ports!.some((p) => p.endsWith(`:${appUrl.port}`)), 'the app listens where the worker asks');
  assert.match(worker.environment!.WORKER_SECRET!, /^\$\{WORKER_SECRET:\?/);
  assert.match(worker.environment!.ANTHROPIC_API_KEY!, /^\$\{ANTHROPIC_API_KEY:\?/);
  assert.equal(app.env_file, '.env');
  assert.equal(worker.env_file, undefined, 'the worker takes only what it names from .env');
  for (const secret of ['PRIVATE_KEY', 'PRIVATE_KEY_PATH', 'WEBHOOK_SECRET', 'APP_ID']) assert.ok(!(secret in worker.environment!), `the worker gets no ${secret}`);
});

test("compose.yaml: app and worker set one lease, Foreman's default unless .env says otherwise", () => {
  // pg-boss keeps one lease per queue, set by whichever process started last: the two must agree.
  assert.equal(app.environment!.FOREMAN_LEASE_SECONDS, `\${FOREMAN_LEASE_SECONDS:-${DEFAULT_LEASE_SECONDS}}`);
  assert.equal(worker.environment!.FOREMAN_LEASE_SECONDS, app.environment!.FOREMAN_LEASE_SECONDS);
});

test('compose.yaml: the worker scales: no ports, no fixed name, no shared home, and a working sandbox', () => {
  assert.equal(worker.ports, undefined);
  assert.equal(worker.container_name, undefined);
  // The image's VOLUME /data gives each replica its own; a named volume would be shared by all.
  assert.ok(!(worker.volumes ?? []).some((v) => v.split(':')[1] === '/data'));
  assert.deepEqual(worker.security_opt, ['seccomp=unconfined', 'apparmor=unconfined']);
});

test('the README shows compose.yaml as it is', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const shown = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(shown.includes(composeText), 'a ```yaml block in README.md is compose.yaml, byte for byte');
});
