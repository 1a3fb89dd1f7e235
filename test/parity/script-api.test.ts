// Claude Code parity, the script API's details (issue #15, item 5): scripts written in Claude
// Code's own idioms, run through the real `foreman` CLI, with real git, real worktrees and the
// real sandbox, against the fake Messages API.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeReply, type FakeRequest } from '../support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir, writeFiles } from '../support/repo.ts';
import { runCli, type CliResult } from '../support/cli.ts';

async function model(t: TestContext, handler: (req: FakeRequest) => FakeReply | Promise<FakeReply> = () => [text('ok')]): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler });
  t.after(() => fake.close());
  return fake;
}

/** `foreman run <ref> --json` in `cwd` (the repository unless given), its result parsed. */
async function run(fake: FakeAnthropic, ref: string, options: { repo: string; cwd?: string; home?: string; flags?: string[] }): Promise<{ res: CliResult; out: any }> {
  const where = options.cwd ? [] : ['--repo', options.repo];
  const res = await runCli(['run', ref, ...where, ...(options.flags ?? []), '--json'], { home: options.home ?? tempDir(), baseURL: fake.url }, options.cwd);
  let out: any = null;
  try {
    out = JSON.parse(res.stdout);
  } catch {
    // Left null: the assertion on the exit code shows stderr.
  }
  return { res, out };
}

const script = (name: string, body: string) => `export const meta = { name: '${name}', description: 'parity: ${name}' }\n${body}\n`;

test('budget.total is null without a budget, so a loop-until-budget ends at once; remaining() is Infinity', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    '.claude/workflows/deepen.js': script(
      'deepen',
      `const found = []
while (budget.total && budget.remaining() > 50_000) {
  found.push(await agent('Find one more bug'))
}
const FLEET = budget.total ? Math.floor(budget.total / 100_000) : 5
return { total: budget.total, infinite: budget.remaining() === Infinity, rounds: found.length, fleet: FLEET }`,
    ),
  });
  const { res, out } = await run(fake, 'deepen', { repo });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(out.result, { total: null, infinite: true, rounds: 0, fleet: 5 });
  assert.equal(fake.calls, 0);
});

test('budget counts output tokens, as Claude Code does, and the cap is the same figure: agent() throws once spent() reaches total', async (t) => {
  // The fake's default usage is 100 input + 20 output tokens per response.
  const fake = await model(t);
  const repo = makeRepo({
    '.claude/workflows/spend.js': script(
      'spend',
      `const seen = []
while (budget.total) {
  try { await agent('step ' + seen.length) } catch (e) { seen.push('refused'); break }
  seen.push(budget.spent())
}
return { total: budget.total, seen, remaining: budget.remaining() }`,
    ),
  });
  const { res, out } = await run(fake, 'spend', { repo, flags: ['--budget-tokens', '50', '--concurrency', '1'] });
  assert.equal(res.code, 3, res.stderr);
  assert.equal(out.status, 'budget-exhausted');
  assert.deepEqual(out.result, { total: 50, seen: [20, 40, 60, 'refused'], remaining: 0 });
  assert.equal(fake.calls, 3, 'no model call once the output-token budget was spent');
  assert.match(out.error, /the token budget is spent \(60 of 50 output tokens\)/);
});

test("a saved workflow is found by meta.name from a monorepo's subdirectory: the closest .claude/workflows wins; file names still work", async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    'packages/app/src/index.js': 'export {}\n',
    '.claude/workflows/release-check.js': script('ship-it', `return { from: 'root', sub: await workflow('helper') }`),
    '.claude/workflows/helper.js': script('helper', `return 'root helper'`),
    'packages/app/.claude/workflows/checks.js': script('ship-it', `return { from: 'app', sub: await workflow('helper') }`),
    'packages/app/.claude/workflows/local-helper.js': script('helper', `return 'app helper'`),
  });
  const home = tempDir();
  const fromApp = await run(fake, 'ship-it', { repo, cwd: join(repo, 'packages', 'app', 'src'), home });
  assert.equal(fromApp.res.code, 0, fromApp.res.stderr);
  assert.deepEqual(fromApp.out.result, { from: 'app', sub: 'app helper' });

  const fromRoot = await run(fake, 'ship-it', { repo, home });
  assert.equal(fromRoot.res.code, 0, fromRoot.res.stderr);
  assert.deepEqual(fromRoot.out.result, { from: 'root', sub: 'root helper' });

  const byFileName = await run(fake, 'release-check', { repo, home });
  assert.equal(byFileName.res.code, 0, byFileName.res.stderr);
  assert.equal(byFileName.out.result.from, 'root');

  const listed = await runCli(['list', '--json'], { home }, join(repo, 'packages', 'app'));
  const names = JSON.parse(listed.stdout).map((w: { name: string; file: string }) => [w.name, w.file.slice(repo.length + 1)]);
  assert.deepEqual(names.filter(([name]: [string]) => name === 'ship-it' || name === 'helper'), [
    ['helper', 'packages/app/.claude/workflows/local-helper.js'],
    ['ship-it', 'packages/app/.claude/workflows/checks.js'],
  ]);
});

