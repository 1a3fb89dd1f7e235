// Many workers on one PostgreSQL, as separate `foreman worker` processes with their own homes
// (test/support/worker-cluster.ts): jobs claimed once, a killed worker's run finished by another
// after its lease lapses, a partitioned worker fenced off, a wiped disk resumed from the store.
// Leases are 10 s (pg-boss's shortest), so a takeover takes 10-15 s.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';
import { asksForVerdict, isWriteAgent, text, toolUse, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
import { startWorkerCluster, waitFor, type ClusterWorker, type WorkerCluster } from './support/worker-cluster.ts';

const SCAN = `export const meta = { name: 'scan', description: 'Two agents per run' }
const answers = await parallel([0, 1].map((i) => () => agent('SCAN issue ' + args.issue + ' part ' + i, { label: 'scan ' + i })))
return { answers }
`;

// Six plain agents and a fix, side by side; FAN 3-5 are held by the test, so a kill lands mid-fan-out.
const FANOUT = `export const meta = { name: 'fanout', description: 'A fan-out with a fix in it' }
const [fixed, ...seen] = await parallel([
  () => fix('FIX src/greet.js: greet() drops the name', { title: 'Fix: greet() drops the name', reviewers: 1 }),
  ...[0, 1, 2, 3, 4, 5].map((i) => () => agent('FAN ' + i, { label: 'fan ' + i, readOnly: true })),
])
return { fixed: fixed && fixed.status, seen }
`;

// A change gated, then one agent the test holds: killed there, the gated change is only in the store.
const GATED = `export const meta = { name: 'gated', description: 'A change gated, then proposed' }
const c = await change('CHANGE greet to use the name', { label: 'change greet' })
const verdict = await gate(c)
if (!verdict.passed) return 'gate failed'
await agent('HOLD after the gate', { label: 'hold', readOnly: true })
const proposal = await propose(c, { title: 'Greet by name', body: 'greet() returns the name.' })
return proposal.branch
`;

const FILES = {
  'package.json': JSON.stringify({ name: 'greeter', type: 'module', scripts: { test: 'node --test' } }),
  'src/greet.js': "export const greet = (name) => 'hello '\n",
  'greet.test.js': "import { test } from 'node:test'\nimport assert from 'node:assert'\nimport { greet } from './src/greet.js'\ntest('greets', () => assert.equal(greet('ada'), 'hello ada'))\n",
  '.claude/workflows/scan.js': SCAN,
  '.claude/workflows/fanout.js': FANOUT,
  '.claude/workflows/gated.js': GATED,
};

/** The model: reviewers accept, writers fix greet(), held prompts wait for `hold.open`. */
function model(hold: { held: RegExp; open: boolean; waiting: Set<() => void> }) {
  return (req: FakeRequest): FakeReply | Promise<FakeReply> => {
    if (asksForVerdict(req)) return [toolUse('submit_result', { verdict: 'accept', reason: 'the name is returned now' })];
    const answer = (): FakeReply => [text(`answer to ${req.prompt}`)];
    if (hold.held.test(req.prompt) && !hold.open) return new Promise((resolve) => hold.waiting.add(() => resolve(answer())));
    if (/^(FIX|CHANGE)/.test(req.prompt) && isWriteAgent(req)) {
      return req.turn === 0 ? [toolUse('edit_file', { path: 'src/greet.js', old_string: "'hello '", new_string: "'hello ' + name" })] : [text('done')];
    }
    return answer();
  };
}

function holding(held: RegExp) {
  const hold = { held, open: false, waiting: new Set<() => void>() };
  return Object.assign(hold, {
    release() {
      hold.open = true;
      for (const answer of hold.waiting) answer();
      hold.waiting.clear();
    },
  });
}

let postgres: PostgresCluster;
before(async () => (postgres = await startPostgres()));
after(() => postgres?.stop());

/** The worker whose pid the registry names as the run's holder. */
async function holderOf(cluster: WorkerCluster, issue: number): Promise<ClusterWorker> {
  return waitFor(`a holder for issue #${issue}`, async () => {
    const row = (await cluster.githubRuns()).find((r) => r.issueNumber === issue && r.state === 'active');
    const pid = Number(row?.holder?.split(':')[2]);
    return cluster.workers.find((w) => w.child.pid === pid);
  });
}

const writes = <C extends { method: string }>(calls: C[]): C[] => calls.filter((c) => c.method !== 'GET');

async function claimedOnce(workers: number, runs: number): Promise<void> {
  const cluster = await startWorkerCluster({ postgres, workers, files: FILES, latencyMs: 50, handler: (req) => [text('answer to ' + req.prompt)] });
  try {
    const issues = Array.from({ length: runs }, (_, i) => i + 1);
    for (const issue of issues) await cluster.enqueueStart('scan', issue, { args: { issue } });
    const ended = await Promise.all(issues.map((issue) => cluster.waitForRunEnd(issue, 90_000)));
    assert.deepEqual(ended.map((r) => r.status), issues.map(() => 'completed'));
    const rows = await cluster.githubRuns();
    assert.equal(rows.length, runs, 'one registry entry per run');
    assert.equal(new Set(rows.map((r) => r.runId)).size, runs, 'each run id once');
    const stored = (await cluster.db.query('SELECT id, status FROM runs')).rows;
    assert.deepEqual(stored.map((r) => r.id).sort(), rows.map((r) => r.runId).sort(), 'each run once in the store');
    const jobs = await cluster.startJobs();
    assert.deepEqual(jobs.map((j) => [j.state, j.retries]), issues.map(() => ['completed', 0]), 'each start job claimed once and done');
    for (const issue of issues) for (const part of [0, 1]) assert.equal(cluster.agentsByPrompt.get(`SCAN issue ${issue} part ${part}`), 1, `agent ${part} of run ${issue} asked once`);
    const busy = cluster.workers.filter((w) => /"msg":"run \S+ completed"/.test(w.log()));
    assert.ok(busy.length >= Math.min(workers, 2), `runs were spread over the workers: ${busy.length} of ${workers} ran any`);
    assert.deepEqual(cluster.github.unexpected, []);
  } finally {
    await cluster.close();
  }
}

test('two workers: queued runs are each claimed and executed once', async () => {
  await claimedOnce(2, 4);
});

test('four workers: queued runs are each claimed and executed once', async () => {
  await claimedOnce(4, 8);
});

test('kill -9 of the worker mid-fan-out: another finishes the run after the lease lapses, asking only the unfinished agents; one pull request for the fix', async () => {
  const hold = holding(/^FAN [345]$/);
  const cluster = await startWorkerCluster({ postgres, workers: 2, files: FILES, handler: model(hold) });
  try {
    await cluster.enqueueStart('fanout', 1);
    const victim = await holderOf(cluster, 1);
    // The fix is proposed and FAN 0-2 answered; FAN 3-5 are in flight.
    await waitFor('the fix proposed and FAN 3-5 asked', () => cluster.github.openedPulls.length === 1 && hold.waiting.size === 3 && ['FAN 0', 'FAN 1', 'FAN 2'].every((p) => cluster.agentsByPrompt.get(p) === 1), 60_000);
    await new Promise((r) => setTimeout(r, 500)); // FAN 0-2's journal writes
    const before = new Map(cluster.agentsByPrompt);
    await victim.kill();
    const killedAt = Date.now();
    hold.release();
    const ended = await cluster.waitForRunEnd(1, 60_000);
    assert.equal(ended.status, 'completed');
    const survivor = cluster.workers.find((w) => w !== victim)!;
    assert.equal(Number(ended.holder?.split(':')[2]), survivor.child.pid, 'the other worker finished it');
    const askedAfter = [...cluster.agentsByPrompt].filter(([prompt, n]) => n > (before.get(prompt) ?? 0)).map(([p]) => p).sort();
    assert.deepEqual(askedAfter, ['FAN 3', 'FAN 4', 'FAN 5'], 'model calls after the kill: the unfinished agents only');
    assert.equal(cluster.github.openedPulls.length, 1, 'one pull request for the one verified fix');
    assert.deepEqual(cluster.callsBy(victim.token, killedAt), [], 'nothing from the dead worker after the kill');
    const after = writes(cluster.github.callsSince(killedAt));
    assert.ok(after.length > 0 && after.every((c) => c.token === survivor.token), 'every write after the kill is the survivor\'s');
    const summaries = Object.values(cluster.github.checkRuns).filter((c) => c.name === 'Foreman: fanout');
    assert.equal(summaries.at(-1)?.status, 'completed', JSON.stringify(summaries));
    const rows = await cluster.githubRuns();
    assert.equal(rows.length, 1, 'the run ended once');
    const jobs = await cluster.startJobs();
    assert.deepEqual(jobs.map((j) => [j.state, j.retries]), [['completed', 1]], 'claimed twice: once by each worker');
    console.log(`kill -9 to end: ${Date.now() - killedAt} ms`);
  } finally {
    hold.release();
    await cluster.close();
  }
});

test('a partitioned worker (SIGSTOP past its lease) comes back fenced: no check update, comment or pull request of its own; the run ends once with one pull request', async () => {
  const hold = holding(/^FAN [345]$/);
  const cluster = await startWorkerCluster({ postgres, workers: 2, files: FILES, handler: model(hold) });
  try {
    await cluster.enqueueStart('fanout', 1);
    const partitioned = await holderOf(cluster, 1);
    await waitFor('the fix proposed and FAN 3-5 asked', () => cluster.github.openedPulls.length === 1 && hold.waiting.size === 3, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    partitioned.pause();
    const pausedAt = Date.now();
    // Its FAN 3-5 stay unanswered while it is away; the other worker's get answers at once.
    hold.open = true;
    const survivor = cluster.workers.find((w) => w !== partitioned)!;
    const ended = await cluster.waitForRunEnd(1, 60_000);
    assert.equal(Number(ended.holder?.split(':')[2]), survivor.child.pid);
    assert.equal(ended.status, 'completed', cluster.workers.map((w) => w.log().slice(-3_000)).join('\n'));
    // The partition heals: its held answers arrive, its timers fire.
    const healedAt = Date.now();
    partitioned.resume();
    for (const answer of hold.waiting) answer();
    await partitioned.waitForLog(/lease lost/, 20_000);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual(writes(cluster.callsBy(partitioned.token, healedAt)).map((c) => `${c.method} ${c.path}`), [], 'the partitioned worker wrote nothing to GitHub after it came back');
    assert.equal(cluster.github.openedPulls.length, 1, 'one pull request');
    const rows = await cluster.githubRuns();
    assert.deepEqual(rows.map((r) => [r.state, r.status]), [['done', ended.status]], 'the run ended once, as the survivor ended it');
    assert.equal(Number(rows[0]!.holder?.split(':')[2]), survivor.child.pid, 'and is the survivor\'s');
    console.log(`pause to takeover end: ${healedAt - pausedAt} ms`);
  } finally {
    hold.release();
    await cluster.close();
  }
});

test('a worker whose disk was wiped resumes a run with a gated change and proposes it', async () => {
  const hold = holding(/^HOLD/);
  const cluster = await startWorkerCluster({ postgres, workers: 1, files: FILES, handler: model(hold) });
  try {
    await cluster.enqueueStart('gated', 1);
    const first = cluster.workers[0]!;
    await waitFor('the change gated and the next agent asked', () => hold.waiting.size === 1, 60_000);
    await first.kill();
    first.wipeHome();
    assert.equal(cluster.github.openedPulls.length, 0);
    hold.release();
    const fresh = await cluster.startWorker();
    const ended = await cluster.waitForRunEnd(1, 60_000);
    assert.equal(ended.status, 'completed');
    assert.equal(Number(ended.holder?.split(':')[2]), fresh.child.pid);
    assert.equal(cluster.agentsByPrompt.get('CHANGE greet to use the name'), 1, 'the change replays from the journal');
    assert.equal(cluster.github.openedPulls.length, 1, 'the fresh worker proposed the change');
    const pulled = cluster.github.calls.find((c) => c.method === 'POST' && c.path.endsWith('/pulls'));
    assert.equal(pulled?.token, fresh.token);
  } finally {
    hold.release();
    await cluster.close();
  }
});
