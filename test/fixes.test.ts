// Verified fixes end to end: the real CLI, real git worktrees, a fixture project whose tests
// really run in the gate, and the real SDK against the fake Messages API.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asksForVerdict, startFakeAnthropic, text, toolUse, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
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

type Verdict = 'accept' | 'refute';

/**
 * A write agent that makes one edit, then says what it did; reviewers (told apart by their verdict
 * schema, not by Foreman's prompt) vote `verdict`, or the nth reviewer asked votes `verdict[n - 1]`:
 * reviewer n's vote when the run has concurrency 1 (SERIAL), which asks them in order.
 */
function fixScript(edit: { old_string: string; new_string: string; path?: string }, verdict: Verdict | Verdict[] = 'accept'): Script {
  let asked = 0;
  return (req) => {
    if (asksForVerdict(req)) {
      const vote = Array.isArray(verdict) ? verdict[asked++] : verdict;
      return [toolUse('submit_result', { verdict: vote, reason: vote === 'accept' ? 'looks right' : 'this breaks callers' })];
    }
    if (req.turn === 0) return [toolUse('edit_file', { path: edit.path ?? 'src/math.js', ...edit })];
    return [text('made the edit')];
  };
}

function workflowRepo(script: string, extra: Record<string, string> = {}, project: Record<string, string> = PROJECT): string {
  return makeRepo({ ...project, ...extra, '.claude/workflows/fixit.js': `export const meta = { name: 'fixit', description: 'test fixes' }\n${script}` });
}

