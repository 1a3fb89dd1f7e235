// Claude Code parity, issue #15 items 2 and 3: agent types from .claude/agents/ and project memory
// from CLAUDE.md, through the real `foreman` CLI, real git and the real sandbox, against the fake
// model. The fake answers from the request's structure (its tools, model and system blocks), never
// from Foreman's wording; the tests read what each request carried.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, text, type FakeAnthropic, type FakeRequest } from '../support/fake-anthropic.ts';
import { makeRepo, tempDir, writeFiles } from '../support/repo.ts';
import { runCli } from '../support/cli.ts';

/** Every agent answers with what it was given, so a script can return it and a test can read it. */
async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: (req) => [text(JSON.stringify({ model: req.body.model, tools: req.tools }))] });
  t.after(() => fake.close());
  return fake;
}

const workflow = (body: string): string => `export const meta = { name: 't', description: 'agent types and memory' }\n${body}\n`;

/** The request of the agent whose script prompt is `prompt`. */
function requestFor(fake: FakeAnthropic, prompt: string): FakeRequest {
  const found = fake.requests.find((req) => req.prompt === prompt);
  assert.ok(found, `a model request for "${prompt}"`);
  return found;
}

const systemText = (req: FakeRequest): string => req.body.system.map((block: { text: string }) => block.text).join('\n');

const REVIEWER = `---
name: code-reviewer
description: Reviews a change for defects
tools: Read, Grep, TodoWrite
model: haiku
---
You review code line by line. REVIEWER-PROMPT-7f3
`;

test('an agentType from .claude/agents/ applies its tools, its model and its prompt; the file name works too', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    'src/app.js': 'export const x = 1\n',
    '.claude/agents/reviewer.md': REVIEWER,
    '.claude/workflows/t.js': workflow(`
const typed = await agent('Review src/app.js', { agentType: 'code-reviewer' })
const byFile = await agent('Review by file name', { agentType: 'reviewer' })
const chosen = await agent('Review with a chosen model', { agentType: 'code-reviewer', model: 'opus' })
const plain = await agent('Plain agent')
return { typed, byFile, chosen, plain }`),
  });

  const res = await runCli(['run', 't', '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  const typed = requestFor(fake, 'Review src/app.js');
  // Read and Grep map to Foreman's read_file and search; Glob was not listed, so list_files is not offered.
  assert.deepEqual(typed.tools, ['read_file', 'search']);
  assert.equal(typed.body.model, 'claude-haiku-5-5');
  assert.equal(typed.body.system.length, 2, 'framing (and memory), then the type prompt');
  assert.match(typed.body.system[1].text, /REVIEWER-PROMPT-7f3/);
  assert.deepEqual(typed.body.system[1].cache_control, { type: 'ephemeral' });
  assert.doesNotMatch(typed.body.system[0].text, /REVIEWER-PROMPT-7f3/);
  assert.equal(systemText(requestFor(fake, 'Review by file name')), systemText(typed));
  // opts.model wins over the definition's model.
  assert.equal(requestFor(fake, 'Review with a chosen model').body.model, 'claude-opus-5-5');
  const plain = requestFor(fake, 'Plain agent');
  assert.ok(plain.tools.includes('list_files'));
  assert.equal(plain.body.model, 'claude-sonnet-5-5');
  assert.doesNotMatch(systemText(plain), /REVIEWER-PROMPT-7f3/);
  // TodoWrite has no Foreman tool: one warning for the run, naming it.
  assert.equal(res.stderr.split('\n').filter((line) => line.includes('TodoWrite')).length, 1, res.stderr);
});

