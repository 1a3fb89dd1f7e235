// Issue #11 item 5: a run a cap refused agents in is not a success. The real `foreman` bin, a real
// repository, the fake Messages API: the run ends budget-exhausted (exit 3) with one summary line,
// each refusal is printed once, and `resume` with a raised cap pays only for the agents not done.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Octokit } from '@octokit/core';
import { asksForVerdict, startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { startFakeGitHubApi } from './support/fake-github-api.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';
import { runScript, serviceEnv } from './support/service.ts';
import { GitHubRunReport } from '../src/github/run-report.ts';
import type { RunEvent } from '../src/contracts/events.ts';

// 120 tokens an agent (100 in, 20 out). For fix(): the write agent documents add(), reviewers accept.
// A fake model per test, closed when it ends, so counts of model calls are the test's own.
async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({
    handler: (req) => {
      if (req.prompt.includes('MARK-fix')) {
        if (asksForVerdict(req)) return [toolUse('submit_result', { verdict: 'accept', reason: 'looks right' })];
        if (req.turn === 0) return [toolUse('edit_file', { path: 'src/math.js', old_string: 'export function add', new_string: '// Adds two numbers.\nexport function add' })];
        return [text('made the edit')];
      }
      return { blocks: [text(`done ${req.prompt}`)], usage: { input_tokens: 100, output_tokens: 20 } };
    },
  });
  t.after(() => fake.close());
  return fake;
}

// Fifty agents the script fans out and whose refusals it swallows (parallel gives null): the
// case where a run used to end "completed".
const FAN_OUT = `export const meta = { name: 'fan', description: 'fifty agents' }
const results = await parallel(Array.from({ length: 50 }, (_, i) => () => agent('item ' + i, { label: 'item ' + i })))
return { done: results.filter((r) => r !== null).length }
`;

function setup(fake: FakeAnthropic): { repo: string; env: { home: string; baseURL: string } } {
  return { repo: makeRepo({ '.claude/workflows/fan.js': FAN_OUT, 'README.md': 'x\n' }), env: { home: tempDir(), baseURL: fake.url } };
}

const callsFor = (fake: FakeAnthropic, from: number): string[] => fake.requests.slice(from).map((r) => r.prompt.match(/item \d+/)?.[0] ?? r.prompt);

test('a run whose token budget refuses agents ends budget-exhausted, exit 3, one summary line, each refusal printed once', async (t) => {
  const fake = await model(t);
  const { repo, env } = setup(fake);
  const before = fake.requests.length;
  // Concurrency 1: agents run one after another, so exactly 5 × 20 = 100 output tokens (what the
  // budget counts, as Claude Code's does) reach the budget.
  const res = await runCli(['run', 'fan', '--repo', repo, '--concurrency', '1', '--budget-tokens', '100'], env);

  assert.equal(res.code, 3, res.stderr);
  assert.equal(fake.requests.length - before, 5, 'no model call after the budget was spent');
  const lines = res.stderr.trim().split('\n');
  const runId = /^run (\S+)$/.exec(lines[0])![1];
  const refusals = lines.filter((l) => l.startsWith('agent refused '));
  assert.equal(refusals.length, 45, res.stderr);
  for (const i of [5, 49]) assert.equal(lines.filter((l) => l.includes(`item ${i}`)).length, 1, `item ${i} is printed once:\n${res.stderr}`);
  assert.match(refusals[0], /^agent refused \[Run\] item 5: the token budget is spent$/);
  assert.doesNotMatch(res.stderr, /parallel\(\): item/, 'parallel() does not print the refusals again');
  assert.doesNotMatch(res.stderr, /completed/);
  const summaries = lines.filter((l) => l.startsWith('budget-exhausted: '));
  assert.deepEqual(summaries.length, 1, res.stderr);
  assert.match(summaries[0], /^budget-exhausted: 5 agents, 45 refused, 600 tokens, /);
  // The reason and the way out, once.
  const reasons = lines.filter((l) => l.includes('the token budget is spent (100 of 100 output tokens)'));
  assert.equal(reasons.length, 1, res.stderr);
  assert.match(reasons[0], new RegExp(`45 agents did not run or finish; \`foreman resume ${runId} --budget-tokens N\` continues it with a raised cap \\(config limits\\.budgetTokens\\): only the agents that did not finish run again`));
  assert.equal(res.stdout, '', 'no result is printed as if the run had completed');

  const runs = await runCli(['runs', '--json'], env);
  assert.equal(JSON.parse(runs.stdout)[0].status, 'budget-exhausted');
  const listed = await runCli(['runs'], env);
  assert.match(listed.stdout, new RegExp(`^${runId}  budget-exhausted  fan  `, 'm'));
  const shown = await runCli(['show', runId], env);
  assert.match(shown.stdout, new RegExp(`^run ${runId}  fan  budget-exhausted$`, 'm'));
});