const foremanBranches = (repo: string): string[] =>
  gitIn(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/foreman/').split('\n').filter(Boolean);
/** Change commits Foreman keeps in the user's repository: refs/foreman/<run>/<change>. */
const foremanRefs = (repo: string): string[] =>
  gitIn(repo, 'for-each-ref', '--format=%(refname)', 'refs/foreman/').split('\n').filter(Boolean);
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

// ---- changes left by isolation: 'worktree' agents, propose()'s precondition, fix() outcomes ----

/** Runs `script` as the fixit workflow of a fresh fixture repository; the run must complete. */
/** One agent at a time: reviewers are asked in order, so a script can vote per reviewer. */
const SERIAL = ['--concurrency', '1'];

async function runCompleted(script: string, extra: Record<string, string> = {}, project: Record<string, string> = PROJECT, args: string[] = []) {
  const repo = workflowRepo(script, extra, project);
  const home = tempDir();
  const result = await run(repo, home, args);
  assert.equal(result.code, 0, result.stderr);
  return { ...result, repo, home };
}

const DOCUMENT_ADD = { old_string: 'export function add', new_string: '// Adds two numbers.\nexport function add' };
const BREAK_ADD = { old_string: 'a + b', new_string: 'a - b' };
const worktreeAgentScript = (marker: string) => `return await agent('${marker}: document add()', { isolation: 'worktree', label: 'candidate add' })`;

test("an unclaimed worktree agent's change is gated at the end of the run and proposed as its one branch", async () => {
  scripts.set('MARK-candidate-good', fixScript(DOCUMENT_ADD));
  const { json, stderr, repo, home } = await runCompleted(worktreeAgentScript('MARK-candidate-good'));
  assert.equal(json.result, 'made the edit', "the script gets the agent's answer, as in Claude Code");

  const branches = foremanBranches(repo);
  assert.equal(branches.length, 1, branches.join(', '));
  const [branch] = branches;
  assert.match(branch, new RegExp(`^foreman/${json.runId}/c[0-9a-f]+-candidate-add$`));
  assert.match(gitIn(repo, 'show', `${branch}:src/math.js`), /^\/\/ Adds two numbers\.\nexport function add/);
  assert.match(gitIn(repo, 'log', '-1', '--format=%B', branch), /^candidate add/);
  assert.deepEqual(json.changes, [{ id: json.changes[0].id, label: 'candidate add', gate: 'passed', branch, pr: null }]);
  assert.match(stderr, /change c[0-9a-f]+ candidate add: 1 file changed \(left by a worktree agent\)/);
  assert.deepEqual(foremanRefs(repo), [], 'a proposed change lives on in its branch, not under refs/foreman/');
  assert.deepEqual(foremanWorktrees(repo, home), []);
  assert.equal(readFileSync(join(repo, 'src/math.js'), 'utf8'), ADD);
});

test('with changes: report, an unclaimed change is listed but neither gated nor proposed', async () => {
  scripts.set('MARK-candidate-report', fixScript(DOCUMENT_ADD));
  const { json, stderr, repo, home } = await runCompleted(worktreeAgentScript('MARK-candidate-report'), { '.github/foreman.yml': 'changes: report\n' });
  assert.deepEqual(foremanBranches(repo), []);
  assert.equal(json.changes.length, 1);
  const [listed] = json.changes;
  assert.deepEqual(listed, { id: listed.id, label: 'candidate add', gate: null, branch: null, pr: null });
  assert.doesNotMatch(stderr, /gate c/);
  // Reported, not lost: the change commit stays under its ref for the user to pick up.
  assert.deepEqual(foremanRefs(repo), [`refs/foreman/${json.runId}/${listed.id}`]);
  assert.match(gitIn(repo, 'show', `refs/foreman/${json.runId}/${listed.id}:src/math.js`), /^\/\/ Adds two numbers\./);
  assert.deepEqual(foremanWorktrees(repo, home), []);
});

test('an unclaimed change that breaks the tests fails its gate at the end of the run and gets no branch', async () => {
  scripts.set('MARK-candidate-break', fixScript(BREAK_ADD));
  const { json, stderr, repo, home } = await runCompleted(worktreeAgentScript('MARK-candidate-break'));
  assert.deepEqual(foremanBranches(repo), []);
  assert.equal(json.changes.length, 1);
  assert.equal(json.changes[0].gate, 'failed');
  assert.equal(json.changes[0].branch, null);
  assert.match(stderr, /gate c[0-9a-f]+ candidate add: failed at test/);
  assert.doesNotMatch(stderr, /left unproposed/, 'a failed gate is an outcome, not a propose() error');
  assert.deepEqual(foremanWorktrees(repo, home), []);
  assert.deepEqual(foremanRefs(repo), [], 'discarded, as fix() discards a change that fails its gate');
});

const PROPOSE_REFUSED = /only a change whose gate passed can be proposed; call gate\(change\) and check \.passed first/;

test('propose() refuses a change that was never gated: the run fails saying gate() must pass first', async () => {
  scripts.set('MARK-ungated', fixScript(DOCUMENT_ADD));
  const repo = workflowRepo(`const c = await change('MARK-ungated: document add()', { label: 'ungated' })\nreturn await propose(c, { title: 't', body: 'b' })`);
  const home = tempDir();
  const { code, json, stderr } = await run(repo, home);
  assert.equal(code, 1, stderr);
  assert.equal(json.status, 'failed');
  assert.match(json.error, /propose\(\): change c[0-9a-f]+ \(ungated\) has not been through gate\(\)/);
  assert.match(json.error, PROPOSE_REFUSED);
  assert.match(json.error, /fixit\.js:3:\d+/, 'the error points at the propose() line of the script');
  assert.match(stderr, /run failed: (?:Error: )?propose\(\): .* has not been through gate\(\)/);
  assert.deepEqual(foremanBranches(repo), []);
  assert.doesNotMatch(stderr, /gate c/, 'a failed run settles no candidates, and this change was none');
});

test('propose() refuses a change whose gate failed', async () => {
  scripts.set('MARK-gate-failed', fixScript(BREAK_ADD));
  const { json, repo } = await runCompleted(`const c = await change('MARK-gate-failed: simplify add()', { label: 'gate failed' })
const g = await gate(c)
try {
  await propose(c, { title: 't', body: 'b' })
  return { passed: g.passed, refused: null }
} catch (error) {
  return { passed: g.passed, refused: error.message }
}`);
  assert.equal(json.result.passed, false);
  assert.match(json.result.refused, /^propose\(\): change c[0-9a-f]+ \(gate failed\) has failed gate\(\)/);
  assert.match(json.result.refused, PROPOSE_REFUSED);
  assert.deepEqual(foremanBranches(repo), []);
});

test('fix() with a split vote of its two reviewers is refuted, and the discarded change leaves no ref', async () => {
  scripts.set('MARK-split', fixScript(DOCUMENT_ADD, ['accept', 'refute']));
  const { json, stderr, repo } = await runCompleted(`return await fix('MARK-split: document add()', { label: 'split' })`, {}, PROJECT, SERIAL);
  assert.equal(json.result.status, 'refuted');
  assert.deepEqual(json.result.votes.map((v: { verdict: string }) => v.verdict), ['accept', 'refute']);
  assert.equal(json.result.gate, null);
  assert.equal(json.result.pr, null);
  assert.deepEqual(foremanBranches(repo), []);
  assert.deepEqual(foremanRefs(repo), []);
  assert.match(stderr, /discarded c[0-9a-f]+ split/);
  assert.deepEqual(json.changes.map((c: { gate: unknown; branch: unknown }) => [c.gate, c.branch]), [[null, null]]);
});

test('fix() with three reviewers proposes on a two-to-one majority', async () => {
  scripts.set('MARK-majority', fixScript(DOCUMENT_ADD, ['accept', 'refute', 'accept']));
  const { json, repo } = await runCompleted(`return await fix('MARK-majority: document add()', { label: 'majority', reviewers: 3 })`, {}, PROJECT, SERIAL);
  assert.equal(json.result.status, 'proposed');
  assert.deepEqual(json.result.votes.map((v: { verdict: string }) => v.verdict), ['accept', 'refute', 'accept']);
  assert.equal(json.result.gate.passed, true);
  const reviewers = fake.requests.filter((r) => r.prompt.includes('MARK-majority') && r.turn === 0 && asksForVerdict(r));
  assert.equal(reviewers.length, 3, 'three reviewers asked');
  assert.equal(new Set(reviewers.map((r) => r.prompt)).size, 3, 'each reviewer is its own agent, not a replay of another');
  const [branch] = foremanBranches(repo);
  assert.match(branch, /-majority$/);
  assert.match(gitIn(repo, 'show', `${branch}:src/math.js`), /^\/\/ Adds two numbers\./);
  assert.deepEqual(foremanRefs(repo), []);
});

test('fix() whose write agent edits nothing is unchanged, with no reviewer asked and nothing left', async () => {
  scripts.set('MARK-nothing', () => [text('the code is fine as it is')]);
  const { json, repo, home } = await runCompleted(`return await fix('MARK-nothing: document add()', { label: 'nothing' })`);
  assert.deepEqual(json.result, { status: 'unchanged', change: null, votes: [], gate: null, pr: null });
  assert.equal(fake.requests.filter((r) => r.prompt.includes('MARK-nothing') && asksForVerdict(r)).length, 0);
  assert.deepEqual(json.changes, []);
  assert.deepEqual(foremanBranches(repo), []);
  assert.deepEqual(foremanRefs(repo), []);
  assert.deepEqual(foremanWorktrees(repo, home), []);
});

test('fix() in a repository with no test command fails, with an error that says how to set gate.test', async () => {
  scripts.set('MARK-no-tests', fixScript(DOCUMENT_ADD));
  const { json, repo, home } = await runCompleted(`return await fix('MARK-no-tests: document add()', { label: 'no tests' })`, {}, { 'src/math.js': ADD });
  assert.equal(json.result.status, 'failed');
  assert.deepEqual(json.result.votes.map((v: { verdict: string }) => v.verdict), ['accept', 'accept']);
  assert.equal(json.result.gate, null);
  assert.match(json.result.error, /no test command found to gate changes with/);
  assert.match(json.result.error, /Set gate\.test .*in \.github\/foreman\.yml/);
  assert.match(json.result.error, /\ngate:\n(?: .*\n)*  test: \S/, 'the example shows the gate.test key');
  assert.deepEqual(foremanBranches(repo), []);
  assert.deepEqual(foremanRefs(repo), [], 'fix() discards a change it could not gate');
  assert.deepEqual(foremanWorktrees(repo, home), []);
});

test("agent(prompt, { cwd: change }) reads the change's files with read-only tools; without cwd it reads the base", async () => {
  scripts.set('MARK-cwd-write', fixScript(DOCUMENT_ADD));
  // Reads src/math.js, then answers with exactly what read_file gave it.
  scripts.set('MARK-cwd-read', (req) => (req.turn === 0 ? [toolUse('read_file', { path: 'src/math.js' })] : [text(req.lastToolResults[0].content)]));
  const { json, repo, home } = await runCompleted(`const c = await change('MARK-cwd-write: document add()', { label: 'cwd' })
const inChange = await agent('MARK-cwd-read: in the change', { cwd: c })
const inBase = await agent('MARK-cwd-read: in the base')
return { inChange, inBase }`);
  assert.match(json.result.inChange, /\/\/ Adds two numbers\./);
  assert.match(json.result.inChange, /export function add/);
  assert.doesNotMatch(json.result.inBase, /Adds two numbers/);
  assert.match(json.result.inBase, /export function add/);
  const inChange = fake.requests.find((r) => r.prompt.includes('MARK-cwd-read: in the change'))!;
  assert.ok(inChange.tools.includes('read_file'));
  assert.ok(!inChange.tools.includes('edit_file') && !inChange.tools.includes('write_file'), inChange.tools.join(', '));
  assert.deepEqual(foremanWorktrees(repo, home), []);
});
