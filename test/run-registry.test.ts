// The run registry's behaviour, run against both backends with the same assertions: the embedded
// SQLite file and PostgreSQL (a private cluster this file starts, a fresh database per test).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PostgresRunRegistry } from '../src/app/postgres-run-registry.ts';
import { SqliteRunRegistry, type GitHubRunContext, type RunRegistry } from '../src/app/run-registry.ts';
import { validateConfig } from '../src/config/load.ts';
import { tempDir } from './support/repo.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';

let cluster: Promise<PostgresCluster> | null = null;
const postgresCluster = (): Promise<PostgresCluster> => (cluster ??= startPostgres());
after(async () => (await cluster)?.stop());

const backends: { name: string; open(): Promise<RunRegistry> }[] = [
  { name: 'SQLite', open: async () => new SqliteRunRegistry(join(tempDir(), 'foreman.db')) },
  { name: 'PostgreSQL', open: async () => PostgresRunRegistry.open(await (await postgresCluster()).createDatabase()) },
];

const context = (issueNumber: number | null, workflow = 'audit'): GitHubRunContext => ({
  installationId: 1,
  owner: 'acme',
  repo: 'widgets',
  cloneUrl: 'https://github.com/acme/widgets.git',
  defaultBranch: 'main',
  issueNumber,
  isPullRequest: false,
  trigger: `/workflow ${workflow}`,
  author: 'octocat',
  workflow,
  args: {},
  config: validateConfig({}, 'test'),
});

