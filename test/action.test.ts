// The GitHub Action as a runner runs it: `node dist/index.js` (the committed bundle) in a new
// process with INPUT_* variables, the event payload in GITHUB_EVENT_PATH, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, a checkout in GITHUB_WORKSPACE, GitHub's API at GITHUB_API_URL (a
// local stand-in), the repository served by `git http-backend`, and the fake Messages API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
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
const FINDING = { file: 'src/greet.js', line: 1, title: 'greet() drops the name', detail: 'the name is missing', severity: 'high' };

let fake: FakeAnthropic;
let remote: Remote;
let api: FakeGitHubApi;

before(async () => {
  fake = await startFakeAnthropic({
    handler: (req) => {
      if (req.prompt.startsWith('AUDIT')) return [toolUse('submit_result', { findings: [FINDING] })];
      if (req.prompt.startsWith('You are reviewer')) return [toolUse('submit_result', { verdict: 'accept', reason: 'fixed' })];
      if (req.prompt.includes('FIX') && req.turn === 0) return [toolUse('edit_file', { path: 'src/greet.js', old_string: "'hello '", new_string: "'hello ' + name" })];
      if (req.prompt.startsWith('LOOK')) return [text('all quiet')];
      return [text('done')];
    },
  });
  remote = await startRemote({
    'package.json': JSON.stringify({ name: 'greeter', type: 'module', scripts: { test: 'node --test' } }),
    'src/greet.js': "export const greet = (name) => 'hello '\n",
    'greet.test.js': "import { test } from 'node:test'\nimport assert from 'node:assert'\nimport { greet } from './src/greet.js'\ntest('greets', () => assert.equal(greet('ada'), 'hello ada'))\n",
    '.claude/workflows/audit-fix.js': AUDIT_FIX,
    '.claude/workflows/nightly.js': SWEEP,
  });
  api = await startFakeGitHubApi(OWNER, NAME);
  Object.assign(api.roles, { Codertocat: 'write', visitor: 'read' });
  api.diffs[1] = 'diff --git a/NOTES.md b/NOTES.md\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1 @@\n+a change under review\n';
  api.pulls[1] = { number: 1, head: { sha: remote.headSha, ref: 'feature', repo: { full_name: `${OWNER}/${NAME}` } }, base: { sha: remote.mainSha, ref: 'main' } };
});
after(async () => {
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
async function runAction(eventName: string, payload: unknown, inputs: Record<string, string>): Promise<ActionRun> {
  const dir = tempDir('foreman-action-');
  // actions/checkout's result: the default branch, shallow, with the token's header already gone.
  const workspace = join(dir, 'workspace');
  execFileSync('git', ['clone', '-q', '--depth', '1', remote.bare, workspace]);
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
  };
  const child = spawn(process.execPath, [ENTRY], { env, cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, outputs: parseOutputs(readFileSync(outputFile, 'utf8')), summary: readFileSync(summaryFile, 'utf8'), workspace };
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
  const examples = (await import('node:module')).createRequire(import.meta.url)('@octokit/webhooks-examples') as any[];
  const payload = structuredClone(examples.find((d) => d.name === 'pull_request').examples.find((e: any) => e.action === 'labeled' && e.installation));
  payload.label = { name: 'security-review' };
  payload.pull_request.number = 1;
  payload.sender = { login: 'Codertocat', type: 'User' };
  const run = await runAction('pull_request', payload, { workflow: 'nightly' });
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
