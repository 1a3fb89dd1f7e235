// Generation against the fake Messages API through the real SDK, and the plan read from scripts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startFakeAnthropic, text, toolUse, type FakeReply } from './support/fake-anthropic.ts';
import {
  AUTHORING_REFERENCE_VERSION,
  authoringReference,
  GenerationApiError,
  GenerationFailedError,
  generateWorkflow,
  looksLikeFreeText,
  SUBMIT_WORKFLOW_TOOL,
} from '../src/workflows/generate.ts';
import { agentEstimate, formatPlan, planWorkflow } from '../src/workflows/plan.ts';
import { validateScript } from '../src/workflows/validate.ts';

const META = `export const meta = { name: 'x', description: 'test script' }\n`;
const plan = (body: string, meta = META) => planWorkflow(validateScript(meta + body, 'x.js'));

// ---- the authoring reference ----------------------------------------------------------------

test('the authoring reference carries the exported version on its first line', () => {
  const file = readFileSync(new URL('../src/workflows/authoring-reference.md', import.meta.url), 'utf8');
  assert.equal(file.split('\n')[0], `Authoring reference ${AUTHORING_REFERENCE_VERSION}`);
  assert.equal(authoringReference(), file);
  for (const global of ['agent(', 'parallel(', 'pipeline(', 'phase(', 'log(', 'args', 'budget', 'workflow(', 'change(', 'gate(', 'propose(', 'discard(', 'fix(']) {
    assert.ok(file.includes(`\`${global}`), `the reference documents ${global}`);
  }
});

test("the reference's example scripts pass validation, and their plans say what they start", () => {
  const blocks = [...authoringReference().matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 3, 'the file layout and two examples');
  const [, audit, fixes] = blocks.map((source, i) => planWorkflow(validateScript(source, `block-${i}.js`)));
  assert.equal(agentEstimate(audit), '1 + 2 per item');
  assert.equal(audit.writesCode, false);
  assert.deepEqual(audit.phases, ['Map', 'Audit', 'Verify']);
  // fix() is a write agent and its two default reviewers.
  assert.equal(agentEstimate(fixes), '1 + 3 per item');
  assert.equal(fixes.writesCode, true);
});

// ---- the plan -------------------------------------------------------------------------------

test('plan: straight-line calls run once; loops, pipeline stages and mapped callbacks run per item', () => {
  assert.equal(agentEstimate(plan('const a = await agent("a")\nconst b = await agent("b")\nreturn [a, b]\n')), '2');
  assert.equal(agentEstimate(plan('const r = await parallel([() => agent("a"), () => agent("b"), async () => agent("c")])\nreturn r\n')), '3');
  assert.equal(agentEstimate(plan('const m = await agent("map", { model: "haiku" })\nfor (const f of m.split(",")) await agent(f)\nreturn 1\n')), '1 + 1 per item');
  assert.equal(agentEstimate(plan('return pipeline(args, (x) => agent(x), (r) => change(r))\n')), '2 per item');
  assert.equal(agentEstimate(plan('return parallel(args.map((x) => () => agent(x)))\n')), '1 per item');
  assert.equal(agentEstimate(plan('let i = 0\nwhile (i++ < 3) await agent("again")\nreturn i\n')), '1 per item');
  assert.equal(agentEstimate(plan('return 42\n')), 'none');
});

test('plan: fix() counts its reviewers; write calls and worktree agents mark the plan as editing code', () => {
  const fixes = plan('return fix("fix it", { reviewers: 3 })\n');
  assert.equal(agentEstimate(fixes), '4');
  assert.equal(fixes.writesCode, true);
  assert.equal(plan('return agent("edit", { isolation: "worktree" })\n').writesCode, true);
  assert.equal(plan('return agent("read")\n').writesCode, false);
  const sites = plan('await agent("a")\nawait pipeline(args, (x) => change(x))\n').callSites;
  assert.deepEqual(sites.map(({ kind, line, perItem }) => ({ kind, line, perItem })), [
    { kind: 'agent', line: 2, perItem: false },
    { kind: 'change', line: 3, perItem: true },
  ]);
});

