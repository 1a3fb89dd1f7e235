// Schedules: two app replicas sharing one store both look at the schedules, and each due run is
// queued once. GitHub's API (installations, repositories, config, branches) is nock'd.
import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import nock from 'nock';
import { probotScheduleSource, Scheduler, dueTimes } from '../src/app/scheduler.ts';
import { API, startApp, type AppHarness } from './support/github-app.ts';
import { tempDir } from './support/repo.ts';

const CONFIG = `schedules:
  - cron: '0 3 * * 1'
    workflow: security-sweep
    args: { severity: high }
    branches: ['release/*']
`;

// Two replicas over one store, new for each test, so no test claims the jobs another queued.
let replicas: AppHarness[];

before(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
beforeEach(async () => {
  const home = tempDir();
  replicas = [await startApp({ home }), await startApp({ home })];
});
afterEach(async () => {
  for (const r of replicas) await r.close();
});
after(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

/** What each replica's look at GitHub costs: installations, their repositories, the config, the branches. */
function github(times: number, config = CONFIG, branches = ['main', 'release/1.x', 'release/2.x', 'feature/release/x']): nock.Scope {
  return nock(API)
    .get('/app/installations')
    .query(true)
    .times(times)
    .reply(200, [{ id: 1, account: { login: 'acme' } }])
    .post('/app/installations/1/access_tokens')
    .times(times)
    .optionally()
    .reply(201, { token: 'ghs_t', expires_at: '2099-01-01T00:00:00Z' })
    .get('/installation/repositories')
    .query(true)
    .times(times)
    .reply(200, { total_count: 1, repositories: [{ name: 'widgets', owner: { login: 'acme' }, clone_url: 'https://github.com/acme/widgets.git', default_branch: 'main', archived: false }] })
    .get('/repos/acme/widgets/contents/.github%2Fforeman.yml')
    .times(times)
    .reply(200, config)
    .get('/repos/acme/widgets/branches')
    .query(true)
    .times(times)
    .reply(200, branches.map((name) => ({ name })));
}

const quiet = { info: () => {}, warn: (obj: object) => assert.fail(`unexpected warning ${JSON.stringify(obj)}`) };

test('a due schedule is queued once across two replicas sharing a store, one run per matching branch', async () => {
  const scope = github(2);
  const schedulers = replicas.map((r) => new Scheduler({ queue: r.queue, source: probotScheduleSource(r.probot), log: quiet }));
  // Monday 2026-11-30 03:00 UTC falls in this minute; both replicas look at once.
  const from = new Date('2026-11-30T02:59:30Z');
  const to = new Date('2026-11-30T03:00:30Z');
  const created = await Promise.all(schedulers.map((s) => s.tick(from, to)));
  assert.ok(scope.isDone(), 'both replicas read the schedules');
  assert.equal(created[0] + created[1], 2, 'two runs queued in all, whichever replica got there first');

  const jobs = [];
  for (let job; (job = await replicas[0].queue.claim(['start'], 'test')); ) jobs.push(job);
  assert.deepEqual(jobs.map((j) => j.key).sort(), [
    'schedule:acme/widgets:0:0 3 * * 1:security-sweep:release/1.x:2026-11-30T03:00:00.000Z',
    'schedule:acme/widgets:0:0 3 * * 1:security-sweep:release/2.x:2026-11-30T03:00:00.000Z',
  ]);
  const start = jobs[0].payload;
  assert.equal(start.context.workflow, 'security-sweep');
  assert.deepEqual(start.context.args, { severity: 'high' });
  assert.equal(start.context.issueNumber, null);
  assert.match(start.branch!, /^release\/[12]\.x$/);
  for (const job of jobs) await replicas[0].queue.finish(job);
});

test('branch globs go through the linear matcher: a brace bomb is skipped with a warning naming the bound, a star bomb matches in no time', { timeout: 30_000 }, async () => {
  const braceBomb = '{a,b}'.repeat(17);
  const starBomb = `${'*a'.repeat(30)}b`;
  const config = `schedules:\n  - cron: '0 3 * * 1'\n    workflow: security-sweep\n    branches: ['${braceBomb}', '${starBomb}', 'release/*']\n`;
  // Names a RegExp-based matcher backtracks on for the star bomb.
  const branches = ['main', 'release/1.x', ...Array.from({ length: 20 }, (_, i) => `${'a'.repeat(40)}${i}`)];
  const scope = github(1, config, branches);
  const warnings: object[] = [];
  const scheduler = new Scheduler({ queue: replicas[0].queue, source: probotScheduleSource(replicas[0].probot), log: { info: () => {}, warn: (obj) => warnings.push(obj) } });
  const startedAt = performance.now();
  const created = await scheduler.tick(new Date('2026-12-07T02:59:30Z'), new Date('2026-12-07T03:00:30Z'));
  const tookMs = performance.now() - startedAt;
  assert.ok(scope.isDone());
  assert.equal(created, 1, 'release/* still matches');
  assert.ok(tookMs < 2_000, `the look took ${tookMs} ms`);
  assert.equal(warnings.length, 1);
  assert.match(JSON.stringify(warnings[0]), /schedules\[0\]\.branches: glob \\"\{a,b\}.*expands to more than 64 alternatives/);
  for (let job; (job = await replicas[0].queue.claim(['start'], 'test')); ) {
    assert.equal(job.payload.branch, 'release/1.x');
    await replicas[0].queue.finish(job);
  }
});

test('a minute in which nothing is due queues nothing', async () => {
  const scope = github(1);
  const scheduler = new Scheduler({ queue: replicas[0].queue, source: probotScheduleSource(replicas[0].probot), log: quiet });
  assert.equal(await scheduler.tick(new Date('2026-11-30T03:00:30Z'), new Date('2026-11-30T03:01:30Z')), 0);
  // The branches are only listed when a run is due.
  assert.deepEqual(scope.pendingMocks(), [`GET ${API}:443/repos/acme/widgets/branches`]);
  nock.cleanAll();
});

test('due times: every minute of a window that a cron expression names, in its time zone', () => {
  assert.deepEqual(dueTimes('*/30 * * * *', undefined, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T01:00:00Z')).map((d) => d.toISOString()), [
    '2026-01-01T00:30:00.000Z',
    '2026-01-01T01:00:00.000Z',
  ]);
  assert.deepEqual(dueTimes('0 3 * * *', 'Europe/Berlin', new Date('2026-06-01T00:00:00Z'), new Date('2026-06-01T02:00:00Z')).map((d) => d.toISOString()), ['2026-06-01T01:00:00.000Z']);
});
