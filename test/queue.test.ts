// The work queue's contract, run against every backend with the same assertions: the embedded
// SQLite queue and the pg-boss queue on PostgreSQL (a private cluster this file starts, a fresh
// database per test). Then what only one of them has: processes sharing one SQLite file, pg-boss's
// leases expiring.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { WORKER_JOB_KINDS, type AppJobs } from '../src/app/jobs.ts';
import type { GitHubRunContext } from '../src/app/run-registry.ts';
import { validateConfig } from '../src/config/load.ts';
import type { Claim, JobMap, WorkQueue } from '../src/contracts/queue.ts';
import { JobLease } from '../src/app/job-lease.ts';
import { PgBossWorkQueue, SUPERVISE_SECONDS } from '../src/runtime/pgboss-queue.ts';
import { SqliteWorkQueue } from '../src/runtime/sqlite-queue.ts';
import { SqliteStore } from '../src/runtime/sqlite-store.ts';
import { tempDir } from './support/repo.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';

const KINDS = ['comment', 'run', 'start', 'resume', 'save'];

interface Backend {
  name: string;
  open<Jobs extends object = JobMap>(): Promise<WorkQueue<Jobs>>;
  /** The claim's lease lapses, as when its holder died: it goes back in line for another holder. */
  lapse(queue: WorkQueue, claim: Claim, holder: string): Promise<void>;
}

const sqlite: Backend = {
  name: 'SQLite',
  open: async <Jobs extends object>() => new SqliteWorkQueue<Jobs>(join(tempDir(), 'foreman.db')),
  lapse: async (queue, _claim, holder) => {
    assert.equal(await queue.releaseHolder(holder), 1, `${holder} is gone`);
  },
};

// One cluster for the whole file, started by the first PostgreSQL test that needs it.
let cluster: Promise<PostgresCluster> | null = null;
const postgresCluster = (): Promise<PostgresCluster> => (cluster ??= startPostgres());
after(async () => (await cluster)?.stop());
const queueUrls = new WeakMap<object, string>();

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

const postgres: Backend = {
  name: 'PostgreSQL (pg-boss)',
  open: async <Jobs extends object>() => {
    const url = await (await postgresCluster()).createDatabase();
    const queue = await PgBossWorkQueue.open<Jobs>(url, KINDS as (keyof Jobs & string)[], { leaseSeconds: 10 });
    queueUrls.set(queue, url);
    return queue;
  },
  // The holder stops heartbeating: its last heartbeat is set a lease back instead of waiting one
  // out (a test below waits a real one), and pg-boss's supervisor finds it.
  lapse: async (queue, claim) => {
    await sql(queueUrls.get(queue)!, `UPDATE pgboss.job SET heartbeat_on = now() - interval '1 hour' WHERE id = $1`, [claim.id]);
    await waitFor(async () => (await sql(queueUrls.get(queue)!, `SELECT state FROM pgboss.job WHERE id = $1`, [claim.id])).rows[0].state !== 'active', (SUPERVISE_SECONDS + 5) * 1000);
  },
};