test('reading meta.name stays bounded in a workflows directory of thousands of files', async (t) => {
  const fake = await model(t);
  const files: Record<string, string> = { '.claude/workflows/zz-target.js': script('needle', `return 'found'`) };
  for (let i = 0; i < 3000; i++) files[`.claude/workflows/noise-${String(i).padStart(4, '0')}.js`] = script(`noise-${i}`, 'return 0');
  const repo = makeRepo(files);
  const started = performance.now();
  const { res } = await run(fake, 'needle', { repo });
  // Past the scan's bounds: not found by meta.name (it still runs by its file name), and quickly.
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /Workflow "needle" not found/);
  assert.ok(performance.now() - started < 15_000);
  const byFile = await run(fake, 'zz-target', { repo });
  assert.equal(byFile.res.code, 0, byFile.res.stderr);
  assert.equal(byFile.out.result, 'found');
});

test('workflow({ scriptPath }) runs a script file of the repository, relative to its root, with its args; nesting stays one level; paths outside are refused', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    'scripts/step.js': script('step', `return { got: args, type: typeof args }`),
    'scripts/nests.js': script('nests', `return await workflow('step')`),
    '.claude/workflows/outer.js': script(
      'outer',
      `const withArgs = await workflow({ scriptPath: 'scripts/step.js' }, { n: 1 })
const without = await workflow({ scriptPath: './scripts/step.js' })
const errors = []
for (const ref of [{ scriptPath: 'scripts/nests.js' }, { scriptPath: '../outside.js' }, { scriptPath: 'scripts/missing.js' }]) {
  try { await workflow(ref) } catch (e) { errors.push(e.message) }
}
return { withArgs, without, errors }`,
    ),
  });
  const { res, out } = await run(fake, 'outer', { repo });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(out.result.withArgs, { got: { n: 1 }, type: 'object' });
  assert.deepEqual(out.result.without, { type: 'undefined' });
  const [nests, outside, missing] = out.result.errors;
  assert.match(nests, /workflow\(\) nests one level: scripts\/nests\.js cannot call workflow\(\)/);
  assert.match(outside, /^workflow\(\{ scriptPath: "\.\.\/outside\.js" \}\): the path is outside the repository/);
  assert.match(missing, /^workflow\(\{ scriptPath: "scripts\/missing\.js" \}\): no such file in the repository/);
  assert.doesNotMatch(outside + missing, new RegExp(repo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no host path in the message');
});

test('args is undefined when none are given: in the script, in a nested workflow(name) without args, and on resume', async (t) => {
  let failFirst = true;
  const fake = await model(t, () => {
    if (failFirst) {
      failFirst = false;
      return { status: 400, error: { type: 'invalid_request_error', message: 'refused once' } };
    }
    return [text('ok')];
  });
  const repo = makeRepo({
    '.claude/workflows/child.js': script('child', `return args === undefined ? 'undefined' : args === null ? 'null' : typeof args`),
    '.claude/workflows/parent.js': script(
      'parent',
      `const answer = await agent('Say ok')
if (answer === null) throw new Error('the agent failed; resume me')
return { own: typeof args, nested: await workflow('child'), nestedNull: await workflow('child', null), usual: args ?? 'default' }`,
    ),
  });
  const home = tempDir();
  const first = await run(fake, 'parent', { repo, home });
  assert.equal(first.res.code, 1, first.res.stderr);
  const runId = first.out.runId;
  const resumed = await runCli(['resume', runId, '--json'], { home, baseURL: fake.url });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(JSON.parse(resumed.stdout).result, { own: 'undefined', nested: 'undefined', nestedNull: 'null', usual: 'default' });
});