test('from a monorepo package, the closest .claude/agents/ up the tree wins; the root and the built-ins still resolve', async (t) => {
  const fake = await model(t);
  const helper = (marker: string, tools: string) => `---\nname: helper\ndescription: Helps\ntools: ${tools}\n---\n${marker}\n`;
  const repo = makeRepo({
    '.claude/agents/helper.md': helper('ROOT-HELPER', 'Read, Grep, Glob'),
    '.claude/agents/only-root.md': '---\nname: only-root\ndescription: Defined at the root\n---\nONLY-ROOT\n',
    'packages/api/.claude/agents/helper.md': helper('API-HELPER', 'Read'),
    'packages/api/index.js': 'export {}\n',
    '.claude/workflows/t.js': workflow(`
await agent('closest helper', { agentType: 'helper' })
await agent('root type', { agentType: 'only-root' })
await agent('built-in explorer', { agentType: 'Explore' })
return 'done'`),
  });
  const home = tempDir();

  const res = await runCli(['run', 't', '--json'], { home, baseURL: fake.url }, join(repo, 'packages', 'api'));

  assert.equal(res.code, 0, res.stderr);
  const closest = requestFor(fake, 'closest helper');
  assert.match(systemText(closest), /API-HELPER/);
  assert.doesNotMatch(systemText(closest), /ROOT-HELPER/);
  assert.deepEqual(closest.tools, ['read_file']);
  assert.match(systemText(requestFor(fake, 'root type')), /ONLY-ROOT/);
  // Claude Code's Explore: read-only tools (the web's too, which the CLI allows by default), Haiku.
  const explore = requestFor(fake, 'built-in explorer');
  assert.deepEqual(explore.tools, ['list_files', 'read_file', 'search', 'web_search', 'web_fetch']);
  assert.equal(explore.body.model, 'claude-haiku-5-5');
  // Framed as the reader it is, not told to edit with tools it does not have.
  assert.doesNotMatch(systemText(explore), /edit_file|write_file|run_command/);

  // From the root, the root's definition is the one.
  const before = fake.requests.length;
  const fromRoot = await runCli(['run', 't', '--json'], { home, baseURL: fake.url }, repo);
  assert.equal(fromRoot.code, 0, fromRoot.stderr);
  const rootHelper = fake.requests.slice(before).find((req) => req.prompt === 'closest helper')!;
  assert.match(systemText(rootHelper), /ROOT-HELPER/);
  assert.deepEqual(rootHelper.tools, ['list_files', 'read_file', 'search']);
});

