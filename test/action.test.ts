// The GitHub Action as a runner runs it: `node dist/index.js` (the committed bundle) in a new
// process with INPUT_* variables, the event payload in GITHUB_EVENT_PATH, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, a checkout in GITHUB_WORKSPACE, GitHub's API at GITHUB_API_URL (a
// local stand-in), the repository served by `git http-backend`, and the fake Messages API.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asksForVerdict, isWriteAgent, startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { startFakeGitHubApi, type FakeGitHubApi } from './support/fake-github-api.ts';
import { INSTALLATION_TOKEN, NAME, OWNER, startRemote, type Remote } from './support/github-remote.ts';
import { exampleComment, prComment } from './support/github-app.ts';
import { gitIn, tempDir } from './support/repo.ts';

// What users get: the repository at a tag, action.yml and dist/ without any npm install.
const ACTION_DIR = tempDir('foreman-action-checkout-');
cpSync(fileURLToPath(new URL('../action.yml', import.meta.url)), join(ACTION_DIR, 'action.yml'));
cpSync(fileURLToPath(new URL('../dist', import.meta.url)), join(ACTION_DIR, 'dist'), { recursive: true });
const ENTRY = join(ACTION_DIR, 'dist', 'index.js');

const AUDIT_FIX = `export const meta = { name: 'audit-fix', description: 'Audit, then fix', phases: [{ title: 'Audit' }, { title: 'Fix' }] }
phase('Audit')
const report = await agent('AUDIT the greeting code', { schema: { type: 'object', required: ['findings'], properties: { findings: { type: 'array' } } } })
phase('Fix')
const fixes = await parallel(report.findings.map((f) => () => fix('FIX ' + f.file + ': ' + f.title, { title: 'Fix: ' + f.title, reviewers: 1, reviewPhase: 'Fix' })))
return { findings: report.findings, fixes: fixes.map((f) => f && f.status) }
`;
const SWEEP = `export const meta = { name: 'nightly', description: 'One look', phases: [{ title: 'Look' }] }
phase('Look')
return { seen: await agent('LOOK at the code'), args }
`;
const SLOW = `export const meta = { name: 'slow', description: 'Waits', phases: [{ title: 'Wait' }] }
phase('Wait')
return await agent('SLOW: wait until stopped')
`;
// What the model writes for a request in words.
const WRITTEN = `export const meta = { name: 'greeting-check', description: 'Looks at the greeting', phases: [{ title: 'Check' }] }
phase('Check')
return { seen: await agent('LOOK at the greeting') }
`;
const FINDING = { file: 'src/greet.js', line: 1, title: 'greet() drops the name', detail: 'the name is missing', severity: 'high' };

// Each test gets its own fake model, git server and GitHub API (set up before it, closed after
// it), so no test reads calls, comments, pull requests or model requests another left behind.
let fake: FakeAnthropic;
let remote: Remote;
let api: FakeGitHubApi;
// The SLOW agent's reply waits for this, so that only a stop ends its run.
let releaseSlow: () => void = () => {};

beforeEach(async () => {
  const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
  fake = await startFakeAnthropic({
    // Agents are told apart by what they are offered (a write agent gets edit_file, a reviewer a
    // verdict schema) or by the markers this file's own scripts put in their prompts.
    handler: async (req) => {
      if (req.tools.includes('submit_workflow')) return [toolUse('submit_workflow', { script: WRITTEN })];
      if (asksForVerdict(req)) return [toolUse('submit_result', { verdict: 'accept', reason: 'fixed' })];
      if (req.prompt.startsWith('SLOW')) {
        await slowReleased;
        return [text('released')];
      }
      if (req.prompt.startsWith('AUDIT')) return [toolUse('submit_result', { findings: [FINDING] })];
      if (req.prompt.startsWith('LOOK')) return [text('all quiet')];
      // After the plain agents: they are offered edit_file too, in the run's shared worktree.
      if (isWriteAgent(req)) return req.turn === 0 ? [toolUse('edit_file', { path: 'src/greet.js', old_string: "'hello '", new_string: "'hello ' + name" })] : [text('done')];
      return [text('done')];
    },
  });
  remote = await startRemote({
    'package.json': JSON.stringify({ name: 'greeter', type: 'module', scripts: { test: 'node --test' } }),
    'src/greet.js': "export const greet = (name) => 'hello '\n",
    'greet.test.js': "import { test } from 'node:test'\nimport assert from 'node:assert'\nimport { greet } from './src/greet.js'\ntest('greets', () => assert.equal(greet('ada'), 'hello ada'))\n",
    '.claude/workflows/audit-fix.js': AUDIT_FIX,
    '.claude/workflows/nightly.js': SWEEP,
    '.claude/workflows/slow.js': SLOW,
    '.github/foreman-always.yml': 'approval: always\n',
    '.github/foreman-never.yml': 'approval: never\n',
  });
  api = await startFakeGitHubApi(OWNER, NAME);
  Object.assign(api.roles, { Codertocat: 'write', visitor: 'read' });
  api.diffs[1] = 'diff --git a/NOTES.md b/NOTES.md\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1 @@\n+a change under review\n';
  api.pulls[1] = { number: 1, head: { sha: remote.headSha, ref: 'feature', repo: { full_name: `${OWNER}/${NAME}` } }, base: { sha: remote.mainSha, ref: 'main' } };
});
afterEach(async () => {
  releaseSlow();
  await api.close();
  await remote.close();
  await fake.close();
});

