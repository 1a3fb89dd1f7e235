// Shared rate limits: separate worker processes fanning out against the fake API's per-minute token
// limit pace themselves by its `anthropic-ratelimit-*` headers through the shared store, so none
// is answered 429; and a sweep gives way to an interactive run when the window runs short.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ModelClient } from '../src/agents/model-client.ts';
import { RateGovernor } from '../src/agents/governor.ts';
import { SharedRateLimiter, type Priority } from '../src/agents/shared-rate-limiter.ts';
import { SqliteStore } from '../src/runtime/sqlite-store.ts';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';
import { storeFile } from '../src/service/runs.ts';
import { DatabaseSync } from 'node:sqlite';
import { commentTrigger, isSweepTrigger, labelTrigger, releaseTrigger, scheduleTrigger } from '../src/policy/trigger.ts';
import type { FakeRateLimits } from './support/fake-rate-limits.ts';

const WORKER = new URL('./support/rate-limit-worker.ts', import.meta.url).pathname;
/** What the fake charges each request against the input-token limit. */
const INPUT_TOKENS = 1_000;

let cluster: Promise<PostgresCluster> | null = null;
after(async () => (await cluster)?.stop());

const fake = (rateLimits: FakeRateLimits): Promise<FakeAnthropic> =>
  startFakeAnthropic({ rateLimits, latencyMs: 20, record: false, handler: () => ({ blocks: [text('ok')], usage: { input_tokens: INPUT_TOKENS, output_tokens: 5 } }) });

interface WorkerReport {
  answered: number;
  firstAt: number;
  lastAt: number;
  elapsedMs: number;
  roundTrips: number;
  storeMs: number;
  waitedMs: number;
}

function worker(location: string, api: FakeAnthropic, requests: number, concurrency: number, priority: Priority): Promise<WorkerReport> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--no-warnings', WORKER, location, api.url, String(requests), String(concurrency), priority], { timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`rate-limit worker failed: ${stderr || error.message}`)) : resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as WorkerReport),
    ),
  );
}

/**
 * Four workers, 66 requests each, 8 at a time: 264,000 input tokens against a 240,000-a-minute
 * limit, so the last two dozen wait for the bucket to refill (4,000 tokens a second).
 */
async function fourWorkers(location: () => Promise<string>, engine: string): Promise<void> {
  const api = await fake({ inputTokensPerMinute: 240_000 });
  try {
    const where = await location();
    const reports = await Promise.all(Array.from({ length: 4 }, () => worker(where, api, 66, 8, 'interactive')));
    const answered = reports.reduce((sum, r) => sum + r.answered, 0);
    const roundTrips = reports.reduce((sum, r) => sum + r.roundTrips, 0);
    const storeMs = reports.reduce((sum, r) => sum + r.storeMs, 0);
    const elapsed = Math.max(...reports.map((r) => r.lastAt)) - Math.min(...reports.map((r) => r.firstAt));
    console.log(
      `${engine}: 4 workers, ${answered} requests, ${api.rateLimited} answered 429; ${(roundTrips / answered).toFixed(1)} store round trips and ${(storeMs / answered).toFixed(2)} ms of store time per request; first to last answer ${elapsed} ms`,
    );
    assert.equal(answered, 264);
    assert.equal(api.rateLimited, 0, 'no request may be answered 429 once the limits are known');
    // The fan-out was over the limit: the last requests waited for the bucket to refill.
    assert.ok(elapsed >= 3_000, `the fan-out should have been paced by the limit, it took ${elapsed} ms`);
  } finally {
    await api.close();
  }
}

test('four worker processes sharing PostgreSQL stay under a tokens-per-minute limit: 0 answered 429', async () => {
  await fourWorkers(async () => (await (cluster ??= startPostgres())).createDatabase(), 'PostgreSQL');
});

test('four worker processes sharing one SQLite file stay under a tokens-per-minute limit: 0 answered 429', async () => {
  await fourWorkers(async () => join(tempDir(), 'foreman.db'), 'SQLite');
});

test('without the shared limiter the same fan-out is answered 429: the limit binds', async () => {
  const api = await fake({ inputTokensPerMinute: 240_000 });
  try {
    const client = new ModelClient({ apiKey: 'k', baseURL: api.url, governor: new RateGovernor(32), maxAttempts: 1 });
    const signal = new AbortController().signal;
    await Promise.allSettled(Array.from({ length: 264 }, (_, n) => client.callModel({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: `request ${n}` }] }, { signal })));
    console.log(`unpaced: ${api.rateLimited} of 264 answered 429`);
    assert.ok(api.rateLimited > 0);
  } finally {
    await api.close();
  }
});

