// The engine's rules for agent(): null on terminal errors, schema retries then a throw, ceilings.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { runScript, serviceEnv } from './support/service.ts';
import type { RunEvent } from '../src/contracts/events.ts';

/** A fake model per test, closed when it ends, so the model calls a test counts are its own. */
async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({
    handler: (req) => {
      if (req.prompt.startsWith('bad request')) return { status: 400, error: { type: 'invalid_request_error', message: 'prompt is too long' } };
      if (req.prompt.startsWith('always invalid')) return [toolUse('submit_result', { wrong: true })];
      if (req.prompt.startsWith('count')) return [toolUse('submit_result', { n: Number(req.prompt.split(' ')[1]) })];
      return { blocks: [text(`echo ${req.prompt}`)], usage: { input_tokens: 100, output_tokens: 20 } };
    },
  });
  t.after(() => fake.close());
  return fake;
}

test('agent() resolves to null when the agent dies on a terminal API error, and the run completes', async (t) => {
  const fake = await model(t);
  const out = await runScript(`const a = await agent('bad request please'); const b = await agent('fine'); return [a, b]`, serviceEnv(fake.url));
  assert.equal(out.status, 'completed', out.error ?? '');
  assert.deepEqual(out.result, [null, 'echo fine']);
  assert.equal(out.summary.phases[0].failed, 1);
});

test('schema answers are retried with the validation error, then agent() throws', async (t) => {
  const fake = await model(t);
  const before = fake.calls;
  const schema = `{ type: 'object', required: ['n'], properties: { n: { type: 'number' } } }`;
  const out = await runScript(
    `try { await agent('always invalid', { schema: ${schema} }); return 'no throw' } catch (e) { return e.message }`,
    serviceEnv(fake.url),
  );
  assert.equal(out.status, 'completed', out.error ?? '');
  assert.match(String(out.result), /gave no answer matching its schema after 5 attempts/);
  assert.equal(fake.calls - before, 5);
  const ok = await runScript(`return await agent('count 7', { schema: ${schema} })`, serviceEnv(fake.url));
  assert.deepEqual(ok.result, { n: 7 });
});

test('the token budget is a ceiling: agent() throws once it is spent, and no model call goes past it', async (t) => {
  const fake = await model(t);
  const before = fake.calls;
  // Each agent spends 20 output tokens (what the budget counts, as Claude Code's); a budget of 50
  // allows three agents to start (0, 20, 40 spent).
  const out = await runScript(
    `const got = []
     for (let i = 0; i < 10; i++) {
       try { got.push(await agent('step ' + i)) } catch (e) { return { got: got.length, error: e.message, spent: budget.spent(), remaining: budget.remaining(), total: budget.total } }
     }
     return { got: got.length }`,
    serviceEnv(fake.url),
    { budgetTokens: 50 },
  );
  // The script caught the throw and returned, yet the run did not complete: the cap ended it.
  assert.equal(out.status, 'budget-exhausted', out.error ?? '');
  const r = out.result as { got: number; error: string; spent: number; remaining: number; total: number };
  assert.equal(r.got, 3);
  assert.equal(r.spent, 60);
  assert.equal(r.remaining, 0);
  assert.equal(r.total, 50);
  // What happened, with the cap's value; the remedy is the door's (none here: the neutral one), never a CLI flag.
  assert.match(r.error, /^agent\(\) refused: the token budget is spent \(60 of 50 output tokens\): raise the cap \(limits\.budgetTokens\) and resume the run, or make the workflow smaller$/);
  assert.doesNotMatch(r.error, /--budget-tokens|foreman resume/);
  assert.equal(fake.calls - before, 3);
});

test('the USD cap stops new agents with a message that names it', async (t) => {
  const fake = await model(t);
  const out = await runScript(
    `const r = []; for (let i = 0; i < 5; i++) { try { r.push(await agent('usd ' + i)) } catch (e) { return e.message } } return 'no cap'`,
    serviceEnv(fake.url),
    { maxCostUsd: 0.0001 },
  );
  assert.match(String(out.result), /cost cap is reached \(\$0\.\d+ of \$0\.0001\): raise the cap \(limits\.maxCostUsd\) and resume the run/);
  assert.doesNotMatch(String(out.result), /--max-cost-usd/);
  assert.equal(out.status, 'budget-exhausted');
});