interface ActionRun {
  code: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
  workspace: string;
}

/** Runs the built action the way the runner does, for one event. */
async function runAction(eventName: string, payload: unknown, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}, prepare?: (workspace: string) => void): Promise<ActionRun> {
  return startAction(eventName, payload, inputs, extraEnv, prepare).done;
}

/** The same, handing back the process while it runs, as the runner holds it (to cancel it). */
function startAction(eventName: string, payload: unknown, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}, prepare?: (workspace: string) => void): { child: ChildProcess; done: Promise<ActionRun> } {
  const dir = tempDir('foreman-action-');
  // actions/checkout's result: the default branch, shallow, with the token's header already gone.
  const workspace = join(dir, 'workspace');
  execFileSync('git', ['clone', '-q', '--depth', '1', remote.bare, workspace]);
  prepare?.(workspace);
  const eventPath = join(dir, 'event.json');
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  writeFileSync(eventPath, JSON.stringify(payload));
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: `${OWNER}/${NAME}`,
    GITHUB_WORKSPACE: workspace,
    GITHUB_SHA: remote.mainSha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_API_URL: api.url,
    GITHUB_SERVER_URL: remote.server.url,
    RUNNER_TEMP: join(dir, 'tmp'),
    ANTHROPIC_BASE_URL: fake.url,
    'INPUT_ANTHROPIC-API-KEY': 'sk-test',
    'INPUT_GITHUB-TOKEN': INSTALLATION_TOKEN,
    INPUT_CONFIG: '.github/foreman.yml',
    INPUT_PROPOSE: 'pr',
    'INPUT_CHECK-RUNS': 'true',
    INPUT_SARIF: 'false',
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...extraEnv,
  };
  const child = spawn(process.execPath, [ENTRY], { env, cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stdout += d));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve)).then((code) => ({
    code,
    stdout,
    outputs: parseOutputs(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
    workspace,
  }));
  return { child, done };
}

