// A schedule fires once across replicas: two `foreman app --no-worker` processes, each with its own
// FOREMAN_HOME and its own GitHub (so each one's looks are counted apart), share one PostgreSQL and
// both look at a schedule that falls due while they run. pg-boss holds one 'start' job for it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { appPrivateKey, eventually, startAppProcess, type AppProcess } from './support/app-process.ts';
import { startFakeAppApi, type FakeAppApi } from './support/fake-app-api.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';
import { tempDir } from './support/repo.ts';
import { SHIFTED_CLOCK_OPTION } from './support/shifted-clock.ts';

const CRON = '* * * * *';
const CONFIG = `schedules:\n  - cron: '${CRON}'\n    workflow: sweep\n`;
/** How long after the spawn the due minute comes (by the apps' shifted clocks): time for both to start and look a few times before it. */
const DUE_AFTER_MS = 8_000;
const LOOK_EVERY_MS = 200;

let postgres: PostgresCluster;
before(async () => (postgres = await startPostgres()));
after(() => postgres?.stop());

const configReads = (api: FakeAppApi): number => api.calls.filter((call) => call === 'GET /repos/acme/widgets/contents/.github%2Fforeman.yml').length;

async function query(url: string, text: string): Promise<any[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

test('a schedule fires once across two app replicas (separate processes) on one PostgreSQL: both look at the due minute, one start job is queued, and neither claims it', { timeout: 60_000 }, async () => {
  const databaseUrl = await postgres.createDatabase();
  const apis = [await startFakeAppApi('acme', { widgets: CONFIG }), await startFakeAppApi('acme', { widgets: CONFIG })];
  // The apps' clocks run shifted so that a minute starts DUE_AFTER_MS from now: `* * * * *` is due then.
  const dueAtReal = Date.now() + DUE_AFTER_MS;
  const shiftMs = Math.ceil(dueAtReal / 60_000) * 60_000 - dueAtReal;
  const due = new Date(dueAtReal + shiftMs);
  const apps: AppProcess[] = apis.map((api) =>
    startAppProcess(
      {
        APP_ID: '1',
        PRIVATE_KEY: appPrivateKey(),
        WEBHOOK_SECRET: 's3cret',
        FOREMAN_HOME: tempDir(),
        DATABASE_URL: databaseUrl,
        GHE_HOST: api.host,
        GHE_PROTOCOL: 'http',
        FOREMAN_SCHEDULE_INTERVAL_MS: String(LOOK_EVERY_MS),
        FOREMAN_TEST_CLOCK_SHIFT_MS: String(shiftMs),
        LOG_LEVEL: 'fatal',
      },
      ['--port', '0', '--host', '127.0.0.1', '--no-worker'],
      { nodeArgs: [SHIFTED_CLOCK_OPTION] },
    ),
  );
  try {
    await Promise.all(apps.map((app) => app.listening));
    await eventually('both replicas looking at the schedules', () => apis.every((api) => configReads(api) > 0));
    assert.ok(Date.now() < dueAtReal, `both replicas were looking before the due minute (raise DUE_AFTER_MS if starting took longer): ${Date.now() - dueAtReal} ms late`);
    assert.deepEqual(await query(databaseUrl, `SELECT id FROM pgboss.job WHERE name = 'start'`), [], 'nothing is due before the minute');

    await new Promise((resolve) => setTimeout(resolve, dueAtReal - Date.now()));
    // The look that covers the due minute starts after this point; the first read counted from here
    // may still belong to the look before. A third read means the covering look has finished.
    const readsAtDue = apis.map(configReads);
    await eventually(`both replicas finishing the look that covers ${due.toISOString()}`, () => apis.every((api, i) => configReads(api) >= readsAtDue[i]! + 3));
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
    for (const api of apis) api.close();
  }

  const jobs = await query(databaseUrl, `SELECT data->>'key' AS key, state, started_on FROM pgboss.job WHERE name = 'start'`);
  assert.deepEqual(
    jobs.map((j) => j.key),
    [`schedule:acme/widgets:0:${CRON}:sweep:main:${due.toISOString()}`],
    'one start job for the due minute, though both replicas queued it',
  );
  const claimed = await query(databaseUrl, `SELECT name, state FROM pgboss.job WHERE state <> 'created' OR started_on IS NOT NULL`);
  assert.deepEqual(claimed, [], 'apps started with --no-worker claim nothing');
});