test('require is undefined at run time: a script that guards it runs; an unguarded require() is still refused before the run', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    '.claude/workflows/guarded.js': script(
      'guarded',
      `const fs = typeof require === 'function' ? require('fs') : null
let loaded = false
if (typeof require !== 'undefined') { require('path'); loaded = true }
return { fs, loaded, type: typeof require }`,
    ),
    'unguarded.js': script('unguarded', `const fs = require('fs')\nreturn fs`),
  });
  const { res, out } = await run(fake, 'guarded', { repo });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(out.result, { fs: null, loaded: false, type: 'undefined' });

  const refused = await runCli(['validate', join(repo, 'unguarded.js')], { home: tempDir() });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /unguarded\.js:2:12: `require\(\)` is not allowed in workflow scripts/);
});

test('a schema that can never validate throws a TypeError at the agent() call, naming the problem, with no model call', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    '.claude/workflows/schemas.js': script(
      'schemas',
      `const SCHEMAS = [
  { type: 'object', required: ['verdict'], properties: { reason: { type: 'string' } }, additionalProperties: false },
  { type: 'object', required: ['severity'], properties: { severity: { enum: [] } } },
  { type: 'array', items: { type: 'string' } },
  { type: 'object', required: ['ok'], properties: { ok: false } },
  { type: 'object', required: ['n'], properties: { n: { type: 'string', enum: [1, 2] } } },
  { type: 'object', properties: { name: { type: 'string', minLength: -1 } } },
]
const errors = []
for (const schema of SCHEMAS) {
  try { await agent('Answer', { schema }); errors.push('no throw') } catch (e) { errors.push(e.name + ': ' + e.message) }
}
return errors`,
    ),
  });
  const { res, out } = await run(fake, 'schemas', { repo });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(fake.calls, 0, 'nothing was paid for');
  const errors: string[] = out.result;
  assert.equal(errors.length, 6);
  for (const error of errors) assert.match(error, /^TypeError: agent\(prompt, opts\?\): opts\.schema can never be satisfied, so no agent was started: /);
  assert.match(errors[0], /requires "verdict" but does not list it in properties, and additionalProperties is false/);
  assert.match(errors[1], /properties\.severity has an empty enum/);
  assert.match(errors[2], /root must be \{ type: 'object', \.\.\. \}, got type "array"/);
  assert.match(errors[3], /properties\.ok is false/);
  assert.match(errors[4], /none of its enum values \[1,2\] is of that type/);
  assert.match(errors[5], /not a valid JSON Schema/);
  assert.equal(out.agents, 0);
});

test('effort reaches the request body as output_config.effort for a model that takes it, and is left out, with one warning, for one that does not', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    '.claude/workflows/efforts.js': script(
      'efforts',
      `await agent('Deep', { effort: 'xhigh', model: 'opus' })
await agent('Cheap one', { effort: 'low', model: 'haiku' })
await agent('Cheap two', { effort: 'low', model: 'haiku' })
await agent('Older', { effort: 'max', model: 'claude-opus-4-5' })
let bad = null
try { await agent('Bad', { effort: 'extreme' }) } catch (e) { bad = e.name + ': ' + e.message }
return bad`,
    ),
  });
  const { res, out } = await run(fake, 'efforts', { repo });
  assert.equal(res.code, 0, res.stderr);
  const body = (prompt: string) => fake.requests.find((r) => r.prompt === prompt)!.body;
  assert.deepEqual(body('Deep').output_config, { effort: 'xhigh' });
  assert.equal(body('Deep').model, 'claude-opus-5-5');
  assert.equal(body('Cheap one').output_config, undefined);
  assert.equal(body('Cheap two').output_config, undefined);
  assert.deepEqual(body('Older').output_config, { effort: 'high' });
  assert.equal(res.stderr.match(/warn effort 'low' is not sent: claude-haiku-5-5 does not take an effort level/g)?.length, 1, res.stderr);
  assert.match(res.stderr, /warn effort 'max' is sent as 'high': claude-opus-4-5 takes low, medium, high/);
  assert.match(out.result, /^TypeError: agent\(prompt, opts\?\): opts\.effort must be one of 'low', 'medium', 'high', 'xhigh', 'max', got the string "extreme"/);
});

