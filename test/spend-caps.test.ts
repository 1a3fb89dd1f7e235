// Issue #16 item 5: spend caps that hold across runs. The service core with the real sandbox,
// store, git and SDK against the fake Messages API, on the embedded SQLite store and on
// PostgreSQL: a second run that would cross the repository's daily cap stops before the agent
// that would, saying which cap, what is spent and when it resets; the next UTC day (a moved
// clock) its resume finishes it.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Octokit } from '@octokit/core';
import { startFakeAnthropic, text, type FakeAnthropic } from './support/fake-anthropic.ts';
import { startFakeGitHubApi } from './support/fake-github-api.ts';
import { realpathSync } from 'node:fs';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';
import { serviceEnv } from './support/service.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';
import { resumeRun, startRun, type ServiceEnv } from '../src/service/runs.ts';
import { SqliteStore } from '../src/runtime/sqlite-store.ts';
import { PostgresStore } from '../src/runtime/postgres-store.ts';
import { GitHubRunReport } from '../src/github/run-report.ts';
import { configSchema, type ForemanConfig } from '../src/config/schema.ts';
import type { RunEvent } from '../src/contracts/events.ts';
import type { Store } from '../src/runtime/store.ts';

// 120 tokens an agent (100 in, 20 out) at $10,000 per million: $1.20 an agent, 20 output tokens.
const PRICED = { input: 10_000, output: 10_000, cacheRead: 0, cacheWrite: 0 };
const config = (day: { usd?: number; tokens?: number }): ForemanConfig => ({
  models: { default: 'test-model', prices: { 'test-model': PRICED } },
  limits: { spend: { repository: { day } } },
});

async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: (req) => ({ blocks: [text(`done ${req.prompt}`)], usage: { input_tokens: 100, output_tokens: 20 } }) });
  t.after(() => fake.close());
  return fake;
}

const WORKFLOWS = {
  '.claude/workflows/one.js': `export const meta = { name: 'one', description: 'one agent' }\nreturn await agent('first of one')`,
  '.claude/workflows/two.js': `export const meta = { name: 'two', description: 'two agents' }\nconst a = await agent('first of two')\nconst b = await agent('second of two')\nreturn [a, b]`,
};

/** A clock the test moves: 2026-12-01, noon UTC. */
function testClock(): { now: () => Date; set(iso: string): void } {
  let at = new Date('2026-12-01T12:00:00Z');
  return { now: () => at, set: (iso) => (at = new Date(iso)) };
}

let cluster: Promise<PostgresCluster> | null = null;
after(async () => (await cluster)?.stop());

const engines: Array<{ name: string; store: () => Promise<Store | undefined> }> = [
  { name: 'SQLite', store: async () => undefined },
  { name: 'PostgreSQL', store: async () => PostgresStore.open(await (await (cluster ??= startPostgres())).createDatabase()) },
];

for (const engine of engines) {
  describe(`spend caps on ${engine.name}`, () => {
    test("a second run that would cross the repository's daily cap stops before that agent, says which cap, what is spent and when it resets; the next day its resume finishes it", async (t) => {
      const fake = await model(t);
      const repo = makeRepo(WORKFLOWS);
      const clock = testClock();
      const events: RunEvent[] = [];
      const given = await engine.store();
      const env: ServiceEnv = serviceEnv(fake.url, events, { clock: clock.now, config: config({ usd: 3 }), ...(given ? { store: given } : {}) });
      const store = given ?? new SqliteStore(`${env.home}/foreman.db`);
      t.after(() => store.close());

      const first = await startRun({ ref: 'one', args: null, repoDir: repo, base: 'HEAD' }, env);
      assert.equal(first.status, 'completed', first.error ?? '');
      const calls = fake.requests.length;

      // $1.20 spent; the first agent brings it to $2.40; the second would make $3.60 of $3.00.
      const second = await startRun({ ref: 'two', args: null, repoDir: repo, base: 'HEAD' }, env);
      assert.equal(second.status, 'budget-exhausted', second.error ?? '');
      assert.deepEqual(fake.requests.slice(calls).map((r) => r.prompt), ['first of two'], 'the agent that would cross the cap never reached the model');
      const scope = `repository:${repo}`;
      const reason = `the repository's daily USD cap of $3.00 (${scope}) would be crossed by the next agent (up to $1.20, as much as the largest so far): $2.40 spent today (UTC); it resets at 2026-12-02T00:00:00.000Z`;
      assert.ok(second.error?.startsWith(`${reason}: 1 agent did not run or finish; raise the cap (limits.spend) and resume the run`), second.error ?? '');
      const refused = events.filter((e) => e.type === 'agent-refused');
      assert.deepEqual(refused, [{ type: 'agent-refused', phase: 'Run', label: 'second of two', cap: 'spend', reason }]);
      const day = await store.readSpend([{ scope, period: 'day:2026-12-01' }]);
      assert.deepEqual(day[0], { usd: 2.4, tokens: 40, agents: 2, largestUsd: 1.2, largestTokens: 20 });

      // Still the same day: the resume stops at the same cap, at no cost.
      const again = await resumeRun(second.runId, env);
      assert.equal(again.status, 'budget-exhausted');
      assert.equal(fake.requests.length, calls + 1);

      clock.set('2026-12-02T00:00:01Z');
      const resumed = await resumeRun(second.runId, env);
      assert.equal(resumed.status, 'completed', resumed.error ?? '');
      assert.deepEqual(resumed.result, ['done first of two', 'done second of two']);
      assert.deepEqual(fake.requests.slice(calls + 1).map((r) => r.prompt), ['second of two'], 'only the refused agent ran, on the new day');
      const spent = await store.readSpend([
        { scope, period: 'day:2026-12-02' },
        { scope, period: 'month:2026-12' },
      ]);
      assert.deepEqual(spent.map((s) => [Number(s.usd.toFixed(9)), s.agents]), [
        [1.2, 1],
        [3.6, 3],
      ]);
      // The run keeps its scopes and caps for its resumes.
      assert.deepEqual((await store.getRun(second.runId))?.options.spend, [{ kind: 'repository', id: repo, day: { usd: 3 } }]);
    });
  });
}