/** The runner's GITHUB_OUTPUT format: `name<<delimiter`, the value's lines, the delimiter. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^<]+)<<(.+)$/.exec(lines[i]);
    if (!heredoc) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]);
    outputs[heredoc[1]] = value.join('\n');
  }
  return outputs;
}

const since = (from: number) => api.calls.slice(from).map((c) => `${c.method} ${c.path}`);

test('a /workflow comment on a pull request: outputs, job summary, check runs and one pull request per verified fix', async () => {
  const from = api.calls.length;
  const payload = prComment('/workflow audit-fix');
  const run = await runAction('issue_comment', payload, {});
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.outputs.status, 'completed');
  assert.match(run.outputs['run-id'], /^\d{8}-\d{6}-[0-9a-f]{4}$/);
  assert.deepEqual(JSON.parse(run.outputs.findings).map((f: { file: string }) => f.file), ['src/greet.js']);
  assert.deepEqual(JSON.parse(run.outputs.result).fixes, ['proposed']);
  const pulls = JSON.parse(run.outputs['pull-requests']);
  assert.equal(pulls.length, 1);
  assert.match(pulls[0], /^https:\/\/github\.test\/Codertocat\/Hello-World\/pull\/\d+$/);
  assert.ok(Number(run.outputs.tokens) > 0);
  assert.ok(Number(run.outputs['cost-usd']) > 0);
  assert.ok(existsSync(run.outputs['report-path']));
  assert.match(run.summary, /<h2>Foreman · audit-fix · completed<\/h2>/);
  assert.match(run.summary, /<code>src\/greet\.js:1<\/code> \(high\): greet\(\) drops the name/);
  assert.match(run.stdout, /::warning title=greet\(\) drops the name,file=src\/greet\.js,line=1::the name is missing/);

  const calls = since(from);
  assert.ok(calls.includes('GET /repos/Codertocat/Hello-World/collaborators/Codertocat/permission'));
  assert.ok(calls.includes('POST /repos/Codertocat/Hello-World/issues/comments/492700400/reactions'));
  const checks = api.calls.slice(from).filter((c) => c.method === 'POST' && c.path.endsWith('/check-runs')).map((c) => c.body.name);
  assert.deepEqual(checks.sort(), ['Foreman: audit-fix', 'Foreman: audit-fix / Audit', 'Foreman: audit-fix / Fix']);
  const opened = api.calls.slice(from).filter((c) => c.method === 'POST' && c.path.endsWith('/pulls'));
  assert.equal(opened.length, 1);
  assert.equal(opened[0].body.base, 'feature');
  assert.match(execFileSync('git', ['--git-dir', remote.bare, 'show', `refs/heads/${opened[0].body.head}:src/greet.js`], { encoding: 'utf8' }), /'hello ' \+ name/);
  assert.deepEqual(api.unexpected, []);
  assert.doesNotMatch(run.stdout, new RegExp(INSTALLATION_TOKEN));
  // Other people's input: without agents.web in the config, no agent could search or fetch.
  assert.deepEqual(fake.requests.filter((req) => Object.keys(req.serverTools).length > 0), []);
});

test("a token actions/checkout persisted in .git/config is gone before anything runs, with a warning naming persist-credentials; the fix is still pushed", async () => {
  const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${INSTALLATION_TOKEN}`).toString('base64')}`;
  const persist = (workspace: string) => {
    // What actions/checkout@v4 writes with persist-credentials left at its default.
    execFileSync('git', ['config', '--local', `http.${remote.server.url}/.extraheader`, header], { cwd: workspace });
    execFileSync('git', ['config', '--local', 'url.https://x-access-token:' + INSTALLATION_TOKEN + '@github.test/.insteadOf', 'https://github.test/'], { cwd: workspace });
  };
  const from = api.calls.length;
  const run = await runAction('issue_comment', prComment('/workflow audit-fix'), {}, {}, persist);
  assert.equal(run.code, 0, run.stdout);
  assert.deepEqual(JSON.parse(run.outputs.result).fixes, ['proposed']);
  assert.equal(api.calls.slice(from).filter((c) => c.method === 'POST' && c.path.endsWith('/pulls')).length, 1, 'the push used its own header');
  const config = readFileSync(join(run.workspace, '.git', 'config'), 'utf8');
  assert.doesNotMatch(config, new RegExp(`${INSTALLATION_TOKEN}|${Buffer.from(`x-access-token:${INSTALLATION_TOKEN}`).toString('base64')}|extraheader`, 'i'));
  assert.match(config, /\[remote "origin"\]/, 'the rest of the config is kept');
  assert.match(run.stdout, /::warning::Foreman removed the job's token from the checkout's \.git\/config .*persist-credentials: false/);
  assert.doesNotMatch(run.stdout, new RegExp(INSTALLATION_TOKEN));
});

test("actions/checkout v6's token, in a file under RUNNER_TEMP that .git/config includes, is cut off before anything runs", async () => {
  const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${INSTALLATION_TOKEN}`).toString('base64')}`;
  const temp = tempDir();
  const credentials = join(temp, 'git-credentials-0f8fad5b.config');
  let probe = '';
  const persist = (workspace: string) => {
    // What actions/checkout@v6 writes with persist-credentials left at its default.
    execFileSync('git', ['config', '--file', credentials, `http.${remote.server.url}/.extraheader`, header]);
    execFileSync('git', ['config', '--local', `includeIf.gitdir:${join(workspace, '.git')}.path`, credentials], { cwd: workspace });
    execFileSync('git', ['config', '--local', `includeIf.gitdir:${join(workspace, '.git')}/worktrees/*.path`, credentials], { cwd: workspace });
    probe = execFileSync('git', ['config', '--get', `http.${remote.server.url}/.extraheader`], { cwd: workspace, encoding: 'utf8' });
  };
  const from = api.calls.length;
  const run = await runAction('issue_comment', prComment('/workflow audit-fix'), {}, {}, persist);
  assert.match(probe, /AUTHORIZATION/, 'the set-up reproduces what git saw before Foreman ran');
  assert.equal(run.code, 0, run.stdout);
  assert.equal(api.calls.slice(from).filter((c) => c.method === 'POST' && c.path.endsWith('/pulls')).length, 1, 'the push used its own header');
  const seen = spawnSync('git', ['config', '--get', `http.${remote.server.url}/.extraheader`], { cwd: run.workspace, encoding: 'utf8' });
  assert.equal(seen.stdout, '', 'git in the checkout no longer sees the token');
  assert.doesNotMatch(readFileSync(join(run.workspace, '.git', 'config'), 'utf8'), /includeIf/i);
  assert.match(run.stdout, /::warning::Foreman removed the job's token from the checkout's \.git\/config .*persist-credentials: false/);
  assert.doesNotMatch(run.stdout, new RegExp(INSTALLATION_TOKEN));
});

test('a run the max-cost-usd input ended is budget-exhausted: not green, not ✅, one error that says how to raise the cap here', async () => {
  const from = api.calls.length;
  const run = await runAction('issue_comment', prComment('/workflow audit-fix'), { 'max-cost-usd': '0.0001' });
  assert.equal(run.code, 1, run.stdout);
  assert.equal(run.outputs.status, 'budget-exhausted');
  const errors = run.stdout.split('\n').filter((line) => line.startsWith('::error::'));
  assert.equal(errors.length, 1, run.stdout);
  assert.match(errors[0], /budget-exhausted: the cost cap is reached/);
  assert.match(errors[0], /raise the `max-cost-usd` input and run the workflow again/);
  assert.doesNotMatch(errors[0], /foreman resume/, 'no CLI command in the Action');
  const completed = api.calls.slice(from).filter((c) => c.method === 'PATCH' && c.path.includes('/check-runs/') && c.body.status === 'completed');
  const summaryCheck = completed.find((c) => /^budget-exhausted/.test(c.body.output?.title ?? ''));
  assert.ok(summaryCheck, 'the summary check names the status');
  assert.equal(summaryCheck.body.conclusion, 'action_required');
  assert.ok(completed.every((c) => c.body.conclusion !== 'success' || !/refused/.test(c.body.output?.title ?? '')), 'no check with refused agents is green');
  const comments = api.calls.slice(from).filter((c) => (c.method === 'PATCH' || c.method === 'POST') && /\/issues\/(1\/)?comments/.test(c.path)).map((c) => c.body.body as string);
  const final = comments.at(-1)!;
  assert.match(final, /⚠️ budget exhausted/);
  assert.doesNotMatch(final, /✅ completed/);
  assert.match(run.summary, /<h2>Foreman · audit-fix · budget-exhausted<\/h2>/);
});

test('a comment from someone without write access is refused before anything of the pull request is fetched', async () => {
  const from = api.calls.length;
  const gitRequests = remote.server.requests.length;
  const modelCalls = fake.requests.length;
  const run = await runAction('issue_comment', prComment('/workflow audit-fix', { login: 'visitor' }), {});
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.outputs.status, 'refused');
  const calls = api.calls.slice(from);
  assert.deepEqual(calls.map((c) => `${c.method} ${c.path}`), ['GET /repos/Codertocat/Hello-World/collaborators/visitor/permission', 'POST /repos/Codertocat/Hello-World/issues/1/comments']);
  assert.match(calls[1].body.body, /^@visitor, thanks for asking: Foreman starts workflows only for people with \*\*write\*\* access/);
  // The runner's checkout is the only git traffic: nothing of the pull request was fetched.
  assert.equal(remote.server.requests.slice(gitRequests).filter((r) => r.url.includes('git-upload-pack')).length, 0);
  assert.equal(gitIn(run.workspace, 'for-each-ref', 'refs/foreman/').trim(), '');
  assert.equal(fake.requests.length, modelCalls, 'no model call');
});

test('a schedule runs the configured workflow on the commit of the event, and a failing run fails the step with one message', async () => {
  const from = api.calls.length;
  const run = await runAction('schedule', { schedule: '0 3 * * 1', repository: exampleComment().repository }, { workflow: 'nightly', args: '{"depth": 2}' });
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.outputs.status, 'completed');
  assert.deepEqual(JSON.parse(run.outputs.result), { seen: 'all quiet', args: { depth: 2 } });
  assert.deepEqual(JSON.parse(run.outputs['pull-requests']), []);
  const checks = api.calls.slice(from).filter((c) => c.method === 'POST' && c.path.endsWith('/check-runs'));
  assert.deepEqual(checks.map((c) => c.body.head_sha), [remote.mainSha, remote.mainSha]);
  assert.ok(!since(from).some((c) => c.includes('/comments')), 'a schedule has no issue to comment on');

  const failing = await runAction('schedule', { schedule: '0 3 * * 1' }, { workflow: 'no-such-workflow' });
  assert.equal(failing.code, 1);
  const errors = failing.stdout.split('\n').filter((line) => line.startsWith('::error::'));
  assert.equal(errors.length, 1, failing.stdout);
  assert.match(errors[0], /no-such-workflow/);
});

test('a label on a pull request runs the workflow input on its head, after checking who put it on', async () => {
  const from = api.calls.length;
  const run = await runAction('pull_request', await labelled('security-review', 'Codertocat'), { workflow: 'nightly' });
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.outputs.status, 'completed');
  const calls = since(from);
  assert.ok(calls.includes('GET /repos/Codertocat/Hello-World/collaborators/Codertocat/permission'), 'the labeller was checked');
  assert.ok(calls.includes('POST /repos/Codertocat/Hello-World/issues/1/comments'), 'the progress comment is on the pull request');
  const checks = api.calls.slice(from).filter((c) => c.method === 'POST' && c.path.endsWith('/check-runs'));
  assert.ok(checks.length > 0 && checks.every((c) => c.body.head_sha === remote.headSha), 'the run read the pull request head');
  assert.equal(gitIn(run.workspace, 'rev-parse', 'refs/foreman/pull/1').trim(), remote.headSha, 'fetched after the check');
  // Asked for without args on a pull request, the workflow got the change, as on the App.
  const { args } = JSON.parse(run.outputs.result);
  assert.equal(args.head, remote.headSha);
  assert.match(args.diff, /^diff --git a\/NOTES\.md b\/NOTES\.md/);
});

test('a label put on by someone without the trigger role is refused in the words the App uses, before anything is fetched', async () => {
  const from = api.calls.length;
  const run = await runAction('pull_request', await labelled('security-review', 'visitor'), { workflow: 'nightly' });
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.outputs.status, 'refused');
  const calls = api.calls.slice(from);
  assert.deepEqual(calls.map((c) => `${c.method} ${c.path}`), ['GET /repos/Codertocat/Hello-World/collaborators/visitor/permission', 'POST /repos/Codertocat/Hello-World/issues/1/comments']);
  assert.match(calls[1].body.body, /^@visitor, thanks: the label `security-review` starts `nightly` only when someone with \*\*write\*\* access puts it on \(you have \w+\)\.$/);
  assert.match(run.stdout, /::notice::Foreman: not run: visitor has \w+ access; label runs need write/);
});

/** GitHub's example of a label put on pull request 1: `label`, by `login`. */
async function labelled(label: string, login: string): Promise<any> {
  const examples = (await import('node:module')).createRequire(import.meta.url)('@octokit/webhooks-examples') as any[];
  const payload = structuredClone(examples.find((d) => d.name === 'pull_request').examples.find((e: any) => e.action === 'labeled' && e.installation));
  payload.label = { name: label };
  payload.pull_request.number = 1;
  payload.sender = { login, type: 'User' };
  return payload;
}