test("a refused agent() words its remedy as the run's door does, and the runtime names no CLI flag or command", async (t) => {
  const fake = await model(t);
  const advice = (runId: string, cap: string | null) => `DOOR(${runId.length > 0}, ${cap})`;
  const out = await runScript(
    `for (let i = 0; i < 10; i++) { try { await agent('door ' + i) } catch (e) { return e.message } } return 'no cap'`,
    serviceEnv(fake.url, [], { howToResume: advice }),
    { budgetTokens: 20 },
  );
  assert.equal(out.status, 'budget-exhausted');
  assert.equal(out.result, 'agent() refused: the token budget is spent (20 of 20 output tokens): DOOR(true, tokens), or make the workflow smaller');
  assert.match(out.error ?? '', /^the token budget is spent \(20 of 20 output tokens\): 1 agent did not run or finish; DOOR\(true, tokens\): only the agents/);
});

test('the 1,001st agent() of a run throws', async (t) => {
  const fake = await model(t);
  const events: RunEvent[] = [];
  const out = await runScript(
    `const first = await parallel(Array.from({ length: 1000 }, (_, i) => () => agent('n ' + i)))
     let error = null
     try { await agent('one too many') } catch (e) { error = e.message }
     return { ok: first.filter(Boolean).length, error }`,
    serviceEnv(fake.url, events),
    { concurrency: 32 },
  );
  assert.equal(out.status, 'budget-exhausted', out.error ?? '');
  assert.match(out.error ?? '', /a run may start at most 1000 agents: 1 agent did not run or finish; raise the cap \(limits\.agentsPerRun\) and resume the run: only the agents that did not finish run again/);
  const r = out.result as { ok: number; error: string };
  assert.equal(r.ok, 1000);
  assert.match(r.error, /agent\(\) was called 1001 times; a run may start at most 1000 agents/);
});

test('4,097 items to parallel() is an explicit error that fails the run', async (t) => {
  const fake = await model(t);
  const out = await runScript(`return await parallel(Array.from({ length: 4097 }, () => () => 1))`, serviceEnv(fake.url));
  assert.equal(out.status, 'failed');
  assert.match(out.error ?? '', /4097.*4096/);
});

test('stopping a run aborts running agents and marks it stopped and resumable', async () => {
  const controller = new AbortController();
  const slow = await startFakeAnthropic({ handler: () => [text('late')], latencyMs: 2000 });
  try {
    const events: RunEvent[] = [];
    const env = serviceEnv(slow.url, events, { signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const out = await runScript(`return await parallel([() => agent('a'), () => agent('b')])`, env);
    assert.equal(out.status, 'stopped');
    assert.match(out.error ?? '', /the run was stopped; resuming the run continues it/);
    assert.ok(Date.now() - started < 1900, 'agents were aborted, not waited for');
  } finally {
    await slow.close();
  }
});

test("an unknown agentType is a TypeError at the call; isolation: 'worktree' agents write in their own worktrees", async (t) => {
  const fake = await model(t);
  const events: RunEvent[] = [];
  const out = await runScript(
    `let unknown
     try { await agent('never sent', { agentType: 'wizard' }) } catch (e) { unknown = e.name + ': ' + e.message }
     return [unknown, ...await parallel([1, 2, 3].map((i) => () => agent('typed ' + i, { agentType: 'general-purpose', isolation: 'worktree' })))]`,
    serviceEnv(fake.url, events),
  );
  assert.match(String((out.result as string[])[0]), /^TypeError: agent\(\): agentType 'wizard' is not defined/);
  assert.deepEqual((out.result as string[]).slice(1), ['echo typed 1', 'echo typed 2', 'echo typed 3']);
  const warnings = events.filter((e) => e.type === 'warn').map((e) => (e as { message: string }).message);
  assert.equal(warnings.filter((m) => m.includes("isolation: 'worktree'")).length, 0);
  assert.equal(fake.requests.filter((r) => r.prompt === 'never sent').length, 0);
  const typed = fake.requests.filter((r) => r.prompt.startsWith('typed '));
  assert.equal(typed.length, 3);
  for (const request of typed) assert.ok(request.tools.includes('edit_file'), 'a worktree agent gets the write tools');
  // They changed nothing, so there is no candidate change to gate.
  assert.equal(events.filter((e) => e.type === 'change-made').length, 0);
});

test('no more agents run at once than the concurrency limit', async () => {
  let inFlight = 0;
  let peak = 0;
  const counting = await startFakeAnthropic({
    handler: async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight -= 1;
      return [text('ok')];
    },
  });
  try {
    const out = await runScript(`return (await parallel(Array.from({ length: 12 }, (_, i) => () => agent('c ' + i)))).length`, serviceEnv(counting.url), { concurrency: 3 });
    assert.equal(out.result, 12);
    assert.equal(peak, 3);
  } finally {
    await counting.close();
  }
});
