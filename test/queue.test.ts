// The embedded work queue: dedup by key, one claim per job even across processes, release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
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
  await queue.finish(job!.id);
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
  await queue.release(a!.id);
  const again = await queue.claim(['run'], 'w2');
  assert.equal(again?.key, 'run:a');
  assert.equal(again?.attempts, 2);
  assert.equal(await queue.releaseHolder('w1'), 1, 'w1 still held run:b');
  assert.equal((await queue.claim(['run'], 'w2'))?.key, 'run:b');
  await queue.finish(again!.id, 'boom');
  assert.deepEqual(await queue.counts(), { claimed: 1, failed: 1 });
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