test("on GitHub the summary check and comment of a run a spend cap ended say which cap, what is spent and when it resets", async (t) => {
  const fake = await model(t);
  const api = await startFakeGitHubApi('o', 'r');
  t.after(() => api.close());
  const repo = makeRepo(WORKFLOWS);
  const report = new GitHubRunReport(
    { octokit: new Octokit({ baseUrl: api.url }), owner: 'o', repo: 'r', headSha: 'a'.repeat(40), issueNumber: 7, progressCommentId: null, workflow: 'two', trigger: 'a test', version: '0' },
    { intervalMs: 0 },
  );
  const clock = testClock();
  const env = serviceEnv(fake.url, [], { clock: clock.now, config: config({ tokens: 30 }), spendScopes: { repository: 'o/r', installation: '7' } });
  assert.equal((await startRun({ ref: 'one', args: null, repoDir: repo, base: 'HEAD' }, env)).status, 'completed');
  const outcome = await startRun({ ref: 'two', args: null, repoDir: repo, base: 'HEAD' }, { ...env, listener: report.listener, onRunId: (id) => void report.started(id) });
  await report.finish(outcome);
  assert.equal(outcome.status, 'budget-exhausted');
  const summary = api.calls.filter((c) => c.method === 'PATCH' && c.path.startsWith('/repos/o/r/check-runs/') && c.body.conclusion).at(-1)!.body;
  assert.equal(summary.conclusion, 'action_required');
  const comment = api.calls.filter((c) => c.method === 'PATCH' && c.path.startsWith('/repos/o/r/issues/comments/')).at(-1)!.body.body as string;
  const reason = "the repository's daily output-token cap of 30 tokens (repository:o/r) would be crossed by the next agent (up to 20 tokens, as much as the largest so far): 20 tokens spent today (UTC); it resets at 2026-12-02T00:00:00.000Z";
  for (const text of [comment, JSON.stringify(summary.output)]) assert.ok(text.includes(reason), text);
  assert.deepEqual(api.unexpected, []);
});

test('limits.spend: a cap without usd or tokens, or a negative one, is a config error naming the key and the fix', () => {
  const empty = configSchema.safeParse({ limits: { spend: { repository: { day: {} } } } });
  assert.equal(empty.success, false);
  assert.match(JSON.stringify(empty.error!.issues), /a spend cap needs usd, tokens or both, e.g. \{ usd: 20 \}/);
  assert.deepEqual(empty.error!.issues[0]!.path, ['limits', 'spend', 'repository', 'day']);
  const negative = configSchema.safeParse({ limits: { spend: { installation: { month: { usd: -1 } } } } });
  assert.equal(negative.success, false);
  assert.deepEqual(negative.error!.issues[0]!.path, ['limits', 'spend', 'installation', 'month', 'usd']);
  const weekly = configSchema.safeParse({ limits: { spend: { repository: { week: { usd: 1 } } } } });
  assert.equal(weekly.success, false);
  assert.equal(configSchema.safeParse({ limits: { spend: { repository: { day: { usd: 20, tokens: 2_000_000 }, month: { usd: 300 } }, installation: { month: { tokens: 1 } } } } }).success, true);
});

test("the CLI: a run that would cross the repository's daily cap (.github/foreman.yml) exits 3 and prints which cap, what is spent, when it resets and how to resume", async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    ...WORKFLOWS,
    '.github/foreman.yml': 'models:\n  default: test-model\nlimits:\n  spend:\n    repository:\n      day: { tokens: 30 }\n',
  });
  const env = { home: tempDir(), baseURL: fake.url };
  assert.equal((await runCli(['run', 'one', '--repo', repo], env)).code, 0);
  const calls = fake.requests.length;
  const res = await runCli(['run', 'two', '--repo', repo], env);
  assert.equal(res.code, 3, res.stderr);
  assert.equal(fake.requests.length, calls, 'the first agent would already cross the cap: 20 spent, and up to 20 more');
  const runId = /^run (\S+)$/m.exec(res.stderr)![1];
  const now = new Date();
  const resets = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
  assert.ok(
    res.stderr.includes(
      `the repository's daily output-token cap of 30 tokens (repository:${realpathSync(repo)}) would be crossed by the next agent (up to 20 tokens, as much as the largest so far): 20 tokens spent today (UTC); it resets at ${resets}: 1 agent did not run or finish; \`foreman resume ${runId}\` continues it once the cap resets, or at once after raising it (config limits.spend)`,
    ),
    res.stderr,
  );
});
