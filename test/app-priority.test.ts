// Runs people ask for go before sweeps: through the App (a signed delivery, the intake, the queue
// the worker claims from), a comment's run queued after a release sweep is claimed first, on the
// embedded SQLite queue and on pg-boss.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import nock from 'nock';
import { WORKER_JOB_KINDS } from '../src/app/jobs.ts';
import { API, exampleComment, prComment, startApp, type AppHarness } from './support/github-app.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';

const REPO = '/repos/Codertocat/Hello-World';
const CONFIG = 'on:\n  release: { workflow: security-sweep }\n';

let cluster: Promise<PostgresCluster> | null = null;
before(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
after(async () => {
  nock.enableNetConnect();
  await (await cluster)?.stop();
});

function intake(): void {
  nock(API)
    .post('/app/installations/1/access_tokens')
    .optionally()
    .reply(201, { token: 'ghs_installation', expires_at: '2099-01-01T00:00:00Z' })
    .get(`${REPO}/contents/.github%2Fforeman.yml`)
    .reply(200, CONFIG)
    .get(`${REPO}/collaborators/Codertocat/permission`)
    .reply(200, { permission: 'write', role_name: 'write', user: { login: 'Codertocat' } });
}

async function settled(h: AppHarness, kind: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const counts = await h.queue.counts(kind);
    if ((counts.done ?? 0) + (counts.failed ?? 0) > 0 && !counts.queued && !counts.claimed) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${kind} intake did not settle`);
}

for (const engine of ['SQLite', 'PostgreSQL'] as const) {
  test(`${engine}: a comment's run queued behind a release sweep is claimed first`, async () => {
    const databaseUrl = engine === 'PostgreSQL' ? await (await (cluster ??= startPostgres())).createDatabase() : undefined;
    const h = await startApp(databaseUrl ? { databaseUrl } : {});
    try {
      const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as any[];
      const release = structuredClone(examples.find((d) => d.name === 'release').examples.find((e: any) => e.action === 'published'));
      release.repository = exampleComment().repository;
      release.installation = { id: 1 };
      release.sender = { ...release.sender, login: 'Codertocat', type: 'User' };
      intake();
      assert.equal((await h.deliver('release', release)).status, 200);
      await settled(h, 'event');

      intake();
      nock(API).post(`${REPO}/issues/comments/492700400/reactions`).reply(201, {});
      assert.equal((await h.deliver('issue_comment', prComment('/workflow audit'))).status, 200);
      await settled(h, 'comment');

      const first = await h.queue.claim(WORKER_JOB_KINDS, 'test-worker');
      const second = await h.queue.claim(WORKER_JOB_KINDS, 'test-worker');
      assert.equal(first?.kind, 'start');
      assert.equal(first?.key, 'comment:Codertocat/Hello-World#492700400', 'the comment first');
      assert.equal(second?.kind === 'start' && second.payload.tag, release.release.tag_name, 'then the sweep queued before it');
      assert.deepEqual(nock.pendingMocks(), []);
    } finally {
      nock.cleanAll();
      await h.close();
    }
  });
}