test("a sweep's requests wait while an interactive run's go first when the window is short", async () => {
  // 60 requests a minute's worth of tokens: a sweep may take 48 of them, the other 12 are the reserve.
  const api = await fake({ inputTokensPerMinute: 60 * INPUT_TOKENS });
  const store = new SqliteStore(join(tempDir(), 'foreman.db'));
  try {
    const limiters = { sweep: new SharedRateLimiter({ store, apiKey: 'k', baseURL: api.url, priority: 'sweep' }), interactive: new SharedRateLimiter({ store, apiKey: 'k', baseURL: api.url, priority: 'interactive' }) };
    const client = (priority: Priority) => new ModelClient({ apiKey: 'k', baseURL: api.url, governor: new RateGovernor(8), limiter: limiters[priority] });
    const sweepStop = new AbortController();
    const answered: string[] = [];
    const fanOut = (priority: Priority, count: number, signal: AbortSignal) => {
      const model = client(priority);
      return Array.from({ length: count }, async (_, n) => {
        // A prompt the client estimates at more than the 1,000 tokens the fake charges.
        await model.callModel({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: `${n} ${'x'.repeat(3_200)}` }] }, { signal });
        answered.push(priority);
      });
    };
    const sweep = fanOut('sweep', 60, sweepStop.signal);
    // The sweep has used its share of the window and waits; the comment's run arrives behind it.
    // (Past its cold-start probe: 30 answered.)
    while (answered.length < 30) await new Promise((resolve) => setTimeout(resolve, 20));
    let seen = -1;
    while (answered.length !== seen) {
      seen = answered.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const sweepDone = answered.length;
    await Promise.all(fanOut('interactive', 8, new AbortController().signal));
    const interactiveDone = answered.length;
    // The sweep goes on once the bucket has refilled above its floor.
    while (answered.length === interactiveDone) await new Promise((resolve) => setTimeout(resolve, 50));
    sweepStop.abort();
    await Promise.allSettled(sweep);
    console.log(`sweep answered ${sweepDone} then waited; then: ${answered.slice(sweepDone).join(', ')}; 429s: ${api.rateLimited}`);
    assert.ok(sweepDone >= 30 && sweepDone < 60, `the sweep should have been held at its share of the window, it got ${sweepDone}`);
    assert.deepEqual(answered.slice(sweepDone, sweepDone + 8), Array(8).fill('interactive'), 'every interactive request goes before the waiting sweep');
    assert.equal(answered[sweepDone + 8], 'sweep', 'the sweep goes on after them');
    assert.equal(api.rateLimited, 0);
  } finally {
    await store.close();
    await api.close();
  }
});

test('`foreman run` processes sharing a FOREMAN_HOME reserve every model request through its store, learning the limits from the headers', async () => {
  const api = await startFakeAnthropic({
    rateLimits: { requestsPerMinute: 1_000, inputTokensPerMinute: 2_000_000, outputTokensPerMinute: 1_000_000 },
    handler: (req) => [toolUse('submit_result', { echo: req.prompt.slice(0, 10) })],
  });
  try {
    const workflow = `export const meta = { name: 'fan', description: 'fan out' };
      const answers = await parallel([1, 2, 3, 4].map((n) => () => agent('echo ' + n, { schema: { type: 'object', properties: { echo: { type: 'string' } }, required: ['echo'] } })));
      return answers.length;`;
    const repo = makeRepo({ 'README.md': 'hi\n', '.claude/workflows/fan.js': workflow });
    const home = tempDir();
    const runs = await Promise.all([1, 2].map(() => runCli(['run', 'fan', '--repo', repo, '--json'], { home, baseURL: api.url })));
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const db = new DatabaseSync(storeFile(join(home, '.foreman')));
    const rows = db.prepare('SELECT key, state FROM rate_limits').all() as Array<{ key: string; state: string }>;
    db.close();
    assert.equal(rows.length, 1, 'one organisation and one model class: one row, under a hash of the key and URL, then the class');
    assert.match(rows[0]!.key, /^sha256:[0-9a-f]{64}:claude-sonnet-5$/);
    const state = JSON.parse(rows[0]!.state);
    assert.equal(state.debited.requests, api.calls, "every request of both processes was reserved in the home's store");
    assert.deepEqual([state.buckets.requests.limit, state.buckets.input.limit, state.buckets.output.limit], [1_000, 2_000_000, 1_000_000]);
    assert.equal(api.rateLimited, 0);
  } finally {
    await api.close();
  }
});

test("the App's worker runs schedules and releases as sweeps, comments and labels as interactive", () => {
  assert.equal(isSweepTrigger(scheduleTrigger('0 3 * * 1', 'main')), true);
  assert.equal(isSweepTrigger(releaseTrigger('v1.2.0', 'octocat')), true);
  assert.equal(isSweepTrigger(commentTrigger('audit', 'octocat')), false);
  assert.equal(isSweepTrigger(labelTrigger('foreman', 'octocat')), false);
});
