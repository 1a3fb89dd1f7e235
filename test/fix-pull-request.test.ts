// fix() on GitHub: the pull request it opens carries the finding, the reviewers' verdicts, the
// gate result and the cost. The real engine, sandbox, worktrees and gate; a real bare remote;
// only GitHub's REST API is mocked.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { asksForVerdict, startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { onlyNockAndLoopback, pullRequestEnv } from './support/pull-request-api.ts';
import { runScript, serviceEnv } from './support/service.ts';
import { gitIn } from './support/repo.ts';

const API = 'https://api.github.test';
const FINDING = 'src/greet.js: greet() drops the name; it must return "hello " + name';

const REASONS = ['the name is returned now', 'tests cover it and pass'];

/**
 * A fake model of the test's own, closed when it ends. Reviewers are told apart from the write
 * agent by their verdict schema, not by Foreman's prompt; run at concurrency 1 they are asked in
 * order, so the nth verdict asked for is reviewer n's and gets REASONS[n - 1].
 */
async function fakeModel(t: TestContext): Promise<FakeAnthropic> {
  let verdicts = 0;
  const fake = await startFakeAnthropic({
    handler: (req) => {
      if (req.prompt.startsWith('DIES')) return { status: 400, error: { type: 'invalid_request_error', message: 'prompt is too long' } };
      if (asksForVerdict(req)) return [toolUse('submit_result', { verdict: 'accept', reason: REASONS[verdicts++] })];
      if (req.turn === 0) return [toolUse('edit_file', { path: 'src/greet.js', old_string: "'hello '", new_string: "'hello ' + name" })];
      return [text('greet() returns the name again')];
    },
  });
  t.after(() => fake.close());
  return fake;
}
onlyNockAndLoopback(async () => {});

test('fix() opens one pull request whose body has the finding, both verdicts, the gate and the cost', async (t) => {
  const fake = await fakeModel(t);
  const { env, scope, remote, opened, repoDir } = pullRequestEnv(fake.url, { api: API, owner: 'acme', repo: 'greeter', number: 12 });
  const out = await runScript(`return await fix(${JSON.stringify(FINDING)}, { title: 'greet() returns the name' })`, env, {
    files: {
      'package.json': JSON.stringify({ name: 'greeter', type: 'module', scripts: { test: 'node --test' } }),
      'src/greet.js': "export const greet = (name) => 'hello '\n",
      'greet.test.js': "import { test } from 'node:test'\nimport assert from 'node:assert'\nimport { greet } from './src/greet.js'\ntest('greets', () => assert.equal(greet('ada'), 'hello ada'))\n",
    },
    concurrency: 1,
  });

  assert.equal(out.status, 'completed', out.error ?? '');
  assert.equal(fake.requests.filter(asksForVerdict).length, 2, 'two reviewers asked, one each');
  const result = out.result as { status: string; pr: { pr: { number: number } } };
  assert.equal(result.status, 'proposed');
  assert.equal(result.pr.pr.number, 12);
  assert.ok(scope.isDone(), 'one lookup, one pull request');
  const posted = opened();
  assert.equal(posted?.title, 'greet() returns the name');
  const body = posted!.body;
  assert.ok(body.startsWith(FINDING), 'the finding leads the body');
  assert.match(body, /### Reviewers: 2 of 2 accepted/);
  assert.match(body, /\| 1 \| ✅ accepted \| the name is returned now \|/);
  assert.match(body, /\| 2 \| ✅ accepted \| tests cover it and pass \|/);
  assert.match(body, /### Gate: ✅ passed/);
  assert.match(body, /### Cost\n\n\*\*\$\d+\.\d+\*\*/);
  assert.match(body, /src\/greet\.js/);
  // What was pushed is the change, on its own branch.
  const branch = posted!.head;
  assert.match(execFileSync('git', ['--git-dir', remote, 'show', `${branch}:src/greet.js`], { encoding: 'utf8' }), /'hello ' \+ name/);
  // Proposed, so its ref under refs/foreman/ is gone (DESIGN §3); the pushed branch holds it.
  assert.equal(gitIn(repoDir(), 'for-each-ref', 'refs/foreman/'), '');
});

test('a write agent that dies makes fix() failed, with the reason, not unchanged', async (t) => {
  const fake = await fakeModel(t);
  const out = await runScript(`return await fix('DIES: fix everything')`, serviceEnv(fake.url), { files: { 'a.txt': 'a\n' } });
  assert.equal(out.status, 'completed', out.error ?? '');
  const result = out.result as { status: string; error: string; change: unknown };
  assert.equal(result.status, 'failed');
  assert.match(result.error, /failed: .*prompt is too long/);
  assert.equal(result.change, null);
});