test('plan: meta, phases, nested workflows and the wording of the estimate', () => {
  const p = plan(
    'phase("Map")\nconst found = await workflow("audit", "auth")\nreturn pipeline(found.findings, (f) => agent(f.title, { phase: "Verify" }))\n',
    `export const meta = { name: 'audit-verify', description: 'Audit, then verify', whenToUse: 'no args', phases: [{ title: 'Map' }, { title: 'Verify' }] }\n`,
  );
  assert.equal(p.name, 'audit-verify');
  assert.deepEqual(p.phases, ['Map', 'Verify']);
  assert.deepEqual(p.nestedWorkflows, ['audit']);
  const text = formatPlan(p).join('\n');
  assert.match(text, /^plan: audit-verify: Audit, then verify/);
  assert.match(text, /phases: +Map → Verify/);
  assert.match(text, /agents: +about 1 per item \(an estimate/);
  assert.match(text, /workflow audit \(its agents are not counted above\)/);
  assert.match(text, /read-only/);
});

test('free text is told apart from names by whitespace', () => {
  assert.equal(looksLikeFreeText('audit'), false);
  assert.equal(looksLikeFreeText('fix-findings'), false);
  assert.equal(looksLikeFreeText('audit the auth code'), true);
  assert.equal(looksLikeFreeText('  audit  '), false);
});

// ---- generation -------------------------------------------------------------------------------

const VALID = `${META}return await agent('Summarise the README')\n`;
const REQUIRES = `${META}const fs = require('fs')\nreturn 1\n`;

/** One generation against a fake model of its own that gives `answers` in turn, closed when the generation ends. */
async function generate(answers: FakeReply[], extra: Partial<Parameters<typeof generateWorkflow>[0]> = {}) {
  let i = 0;
  const fake = await startFakeAnthropic({ handler: () => answers[Math.min(i++, answers.length - 1)] });
  const rejected: string[] = [];
  const run = generateWorkflow({
    request: 'summarise the readme',
    args: null,
    model: 'claude-sonnet-5-5',
    file: '/tmp/generated/draft.js',
    baseURL: fake.url,
    apiKey: 'test-key',
    maxRetries: 0,
    onRejected: (attempt, problem) => rejected.push(`${attempt}: ${problem}`),
    ...extra,
  });
  void run.then(() => fake.close(), () => fake.close());
  return { run, requests: () => fake.requests, rejected };
}

test('an invalid first answer goes back as an is_error tool result with line and column; the second one is returned', async () => {
  const { run, requests, rejected } = await generate([[toolUse(SUBMIT_WORKFLOW_TOOL, { script: REQUIRES })], [toolUse(SUBMIT_WORKFLOW_TOOL, { script: VALID })]], {
    args: { focus: 'auth' },
    workflows: [{ name: 'audit', description: 'Audit code', whenToUse: 'args: the concern' }],
  });
  const generated = await run;
  assert.equal(generated.attempts, 2);
  assert.equal(generated.script.meta.name, 'x');
  assert.equal(generated.script.file, '/tmp/generated/draft.js');
  assert.match(generated.script.source, /^\/\/ Written by Foreman \(authoring reference v3, claude-sonnet-5-5\) for the request:\n\/\/   summarise the readme\nexport const meta/);
  assert.ok(generated.script.source.endsWith(VALID));
  assert.equal(generated.usage.input, 200);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0], /^1: \/tmp\/generated\/draft\.js:4:12: `require\(\)` is not allowed/);

  const [first, second] = requests();
  // The reference is the cached system prompt; the tool is forced.
  assert.equal(first.body.system[0].text, authoringReference());
  assert.deepEqual(first.body.system[0].cache_control, { type: 'ephemeral' });
  assert.deepEqual(first.tools, [SUBMIT_WORKFLOW_TOOL]);
  assert.deepEqual(first.body.tools[0].cache_control, { type: 'ephemeral' });
  assert.equal(first.body.tool_choice.type, 'tool');
  assert.equal(first.body.tool_choice.name, SUBMIT_WORKFLOW_TOOL);
  assert.match(first.prompt, /<request>\nsummarise the readme\n<\/request>/);
  assert.match(first.prompt, /`args` \(JSON\): \{"focus":"auth"\}/);
  assert.match(first.prompt, /- audit: Audit code \(args: the concern\)/);

  assert.equal(second.lastToolResults.length, 1);
  const feedback = second.lastToolResults[0];
  assert.equal(feedback.is_error, true);
  // Line 2 of what the model wrote (the header Foreman adds is not the model's to count).
  assert.match(feedback.content, /invalid at line 2, column 12: `require\(\)` is not allowed/);
  assert.match(feedback.content, /Fix: remove it/);
  assert.match(feedback.content, /2 attempts left/);
});

