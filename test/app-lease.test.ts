// Leases, not pids, through the App: a signed `/workflow` comment reaches the real Probot server,
// the worker runs the workflow against the fake Messages API and a local git server, and GitHub's
// REST API is nock'd. Mid-run the worker's claim lapses (the job goes back in line and another
// worker claims it, as after a partition): the worker stops the run and writes nothing more for it
// — no check, comment or pull request, no push, no finish or release of the job, no registry end.
import { after, afterEach, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import nock from 'nock';
import { asksForVerdict, isWriteAgent, startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { API, prCommentOn, startApp, storedRun as storedRunIn, type AppHarness } from './support/github-app.ts';
import { eventually as until } from './support/app-process.ts';
import { fakeRestApi, intakeReads, pullRequest, startRemote, type ApiRecord, type Remote } from './support/github-remote.ts';
import type { Claim } from '../src/contracts/queue.ts';
import type { RunRegistry } from '../src/app/run-registry.ts';

// Two agents answer at once, two wait until the test lets them: the claim lapses while they wait.
const SLOW = `export const meta = { name: 'slow', description: 'A fan-out held half way', phases: [{ title: 'Scan' }] }
phase('Scan')
return { answers: await parallel([0, 1, 2, 3].map((i) => () => agent('SCAN ' + i, { label: 'scan ' + i }))) }
`;

// One phase: an audit the test holds, then a fix that, left alone, would push a branch and open a
// pull request. (A second phase would create its check first, and that write would find the lapse.)
const AUDIT_FIX = `export const meta = { name: 'audit-fix', description: 'Audit, then fix', phases: [{ title: 'Audit and fix' }] }
phase('Audit and fix')
const report = await agent('AUDIT the greeting code', { schema: { type: 'object', required: ['findings'], properties: { findings: { type: 'array', items: { type: 'object' } } } } })
const fixes = await parallel(report.findings.map((f) => () => fix('FIX ' + f.file + ': ' + f.title, { title: 'Fix: ' + f.title, reviewers: 1 })))
return { fixes: fixes.map((f) => f && f.status) }
`;

const FILES = {
  'package.json': JSON.stringify({ name: 'greeter', type: 'module', scripts: { test: 'node --test' } }),
  'src/greet.js': "export const greet = (name) => 'hello '\n",
  'greet.test.js': "import { test } from 'node:test'\nimport assert from 'node:assert'\nimport { greet } from './src/greet.js'\ntest('greets', () => assert.equal(greet('ada'), 'hello ada'))\n",
  '.claude/workflows/slow.js': SLOW,
  '.claude/workflows/audit-fix.js': AUDIT_FIX,
};

const OTHER_WORKER = 'worker:elsewhere:2:2/';

interface World {
  fake: FakeAnthropic;
  remote: Remote;
  h: AppHarness;
  /** Lets the held agents (SCAN 2 and 3, the audit) answer. */
  release(): void;
}

async function world(t: TestContext, leaseHeartbeatMs: number, reportIntervalMs = 0, workerRegistry?: (registry: RunRegistry) => RunRegistry): Promise<World> {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const fake = await startFakeAnthropic({
    handler: (req) => {
      if (asksForVerdict(req)) return [toolUse('submit_result', { verdict: 'accept', reason: 'the name is returned now' })];
      if (/^SCAN [23]/.test(req.prompt)) return held.then(() => [text(`answer to ${req.prompt}`)]);
      if (req.prompt.startsWith('SCAN')) return [text(`answer to ${req.prompt}`)];
      if (req.prompt.startsWith('AUDIT')) return held.then(() => [toolUse('submit_result', { findings: [{ file: 'src/greet.js', title: 'greet() drops the name' }] })]);
      if (isWriteAgent(req)) return req.turn === 0 ? [toolUse('edit_file', { path: 'src/greet.js', old_string: "'hello '", new_string: "'hello ' + name" })] : [text('done')];
      return [text('done')];
    },
  });
  const remote = await startRemote(FILES);
  const h = await startApp({ anthropicUrl: fake.url, leaseHeartbeatMs, reportIntervalMs, ...(workerRegistry ? { workerRegistry } : {}) });
  t.after(async () => {
    release();
    await h.close();
    await remote.close();
    await fake.close();
  });
  return { fake, remote, h, release };
}

before(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => nock.cleanAll());
after(() => nock.enableNetConnect());

/** Every write the App made to GitHub, by kind. */
function writes(record: ApiRecord) {
  const { checksCreated, checkUpdates, comments, commentEdits, pullsOpened } = record;
  return { checksCreated: checksCreated.length, checkUpdates: checkUpdates.length, comments: comments.length, commentEdits: commentEdits.length, pullsOpened: pullsOpened.length };
}

/** The worker's claim lapses and another worker claims the job: what a partition looks like from the queue. */
async function lapse(w: World): Promise<Claim> {
  // Back to back, so this worker's own claim loop cannot take the job in between.
  await w.h.queue.releaseHolder('test-worker/');
  const theirs = await w.h.queue.claim(['start'], OTHER_WORKER);
  assert.ok(theirs, 'the job was claimed again');
  return theirs;
}

const leaseLost = (w: World) => w.h.problems.filter((p) => /^lease lost/.test(p.msg ?? ''));

/** When the start job's claim was last made or renewed, read from the queue's table. */
function claimedAt(w: World): string {
  const db = new DatabaseSync(join(w.h.home, 'foreman.db'), { readOnly: true });
  try {
    return String((db.prepare(`SELECT claimed_at FROM jobs WHERE kind = 'start'`).get() as { claimed_at: string }).claimed_at);
  } finally {
    db.close();
  }
}

const storedRun = (w: World, runId: string) => storedRunIn(w.h.home, runId);

/**
 * Asks for `/workflow <workflow>` on pull request #1 and waits until the run has its progress
 * comment and checks on GitHub and `waiting` holds (its held agents asked).
 */
async function startedRun(w: World, workflow: string, commentId: number, waiting: () => boolean) {
  const github = fakeRestApi(API);
  intakeReads(API, 'Codertocat', 'write');
  pullRequest(API, w.remote);
  assert.equal((await w.h.deliver('issue_comment', prCommentOn(w.remote.cloneUrl, `/workflow ${workflow}`, commentId))).status, 200);
  const entry = await until(
    'the run reported on GitHub, its held agents asked',
    async () => {
      const latest = await w.h.registry.latest('Codertocat/Hello-World', 1);
      return latest?.runId && github.record.comments.length === 1 && github.record.checksCreated.length > 0 && waiting() ? latest : null;
    },
    30_000,
  );
  return { github, entry, runId: entry.runId! };
}

const scansAsked = (w: World) => () => w.fake.requests.filter((r) => r.prompt.startsWith('SCAN')).length === 4;

test('a worker whose claim lapses mid-run stops the run and writes nothing more: no check, comment or pull request, no finish or release', async (t) => {
  const w = await world(t, 50);
  const { github, entry, runId } = await startedRun(w, 'slow', 9301, scansAsked(w));
  const before = writes(github.record);

  const theirs = await lapse(w);
  await until('the worker to find its lease lost', async () => leaseLost(w).length === 1, 10_000);
  await until('the run to stop', async () => (await storedRun(w, runId)).status === 'stopped', 10_000);
  // The held agents may answer now: nothing of this worker's may follow.
  w.release();
  await w.h.worker!.stop();
  github.stop();

  assert.deepEqual(writes(github.record), before, 'no GitHub write after the claim lapsed');
  assert.ok(!github.record.commentEdits.some((e) => /⏸️ paused|⏹️ stopped|✅ completed/.test(e.body)), 'no paused, stopped or finished report');
  assert.deepEqual(github.record.unexpected, []);
  // The job is the other worker's, untouched: neither finished nor released by this one.
  assert.deepEqual(await w.h.queue.counts('start'), { claimed: 1 });
  assert.equal(await w.h.queue.heartbeat(theirs), true, "the other worker's claim still holds");
  // The registry entry was not ended: the other worker carries the run on.
  assert.equal((await w.h.registry.byId(entry.id))!.state, 'active');
  // What the worker logged: the lost lease, and report updates (the stopping agents') it refused.
  assert.equal(leaseLost(w).length, 1);
  for (const problem of w.h.problems.filter((p) => !leaseLost(w).includes(p))) {
    assert.match(problem.msg ?? '', /^GitHub report: /);
    assert.equal((problem.obj as { err?: Error }).err?.name, 'LeaseLostError');
  }
});

test('a lapse the renewals have not noticed yet: the push of a fix is checked afresh, so no branch or pull request gets through', async (t) => {
  // Renewals far apart, and report updates too (after the first ones): only the fence on the
  // proposal's push can find the claim lapsed.
  const w = await world(t, 3_600_000, 3_600_000);
  const { github, entry, runId } = await startedRun(w, 'audit-fix', 9302, () => w.fake.requests.some((r) => r.prompt.startsWith('AUDIT')));
  const before = writes(github.record);

  const theirs = await lapse(w);
  // The run goes on (nothing told it), to the fix a reviewer accepts and the proposal of it.
  w.release();
  await until('the fix to be reviewed', async () => w.fake.requests.some((r) => asksForVerdict(r)), 30_000);
  await until('the run to end', async () => !['running', 'created'].includes((await storedRun(w, runId)).status), 30_000);
  await w.h.worker!.stop();
  github.stop();

  assert.deepEqual(writes(github.record), before, 'no GitHub write after the claim lapsed');
  assert.deepEqual(github.record.unexpected, []);
  const branches = execFileSync('git', ['--git-dir', w.remote.bare, 'for-each-ref', '--format=%(refname)', 'refs/heads'], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(branches.sort(), ['refs/heads/feature', 'refs/heads/main'], 'no fix branch was pushed');
  // The reviewer accepted the fix; the push that would have proposed it found the claim gone, so
  // the lease was lost there (no report write came first) and the run stopped, to be resumed.
  assert.equal((await storedRun(w, runId)).status, 'stopped');
  assert.deepEqual(w.h.problems.map((p) => p.msg), ["lease lost: the job is another worker's now, this one stops it and writes nothing more for it"]);
  assert.deepEqual(await w.h.queue.counts('start'), { claimed: 1 });
  assert.equal(await w.h.queue.heartbeat(theirs), true);
  assert.equal((await w.h.registry.byId(entry.id))!.state, 'active');
});

test('a healthy run keeps its lease across many renewals and finishes its job', async (t) => {
  const w = await world(t, 50);
  const { github } = await startedRun(w, 'slow', 9303, scansAsked(w));
  const first = claimedAt(w);
  // Ten renewal periods and more.
  await new Promise((r) => setTimeout(r, 600));
  assert.ok(claimedAt(w) > first, 'the claim was renewed');
  w.release();
  const done = await until('the run to complete', async () => {
    const latest = await w.h.registry.latest('Codertocat/Hello-World', 1);
    return latest?.state === 'done' ? latest : null;
  }, 30_000);
  github.stop();
  assert.equal(done.status, 'completed');
  assert.match(github.record.commentEdits.at(-1)!.body, /✅ completed/);
  assert.deepEqual(await w.h.queue.counts('start'), { done: 1 });
  assert.deepEqual(w.h.problems, []);
  assert.deepEqual(github.record.unexpected, []);
});

/** The registry as the worker sees it, its attach() replaced by `attach` (which may call the real one). */
function withAttach(attach: (real: RunRegistry['attach'], id: number, runId: string) => Promise<void>) {
  return (registry: RunRegistry): RunRegistry =>
    new Proxy(registry, {
      get(target, name) {
        if (name === 'attach') return (id: number, runId: string) => attach(target.attach.bind(target), id, runId);
        const value = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
}

test("the run's id is recorded before any agent runs, so a worker taking the job over resumes that run rather than starting another", async (t) => {
  let agentsBeforeAttached: number | null = null;
  let fake: { requests: unknown[] } | null = null;
  const w = await world(t, 50, 0, withAttach(async (attach, id, runId) => {
    // A slow database: the write takes half a second.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await attach(id, runId);
    agentsBeforeAttached = fake!.requests.length;
  }));
  fake = w.fake;
  const { entry, runId } = await startedRun(w, 'slow', 9310, scansAsked(w));
  assert.equal(agentsBeforeAttached, 0, 'no model call before the run id was stored');
  assert.equal((await w.h.registry.byId(entry.id))!.runId, runId);
  w.release();
  await until('the run to finish', async () => (await w.h.registry.byId(entry.id))!.state === 'done', 30_000);
});

test('a registry write that fails while the run starts does not kill the worker: the run does not start, and no agent is asked', async (t) => {
  const w = await world(t, 50, 0, withAttach(async () => {
    throw new Error('connection terminated unexpectedly');
  }));
  fakeRestApi(API);
  intakeReads(API, 'Codertocat', 'write');
  pullRequest(API, w.remote);
  assert.equal((await w.h.deliver('issue_comment', prCommentOn(w.remote.cloneUrl, '/workflow slow', 9311))).status, 200);
  const entry = await until('the run to end', async () => {
    const latest = await w.h.registry.latest('Codertocat/Hello-World', 1);
    return latest?.state === 'done' ? latest : null;
  }, 30_000);
  assert.equal(entry.status, 'failed');
  assert.equal(entry.runId, null);
  assert.equal(w.fake.requests.length, 0, 'no agent ran for a run nobody could take over');
  assert.ok(w.h.problems.some((p) => p.msg === 'run did not start'), JSON.stringify(w.h.problems.map((p) => p.msg)));
});