test('an unknown agentType throws a TypeError at the call, naming the known types and where they were looked for, before any model call', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    '.claude/agents/reviewer.md': REVIEWER,
    '.claude/workflows/t.js': workflow(`
try {
  await agent('never sent', { agentType: 'wizard' })
  return 'no throw'
} catch (error) {
  return { name: error.name, message: error.message }
}`),
  });

  const res = await runCli(['run', 't', '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  const { name, message } = JSON.parse(res.stdout).result;
  assert.equal(name, 'TypeError');
  assert.match(message, /agentType 'wizard' is not defined/);
  assert.match(message, /code-reviewer \(\.claude\/agents\/reviewer\.md\)/);
  assert.match(message, /general-purpose, Explore, Plan/);
  assert.match(message, /Looked in \.claude\/agents, ~\/\.claude\/agents, Foreman's built-ins/);
  assert.equal(fake.calls, 0, 'no model call was made');
});

test("CLAUDE.md, its @imports and the user's ~/.claude/CLAUDE.md reach every agent inside the cached system prefix, before the type's prompt", async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    'CLAUDE.md': 'Use tabs. MEMORY-ROOT-1\nConventions: @docs/conventions.md\nNot an import: `@docs/not-imported.md`\n',
    'docs/conventions.md': 'CONVENTIONS-2\nBack to @../CLAUDE.md (a cycle, ignored)\n',
    'docs/not-imported.md': 'NOT-IMPORTED\n',
    '.claude/CLAUDE.md': 'DOT-CLAUDE-5\n',
    'packages/api/CLAUDE.md': 'API-MEMORY-3\n',
    'packages/web/CLAUDE.md': 'OTHER-PACKAGE\n',
    '.claude/agents/reviewer.md': REVIEWER,
    '.claude/workflows/t.js': workflow(`
await parallel([() => agent('memory plain'), () => agent('memory typed', { agentType: 'code-reviewer' })])
return 'done'`),
  });
  const home = tempDir();
  writeFiles(home, { '.claude/CLAUDE.md': 'USER-MEMORY-4\n' });

  const res = await runCli(['run', 't', '--json'], { home, baseURL: fake.url }, join(repo, 'packages', 'api'));

  assert.equal(res.code, 0, res.stderr);
  const plain = requestFor(fake, 'memory plain');
  const typed = requestFor(fake, 'memory typed');
  for (const req of [plain, typed]) {
    const shared = req.body.system[0];
    assert.deepEqual(shared.cache_control, { type: 'ephemeral' }, 'the memory is in a cached block');
    const order = ['USER-MEMORY-4', 'MEMORY-ROOT-1', 'CONVENTIONS-2', 'DOT-CLAUDE-5', 'API-MEMORY-3'].map((marker) => shared.text.indexOf(marker));
    assert.ok(order.every((at) => at >= 0), `every memory file is there: ${order}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'user, then root (and its imports), then down to the package');
    assert.doesNotMatch(shared.text, /NOT-IMPORTED|OTHER-PACKAGE/);
  }
  // The framing before it differs only where the agents' tools do (the type offers no web tools).
  const memoryOf = (req: typeof plain) => req.body.system[0].text.slice(req.body.system[0].text.indexOf("The project's memory follows"));
  assert.equal(memoryOf(plain), memoryOf(typed), 'every agent gets the same memory');
  assert.match(typed.body.system[1].text, /REVIEWER-PROMPT-7f3/);
});

test('a hostile definition (over 64 KB, a link out of the repository) is refused with a message naming the file and the fix; a linked-out CLAUDE.md is left out', async (t) => {
  const fake = await model(t);
  const outside = tempDir();
  writeFileSync(join(outside, 'secret.md'), '---\nname: escape\ndescription: Outside\n---\nHOST-SECRET\n');
  const repo = makeRepo({
    '.claude/agents/huge.md': `---\nname: huge\ndescription: Too big\n---\n${'x'.repeat(70 * 1024)}\n`,
    '.claude/workflows/t.js': workflow(`
const tried = {}
for (const agentType of ['huge', 'escape']) {
  try { await agent('hostile ' + agentType, { agentType }); tried[agentType] = 'ran' } catch (error) { tried[agentType] = error.message }
}
tried.plain = await agent('plain after hostile files')
return tried`),
  });
  mkdirSync(join(repo, '.claude', 'agents'), { recursive: true });
  symlinkSync(join(outside, 'secret.md'), join(repo, '.claude', 'agents', 'escape.md'));
  symlinkSync(join(outside, 'secret.md'), join(repo, 'CLAUDE.md'));

  const res = await runCli(['run', 't', '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  const tried = JSON.parse(res.stdout).result;
  assert.match(tried.huge, /\.claude\/agents\/huge\.md is over 64 KB.*shorten it/);
  assert.match(tried.escape, /\.claude\/agents\/escape\.md is a link that leads outside the repository.*replace the link with the file itself/);
  assert.equal(fake.requests.filter((req) => req.prompt.startsWith('hostile')).length, 0);
  assert.doesNotMatch(JSON.stringify(fake.requests.map((req) => req.body)), /HOST-SECRET/);
  assert.match(res.stderr, /project memory: left out CLAUDE\.md is a link that leads outside the repository/);
});

test('an edited definition is a changed call on resume; an edited description is not', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    '.claude/agents/reviewer.md': REVIEWER,
    '.claude/workflows/t.js': workflow(`return await agent('Review once', { agentType: 'code-reviewer' })`),
  });
  const home = tempDir();
  const first = await runCli(['run', 't', '--repo', repo, '--json'], { home, baseURL: fake.url });
  assert.equal(first.code, 0, first.stderr);
  const runId = JSON.parse(first.stdout).runId;
  assert.equal(fake.calls, 1);

  writeFileSync(join(repo, '.claude/agents/reviewer.md'), REVIEWER.replace('Reviews a change for defects', 'Reviews code'));
  const sameCall = await runCli(['resume', runId, '--json'], { home, baseURL: fake.url }, repo);
  assert.equal(sameCall.code, 0, sameCall.stderr);
  assert.equal(fake.calls, 1, 'a new description replays the journaled answer');

  writeFileSync(join(repo, '.claude/agents/reviewer.md'), REVIEWER.replace('REVIEWER-PROMPT-7f3', 'EDITED-PROMPT'));
  const changed = await runCli(['resume', runId, '--json'], { home, baseURL: fake.url }, repo);
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal(fake.calls, 2, 'a new prompt runs the agent again');
  assert.match(systemText(fake.requests[1]), /EDITED-PROMPT/);
});