test('undefined names go back to the model all at once, each at its line in what the model wrote', async () => {
  const undeclared = `${META}const map = await agent('List files', { schema: FILES })\nawait new Promise((done) => setTimeout(done, 1000))\nreturn map\n`;
  const { run, requests } = await generate([[toolUse(SUBMIT_WORKFLOW_TOOL, { script: undeclared })], [toolUse(SUBMIT_WORKFLOW_TOOL, { script: VALID })]]);
  assert.equal((await run).attempts, 2);
  const feedback = requests()[1].lastToolResults[0];
  assert.equal(feedback.is_error, true);
  assert.match(feedback.content, /invalid at line 2, column 49: "FILES" is not defined\.\nFix: declare it before use/);
  assert.match(feedback.content, /\nAlso at line 3, column 29: "setTimeout" is not defined\.\nFix: timers do not exist in the sandbox/);
  assert.match(feedback.content, /2 attempts left/);
});

test('three invalid answers fail with the last validation error, pointing into the kept file', async () => {
  const { run, requests } = await generate([
    [toolUse(SUBMIT_WORKFLOW_TOOL, { script: REQUIRES })],
    [toolUse(SUBMIT_WORKFLOW_TOOL, { script: 'const x = 1\n' })],
    [toolUse(SUBMIT_WORKFLOW_TOOL, { script: `${META}let n: number = 1\n` })],
  ]);
  const error = await run.then(() => assert.fail('expected a failure'), (e: unknown) => e);
  assert.ok(error instanceof GenerationFailedError, String(error));
  assert.equal(error.attempts, 3);
  assert.match(error.message, /did not write a valid workflow in 3 attempts/);
  assert.match(error.message, /draft\.js:4:6: TypeScript syntax is not supported/);
  assert.equal(error.lastError?.line, 4);
  assert.ok(error.lastSource?.endsWith('let n: number = 1\n'));
  assert.equal(requests().length, 3);
});

test('an answer without the tool is one attempt, answered with a reminder; a fenced script is accepted', async () => {
  const { run, requests } = await generate([[text('Here is a plan...')], [toolUse(SUBMIT_WORKFLOW_TOOL, { script: '```js\n' + VALID + '```' })]]);
  const generated = await run;
  assert.equal(generated.attempts, 2);
  assert.ok(generated.script.source.endsWith(VALID));
  const second = requests()[1];
  const lastUser = second.body.messages.at(-1);
  assert.match(lastUser.content[0].text, /answer only by calling submit_workflow/);

  const none = await generate([[text('no')]]);
  const error = await none.run.catch((e: unknown) => e);
  assert.ok(error instanceof GenerationFailedError);
  assert.equal(error.lastSource, null);
  assert.match(error.message, /without calling submit_workflow/);
});

test('an API error names the fix and is not a validation failure', async () => {
  const { run } = await generate([{ status: 401 }]);
  const error = await run.catch((e: unknown) => e);
  assert.ok(error instanceof GenerationApiError, String(error));
  assert.match(error.message, /ANTHROPIC_API_KEY/);
  assert.match(error.message, /nothing was run/);
});

test('generation asks through the agents’ model client: the door’s proxy settings route it, and a refusal is the client’s, with nothing run', async () => {
  // Nothing listens on port 9: only a request that honours the given proxy fails to get through.
  const proxied = await generate([[toolUse(SUBMIT_WORKFLOW_TOOL, { script: VALID })]], { env: { HTTP_PROXY: 'http://127.0.0.1:9' } });
  const error = await proxied.run.catch((e: unknown) => e);
  assert.ok(error instanceof GenerationApiError, String(error));
  assert.match(error.message, /cannot reach the Anthropic API/);
  assert.equal(proxied.requests().length, 0);
  const exempt = await generate([[toolUse(SUBMIT_WORKFLOW_TOOL, { script: VALID })]], { env: { HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1' } });
  const generated = await exempt.run;
  assert.equal(generated.attempts, 1);
  assert.equal(exempt.requests().length, 1);
});