test('--json reports status budget-exhausted with the same exit code', async (t) => {
  const fake = await model(t);
  const { repo, env } = setup(fake);
  const res = await runCli(['run', 'fan', '--repo', repo, '--concurrency', '1', '--budget-tokens', '40', '--json'], env);
  assert.equal(res.code, 3, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.status, 'budget-exhausted');
  assert.deepEqual(out.result, { done: 2 });
  assert.match(out.error, /the token budget is spent \(40 of 40 output tokens\): 48 agents did not run or finish/);
});

test('resume takes a raised --budget-tokens, stores it, and pays only for the agents that did not finish', async (t) => {
  const fake = await model(t);
  const { repo, env } = setup(fake);
  const first = await runCli(['run', 'fan', '--repo', repo, '--concurrency', '1', '--budget-tokens', '100'], env);
  assert.equal(first.code, 3, first.stderr);
  const runId = /^run (\S+)$/m.exec(first.stderr)![1];

  const before = fake.requests.length;
  const resumed = await runCli(['resume', runId, '--budget-tokens', '100000', '--json'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  const out = JSON.parse(resumed.stdout);
  assert.equal(out.status, 'completed');
  assert.deepEqual(out.result, { done: 50 });
  const called = callsFor(fake, before);
  assert.equal(called.length, 45, 'the five finished agents are replayed, not called again');
  assert.ok(!called.includes('item 0') && called.includes('item 5') && called.includes('item 49'));
  // What the whole run cost stays within the new cap: replayed agents count, at no new cost.
  assert.equal(out.usage.input + out.usage.output, 50 * 120);

  // The raised cap was stored with the run: a further resume keeps it and replays everything.
  const again = await runCli(['resume', runId, '--json'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).status, 'completed');
  assert.equal(fake.requests.length, before + 45);
});

test('resume without a raised cap stops at the same cap again, at no cost; the USD cap and agent cap resume the same way', async (t) => {
  const fake = await model(t);
  const { repo, env } = setup(fake);
  const first = await runCli(['run', 'fan', '--repo', repo, '--concurrency', '1', '--max-cost-usd', '0.001', '--max-agents', '10', '--json'], env);
  assert.equal(first.code, 3, first.stderr);
  const runId = JSON.parse(first.stdout).runId;
  assert.match(JSON.parse(first.stdout).error, /the cost cap is reached .*--max-cost-usd X/);

  const before = fake.requests.length;
  const same = await runCli(['resume', runId, '--json'], env);
  assert.equal(same.code, 3, same.stderr);
  assert.equal(fake.requests.length, before, 'the old cap is kept: nothing new is paid for');

  const raisedUsd = await runCli(['resume', runId, '--max-cost-usd', '5', '--json'], env);
  assert.equal(raisedUsd.code, 3, raisedUsd.stderr);
  assert.match(JSON.parse(raisedUsd.stdout).error, /a run may start at most 10 agents: 40 agents did not run or finish; .*--max-agents N/);

  const raisedAgents = await runCli(['resume', runId, '--max-agents', '50', '--json'], env);
  assert.equal(raisedAgents.code, 0, raisedAgents.stderr);
  assert.deepEqual(JSON.parse(raisedAgents.stdout).result, { done: 50 });
  assert.equal(fake.requests.length - before, 50 - JSON.parse(first.stdout).agents);
});

test('resume rejects a cap that is not a positive number, naming the flag', async (t) => {
  const fake = await model(t);
  const { env } = setup(fake);
  const res = await runCli(['resume', '20260101-000000-abcd', '--budget-tokens', 'lots'], env);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--budget-tokens must be a positive integer, got 'lots'/);
});

test('on GitHub a run the USD cap ended is not a success: action_required checks and a comment that does not say completed', async (t) => {
  const fake = await model(t);
  const api = await startFakeGitHubApi('o', 'r');
  try {
    const report = new GitHubRunReport(
      { octokit: new Octokit({ baseUrl: api.url }), owner: 'o', repo: 'r', headSha: 'a'.repeat(40), issueNumber: 7, progressCommentId: null, workflow: 'fan', trigger: 'a test', version: '0' },
      { intervalMs: 0 },
    );
    const env = serviceEnv(fake.url, [], { listener: report.listener, onRunId: (id) => void report.started(id) });
    const outcome = await runScript(
      `phase('Scan')
       const r = await parallel(Array.from({ length: 6 }, (_, i) => () => agent('usd ' + i)))
       return { done: r.filter(Boolean).length }`,
      env,
      { maxCostUsd: 0.0001, concurrency: 1 },
    );
    await report.finish(outcome);
    assert.equal(outcome.status, 'budget-exhausted');
    assert.deepEqual(outcome.result, { done: 1 });

    const concluded = api.calls.filter((c) => c.method === 'PATCH' && c.path.startsWith('/repos/o/r/check-runs/') && c.body.conclusion).map((c) => c.body);
    assert.equal(concluded.length, 2, 'the phase check and the summary check');
    const finalOf = (name: string) => concluded.find((body) => (name === 'summary') !== body.output.summary.startsWith('Phase **Scan**'));
    const summary = finalOf('summary');
    assert.equal(summary.conclusion, 'action_required');
    assert.match(summary.output.title, /^budget-exhausted · 1 agent · /);
    assert.deepEqual(summary.actions.map((a: { identifier: string }) => a.identifier), ['resume']);
    const scan = finalOf('Scan');
    assert.equal(scan.conclusion, 'action_required');
    assert.match(scan.output.title, /^1 agent done, 5 refused/);

    const comment = api.calls.filter((c) => c.method === 'PATCH' && c.path.startsWith('/repos/o/r/issues/comments/')).at(-1)!.body.body as string;
    assert.match(comment, /^### Foreman · `fan` · ⚠️ budget exhausted/);
    assert.doesNotMatch(comment, /✅|completed/);
    assert.match(comment, /\*\*budget-exhausted\*\* · 5 agents refused · /);
    assert.match(comment, /the cost cap is reached .*5 agents did not run or finish/);
    assert.deepEqual(api.unexpected, []);
  } finally {
    await api.close();
  }
});

test('fix() whose reviewer the agent cap refused keeps its change (not refuted), and the resume with a raised cap proposes it', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    'package.json': JSON.stringify({ name: 'fixture', type: 'module', scripts: { test: 'node --test' } }),
    'src/math.js': 'export function add(a, b) {\n  return a + b\n}\n',
    'math.test.js': `import { test } from 'node:test'\nimport assert from 'node:assert/strict'\nimport { add } from './src/math.js'\ntest('add', () => assert.equal(add(2, 3), 5))\n`,
    '.claude/workflows/fixit.js': `export const meta = { name: 'fixit', description: 'one fix' }\nreturn await fix('MARK-fix: document add()', { label: 'document add' })\n`,
  });
  const env = { home: tempDir(), baseURL: fake.url };
  // The write agent and one reviewer fit under the cap; the second reviewer does not.
  const capped = await runCli(['run', 'fixit', '--repo', repo, '--max-agents', '2', '--json'], env);
  assert.equal(capped.code, 3, capped.stderr);
  const first = JSON.parse(capped.stdout);
  assert.equal(first.status, 'budget-exhausted');
  assert.equal(first.result.status, 'failed');
  assert.match(first.result.error, /agent\(\) refused: agent\(\) was called 3 times; a run may start at most 2 agents/);
  assert.doesNotMatch(capped.stderr, /discarded/);
  assert.equal(gitIn(repo, 'for-each-ref', `refs/foreman/${first.runId}/`).trim().split('\n').length, 1, 'the change is kept for the resume');

  const resumed = await runCli(['resume', first.runId, '--max-agents', '10', '--json'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  const out = JSON.parse(resumed.stdout);
  assert.equal(out.result.status, 'proposed');
  assert.match(gitIn(repo, 'show', `${out.result.pr.branch}:src/math.js`), /^\/\/ Adds two numbers\./);
});

test('pipeline() refusals are reported once, as agent-refused events, and a script that patches WeakSet changes nothing', async (t) => {
  const fake = await model(t);
  const events: RunEvent[] = [];
  const out = await runScript(
    `WeakSet.prototype.has = () => false
     const r = await pipeline(['a', 'b', 'c', 'd'], (x) => agent('pipe ' + x), (y) => y.length)
     try { await agent('after') } catch (e) { log('caught: ' + e.message) }
     return r`,
    serviceEnv(fake.url, events),
    { budgetTokens: 40, concurrency: 1 },
  );
  assert.equal(out.status, 'budget-exhausted');
  assert.deepEqual(out.result, [11, 11, null, null]);
  const refused = events.filter((e) => e.type === 'agent-refused');
  assert.deepEqual(refused.map((e) => e.type === 'agent-refused' && [e.label, e.cap]), [['pipe c', 'tokens'], ['pipe d', 'tokens'], ['after', 'tokens']]);
  assert.deepEqual(events.filter((e) => e.type === 'warn'), [], 'no second report of a refusal');
  assert.ok(events.some((e) => e.type === 'log' && /caught: agent\(\) refused: the token budget is spent \(40 of 40 output tokens\): raise the cap \(limits\.budgetTokens\) and resume the run/.test(e.message)));
  assert.equal(out.summary.refused, 3);
});