for (const backend of backends) {
  describe(`run registry: ${backend.name}`, () => {
    test('one active run per issue; a finished one makes room; runs without an issue never collide', async () => {
      const registry = await backend.open();
      const first = await registry.begin(context(7), { key: 'comment:1', holder: 'w1:1' });
      assert.ok('begun' in first);
      assert.equal(first.begun.state, 'active');
      assert.equal(first.begun.repo, 'acme/widgets');
      assert.equal(first.begun.context.workflow, 'audit');
      const second = await registry.begin(context(7, 'triage'), { key: 'comment:2', holder: 'w2:1' });
      assert.ok('busy' in second);
      assert.equal(second.busy.id, first.begun.id);
      assert.ok('begun' in (await registry.begin(context(8), { key: 'comment:3', holder: 'w2:1' })));
      assert.ok('begun' in (await registry.begin(context(null), { key: 'schedule:1', holder: 'w2:1' })));
      assert.ok('begun' in (await registry.begin(context(null), { key: 'schedule:2', holder: 'w2:1' })));
      await registry.attach(first.begun.id, 'run-1');
      assert.equal(await registry.requestStop('run-1'), true);
      assert.equal((await registry.get('run-1'))?.stopRequested, true);
      await registry.end(first.begun.id, 'done');
      assert.equal(await registry.requestStop('run-1'), false, 'a finished run has nothing to stop');
      assert.equal((await registry.get('run-1'))?.status, 'done');
      const third = await registry.begin(context(7, 'triage'), { key: 'comment:4', holder: 'w2:1' });
      assert.ok('begun' in third);
      assert.equal((await registry.latest('acme/widgets', 7))?.id, third.begun.id, 'the active one first');
      await registry.end(third.begun.id, 'failed');
      assert.equal((await registry.latest('acme/widgets', 7))?.id, third.begun.id, 'then the newest');
      const updated = { ...context(7), headSha: 'abc' };
      await registry.update(first.begun.id, updated);
      assert.equal((await registry.byId(first.begun.id))?.context.headSha, 'abc');
      await registry.close();
    });

    test('a resume reactivates a finished run unless another is active on its issue', async () => {
      const registry = await backend.open();
      const first = await registry.begin(context(7), { key: 'comment:1', holder: 'w1:1' });
      assert.ok('begun' in first);
      await registry.attach(first.begun.id, 'run-1');
      assert.ok('busy' in (await registry.reactivate('run-1', 'w2:1'))!, 'it is still active');
      await registry.end(first.begun.id, 'stopped');
      const other = await registry.begin(context(7, 'triage'), { key: 'comment:2', holder: 'w2:1' });
      assert.ok('begun' in other);
      const blocked = (await registry.reactivate('run-1', 'w2:1'))!;
      assert.ok('busy' in blocked && blocked.busy.id === other.begun.id);
      await registry.end(other.begun.id, 'done');
      const resumed = (await registry.reactivate('run-1', 'w2:1'))!;
      assert.ok('begun' in resumed);
      assert.equal(resumed.begun.state, 'active');
      assert.equal(resumed.begun.status, null);
      assert.equal(await registry.reactivate('run-unknown', 'w2:1'), null);
      await registry.close();
    });

    test("a gone holder's active runs are interrupted, and its holders listed", async () => {
      const registry = await backend.open();
      await registry.begin(context(7), { key: 'comment:1', holder: 'host:1:a' });
      await registry.begin(context(8), { key: 'comment:2', holder: 'host:2:a' });
      assert.deepEqual((await registry.holders()).sort(), ['host:1:a', 'host:2:a']);
      assert.equal(await registry.interrupt('host:1:'), 1);
      assert.equal((await registry.latest('acme/widgets', 7))?.status, 'interrupted');
      assert.deepEqual(await registry.holders(), ['host:2:a']);
      await registry.close();
    });

    test('a job claimed again after its holder lost it takes over the run still active under that holder', async () => {
      const registry = await backend.open();
      const first = await registry.begin(context(7), { key: 'comment:1', holder: 'w1' });
      assert.ok('begun' in first);
      await registry.attach(first.begun.id, 'run-1');
      // The queue handed the start job to w2 (w1's lease lapsed): the same key, the row still active.
      const again = await registry.begin(context(7), { key: 'comment:1', holder: 'w2' });
      assert.ok('again' in again, `not ${Object.keys(again)[0]}`);
      assert.equal(again.again.id, first.begun.id);
      assert.equal(again.again.runId, 'run-1');
      assert.deepEqual(await registry.holders(), ['w2']);
      // A resume job claimed again: the run it reactivated is active under the lost holder.
      await registry.end(first.begun.id, 'stopped');
      assert.ok('begun' in (await registry.reactivate('run-1', 'w3', 'resume:1'))!);
      assert.ok('busy' in (await registry.reactivate('run-1', 'w4', 'resume:2'))!, 'another resume job does not take over');
      const takenOver = (await registry.reactivate('run-1', 'w4', 'resume:1'))!;
      assert.ok('begun' in takenOver, 'the same resume job, claimed again, takes over the run it reactivated');
      assert.equal(takenOver.begun.state, 'active');
      assert.deepEqual(await registry.holders(), ['w4']);
      await registry.close();
    });

    test('a job claimed again after its run ended for good (its holder died before settling it) is done: not reopened, not replayed', async () => {
      const registry = await backend.open();
      const begun = await registry.begin(context(21), { key: 'comment:21', holder: 'w1' });
      assert.ok('begun' in begun);
      await registry.attach(begun.begun.id, 'run-21');
      await registry.end(begun.begun.id, 'completed', 'w1');
      // w1 was killed before it finished the job in the queue; w2 claims it after the lease.
      const again = await registry.begin(context(21), { key: 'comment:21', holder: 'w2' });
      assert.ok('done' in again, JSON.stringify(again));
      assert.deepEqual([again.done.id, again.done.state, again.done.status], [begun.begun.id, 'done', 'completed']);
      assert.equal((await registry.byId(begun.begun.id))!.state, 'done', 'not reopened');

      // A resume job the same: run to the end, then claimed again.
      assert.ok('begun' in (await registry.reactivate('run-21', 'w2', 'resume:run-21:a'))!);
      await registry.end(begun.begun.id, 'failed', 'w2');
      assert.ok('done' in (await registry.reactivate('run-21', 'w3', 'resume:run-21:a'))!);
      // Another resume (a new job) still reopens it.
      assert.ok('begun' in (await registry.reactivate('run-21', 'w3', 'resume:run-21:b'))!);
      await registry.close();
    });

    test('a job claimed again after its run was handed on (interrupted) or parked for approval carries it on', async () => {
      const registry = await backend.open();
      for (const [n, status] of [[22, 'interrupted'], [23, 'awaiting-approval']] as const) {
        const begun = await registry.begin(context(n), { key: `comment:${n}`, holder: 'w1' });
        assert.ok('begun' in begun);
        await registry.end(begun.begun.id, status, 'w1');
        const again = await registry.begin(context(n), { key: `comment:${n}`, holder: 'w2' });
        assert.ok('again' in again, `${status}: ${JSON.stringify(again)}`);
        assert.equal(again.again.state, 'active');
      }
      await registry.close();
    });
  });
}