/** A comment on issue `issue` (not a pull request) by `login`, saying `body`. */
function issueComment(body: string, issue: number, commentId: number, login = 'Codertocat'): any {
  const payload = exampleComment();
  payload.comment.body = body;
  payload.comment.id = commentId;
  payload.comment.user.login = payload.sender.login = login;
  payload.issue.number = issue;
  delete payload.issue.pull_request;
  return payload;
}

/** What the Action said on an issue or pull request since `from` comments. */
const saidOn = (issue: number, from = 0) => api.comments.slice(from).filter((c) => c.issue === issue);
const writerCalls = () => fake.requests.filter((r) => r.tools.includes('submit_workflow')).length;
const agentCalls = () => fake.requests.length - writerCalls();

test('free text on a pull request is shown as a plan; /workflow approve runs that script on the commit it was made for', async () => {
  const fromComments = api.comments.length;
  const fromCalls = api.calls.length;
  const writes = writerCalls();
  const asked = await runAction('issue_comment', prComment('/workflow find what is wrong with the greeting', { commentId: 5001 }), {});
  assert.equal(asked.code, 0, asked.stdout);
  assert.equal(asked.outputs.status, 'awaiting-approval');
  assert.equal(writerCalls(), writes + 1, 'the model wrote the workflow');
  const [plan] = saidOn(1, fromComments);
  assert.match(plan.body, /^### Foreman · plan for `\/workflow find what is wrong with the greeting` by @Codertocat/);
  assert.match(plan.body, /phases:  Check/);
  assert.match(plan.body, /agents:  about 1 /);
  assert.match(plan.body, /<details><summary>The script/);
  assert.ok(plan.body.includes("return { seen: await agent('LOOK at the greeting') }"), 'the script is shown');
  assert.match(plan.body, /Someone with write access runs it with `\/workflow approve`\.\n/);
  assert.doesNotMatch(plan.body, /workflow save/, 'the Action cannot save scripts');
  assert.ok(!since(fromCalls).some((c) => c.endsWith('/check-runs')), 'nothing ran');

  const approved = await runAction('issue_comment', prComment('/workflow approve', { commentId: 5002 }), {}, { GITHUB_RUN_ID: '9001' });
  assert.equal(approved.code, 0, approved.stdout);
  assert.equal(approved.outputs.status, 'completed');
  assert.deepEqual(JSON.parse(approved.outputs.result), { seen: 'all quiet' });
  assert.equal(writerCalls(), writes + 1, 'the approved script ran as shown, not written again');
  const checks = api.calls.slice(fromCalls).filter((c) => c.method === 'POST' && c.path.endsWith('/check-runs'));
  assert.deepEqual(checks.map((c) => c.body.name).sort(), ['Foreman: greeting-check', 'Foreman: greeting-check / Check']);
  assert.ok(checks.every((c) => c.body.head_sha === remote.headSha), 'on the planned commit');
  const progress = saidOn(1, fromComments).at(-1)!;
  assert.match(progress.body, /^### Foreman · `greeting-check` · ✅ completed/);
  assert.match(progress.body, /started by `\/workflow find what is wrong with the greeting` by @Codertocat, approved by @Codertocat/);

  // One approval, one run.
  const again = await runAction('issue_comment', prComment('/workflow approve', { commentId: 5003 }), {});
  assert.equal(again.outputs.status, 'answered');
  assert.match(saidOn(1).at(-1)!.body, /^\[That plan\]\(.+\) was approved already and ran as run `\d{8}-\d{6}-[0-9a-f]{4}` \(completed\)/);
  assert.deepEqual(api.unexpected, []);
});

test('without check runs an approval is used up too: the run says so in a comment of its own, and a second approve runs nothing', async () => {
  const fromComments = api.comments.length;
  const asked = await runAction('issue_comment', prComment('/workflow find what is wrong with the greeting', { commentId: 5101 }), { 'check-runs': 'false' });
  assert.equal(asked.outputs.status, 'awaiting-approval', asked.stdout);
  const agentsBefore = agentCalls();
  const approved = await runAction('issue_comment', prComment('/workflow approve', { commentId: 5102 }), { 'check-runs': 'false' }, { GITHUB_RUN_ID: '9101' });
  assert.equal(approved.outputs.status, 'completed', approved.stdout);
  assert.match(saidOn(1, fromComments).at(-1)!.body, /^Running \[the approved plan\]\(.+\) in \[workflow run 9101\]/);
  const again = await runAction('issue_comment', prComment('/workflow approve', { commentId: 5103 }), { 'check-runs': 'false' });
  assert.equal(again.outputs.status, 'answered');
  assert.match(saidOn(1).at(-1)!.body, /^\[That plan\]\(.+\) was approved already/);
  assert.equal(agentCalls(), agentsBefore + 1, 'the plan ran once');
});

test("an approval runs only the Action's own plan, unedited, and not after the pull request moved", async () => {
  const agents = agentCalls();
  const asked = await runAction('issue_comment', issueComment('/workflow check the greeting once more', 7, 5101), {});
  assert.equal(asked.outputs.status, 'awaiting-approval');
  const plan = api.comments.at(-1)!;
  assert.equal(plan.issue, 7);

  // Someone with write access posts a copy of the plan, marker and all: it is not the Action's.
  const original = plan.body;
  plan.user = { login: 'Codertocat', type: 'User' };
  const forged = await runAction('issue_comment', issueComment('/workflow approve', 7, 5102), {});
  assert.equal(forged.outputs.status, 'answered');
  assert.match(api.comments.at(-1)!.body, /^Nothing here waits for approval/);
  plan.user = { login: api.identity, type: 'Bot' };

  // The plan's script, edited after it was shown, no longer has the hash the Action recorded.
  plan.body = original.replace("agent('LOOK at the greeting')", "agent('LOOK at something else')");
  const edited = await runAction('issue_comment', issueComment('/workflow approve', 7, 5103), {});
  assert.equal(edited.outputs.status, 'answered');
  assert.match(api.comments.at(-1)!.body, /no longer holds the script the Action wrote/);
  plan.body = original;

  // A commit pushed to the pull request after the plan: the approval is not for it.
  const onPull = await runAction('issue_comment', prComment('/workflow check the greeting once more', { commentId: 5104 }), {});
  assert.equal(onPull.outputs.status, 'awaiting-approval');
  const pull = api.pulls[1] as { head: { sha: string } };
  pull.head.sha = remote.mainSha;
  try {
    const moved = await runAction('issue_comment', prComment('/workflow approve', { commentId: 5105 }), {});
    assert.equal(moved.code, 1);
    assert.match(api.comments.at(-1)!.body, /^Foreman could not start .*the pull request changed after the plan \(planned on [0-9a-f]{7}, now [0-9a-f]{7}\)/);
  } finally {
    pull.head.sha = remote.headSha;
  }
  assert.equal(agentCalls(), agents, 'no agent ran');
});

/** A commit of `file` on top of `parent`, pushed as the head of pull request #`pull` (a fork's, seen from the base repository). */
function pushForkCommit(parent: string, file: string, pull: number): string {
  const work = tempDir('foreman-fork-');
  execFileSync('git', ['clone', '-q', remote.bare, work]);
  gitIn(work, 'checkout', '-q', parent);
  writeFileSync(join(work, file), `${file} from the fork\n`);
  gitIn(work, 'add', file);
  gitIn(work, '-c', 'user.name=Stranger', '-c', 'user.email=s@example.com', 'commit', '-qm', `add ${file}`);
  const sha = gitIn(work, 'rev-parse', 'HEAD').trim();
  gitIn(work, 'push', '-q', '-f', remote.bare, `${sha}:refs/pull/${pull}/head`);
  return sha;
}

test("on a fork's pull request a comment runs only the commit its approved plan named; a push after the approval runs nothing", async () => {
  const onFork = (body: string, commentId: number) => {
    const payload = prComment(body, { commentId });
    payload.issue.number = 2;
    return payload;
  };
  const planned = pushForkCommit(remote.headSha, 'FORK.md', 2);
  api.pulls[2] = { number: 2, head: { sha: planned, ref: 'patch-1', repo: { full_name: 'stranger/Hello-World' } }, base: { sha: remote.mainSha, ref: 'main' } };
  api.diffs[2] = 'diff --git a/FORK.md b/FORK.md\n';
  const agents = agentCalls();

  // The maintainer's comment shows a plan pinned to the head it saw, and runs nothing yet.
  const asked = await runAction('issue_comment', onFork('/workflow nightly', 5201), {});
  assert.equal(asked.code, 0, asked.stdout);
  assert.equal(asked.outputs.status, 'awaiting-approval');
  assert.ok(saidOn(2).at(-1)!.body.includes(`This pull request comes from a fork: approving runs its code as of commit \`${planned}\`, its head now, and nothing pushed after it.`));
  assert.equal(agentCalls(), agents, 'the comment alone ran nothing');

  // The fork pushes after the plan was approved: nothing runs, and the plan is shown again for the new head.
  const pushed = pushForkCommit(planned, 'EVIL.md', 2);
  (api.pulls[2] as { head: { sha: string } }).head.sha = pushed;
  const moved = await runAction('issue_comment', onFork('/workflow approve', 5202), {});
  assert.equal(moved.code, 1, moved.stdout);
  const [again, refusal] = saidOn(2).slice(-2);
  assert.match(refusal.body, new RegExp(`^Foreman could not start .*the pull request changed after the plan \\(planned on ${planned.slice(0, 7)}, now ${pushed.slice(0, 7)}\\): nothing pushed since runs on that approval; the plan is shown again for ${pushed.slice(0, 7)}: review the new commits, then \`/workflow approve\` again`));
  assert.ok(again.body.includes(`approving runs its code as of commit \`${pushed}\``), again.body);
  assert.throws(() => gitIn(moved.workspace, 'rev-parse', '--verify', '-q', 'refs/foreman/pull/2'), 'nothing of the fork was fetched');
  assert.equal(agentCalls(), agents, 'no agent ran on the moved head');

  // Approved again: exactly that commit runs, even when the fork pushes once more while the job starts.
  const later = pushForkCommit(pushed, 'LATER.md', 2);
  const approved = await runAction('issue_comment', onFork('/workflow approve', 5203), {});
  assert.equal(approved.code, 0, approved.stdout);
  assert.equal(approved.outputs.status, 'completed');
  assert.equal(gitIn(approved.workspace, 'rev-parse', 'refs/foreman/pull/2').trim(), pushed, 'the approved commit was fetched by its id, not the moved ref');
  assert.notEqual(pushed, later);
  assert.equal(JSON.parse(approved.outputs.result).args.head, pushed);
  assert.equal(agentCalls(), agents + 1);
  assert.deepEqual(api.unexpected, []);
});

test('help, list, status, resume, save and an unknown word are each answered on the issue', async () => {
  const issue = 8;
  let n = 5200;
  const ask = async (body: string) => {
    const from = api.comments.length;
    const run = await runAction('issue_comment', issueComment(body, issue, n++), {});
    const replies = saidOn(issue, from);
    return { run, reply: replies.at(-1)?.body ?? '' };
  };

  const help = await ask('/workflow help');
  assert.equal(help.run.outputs.status, 'answered');
  for (const command of ['/workflow <name> [args]', '/workflow <what to do, in words>', '/workflow approve', '/workflow status', '/workflow stop', '/workflow list']) {
    assert.ok(help.reply.includes(command), `help names ${command}`);
  }
  assert.match(help.reply, /cannot resume a run or save a script/);

  assert.match((await ask('/workflow list')).reply, /^\*\*Workflows\*\* for `\/workflow <name> \[args\]`: .*`audit-fix`.*`nightly`/);
  assert.match((await ask('/workflow status')).reply, /^No Foreman run has reported here yet/);

  // One word that names no workflow is not free text: the answer is the workflows there are.
  const unknown = await ask('/workflow find');
  assert.equal(unknown.run.code, 1);
  assert.match(unknown.reply, /^Foreman could not start `\/workflow find` by @Codertocat: Workflow "find" not found\. Available workflows: .*audit-fix/);

  const ran = await ask('/workflow nightly');
  assert.equal(ran.run.outputs.status, 'completed');
  assert.match((await ask('/workflow status')).reply, new RegExp(`^Run \`${ran.run.outputs['run-id']}\` \\(\`nightly\`, \\[progress\\]\\(.+\\)\\) is \\*\\*completed\\*\\*\\.$`));
  assert.match((await ask('/workflow resume')).reply, /^The Action cannot resume a run/);
  assert.match((await ask('/workflow save greeting')).reply, /`\.claude\/workflows\/greeting\.js`/);
  assert.match((await ask('/workflow stop')).reply, /^There is no Foreman run in progress here to stop/);
  assert.match((await ask('/workflow stop now please')).reply, /^That `\/workflow` command was not understood/);
  assert.deepEqual(api.unexpected, []);
});

test("the Action's checks and comments offer no buttons and no resume, only what works there", async () => {
  const from = api.calls.length;
  const run = await runAction('issue_comment', issueComment('/workflow nightly', 9, 5300), {}, { GITHUB_RUN_ID: '9100' });
  assert.equal(run.outputs.status, 'completed');
  const calls = api.calls.slice(from);
  const created = calls.filter((c) => c.method === 'POST' && c.path.endsWith('/check-runs'));
  const updated = calls.filter((c) => c.method === 'PATCH' && c.path.includes('/check-runs/'));
  for (const call of [...created, ...updated]) {
    assert.deepEqual(call.body.actions ?? [], [], 'no Stop or Resume button');
    assert.doesNotMatch(JSON.stringify(call.body.output ?? {}), /\*\*Stop\*\* button|\/workflow resume/);
  }
  const summary = created.find((c) => c.body.name === 'Foreman: nightly')!;
  assert.match(summary.body.output.summary, /Stop it by commenting `\/workflow stop` on #9, or by cancelling \[the workflow run\]\(.+\/actions\/runs\/9100\)\./);
  const bodies = calls.filter((c) => c.path.includes('/comments') && c.body?.body).map((c) => c.body.body as string);
  assert.ok(bodies.length >= 2);
  for (const body of bodies) assert.doesNotMatch(body, /\*\*Stop\*\* button|\*\*Resume\*\* button|\/workflow resume|\/workflow stop \d/);
  assert.match(bodies[0], /Stop it with `\/workflow stop`, or by cancelling \[the workflow run\]/);
});

test('/workflow stop cancels the workflow run executing the run, which stops and says so', async () => {
  const issue = 10;
  const started = startAction('issue_comment', issueComment('/workflow slow', issue, 5400), {}, { GITHUB_RUN_ID: '9200' });
  api.workflowRuns[9200] = { status: 'in_progress', conclusion: null };
  // What the runner does when a workflow run is cancelled: SIGINT to the step's process.
  api.onCancel = (id) => {
    if (id === 9200) started.child.kill('SIGINT');
  };
  try {
    const deadline = Date.now() + 20_000;
    while (!saidOn(issue).some((c) => c.body.includes('⏳ running') && c.body.includes('Wait'))) {
      assert.ok(Date.now() < deadline, 'the run reported that it runs');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const running = await runAction('issue_comment', issueComment('/workflow status', issue, 5401), {});
    assert.equal(running.outputs.status, 'answered');
    assert.match(saidOn(issue).at(-1)!.body, /is \*\*running\*\* in \[workflow run 9200\]\(.+\/actions\/runs\/9200\)/);

    const from = api.calls.length;
    const stop = await runAction('issue_comment', issueComment('/workflow stop', issue, 5402), {});
    assert.equal(stop.outputs.status, 'answered');
    assert.ok(since(from).includes('POST /repos/Codertocat/Hello-World/actions/runs/9200/cancel'));
    assert.match(saidOn(issue).at(-1)!.body, /^Cancelling \[workflow run 9200\]\(.+\), which executes run `\d{8}-\d{6}-[0-9a-f]{4}` \(`slow`\)/);

    const stopped = await started.done;
    assert.equal(stopped.outputs.status, 'stopped');
    api.workflowRuns[9200] = { status: 'completed', conclusion: 'cancelled' };
    const progress = saidOn(issue).find((c) => c.body.startsWith('### Foreman · `slow`'))!;
    assert.match(progress.body, /^### Foreman · `slow` · ⏹️ stopped/);
    await runAction('issue_comment', issueComment('/workflow status', issue, 5403), {});
    assert.match(saidOn(issue).at(-1)!.body, /^Run `\d{8}-\d{6}-[0-9a-f]{4}` \(`slow`, .+\) is \*\*stopped\*\*\.$/);
  } finally {
    // As the runner cancels: index.js hands the signal to the Action's process.
    started.child.kill('SIGINT');
    await started.done;
    api.onCancel = () => {};
  }
});

test('/workflow stop with a token that may not cancel workflow runs says what permission to add', async () => {
  const issue = 11;
  const started = startAction('issue_comment', issueComment('/workflow slow', issue, 5500), {}, { GITHUB_RUN_ID: '9300' });
  api.workflowRuns[9300] = { status: 'in_progress', conclusion: null };
  try {
    const deadline = Date.now() + 20_000;
    while (!saidOn(issue).some((c) => c.body.includes('⏳ running'))) {
      assert.ok(Date.now() < deadline, 'the run reported that it runs');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    api.cancelStatus = 403;
    const stop = await runAction('issue_comment', issueComment('/workflow stop', issue, 5501), {});
    assert.equal(stop.outputs.status, 'answered');
    assert.match(saidOn(issue).at(-1)!.body, /^Foreman cannot cancel \[workflow run 9300\]\(.+\) \(run `.+` \(`slow`\)\): the workflow's token lacks `actions: write`\. Add `actions: write` to the `permissions:`/);
    assert.equal(started.child.exitCode, null, 'the run goes on');
  } finally {
    api.cancelStatus = null;
    started.child.kill('SIGINT');
    await started.done;
  }
});

test('config approval: always shows the plan of a named workflow too; never runs a written one at once', async () => {
  const always = { config: '.github/foreman-always.yml' };
  const asked = await runAction('issue_comment', issueComment('/workflow nightly {"depth": 1}', 12, 5600), always);
  assert.equal(asked.outputs.status, 'awaiting-approval');
  assert.match(saidOn(12).at(-1)!.body, /asks for approval before every run \(`approval: always`\)/);
  const approved = await runAction('issue_comment', issueComment('/workflow approve', 12, 5601), always);
  assert.equal(approved.outputs.status, 'completed');
  assert.deepEqual(JSON.parse(approved.outputs.result).args, { depth: 1 }, 'with the args it was asked with');

  const writes = writerCalls();
  const never = await runAction('issue_comment', issueComment('/workflow look at the greeting', 13, 5602), { config: '.github/foreman-never.yml' });
  assert.equal(never.outputs.status, 'completed');
  assert.equal(writerCalls(), writes + 1);
  assert.deepEqual(JSON.parse(never.outputs.result), { seen: 'all quiet' });
  assert.ok(!saidOn(13).some((c) => c.body.includes('plan for')), 'no plan was shown');
});

test('on a self-hosted runner without the sandbox, the Action refuses to gate, says what is missing and how to install it, and proposes nothing', async () => {
  const from = api.calls.length;
  const run = await runAction('issue_comment', prComment('/workflow audit-fix'), {}, { FOREMAN_BWRAP: '/nonexistent/bwrap', RUNNER_ENVIRONMENT: 'self-hosted' });
  assert.match(run.stdout, /::error::Foreman: the sandbox is unavailable: bubblewrap \(\/nonexistent\/bwrap\) is not installed; install bubblewrap \(Debian\/Ubuntu: sudo apt-get install bubblewrap.*Gate steps and agents' commands are refused/);
  assert.doesNotMatch(run.stdout, /sandbox: (installed|allowed)/, 'nothing is changed on a self-hosted runner');
  assert.deepEqual(JSON.parse(run.outputs.result).fixes, ['gate-failed']);
  assert.equal(api.calls.slice(from).filter((c) => c.method === 'POST' && c.path.endsWith('/pulls')).length, 0, 'nothing ungated is proposed');
});