async function waitFor(condition: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function drain(queue: WorkQueue, kinds: string[], holder: string): Promise<string[]> {
  const keys = [];
  for (let job; (job = await queue.claim(kinds, holder)); ) keys.push(job.key);
  return keys;
}

for (const backend of [sqlite, postgres]) {
  describe(`work queue contract: ${backend.name}`, () => {
    test('a key is enqueued once, even after its job finished; jobs are claimed oldest first, by kind', async () => {
      const queue = await backend.open();
      const first = await queue.enqueue('comment', 'delivery:1', { n: 1 });
      assert.deepEqual(first, { id: first.id, created: true });
      assert.deepEqual(await queue.enqueue('comment', 'delivery:1', { n: 'again' }), { id: first.id, created: false });
      await queue.enqueue('run', 'run:a', { n: 2 });
      await queue.enqueue('comment', 'delivery:2', { n: 3 });

      const job = await queue.claim(['comment'], 'w1');
      assert.equal(job?.key, 'delivery:1');
      assert.equal(job?.id, first.id);
      assert.equal(job?.kind, 'comment');
      assert.deepEqual(job?.payload, { n: 1 }, 'the first payload stays');
      assert.equal(job?.attempts, 1);
      assert.ok(!Number.isNaN(Date.parse(job!.enqueuedAt)));
      assert.equal((await queue.claim(['comment'], 'w1'))?.key, 'delivery:2');
      assert.equal(await queue.claim(['comment'], 'w1'), null);
      assert.equal((await queue.claim(['run', 'comment'], 'w1'))?.key, 'run:a');
      await queue.finish(job!);
      // Even a finished job's key stays taken: a redelivery long after is still a no-op.
      assert.equal((await queue.enqueue('comment', 'delivery:1', {})).created, false);
      assert.equal(await queue.claim(['comment', 'run'], 'w1'), null);
      await queue.close();
    });

    test('a released job is claimed again at once, with its attempts counted; a finished one never', async () => {
      const queue = await backend.open();
      await queue.enqueue('run', 'run:a', {});
      await queue.enqueue('run', 'run:b', {});
      const a = (await queue.claim(['run'], 'w1'))!;
      const b = (await queue.claim(['run'], 'w1'))!;
      await queue.release(a);
      const again = await queue.claim(['run'], 'w2');
      assert.equal(again?.key, 'run:a');
      assert.equal(again?.attempts, 2);
      await queue.finish(again!, 'boom');
      await queue.finish(b);
      assert.equal(await queue.claim(['run'], 'w2'), null, 'a failed job is finished too, not retried');
      await queue.close();
    });

    test('a higher priority is claimed first, oldest first within one priority, across kinds', async () => {
      const queue = await backend.open();
      await queue.enqueue('start', 'sweep:1', {});
      await queue.enqueue('resume', 'sweep:2', {});
      await queue.enqueue('start', 'comment:1', {}, { priority: 10 });
      await queue.enqueue('save', 'comment:2', {}, { priority: 10 });
      await queue.enqueue('start', 'comment:3', {}, { priority: 10 });
      assert.deepEqual(await drain(queue, ['start', 'resume', 'save'], 'w1'), ['comment:1', 'comment:2', 'comment:3', 'sweep:1', 'sweep:2']);
      await queue.close();
    });

    test('a lapsed claim settles nothing: once the job was claimed again, the first claim cannot finish, release or renew it', async () => {
      const queue = await backend.open();
      await queue.enqueue('run', 'run:a', {});
      const first = (await queue.claim(['run'], 'w1'))!;
      assert.equal(await queue.heartbeat(first), true);
      await backend.lapse(queue, first, 'w1');
      const second = (await queue.claim(['run'], 'w2'))!;
      assert.equal(second.key, 'run:a');
      assert.equal(second.attempts, 2);
      assert.equal(await queue.heartbeat(first), false, 'the first claim lapsed');
      await queue.finish(first, 'stale');
      await queue.release(first);
      assert.equal(await queue.claim(['run'], 'w3'), null, 'the second claim still holds it');
      assert.equal(await queue.heartbeat(second), true);
      await queue.finish(second);
      assert.equal(await queue.heartbeat(second), false, 'a finished job has no lease to renew');
      assert.equal(await queue.claim(['run'], 'w3'), null);
      await queue.close();
    });

    test('a queue typed by a job map takes each kind its own payload and hands claimed jobs back narrowed by kind', async () => {
      interface Jobs {
        comment: { commentId: number };
        resume: { runId: string };
      }
      const queue = await backend.open<Jobs>();
      await queue.enqueue('comment', 'delivery:1', { commentId: 7 });
      await queue.enqueue('resume', 'resume:r1', { runId: 'r1' });
      // @ts-expect-error: a resume job carries a runId, not a commentId (checked by tsc in npm test)
      void (() => queue.enqueue('resume', 'resume:r2', { commentId: 1 }));
      // @ts-expect-error: a kind the map does not have
      void (() => queue.enqueue('unknown', 'x', {}));
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
      const queue = await backend.open<AppJobs>();
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
  });
}

test('the SQLite queue releases the jobs of a holder that is gone and lists the holders', async () => {
  const queue = new SqliteWorkQueue(join(tempDir(), 'foreman.db'));
  await queue.enqueue('run', 'run:a', {});
  await queue.enqueue('run', 'run:b', {});
  await queue.claim(['run'], 'w1:1');
  await queue.claim(['run'], 'w2:1');
  assert.deepEqual((await queue.holders()).sort(), ['w1:1', 'w2:1']);
  assert.equal(await queue.releaseHolder('w1'), 1);
  assert.equal((await queue.claim(['run'], 'w3'))?.key, 'run:a');
  assert.deepEqual(await queue.counts(), { claimed: 2 });
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

test('pg-boss: many processes opening queues at once on a fresh database all start, and claimers in several processes never get the same job', async () => {
  const url = await (await postgresCluster()).createDatabase();
  const claimer = `
    import { PgBossWorkQueue } from ${JSON.stringify(new URL('../src/runtime/pgboss-queue.ts', import.meta.url).href)};
    const queue = await PgBossWorkQueue.open(process.argv[1], ['run', 'comment'], { leaseSeconds: 10 });
    const [holder, enqueue] = [process.argv[2], Number(process.argv[3])];
    for (let i = 0; i < enqueue; i++) await queue.enqueue('run', 'k' + i, { i });
    process.stdout.write('ready\\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    const got = [];
    for (let job; (job = await queue.claim(['run', 'comment'], holder)); ) got.push(job.payload.i);
    process.stdout.write(JSON.stringify(got));
    await queue.close();`;
  // Four processes start pg-boss on an empty database together (each installs its schema and
  // creates the queues if no other did first), each enqueues the same 100 keys, then all claim.
  const children = ['a', 'b', 'c', 'd'].map((holder) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', claimer, url, holder, '100'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise<void>((resolve) => child.stdout.on('data', (d) => ((out += d), out.includes('ready\n') && resolve())));
    const done = new Promise<number[]>((resolve, reject) =>
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('ready\n') + 6))) : reject(new Error(`claimer ${holder} exited ${code}`)))),
    );
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const { child } of children) child.stdin.end('go\n');
  const got = (await Promise.all(children.map((c) => c.done))).flat();
  assert.equal(got.length, 100, 'each key was enqueued once');
  assert.equal(new Set(got).size, 100, 'no job claimed twice');
});

