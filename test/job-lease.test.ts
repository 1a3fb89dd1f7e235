// A worker's lease on a claimed job (src/app/job-lease.ts) against the real embedded queue: it is
// renewed while held, lost once another holder claims the job again (or renewals fail for longer
// than the lease), and GitHub writes through a fenced Octokit are refused from then on. The run
// registry fences its writes by holder the same way.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { SqliteWorkQueue } from '../src/runtime/sqlite-queue.ts';
import { SqliteRunRegistry, type GitHubRunContext } from '../src/app/run-registry.ts';
import { fenceWrites, JobLease, LeaseLostError } from '../src/app/job-lease.ts';
import type { Claim, WorkQueue } from '../src/contracts/queue.ts';
import { tempDir } from './support/repo.ts';
import { eventually as until } from './support/app-process.ts';

const API = 'https://api.github.com';
const HOLDER = 'worker:here:1:1/';
const OTHER = 'worker:elsewhere:2:2/';

before(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
after(() => nock.enableNetConnect());

async function claimedJob(): Promise<{ queue: SqliteWorkQueue; job: Claim }> {
  const queue = new SqliteWorkQueue(join(tempDir(), 'foreman.db'));
  await queue.enqueue('start', 'a', {});
  const job = (await queue.claim(['start'], HOLDER))!;
  return { queue, job };
}

/** What a partition looks like from the queue: the claim lapsed and another worker claimed the job. */
async function claimedElsewhere(queue: SqliteWorkQueue): Promise<Claim> {
  await queue.releaseHolder(HOLDER);
  return (await queue.claim(['start'], OTHER))!;
}

test('a lease is renewed while held, and lost (signal, current, assertCurrent) once another holder claims the job again', async () => {
  const { queue, job } = await claimedJob();
  const lost: LeaseLostError[] = [];
  const lease = new JobLease(queue, job, { periodMs: 20, onLost: (error) => lost.push(error) });
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(lease.current(), true, 'several renewals later the lease is held');
  lease.assertCurrent();

  const theirs = await claimedElsewhere(queue);
  await until('the lease to be lost', () => !lease.current());
  assert.ok(lease.signal.aborted);
  assert.ok(lease.signal.reason instanceof LeaseLostError);
  assert.throws(() => lease.assertCurrent(), LeaseLostError);
  await assert.rejects(lease.fence(), LeaseLostError);
  assert.equal(lost.length, 1, 'told once');
  // Losing it changed nothing of the new holder's claim.
  assert.equal(await queue.heartbeat(theirs), true);
  await queue.close();
});

test('fence() asks the queue afresh, before the next renewal would have noticed', async () => {
  const { queue, job } = await claimedJob();
  const lease = new JobLease(queue, job, { periodMs: 3_600_000 });
  await lease.fence();
  await claimedElsewhere(queue);
  assert.equal(lease.current(), true, 'no renewal ran yet');
  await assert.rejects(lease.fence(), LeaseLostError);
  assert.equal(lease.current(), false);
  lease.stop();
  await queue.close();
});

test('renewals that fail for longer than the lease lose it; a queue whose claims do not expire keeps it', async () => {
  const { queue, job } = await claimedJob();
  let down = false;
  const flaky = (leaseSeconds: number | null): Pick<WorkQueue, 'heartbeat' | 'leaseSeconds'> => ({
    leaseSeconds,
    heartbeat: (claim) => (down ? Promise.reject(new Error('connection refused')) : queue.heartbeat(claim)),
  });
  const leased = new JobLease(flaky(0.2), job, { periodMs: 20 });
  const unleased = new JobLease(flaky(null), job, { periodMs: 20 });
  await new Promise((r) => setTimeout(r, 60));
  down = true;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(leased.current(), true, 'a failure shorter than the lease is ridden out');
  await until('the leased claim to be lost', () => !leased.current());
  assert.match(String(leased.signal.reason.message), /failed for longer than its 0\.2 s lease \(connection refused\)/);
  assert.equal(unleased.current(), true);
  // Writes are refused while the queue cannot vouch for the claim, with the queue's error.
  await assert.rejects(unleased.fence(), /connection refused/);
  unleased.stop();
  await queue.close();
});

test("renewals come in time for the claim's own lease when it is shorter than this process's setting", async () => {
  const { queue, job } = await claimedJob();
  // pg-boss checks a job by the lease copied onto it when it was inserted: another process's setting.
  const beats: number[] = [];
  const longLeased: Pick<WorkQueue, 'heartbeat' | 'leaseSeconds'> = { leaseSeconds: 120, heartbeat: (claim) => (beats.push(Date.now()), queue.heartbeat(claim)) };
  const lease = new JobLease(longLeased, { ...job, leaseSeconds: 0.3 });
  await new Promise((r) => setTimeout(r, 550));
  assert.ok(beats.length >= 3, `renewed every 0.1 s (a third of the claim's 0.3 s), not every 40 s: ${beats.length} renewals`);
  lease.stop();
  // And the other way round: a queue's shorter lease wins over a longer one on the claim.
  const lease2 = new JobLease({ ...longLeased, leaseSeconds: 0.3 }, { ...job, leaseSeconds: 120 });
  beats.length = 0;
  await new Promise((r) => setTimeout(r, 550));
  assert.ok(beats.length >= 3, `${beats.length} renewals`);
  lease2.stop();
  await queue.close();
});

test('a renewal the queue never answers (a connection silently dropped) counts as failed: the lease is lost once the lease has passed', async () => {
  const { queue, job } = await claimedJob();
  let hang = false;
  let asked = 0;
  const hanging: Pick<WorkQueue, 'heartbeat' | 'leaseSeconds'> = {
    leaseSeconds: 0.3,
    heartbeat: (claim) => (asked++, hang ? new Promise<boolean>(() => {}) : queue.heartbeat(claim)),
  };
  const lease = new JobLease(hanging, job);
  await new Promise((r) => setTimeout(r, 150));
  hang = true;
  const askedBefore = asked;
  await until('the lease to be lost', () => !lease.current(), 3_000);
  assert.match(String(lease.signal.reason.message), /failed for longer than its 0\.3 s lease \(the queue did not answer within 0\.1 s\)/);
  assert.equal(asked - askedBefore, 1, 'the unanswered renewal was waited on again, not sent again and again');
  await queue.close();
});

test('a fenced Octokit refuses a POST once the lease is lost; reads still go', async () => {
  const { queue, job } = await claimedJob();
  const lease = new JobLease(queue, job, { periodMs: 3_600_000 });
  const octokit = fenceWrites(new ProbotOctokit({ auth: { token: 'ghs_test' }, throttle: { enabled: false } } as any), lease);
  const comments = nock(API).post('/repos/o/r/issues/1/comments').reply(201, { id: 1 });
  await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: 'o', repo: 'r', issue_number: 1, body: 'while held' });
  assert.ok(comments.isDone(), 'written while the lease was held');

  await claimedElsewhere(queue);
  const refused = nock(API).post('/repos/o/r/issues/1/comments').reply(201, { id: 2 }).patch('/repos/o/r/check-runs/7').reply(200, {});
  await assert.rejects(octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: 'o', repo: 'r', issue_number: 1, body: 'stale' }), LeaseLostError);
  await assert.rejects(octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', { owner: 'o', repo: 'r', check_run_id: 7, status: 'completed' }), LeaseLostError);
  assert.deepEqual(refused.pendingMocks().length, 2, 'neither write reached GitHub');
  const read = nock(API).get('/repos/o/r/pulls/1').reply(200, { number: 1 });
  assert.equal((await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner: 'o', repo: 'r', pull_number: 1 })).data.number, 1);
  assert.ok(read.isDone());
  await queue.close();
});

