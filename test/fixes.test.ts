// Verified fixes end to end: the real CLI, real git worktrees, a fixture project whose tests
// really run in the gate, and the real SDK against the fake Messages API.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';
import { runCli, startCli } from './support/cli.ts';

const ADD = `export function add(a, b) {\n  return a + b\n}\n\nexport function mul(a, b) {\n  return a * b\n}\n`;
const PROJECT = {
  'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', type: 'module', scripts: { test: 'node --test' } }, null, 2),
  'src/math.js': ADD,
  'math.test.js': `import { test } from 'node:test'\nimport assert from 'node:assert/strict'\nimport { add, mul } from './src/math.js'\ntest('add', () => assert.equal(add(2, 3), 5))\ntest('mul', () => assert.equal(mul(2, 3), 6))\n`,
};

/** Per-test behaviour, chosen by a marker in the prompt. */
type Script = (req: FakeRequest) => FakeReply;
const scripts = new Map<string, Script>();
const fake = await startFakeAnthropic({
  handler: (req) => {
    for (const [marker, script] of scripts) if (req.prompt.includes(marker)) return script(req);
    return [text('no script for this prompt')];
  },
});
after(() => fake.close());

const isReviewer = (req: FakeRequest): boolean => req.prompt.startsWith('You are reviewer');

/** A write agent that makes one edit, then says what it did; reviewers vote `verdict`. */
function fixScript(edit: { old_string: string; new_string: string; path?: string }, verdict: 'accept' | 'refute' = 'accept'): Script {
  return (req) => {
    if (isReviewer(req)) return [toolUse('submit_result', { verdict, reason: verdict === 'accept' ? 'looks right' : 'this breaks callers' })];
    if (req.turn === 0) return [toolUse('edit_file', { path: edit.path ?? 'src/math.js', ...edit })];
    return [text('made the edit')];
  };
}

function workflowRepo(script: string, extra: Record<string, string> = {}): string {
  return makeRepo({ ...PROJECT, ...extra, '.claude/workflows/fixit.js': `export const meta = { name: 'fixit', description: 'test fixes' }\n${script}` });
}