test('pg-boss: a claim whose heartbeat stops is claimed again once the lease runs out, with attempts 2; the first claim then changes nothing', async (t) => {
  const url = await (await postgresCluster()).createDatabase();
  const queue = await PgBossWorkQueue.open(url, ['run'], { leaseSeconds: 10 });
  t.after(() => queue.close());
  assert.equal(queue.leaseSeconds, 10);
  await queue.enqueue('run', 'run:a', {});
  const first = (await queue.claim(['run'], 'w1'))!;
  assert.equal(first.attempts, 1);
  // Heartbeats hold the claim past its lease.
  const held = Date.now();
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(await queue.heartbeat(first), true);
  }
  assert.equal(await queue.claim(['run'], 'w2'), null, 'a heartbeating claim is not taken');
  // The heartbeats stop: within the lease and a supervise interval (and a margin for load), another claimer gets it.
  const stopped = Date.now();
  let second = null;
  while (!(second = await queue.claim(['run'], 'w2'))) {
    assert.ok(Date.now() - stopped < (10 + SUPERVISE_SECONDS + 8) * 1000, 'the lapsed lease was found in time');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(Date.now() - stopped >= 9000, 'not before the lease ran out');
  assert.ok(Date.now() - held > 20000);
  assert.equal(second.key, 'run:a');
  assert.equal(second.attempts, 2);
  assert.equal(await queue.heartbeat(first), false);
  await queue.finish(first);
  await queue.release(first);
  assert.equal(await queue.heartbeat(second), true, 'the first claim settled nothing');
  await queue.finish(second);
});

test('pg-boss: a lease under 10 seconds is refused, naming the option and the fix', async () => {
  await assert.rejects(PgBossWorkQueue.open('postgres://127.0.0.1:1/none', ['run'], { leaseSeconds: 5 }), /leaseSeconds is 5.*at least 10.*--lease-seconds \(or FOREMAN_LEASE_SECONDS\)/);
});

test("pg-boss: a job carries the lease it was inserted with; a worker whose own setting is longer renews in time for the job's and keeps it", async (t) => {
  const url = await (await postgresCluster()).createDatabase();
  // Workers started with a long lease, then an app with a short one: the last to start set the
  // queue's lease, and each job it enqueues is checked by that one.
  const worker = await PgBossWorkQueue.open(url, ['run'], { leaseSeconds: 60 });
  t.after(() => worker.close());
  const app = await PgBossWorkQueue.open(url, ['run'], { leaseSeconds: 10 });
  t.after(() => app.close());
  await app.enqueue('run', 'run:a', {});
  const job = (await worker.claim(['run'], 'w1'))!;
  assert.equal(job.leaseSeconds, 10, "the job's own lease, not the worker's 60 s");
  const lease = new JobLease(worker, job);
  t.after(() => lease.stop());
  // Past the job's lease and a supervise interval: renewing every 20 s (a third of the worker's
  // own 60 s) would have let it lapse and bounce to another worker.
  await new Promise((resolve) => setTimeout(resolve, (10 + SUPERVISE_SECONDS + 2) * 1000));
  assert.equal(lease.current(), true);
  assert.equal(await app.claim(['run'], 'w2'), null, 'nobody else took the job');
  assert.equal(await worker.heartbeat(job), true);
});

test('pg-boss: a heartbeat on a connection that silently stops delivering fails within the query timeout instead of hanging', async (t) => {
  const url = new URL(await (await postgresCluster()).createDatabase());
  // A proxy in front of PostgreSQL that, once frozen, passes nothing on and closes nothing: a
  // connection dropped by a NAT or a partition, as the client sees it.
  let frozen = false;
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const server = connect(Number(url.port), url.hostname);
    for (const [from, to] of [[client, server], [server, client]] as const) {
      sockets.add(from);
      from.on('error', () => {});
      from.on('data', (chunk) => void (frozen || to.write(chunk)));
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    proxy.close();
  });
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((proxy.address() as AddressInfo).port);
  const queue = await PgBossWorkQueue.open(proxied.href, ['run'], { leaseSeconds: 10, queryTimeoutMs: 1000 });
  t.after(() => queue.close());
  await queue.enqueue('run', 'run:a', {});
  const job = (await queue.claim(['run'], 'w1'))!;
  assert.equal(await queue.heartbeat(job), true);
  frozen = true;
  const started = Date.now();
  const hung = new Promise((resolve) => setTimeout(resolve, 8000, 'still waiting after 8 s')).then((why) => {
    throw new Error(String(why));
  });
  await assert.rejects(Promise.race([queue.heartbeat(job), hung]), /timeout/i);
  assert.ok(Date.now() - started < 5000, 'failed within the query timeout (and a connect timeout at most)');
});
