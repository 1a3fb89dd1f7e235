// DATABASE_URL (or --database-url) puts the run store, the queue and the registry in PostgreSQL,
// through the real bin; without it nothing changes. A bad URL or a server that does not answer is
// told with the setting to fix, never with the password.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresStore } from '../src/runtime/postgres-store.ts';
import { DEFAULT_LEASE_SECONDS, MIN_LEASE_SECONDS } from '../src/runtime/pgboss-queue.ts';
import { startFakeAnthropic, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';

let cluster: Promise<PostgresCluster> | null = null;
const postgresCluster = (): Promise<PostgresCluster> => (cluster ??= startPostgres());
after(async () => (await cluster)?.stop());

async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: () => [toolUse('submit_result', { ok: true })] });
  t.after(() => fake.close());
  return fake;
}

const ONE_AGENT = `export const meta = { name: 'x', description: 'test script' }\nreturn await agent('one', { schema: { type: 'object' } })\n`;

test('foreman run with DATABASE_URL keeps the run in PostgreSQL; runs, show and resume find it there (by env or --database-url), and the SQLite file has none', async (t) => {
  const fake = await model(t);
  const url = await (await postgresCluster()).createDatabase();
  const repo = makeRepo({ 'README.md': 'hello\n' });
  writeFileSync(join(repo, 'x.js'), ONE_AGENT);
  const home = tempDir();
  const run = await runCli(['run', join(repo, 'x.js'), '--repo', repo, '--json'], { home, baseURL: fake.url, extra: { DATABASE_URL: url } });
  assert.equal(run.code, 0, run.stderr);
  const runId = JSON.parse(run.stdout).runId as string;

  const store = await PostgresStore.open(url);
  t.after(() => store.close());
  assert.equal((await store.getRun(runId))?.status, 'completed', 'the run is in PostgreSQL');
  assert.equal((await store.listAgents(runId)).length, 1);

  const listed = await runCli(['runs', '--json', '--database-url', url], { home });
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as Array<{ runId: string }>).map((r) => r.runId), [runId]);
  const shown = await runCli(['show', runId, `--database-url=${url}`], { home });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(runId));
  const resumed = await runCli(['resume', runId], { home, baseURL: fake.url, extra: { DATABASE_URL: url } });
  assert.equal(resumed.code, 0, resumed.stderr);

  const local = await runCli(['runs', '--json'], { home });
  assert.deepEqual(JSON.parse(local.stdout), [], 'without DATABASE_URL: the SQLite file in FOREMAN_HOME, as before');
});

test('a DATABASE_URL that is no URL, is not PostgreSQL, or whose server does not answer is told with the setting and the fix, never the password', async () => {
  const home = tempDir();
  const unreachable = 'postgres://foreman:s3cret-pw@127.0.0.1:1/foreman';
  for (const [args, extra] of [
    [['runs'], { DATABASE_URL: unreachable }],
    [['runs', '--database-url', unreachable], {}],
    [['show', 'r1'], { DATABASE_URL: 'mysql://foreman:s3cret-pw@db/foreman' }],
    [['runs'], { DATABASE_URL: 'not a url s3cret-pw' }],
  ] as const) {
    const res = await runCli([...args], { home, extra });
    assert.equal(res.code, 1, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, /DATABASE_URL \(or --database-url\)/);
    assert.match(res.stderr, /leave it unset for the embedded SQLite store|leave DATABASE_URL \(or --database-url\) unset/);
    assert.doesNotMatch(res.stderr + res.stdout, /s3cret-pw/);
  }
  const refused = await runCli(['runs'], { home, extra: { DATABASE_URL: unreachable } });
  assert.match(refused.stderr, /cannot open the PostgreSQL database at postgres:\/\/foreman:\*\*\*@127\.0\.0\.1:1\/foreman/);
  assert.match(refused.stderr, /Check that the server is running and reachable/);
});

test('foreman worker and foreman app refuse a lease under 10 s and a bad DATABASE_URL before starting, naming the option', async () => {
  const home = tempDir();
  const worker = await runCli(['worker', '--lease-seconds', '5'], { home, extra: { FOREMAN_APP_URL: 'http://127.0.0.1:1', WORKER_SECRET: 'x' } });
  assert.equal(worker.code, 2, worker.stderr);
  assert.match(worker.stderr, /--lease-seconds must be a whole number of seconds, at least 10/);
  const byEnv = await runCli(['worker'], { home, extra: { FOREMAN_LEASE_SECONDS: 'soon', FOREMAN_APP_URL: 'http://127.0.0.1:1', WORKER_SECRET: 'x' } });
  assert.equal(byEnv.code, 2, byEnv.stderr);
  assert.match(byEnv.stderr, /FOREMAN_LEASE_SECONDS must be a whole number of seconds, at least 10 .*; got "soon"/);
  const badUrl = await runCli(['worker', '--database-url', 'redis://u:s3cret-pw@h/0'], { home, extra: { FOREMAN_APP_URL: 'http://127.0.0.1:1', WORKER_SECRET: 'x' } });
  assert.equal(badUrl.code, 2, badUrl.stderr);
  assert.match(badUrl.stderr, /DATABASE_URL \(or --database-url\) must be a postgres:\/\/ or postgresql:\/\/ URL/);
  assert.doesNotMatch(badUrl.stderr, /s3cret-pw/);
  const unreachable = await runCli(['worker'], { home, extra: { DATABASE_URL: 'postgres://u:s3cret-pw@127.0.0.1:1/f', FOREMAN_APP_URL: 'http://127.0.0.1:1', WORKER_SECRET: 'x' } });
  assert.notEqual(unreachable.code, 0);
  assert.match(unreachable.stderr, /cannot open the PostgreSQL database at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/f \(DATABASE_URL \(or --database-url\)\)/);
  assert.doesNotMatch(unreachable.stderr, /s3cret-pw/);
});

test('foreman --help tells of --database-url and DATABASE_URL; app and worker --help of the lease and its variable', async () => {
  const home = tempDir();
  const usage = await runCli(['--help'], { home });
  assert.equal(usage.code, 0, usage.stderr);
  assert.match(usage.stdout, /run, resume, runs, show, save, app and worker take --database-url URL \(default DATABASE_URL\)/);
  for (const command of ['app', 'worker']) {
    const help = await runCli([command, '--help'], { home });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--database-url URL[\s\S]*DATABASE_URL/, `foreman ${command} --help`);
    // The numbers the help gives are the queue's own.
    assert.match(help.stdout, new RegExp(`--lease-seconds N[\\s\\S]*at least\\s+${MIN_LEASE_SECONDS}; default FOREMAN_LEASE_SECONDS, else ${DEFAULT_LEASE_SECONDS}\\)`), `foreman ${command} --help`);
  }
});
