// End to end: the real `foreman` bin, a real git repository, the real Anthropic SDK talking HTTP
// to the fake Messages API.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeRequest } from './support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function auditHandler(req: FakeRequest) {
  if (req.prompt.startsWith('List files that handle')) {
    return [toolUse('submit_result', { files: ['src/auth.js', 'src/session.js'] })];
  }
  const audited = /^Audit (\S+) for/.exec(req.prompt);
  if (audited) {
    if (req.turn === 0) return [toolUse('read_file', { path: audited[1] })];
    const content = req.lastToolResults[0]?.content ?? '';
    return [toolUse('submit_result', { findings: [{ file: audited[1], line: 1, title: content.includes('password ==') ? 'plain-text password compare' : 'looks fine' }] })];
  }
  return [text('unexpected prompt')];
}

/** A fake model per test (playing the fixtures' agents), closed when it ends, so the calls a test counts are its own. */
async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: (req) => (req.prompt.startsWith('Review') || req.prompt.startsWith('Try to refute') ? reviewHandler(req) : auditHandler(req)) });
  t.after(() => fake.close());
  return fake;
}

function reviewHandler(req: FakeRequest) {
  const reviewed = /^Review (\S+) for/.exec(req.prompt);
  if (reviewed) return [text(reviewed[1].includes('db') ? 'no problems' : `issue: unchecked input in ${reviewed[1]}`)];
  return [toolUse('submit_result', { verdict: req.prompt.includes('web') ? 'real' : 'false-positive', reason: 'checked' })];
}

test('the DESIGN §1 example runs unchanged against a pristine checkout of the base commit', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    'src/auth.js': 'if (password == stored) login()\n',
    'src/session.js': 'export const ttl = 60\n',
    '.claude/workflows/audit.js': fixture('design-example.js'),
  });
  // Uncommitted work in the user's tree: agents must not see it, and it must survive the run.
  writeFileSync(join(repo, 'src/session.js'), 'WORK IN PROGRESS\n');
  const home = tempDir();
  const before = fake.calls;

  const res = await runCli(['run', 'audit', '--args', 'auth', '--repo', repo, '--json'], { home, baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr.split('\n')[0], /^run \d{8}-\d{6}-[0-9a-f]{4}$/);
  const out = JSON.parse(res.stdout);
  assert.equal(out.status, 'completed');
  assert.deepEqual(out.result.findings, [
    { file: 'src/auth.js', line: 1, title: 'plain-text password compare' },
    { file: 'src/session.js', line: 1, title: 'looks fine' },
  ]);
  assert.equal(out.agents, 3);
  assert.deepEqual(out.phases.map((p: { title: string; agents: number }) => [p.title, p.agents]), [['Map', 1], ['Audit', 2]]);
  assert.ok(out.usage.input > 0 && out.usage.output > 0);
  assert.ok(out.costUsd > 0);
  assert.deepEqual(out.changes, []);
  assert.equal(fake.calls - before, 5);
  assert.equal(readFileSync(join(repo, 'src/session.js'), 'utf8'), 'WORK IN PROGRESS\n');
  assert.equal(gitIn(repo, 'status', '--porcelain').trim(), 'M src/session.js');
  assert.equal(gitIn(repo, 'worktree', 'list').trim().split('\n').length, 1, 'no Foreman worktree is left behind');
});

test('a script using pipeline, parallel, a schema, phase, log, budget and args runs unchanged', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ 'README.md': 'hi\n', '.claude/workflows/review.js': fixture('review.js') });
  const home = tempDir();
  const args = JSON.stringify({ modules: ['web', 'db', 'cli'], focus: 'input validation' });

  const res = await runCli(['run', 'review', '--args', args, '--repo', repo, '--budget-tokens', '100000', '--json'], { home, baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.deepEqual(out.result.confirmed, ['web']);
  assert.equal(out.result.frozen, true);
  // 3 reviews + 2 verifications, 120 tokens each from the fake server's default usage.
  assert.equal(out.agents, 5);
  // budget.spent() counts output tokens, as Claude Code's does.
  assert.equal(out.result.spent, out.usage.output);
  assert.match(res.stderr, /log reviewing 3 modules for input validation; budget 100000/);
  assert.match(res.stderr, /phase Verify/);
  assert.deepEqual(out.phases.map((p: { title: string }) => p.title), ['Review', 'Verify']);
});

test('--base pins the commit agents read; workflow() runs a saved workflow inline with its own args', async () => {
  const repo = makeRepo({
    'VERSION': 'one\n',
    '.claude/workflows/outer.js': `export const meta = { name: 'outer', description: 'calls inner' }\nconst inner = await workflow('inner', { who: 'nested' })\nreturn { inner, args }\n`,
    '.claude/workflows/inner.js': `export const meta = { name: 'inner', description: 'reads VERSION' }\nreturn { who: args.who, version: await agent('Audit VERSION for version flaws') }\n`,
  });
  const first = gitIn(repo, 'rev-parse', 'HEAD').trim();
  writeFileSync(join(repo, 'VERSION'), 'two\n');
  gitIn(repo, 'commit', '-qam', 'two');
  const versionHandler = await startFakeAnthropic({
    handler: (req) => (req.turn === 0 ? [toolUse('read_file', { path: 'VERSION' })] : [text(req.lastToolResults[0].content)]),
  });
  try {
    const res = await runCli(['run', 'outer', '--repo', repo, '--base', first, '--args', 'top', '--json'], { home: tempDir(), baseURL: versionHandler.url });
    assert.equal(res.code, 0, res.stderr);
    const result = JSON.parse(res.stdout).result;
    assert.equal(result.args, 'top');
    assert.equal(result.inner.who, 'nested');
    assert.match(result.inner.version, /one/);
    assert.doesNotMatch(result.inner.version, /two/);
  } finally {
    await versionHandler.close();
  }
});

test('foreman list shows workflows with their origin and description, and flags invalid ones', async () => {
  const repo = makeRepo({
    '.claude/workflows/audit.js': fixture('design-example.js'),
    '.claude/workflows/broken.js': 'const x = 1\n',
  });
  const res = await runCli(['list', '--repo', repo], { home: tempDir() });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /audit +repo +Audit code for a concern/);
  assert.match(res.stdout, /args: the concern to audit/);
  assert.match(res.stdout, /broken +repo +INVALID: .*broken\.js:1:1/);
});