const CONTEXT: GitHubRunContext = { installationId: 1, owner: 'o', repo: 'r', cloneUrl: 'x', defaultBranch: 'main', issueNumber: 1, isPullRequest: true, trigger: 't', author: 'a', workflow: 'w', args: null, config: {} as any };

test("the registry fences update and end by holder: a job claimed again makes its run the new holder's", async () => {
  const registry = new SqliteRunRegistry(join(tempDir(), 'foreman.db'));
  const begun = await registry.begin(CONTEXT, { key: 'a', holder: HOLDER });
  assert.ok('begun' in begun);
  const id = begun.begun.id;
  // The job's claim lapsed and another worker claimed it again: the still active run is its own now.
  const again = await registry.begin(CONTEXT, { key: 'a', holder: OTHER });
  assert.ok('again' in again, 'not busy: the same job, claimed again');
  assert.equal(again.again.id, id);

  await registry.update(id, { ...CONTEXT, trigger: 'stale' }, HOLDER);
  await registry.end(id, 'interrupted', HOLDER);
  let entry = (await registry.byId(id))!;
  assert.equal(entry.state, 'active', 'the stale holder did not end it');
  assert.equal(entry.context.trigger, 't', 'nor overwrite its context');

  await registry.update(id, { ...CONTEXT, trigger: 'theirs' }, OTHER);
  await registry.end(id, 'completed', OTHER);
  entry = (await registry.byId(id))!;
  assert.deepEqual([entry.state, entry.status, entry.context.trigger], ['done', 'completed', 'theirs']);
  await registry.close();
});

test('a resume job claimed again takes over the run its lost claim reactivated; another resume of an active run is still busy', async () => {
  const registry = new SqliteRunRegistry(join(tempDir(), 'foreman.db'));
  const begun = await registry.begin(CONTEXT, { key: 'start', holder: HOLDER });
  assert.ok('begun' in begun);
  await registry.attach(begun.begun.id, 'run-1');
  await registry.end(begun.begun.id, 'stopped', HOLDER);
  assert.ok('begun' in (await registry.reactivate('run-1', HOLDER, 'resume:run-1:a'))!);
  // That claim lapsed; another worker claimed the same resume job.
  const again = (await registry.reactivate('run-1', OTHER, 'resume:run-1:a'))!;
  assert.ok('begun' in again, 'the same job, claimed again: not busy');
  await registry.end(begun.begun.id, 'interrupted', HOLDER);
  assert.equal((await registry.byId(begun.begun.id))!.state, 'active', 'the stale holder did not end it');
  // Someone else asking to resume the active run is answered busy, as before.
  assert.ok('busy' in (await registry.reactivate('run-1', OTHER, 'resume:run-1:b'))!);
  await registry.close();
});