test('timeoutMs stops a slow agent, which resolves to null; retries runs a failed agent again', async (t) => {
  let flaky = 0;
  const fake = await model(t, async (req) => {
    if (req.prompt === 'Slow') return new Promise((resolve) => setTimeout(() => resolve([text('too late')]), 3_000));
    if (req.prompt === 'Flaky' && ++flaky === 1) return { status: 400, error: { type: 'invalid_request_error', message: 'refused once' } };
    if (req.prompt === 'Always fails') return { status: 400, error: { type: 'invalid_request_error', message: 'refused' } };
    if (req.prompt === 'Loops') return [toolUse('list_files', { path: '.' })];
    return [text('done: ' + req.prompt)];
  });
  const repo = makeRepo({
    'README.md': 'hi\n',
    '.claude/workflows/patience.js': script(
      'patience',
      `const slow = await agent('Slow', { timeoutMs: 300 })
const flaky = await agent('Flaky', { retries: 2 })
const hopeless = await agent('Always fails', { retries: 1 })
const loops = await agent('Loops', { maxTurns: 2 })
return { slow, flaky, hopeless, loops }`,
    ),
  });
  const started = performance.now();
  const { res, out } = await run(fake, 'patience', { repo });
  assert.equal(res.code, 0, res.stderr);
  assert.ok(performance.now() - started < 15_000);
  assert.deepEqual(out.result, { slow: null, flaky: 'done: Flaky', hopeless: null, loops: null });
  assert.equal(fake.requests.filter((r) => r.prompt === 'Flaky').length, 2);
  assert.equal(fake.requests.filter((r) => r.prompt === 'Always fails').length, 2, 'one try and one retry');
  assert.equal(fake.requests.filter((r) => r.prompt === 'Loops').length, 2, "the agent's own turn fuse");
  assert.match(res.stderr, /agent stopped \[Run\] Slow .*: timed out after 300 ms \(timeoutMs\)/);
  assert.match(res.stderr, /warn agent "Flaky" failed \(.*refused once.*\): attempt 2 of 3/);
  assert.match(res.stderr, /agent exceeded 2 turns/);

  // Retries are agents the run starts: under --max-agents 2, five retries get one.
  writeFiles(repo, { '.claude/workflows/stubborn.js': script('stubborn', `return await agent('Always fails', { retries: 5 })`) });
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-qm', 'stubborn');
  const before = fake.requests.filter((r) => r.prompt === 'Always fails').length;
  const capped = await run(fake, 'stubborn', { repo, flags: ['--max-agents', '2'] });
  assert.equal(capped.out?.result ?? null, null, capped.res.stderr);
  assert.equal(fake.requests.filter((r) => r.prompt === 'Always fails').length - before, 2, 'one try and one retry, then the cap');
});

test('--max-turns and --max-time set the run limits, and a resume may raise them; out-of-range values are usage errors', async (t) => {
  const fake = await model(t, () => [toolUse('list_files', { path: '.' })]);
  const repo = makeRepo({ 'README.md': 'hi\n', '.claude/workflows/busy.js': script('busy', `return await agent('Keep listing')`) });
  const home = tempDir();
  const { res, out } = await run(fake, 'busy', { repo, home, flags: ['--max-turns', '3', '--max-time', '90m'] });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(out.result, null);
  assert.equal(fake.calls, 3);
  // A resume may raise them: the agent that burned its fuse runs again with five turns.
  const resumed = await runCli(['resume', out.runId, '--max-turns', '5', '--max-time', '2h', '--json'], { home, baseURL: fake.url }, repo);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(fake.calls, 3 + 5);
  const badResume = await runCli(['resume', out.runId, '--max-time', 'soon'], { home, baseURL: fake.url }, repo);
  assert.equal(badResume.code, 2);
  assert.match(badResume.stderr, /--max-time must be a duration such as 90m/);
  const tooLong = await runCli(['run', 'busy', '--repo', repo, '--max-time', '7h'], { home: tempDir(), baseURL: fake.url });
  assert.equal(tooLong.code, 2);
  assert.match(tooLong.stderr, /--max-time is at most 6h/);
  const notADuration = await runCli(['run', 'busy', '--repo', repo, '--max-time', 'soon'], { home: tempDir(), baseURL: fake.url });
  assert.equal(notADuration.code, 2);
  assert.match(notADuration.stderr, /--max-time must be a duration such as 90m/);
});
