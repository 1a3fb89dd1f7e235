// The embedded work queue: dedup by key, one claim per job even across processes, release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { WORKER_JOB_KINDS, type AppJobs } from '../src/app/jobs.ts';
import type { GitHubRunContext } from '../src/app/run-registry.ts';
import { validateConfig } from '../src/config/load.ts';
import { SqliteWorkQueue } from '../src/runtime/sqlite-queue.ts';
import { SqliteStore } from '../src/runtime/sqlite-store.ts';
import { tempDir } from './support/repo.ts';

test('a key is enqueued once; jobs are claimed oldest first, by kind, and finished', async () => {
  const queue = new SqliteWorkQueue(join(tempDir(), 'foreman.db'));
  const first = await queue.enqueue('comment', 'delivery:1', { n: 1 });
  assert.deepEqual(first, { id: first.id, created: true });
  assert.deepEqual(await queue.enqueue('comment', 'delivery:1', { n: 'again' }), { id: first.id, created: false });
  await queue.enqueue('run', 'run:a', { n: 2 });
  await queue.enqueue('comment', 'delivery:2', { n: 3 });

  const job = await queue.claim(['comment'], 'w1');
  assert.equal(job?.key, 'delivery:1');
  assert.deepEqual(job?.payload, { n: 1 }, 'the first payload stays');
  assert.equal(job?.attempts, 1);
  assert.equal((await queue.claim(['comment'], 'w1'))?.key, 'delivery:2');
  assert.equal(await queue.claim(['comment'], 'w1'), null);
  assert.equal((await queue.claim(['run', 'comment'], 'w1'))?.key, 'run:a');
  await queue.finish(job!);
  assert.deepEqual(await queue.counts(), { claimed: 2, done: 1 });
  // Even a finished job's key stays taken: a redelivery long after is still a no-op.
  assert.equal((await queue.enqueue('comment', 'delivery:1', {})).created, false);
  await queue.close();
});

test('released jobs are claimed again, with their attempts counted', async () => {
  const queue = new SqliteWorkQueue(join(tempDir(), 'foreman.db'));
  await queue.enqueue('run', 'run:a', {});
  await queue.enqueue('run', 'run:b', {});
  const a = await queue.claim(['run'], 'w1');
  await queue.claim(['run'], 'w1');
  await queue.release(a!);
  const again = await queue.claim(['run'], 'w2');
  assert.equal(again?.key, 'run:a');
  assert.equal(again?.attempts, 2);
  assert.equal(await queue.releaseHolder('w1'), 1, 'w1 still held run:b');
  assert.equal((await queue.claim(['run'], 'w2'))?.key, 'run:b');
  await queue.finish(again!, "boom");
  assert.deepEqual(await queue.counts(), { claimed: 1, failed: 1 });
  await queue.close();
});

test('a higher priority is claimed first, oldest first within one priority', async () => {
  const queue = new SqliteWorkQueue(join(tempDir(), 'foreman.db'));
  await queue.enqueue('start', 'sweep:1', {});
  await queue.enqueue('start', 'sweep:2', {});
  await queue.enqueue('start', 'comment:1', {}, { priority: 10 });
  await queue.enqueue('start', 'comment:2', {}, { priority: 10 });
  const order = [];
  for (let job; (job = await queue.claim(['start'], 'w1')); ) order.push(job.key);
  assert.deepEqual(order, ['comment:1', 'comment:2', 'sweep:1', 'sweep:2']);
  await queue.close();
});

test('a lapsed claim settles nothing: once the job was claimed again, the first claim cannot finish, release or renew it', async () => {
  const queue = new SqliteWorkQueue(join(tempDir(), 'foreman.db'));
  await queue.enqueue('run', 'run:a', {});
  const first = (await queue.claim(['run'], 'w1'))!;
  assert.equal(await queue.heartbeat(first), true);
  assert.equal(await queue.releaseHolder('w1'), 1, 'w1 is gone');
  const second = (await queue.claim(['run'], 'w2'))!;
  assert.equal(second.attempts, 2);
  assert.equal(await queue.heartbeat(first), false, 'the first claim lapsed');
  await queue.finish(first, 'stale');
  await queue.release(first);
  assert.deepEqual(await queue.counts(), { claimed: 1 }, 'the second claim still holds it');
  assert.equal(await queue.heartbeat(second), true);
  await queue.finish(second);
  assert.equal(await queue.heartbeat(second), false, 'a finished job has no lease to renew');
  assert.deepEqual(await queue.counts(), { done: 1 });
  await queue.close();
});