const foremanBranches = (repo: string): string[] =>
  gitIn(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/foreman/').split('\n').filter(Boolean);
const foremanWorktrees = (repo: string, home: string): string[] =>
  gitIn(repo, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ') && l.includes(home));

async function run(repo: string, home: string, args: string[] = []) {
  const result = await runCli(['run', 'fixit', '--repo', repo, '--json', ...args], { home, baseURL: fake.url });
  const json = result.stdout ? JSON.parse(result.stdout) : null;
  return { ...result, json };
}

test('a good fix is reviewed, gated on the real tests and proposed as a branch holding the change', async () => {
  scripts.set('MARK-good', fixScript({ old_string: 'export function add', new_string: '// Adds two numbers.\nexport function add' }));
  const repo = workflowRepo(`return await fix('MARK-good: document add()', { label: 'document add' })`);
  const home = tempDir();
  const headBefore = gitIn(repo, 'rev-parse', 'HEAD');

  const { code, json, stderr } = await run(repo, home);
  assert.equal(code, 0, stderr);
  assert.equal(json.result.status, 'proposed');
  assert.deepEqual(json.result.votes.map((v: { verdict: string }) => v.verdict), ['accept', 'accept']);
  assert.equal(json.result.gate.passed, true);
  assert.equal(json.result.gate.steps.at(-1).name, 'test');

  const [branch] = foremanBranches(repo);
  assert.match(branch, new RegExp(`^foreman/${json.runId}/c[0-9a-f]+-document-add$`));
  assert.match(gitIn(repo, 'show', `${branch}:src/math.js`), /^\/\/ Adds two numbers\./);
  const message = gitIn(repo, 'log', '-1', '--format=%B', branch);
  assert.match(message, /^document add/);
  assert.match(message, new RegExp(`Foreman-Run: ${json.runId}`));
  assert.equal(json.changes.length, 1);
  assert.equal(json.changes[0].branch, branch);
  assert.equal(json.changes[0].gate, 'passed');

  // The user's checkout is untouched: same HEAD, same branch, clean tree, no worktree left.
  assert.equal(gitIn(repo, 'rev-parse', 'HEAD'), headBefore);
  assert.equal(gitIn(repo, 'branch', '--show-current').trim(), 'main');
  assert.equal(gitIn(repo, 'status', '--porcelain'), '');
  assert.equal(readFileSync(join(repo, 'src/math.js'), 'utf8'), ADD);
  assert.deepEqual(foremanWorktrees(repo, home), []);
});

test('a fix that breaks the tests is gate-failed, with the failing output, and no branch', async () => {
  scripts.set('MARK-break', fixScript({ old_string: 'a + b', new_string: 'a - b' }));
  const repo = workflowRepo(`return await fix('MARK-break: simplify add()', { label: 'break add' })`);
  const home = tempDir();
  const { code, json, stderr } = await run(repo, home);
  assert.equal(code, 0, stderr);
  assert.equal(json.result.status, 'gate-failed');
  const failing = json.result.gate.steps.find((s: { exitCode: number }) => s.exitCode !== 0);
  assert.equal(failing.name, 'test');
  assert.match(failing.output, /add/);
  assert.match(failing.output, /fail/i);
  assert.deepEqual(foremanBranches(repo), []);
  assert.deepEqual(foremanWorktrees(repo, home), []);
  assert.match(stderr, /gate c[0-9a-f]+ break add: failed at test/);
});

test('a fix the reviewers refute is never gated or proposed', async () => {
  scripts.set('MARK-refute', fixScript({ old_string: 'export function mul', new_string: '// Multiplies.\nexport function mul' }, 'refute'));
  const repo = workflowRepo(`return await fix('MARK-refute: document mul()', { label: 'document mul' })`);
  const home = tempDir();
  const { code, json, stderr } = await run(repo, home);
  assert.equal(code, 0, stderr);
  assert.equal(json.result.status, 'refuted');
  assert.equal(json.result.gate, null);
  assert.deepEqual(foremanBranches(repo), []);
  assert.doesNotMatch(stderr, /gate c/);
});

test('two fixes to the same file in parallel give two branches, each with only its own change', async () => {
  scripts.set('MARK-twin-add', fixScript({ old_string: 'export function add', new_string: '// Adds.\nexport function add' }));
  scripts.set('MARK-twin-mul', fixScript({ old_string: 'export function mul', new_string: '// Multiplies.\nexport function mul' }));
  const repo = workflowRepo(`return await parallel([
  () => fix('MARK-twin-add: document add()', { label: 'document add' }),
  () => fix('MARK-twin-mul: document mul()', { label: 'document mul' }),
])`);
  const home = tempDir();
  const { code, json, stderr } = await run(repo, home);
  assert.equal(code, 0, stderr);
  assert.deepEqual(json.result.map((r: { status: string }) => r.status), ['proposed', 'proposed']);
  const branches = foremanBranches(repo).sort();
  assert.equal(branches.length, 2);
  const addBranch = branches.find((b) => b.endsWith('document-add'))!;
  const mulBranch = branches.find((b) => b.endsWith('document-mul'))!;
  assert.match(gitIn(repo, 'show', `${addBranch}:src/math.js`), /\/\/ Adds\./);
  assert.doesNotMatch(gitIn(repo, 'show', `${addBranch}:src/math.js`), /Multiplies/);
  assert.match(gitIn(repo, 'show', `${mulBranch}:src/math.js`), /\/\/ Multiplies\./);
  assert.doesNotMatch(gitIn(repo, 'show', `${mulBranch}:src/math.js`), /Adds/);
  assert.deepEqual(foremanWorktrees(repo, home), []);
});

test('writes outside the worktree or into .git are refused and change nothing', async () => {
  const outside = tempDir();
  scripts.set('MARK-escape', (req) => {
    if (req.turn === 0) {
      return [
        toolUse('write_file', { path: '../escaped.txt', content: 'x' }),
        toolUse('write_file', { path: `${outside}/abs.txt`, content: 'x' }),
        toolUse('edit_file', { path: '.git/HEAD', old_string: 'ref', new_string: 'nope' }),
        toolUse('write_file', { path: '.git/hooks/pre-commit', content: '#!/bin/sh\necho owned\n' }),
      ];
    }
    return [text(JSON.stringify(req.lastToolResults.map((r) => Boolean(r.is_error))))];
  });
  const repo = workflowRepo(`const c = await change('MARK-escape: try to escape', { label: 'escape' })\nreturn c`);
  const home = tempDir();
  const { code, json, stderr } = await run(repo, home);
  assert.equal(code, 0, stderr);
  assert.equal(json.result, null, 'nothing was written, so there is no change');
  const refusals = fake.requests.filter((r) => r.prompt.includes('MARK-escape') && r.turn === 1)[0].lastToolResults;
  assert.equal(refusals.length, 4);
  for (const r of refusals) assert.equal(r.is_error, true, r.content);
  assert.deepEqual(foremanWorktrees(repo, home), []);
  assert.equal(gitIn(repo, 'status', '--porcelain'), '');
});

test('run_command runs only configured commands, and never sees the API key or tokens', async () => {
  scripts.set('MARK-cmd', (req) => {
    if (req.turn === 0) {
      return [
        toolUse('run_command', { command: 'node -e "console.log(JSON.stringify(process.env))"' }),
        toolUse('run_command', { command: 'curl https://example.com' }),
      ];
    }
    return [text('done')];
  });
  const repo = workflowRepo(`return await change('MARK-cmd: check the environment', { label: 'env' })`, {
    '.github/foreman.yml': 'agents:\n  commands:\n    - node -e *\n',
  });
  const home = tempDir();
  const result = await runCli(['run', 'fixit', '--repo', repo, '--json'], {
    home,
    baseURL: fake.url,
    apiKey: 'sk-ant-secret-key',
    extra: { GITHUB_TOKEN: 'ghs_secret_token', NPM_TOKEN: 'npm_secret' },
  });
  assert.equal(result.code, 0, result.stderr);
  const [envResult, curlResult] = fake.requests.filter((r) => r.prompt.includes('MARK-cmd') && r.turn === 1)[0].lastToolResults;
  assert.notEqual(envResult.is_error, true, envResult.content);
  assert.match(envResult.content, /"PATH"/);
  for (const secret of ['sk-ant-secret-key', 'ghs_secret_token', 'npm_secret', 'ANTHROPIC_API_KEY', 'GITHUB_TOKEN']) {
    assert.ok(!envResult.content.includes(secret), `${secret} leaked into the command's environment`);
  }
  assert.equal(curlResult.is_error, true);
  assert.match(curlResult.content, /agents\.commands/);
});

test('resuming a finished run calls no model and opens no new branch', async () => {
  scripts.set('MARK-again', fixScript({ old_string: 'export function add', new_string: '// Adds, again.\nexport function add' }));
  const repo = workflowRepo(`return await fix('MARK-again: document add()', { label: 'again' })`);
  const home = tempDir();
  const first = await run(repo, home);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.json.result.status, 'proposed');
  const branches = foremanBranches(repo);
  const tip = gitIn(repo, 'rev-parse', branches[0]);

  const calls = fake.calls;
  const again = await runCli(['resume', first.json.runId, '--json'], { home, baseURL: fake.url });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(fake.calls, calls, 'no model call on resume');
  assert.equal(JSON.parse(again.stdout).result.status, 'proposed');
  assert.deepEqual(foremanBranches(repo), branches);
  assert.equal(gitIn(repo, 'rev-parse', branches[0]), tip);
  assert.deepEqual(foremanWorktrees(repo, home), []);
});

test('kill -9 during a gate, then resume: it completes with one branch and no worktree left', async () => {
  scripts.set('MARK-slow', fixScript({ old_string: 'export function add', new_string: '// Slowly.\nexport function add' }));
  const slowTest = `import { test } from 'node:test'\ntest('slow', async () => { await new Promise((r) => setTimeout(r, 3000)) })\n`;
  const repo = workflowRepo(`return await fix('MARK-slow: document add()', { label: 'slow' })`, { 'slow.test.js': slowTest });
  const home = tempDir();
  const env = { home, baseURL: fake.url };

  const { child, done } = startCli(['run', 'fixit', '--repo', repo], env);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 30_000;
  while (!/gate c[0-9a-f]+ slow: running/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.match(stderr, /gate .* running/);
  child.kill('SIGKILL');
  const killed = await done;
  const runId = /^run (\S+)/.exec(killed.stderr)![1];
  assert.deepEqual(foremanBranches(repo), []);

  const calls = fake.calls;
  const resumed = await runCli(['resume', runId, '--json'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(fake.calls, calls, 'the change and its reviews replay from the journal');
  assert.equal(JSON.parse(resumed.stdout).result.status, 'proposed');
  assert.equal(foremanBranches(repo).length, 1);

  const again = await runCli(['resume', runId, '--json'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(foremanBranches(repo).length, 1, 'no duplicate branch');
  assert.deepEqual(foremanWorktrees(repo, home), []);
});

test('no Foreman worktree is left after a failed run or a stopped one', async () => {
  scripts.set('MARK-fail', fixScript({ old_string: 'export function add', new_string: '// x\nexport function add' }));
  const repo = workflowRepo(`await change('MARK-fail: edit', { label: 'edit' })\nthrow new Error('the script gives up')`);
  const home = tempDir();
  const failed = await run(repo, home);
  assert.equal(failed.code, 1);
  assert.deepEqual(foremanWorktrees(repo, home), []);

  scripts.set('MARK-stop', (req) => (req.turn === 0 ? [toolUse('edit_file', { path: 'src/math.js', old_string: 'a + b', new_string: 'b + a' })] : [text('ok')]));
  const stopRepo = workflowRepo(`const c = await change('MARK-stop: edit', { label: 'edit' })\nawait gate(c)\nreturn 1`, {
    'slow.test.js': `import { test } from 'node:test'\ntest('slow', async () => { await new Promise((r) => setTimeout(r, 5000)) })\n`,
  });
  const stopHome = tempDir();
  const { child, done } = startCli(['run', 'fixit', '--repo', stopRepo], { home: stopHome, baseURL: fake.url });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 30_000;
  while (!/gate .* running/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  const stopped = await done;
  assert.equal(stopped.code, 1, stopped.stderr);
  assert.match(stopped.stderr, /stopped/);
  assert.deepEqual(foremanWorktrees(stopRepo, stopHome), []);
});