test('the queue and the run store share one file and one schema, in either order', async () => {
  const file = join(tempDir(), 'foreman.db');
  const queue = new SqliteWorkQueue(file);
  const store = new SqliteStore(file);
  assert.deepEqual(await store.listRuns(), []);
  await queue.enqueue('run', 'k', {});
  await store.close();
  await queue.close();
});

test('two processes claiming from one file never get the same job', async () => {
  const file = join(tempDir(), 'foreman.db');
  const queue = new SqliteWorkQueue(file);
  for (let i = 0; i < 200; i++) await queue.enqueue('run', `k${i}`, { i });
  const claimer = `
    import { SqliteWorkQueue } from ${JSON.stringify(new URL('../src/runtime/sqlite-queue.ts', import.meta.url).href)};
    const queue = new SqliteWorkQueue(${JSON.stringify(file)});
    const got = [];
    for (let job; (job = await queue.claim(['run'], process.argv[1])); ) got.push(job.payload.i);
    process.stdout.write(JSON.stringify(got));`;
  const run = (holder: string) =>
    new Promise<number[]>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', claimer, holder], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`claimer exited ${code}`))));
    });
  const [a, b] = await Promise.all([run('a'), run('b')]);
  assert.equal(a.length + b.length, 200);
  assert.equal(new Set([...a, ...b]).size, 200, 'no job claimed twice');
  await queue.close();
});

test('a queue typed by a job map takes each kind its own payload and hands claimed jobs back narrowed by kind', async () => {
  interface Jobs {
    comment: { commentId: number };
    resume: { runId: string };
  }
  const queue = new SqliteWorkQueue<Jobs>(join(tempDir(), 'foreman.db'));
  await queue.enqueue('comment', 'delivery:1', { commentId: 7 });
  await queue.enqueue('resume', 'resume:r1', { runId: 'r1' });
  // @ts-expect-error: a resume job carries a runId, not a commentId (checked by tsc in npm test)
  await queue.enqueue('resume', 'resume:r2', { commentId: 1 });
  // @ts-expect-error: a kind the map does not have
  await queue.enqueue('unknown', 'x', {});
  const seen: string[] = [];
  for (let claimed = 0; claimed < 2; claimed++) {
    const job = await queue.claim(['comment', 'resume'], 'w1');
    assert.ok(job);
    // No cast: the kind narrows the payload.
    if (job.kind === 'comment') seen.push(`comment ${job.payload.commentId.toFixed(0)}`);
    else seen.push(`resume ${job.payload.runId.toUpperCase()}`);
  }
  assert.deepEqual(seen, ['comment 7', 'resume R1']);
  await queue.close();
});

test("the App's queue is typed by its job map: enqueue takes each kind's own payload, and a claimed job's kind narrows its payload", async () => {
  const queue = new SqliteWorkQueue<AppJobs>(join(tempDir(), 'foreman.db'));
  const context: GitHubRunContext = { installationId: 1, owner: 'acme', repo: 'widgets', cloneUrl: 'https://github.com/acme/widgets.git', defaultBranch: 'main', issueNumber: 7, isPullRequest: false, trigger: '/workflow audit', author: 'octocat', workflow: 'audit', args: {}, config: validateConfig({}, 'test') };
  await queue.enqueue('start', 'start:1', { context, branch: 'release/1.x' });
  await queue.enqueue('resume', 'resume:1', { runId: 'run-1', by: 'octocat' });
  await queue.enqueue('save', 'save:1', { entryId: 3, name: 'audit', author: 'octocat' });
  // Checked by `tsc --noEmit` (npm test): these never run.
  const wrongPayloads = async (): Promise<void> => {
    // @ts-expect-error a resume's payload is no start job
    await queue.enqueue('start', 'start:2', { runId: 'run-1', by: 'octocat' });
    // @ts-expect-error a kind the App does not have
    await queue.enqueue('run', 'run:1', {});
    const claimed = await queue.claim(['save'], 'w1');
    // @ts-expect-error a save job carries no run context
    void claimed?.payload.context;
  };
  void wrongPayloads;
  const seen: string[] = [];
  for (let job; (job = await queue.claim(WORKER_JOB_KINDS, 'w1')); await queue.finish(job)) {
    switch (job.kind) {
      case 'start':
        seen.push(`start ${job.payload.context.workflow} on ${job.payload.branch}`);
        break;
      case 'resume':
        seen.push(`resume ${job.payload.runId} by ${job.payload.by}`);
        break;
      case 'save':
        seen.push(`save entry ${job.payload.entryId} as ${job.payload.name}`);
        break;
    }
  }
  assert.deepEqual(seen, ['start audit on release/1.x', 'resume run-1 by octocat', 'save entry 3 as audit']);
  await queue.close();
});
