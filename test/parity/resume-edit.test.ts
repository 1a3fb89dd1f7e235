// Claude Code parity, items 6 and 7 of issue #15: a run resumed with an edited script or new args
// keeps its id and replays every call whose inputs still match (Claude Code replays a prefix; Foreman
// matches by key), and args text that starts with { or [ must be JSON in every door, the error
// naming the position. Scripts are written in Claude Code's idioms (meta, phase, parallel, agent with
// a schema, args), run by the real CLI, real git and worktrees, the real sandbox and the fake model,
// which routes on what a request offers (a result schema, edit tools), never on Foreman's wording.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { Octokit } from '@octokit/core';
import { isWriteAgent, startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeRequest } from '../support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir } from '../support/repo.ts';
import { runCli, startCli } from '../support/cli.ts';
import { API, prComment, startApp } from '../support/github-app.ts';
import { fakeRestApi, intakeReads, pullRequest, startRemote } from '../support/github-remote.ts';
import { openStore } from '../../src/service/runs.ts';
import { GitHubProposer } from '../../src/github/proposer.ts';
import { readInputs, InputError } from '../../src/action/inputs.ts';

// ---- the fake model ----------------------------------------------------------------------------

interface Model {
  fake: FakeAnthropic;
  /** The script's own prompts the model was asked, in order (a request holds Foreman's framing too). */
  asked: string[];
  /** While on, an agent asked for plain text (the summary) waits until the test ends, so a kill lands first. */
  holdText: { on: boolean };
  /** What an agent asked for plain text answers; null: the request fails (a 400), so the agent fails. */
  answer: { text: string | null };
}

/** The agent prompts this file's scripts write, found in a request without reading Foreman's framing. */
const SCRIPT_PROMPT = /(Describe the [a-z]+ module[^\n]*|Summarise[^\n]*|Add a note to notes\.txt|Review the change to notes\.txt)/;

async function model(t: TestContext): Promise<Model> {
  const asked: string[] = [];
  const holdText = { on: false };
  const answer: { text: string | null } = { text: 'all modules described' };
  let release = (): void => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const fake = await startFakeAnthropic({
    handler: async (req: FakeRequest) => {
      const prompt = SCRIPT_PROMPT.exec(req.prompt)?.[1] ?? '(other)';
      asked.push(prompt);
      // Plain agents are offered edit_file too: the change() agent is the one asked to add a note.
      if (isWriteAgent(req) && prompt === 'Add a note to notes.txt') return req.turn === 0 ? [toolUse('edit_file', { path: 'notes.txt', old_string: 'notes', new_string: 'notes, tidied' })] : [text('tidied notes.txt')];
      if (req.toolSchemas.submit_result?.properties?.summary) return [toolUse('submit_result', { summary: `about ${prompt}` })];
      if (holdText.on) await held;
      if (answer.text === null) return { status: 400, error: { type: 'invalid_request_error', message: 'the reviewer is unavailable' } };
      return [text(answer.text)];
    },
  });
  t.after(() => {
    release();
    return fake.close();
  });
  return { fake, asked, holdText, answer };
}

// ---- scripts in Claude Code's idioms ------------------------------------------------------------

const SURVEY = (describe: (module: string) => string, extra = '') => `export const meta = {
  name: 'survey',
  description: 'Describe each module, then summarise',
  whenToUse: 'args: { modules: string[] } (default: auth, billing, search)',
  phases: [{ title: 'Describe' }, { title: 'Summarise' }],
}
const NOTE = { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] }
const modules = args && Array.isArray(args.modules) ? args.modules : ['auth', 'billing', 'search']
phase('Describe')
const notes = await parallel(modules.map((module) => () => agent(${describe('module')}, { label: module, schema: NOTE })))
${extra}
phase('Summarise')
const summary = await agent('Summarise the modules: ' + notes.map((n) => n.summary).join('; '))
return { modules, notes: notes.map((n) => n.summary), summary }
`;

const FIRST = SURVEY((m) => `'Describe the ' + ${m} + ' module'`);
// The edit: search's prompt changed, and a new call after the fan-out.
const EDITED = SURVEY(
  (m) => `${m} === 'search' ? 'Describe the search module and its indexes' : 'Describe the ' + ${m} + ' module'`,
  "notes.push(await agent('Describe the billing module tests', { label: 'billing tests', schema: NOTE }))",
);

const journalCount = (home: string, runId?: string): number => {
  try {
    const db = new DatabaseSync(join(home, '.foreman', 'foreman.db'), { readOnly: true });
    const row = (runId ? db.prepare('SELECT COUNT(*) AS n FROM journal WHERE run_id = ?').get(runId) : db.prepare('SELECT COUNT(*) AS n FROM journal').get()) as { n: number };
    db.close();
    return Number(row.n);
  } catch {
    return 0;
  }
};

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// ---- 6: resume an edited script -----------------------------------------------------------------

test('a killed run resumed with an edited script keeps its id and asks the model only for the changed and new calls; new args on the next resume run only what they change', async (t) => {
  const m = await model(t);
  const repo = makeRepo({ 'README.md': 'modules\n', '.claude/workflows/survey.js': FIRST });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };

  // Killed while the summary waits: the three descriptions are journaled.
  m.holdText.on = true;
  const { child, done } = startCli(['run', 'survey', '--repo', repo], env);
  await until('the three descriptions to be journaled', () => journalCount(home) >= 3);
  child.kill('SIGKILL');
  const killed = await done;
  const runId = /^run (\S+)/.exec(killed.stderr)![1];
  assert.equal(journalCount(home, runId), 3);
  m.holdText.on = false;

  // The edited script, given by path as `foreman run` takes one.
  const edited = join(tempDir(), 'survey.js');
  writeFileSync(edited, EDITED);
  m.asked.length = 0;
  const resumed = await runCli(['resume', runId, '--script', edited, '--json'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(resumed.stderr.split('\n')[0], `run ${runId}`, 'the run keeps its id');
  assert.deepEqual(
    m.asked.map((prompt) => prompt.replace(/:.*/, '')).sort(),
    ['Describe the billing module tests', 'Describe the search module and its indexes', 'Summarise the modules'],
    'auth and billing replay; the changed search prompt, the new call and the summary run',
  );
  const json = JSON.parse(resumed.stdout);
  assert.equal(json.runId, runId);
  assert.deepEqual(json.resume, { calls: 5, replayed: 2, unused: 1, edited: ['script'] });
  assert.match(resumed.stderr, /resume survey at [0-9a-f]{12} with an edited script \(3 journaled calls to replay\)/);

  // The human summary line says it too, and the store kept what the first attempt ran.
  const store = await openStore(join(home, '.foreman'));
  try {
    const run = (await store.getRun(runId))!;
    assert.equal(run.source, EDITED);
    const revisions = await store.listRevisions(runId);
    assert.equal(revisions.length, 1);
    assert.equal(revisions[0]!.source, FIRST);
  } finally {
    await store.close();
  }

  // New args on the next resume (of the completed run): only the new module and the summary run.
  m.asked.length = 0;
  const withArgs = await runCli(['resume', runId, '--args', '{"modules": ["auth", "billing", "search", "payments"]}'], env);
  assert.equal(withArgs.code, 0, withArgs.stderr);
  assert.deepEqual(
    m.asked.map((prompt) => prompt.replace(/:.*/, '')).sort(),
    ['Describe the payments module', 'Summarise the modules'],
  );
  assert.match(withArgs.stderr, /^completed: .*, replayed 4 of 6 calls \(resumed with new args\); 2 journaled calls no longer asked for$/m);
  assert.deepEqual(JSON.parse(withArgs.stdout).modules, ['auth', 'billing', 'search', 'payments']);
});

const TIDY = (title: string) => `export const meta = { name: 'tidy', description: 'Tidy notes.txt and propose it' }
const change_ = await change('Add a note to notes.txt', { label: 'tidy notes' })
if (!change_) return { proposed: false }
const verdict = await gate(change_)
if (!verdict.passed) return { proposed: false, gate: verdict }
const proposal = await propose(change_, { title: ${JSON.stringify(title)}, body: 'Tidies notes.txt.' })
const review = await agent('Review the change to notes.txt')
if (!review) throw new Error('the reviewer had nothing to say')
return { branch: proposal.branch, review }
`;

const foremanBranches = (repo: string): string[] => gitIn(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/foreman/').split('\n').filter(Boolean);

test('a propose() whose title was edited on resume opens no second branch, also when its first attempt was cut short before it was journaled', async (t) => {
  const m = await model(t);
  const repo = makeRepo({
    'notes.txt': 'notes\n',
    'package.json': JSON.stringify({ name: 'notes', type: 'module', scripts: { test: 'node -e "process.exit(0)"' } }),
    '.claude/workflows/tidy.js': TIDY('Tidy notes'),
  });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };

  // The first attempt fails after its proposal: the reviewer fails.
  m.answer.text = null;
  const failed = await runCli(['run', 'tidy', '--repo', repo, '--json'], env);
  assert.equal(failed.code, 1, failed.stderr);
  const runId = JSON.parse(failed.stdout).runId as string;
  const [branch] = foremanBranches(repo);
  assert.match(branch!, new RegExp(`^foreman/${runId}/c[0-9a-f]+-tidy-notes$`));

  // Resumed with the title edited: the change, its gate and its proposal replay; only the reviewer asks again.
  writeFileSync(join(repo, '.claude/workflows/tidy.js'), TIDY('Tidy the notes file'));
  m.asked.length = 0;
  const replayed = await runCli(['resume', runId, '--script', 'tidy', '--json'], env);
  assert.equal(replayed.code, 1, replayed.stderr);
  assert.deepEqual(m.asked, ['Review the change to notes.txt']);
  assert.deepEqual(foremanBranches(repo), [branch], 'no second branch');
  assert.deepEqual(JSON.parse(replayed.stdout).resume, { calls: 4, replayed: 3, unused: 0, edited: ['script'] });

  // A propose() cut short after its branch was made, before its journal entry; the title edited again.
  const db = new DatabaseSync(join(home, '.foreman', 'foreman.db'));
  db.prepare("DELETE FROM journal WHERE run_id = ? AND kind = 'propose'").run(runId);
  db.close();
  writeFileSync(join(repo, '.claude/workflows/tidy.js'), TIDY('Tidy notes.txt once more'));
  m.answer.text = 'looks right';
  const found = await runCli(['resume', runId, '--script', 'tidy', '--json'], env);
  assert.equal(found.code, 0, found.stderr);
  assert.deepEqual(foremanBranches(repo), [branch], 'still one branch: the proposer found the earlier one');
  assert.equal(JSON.parse(found.stdout).result.branch, branch);
});

test('foreman resume --script validates the edited script as foreman run does, and leaves the run as it was when it does not', async (t) => {
  const m = await model(t);
  const repo = makeRepo({ 'README.md': 'modules\n', '.claude/workflows/survey.js': FIRST });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };
  const first = await runCli(['run', 'survey', '--repo', repo, '--json'], env);
  assert.equal(first.code, 0, first.stderr);
  const runId = JSON.parse(first.stdout).runId as string;
  const broken = join(tempDir(), 'broken.js');
  writeFileSync(broken, "export const meta = { name: 'survey', description: 'x' }\nreturn Date.now(\n");
  const refused = await runCli(['resume', runId, '--script', broken], env);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /broken\.js/);
  const store = await openStore(join(home, '.foreman'));
  try {
    assert.equal((await store.getRun(runId))!.source, FIRST, 'the stored script is unchanged');
    assert.equal((await store.getRun(runId))!.status, 'completed');
  } finally {
    await store.close();
  }
});

// ---- 7: one rule for args ------------------------------------------------------------------------

test('--args that starts with { but is not JSON fails with its line and column and the fix, on run and on resume', async (t) => {
  const m = await model(t);
  const repo = makeRepo({ 'README.md': 'modules\n', '.claude/workflows/survey.js': FIRST });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };
  const bad = await runCli(['run', 'survey', '--repo', repo, '--args', '{"modules": ["auth",]}'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--args starts like JSON \(with \{ or \[\) but is not valid JSON at line 1, column 21: a comma before '\]' is not JSON: remove it, found "\]"/);
  assert.match(bad.stderr, /Fix the JSON there; to pass text that starts with \{ or \[, write it as a JSON string in double quotes/);
  const multiline = await runCli(['resume', 'any-run', '--args', '{\n  "modules": [\'auth\']\n}'], env);
  assert.equal(multiline.code, 2);
  assert.match(multiline.stderr, /at line 2, column 15: strings take double quotes, not single/);
  assert.equal(m.fake.calls, 0, 'nothing ran');
  // Other text is as before: its JSON value, or the text itself.
  const plain = await runCli(['run', 'survey', '--repo', repo, '--args', 'not json', '--json'], env);
  assert.equal(plain.code, 0, plain.stderr);
});

test("the Action's args input follows the same rule: the step fails naming the position", () => {
  const saved = { ...process.env };
  try {
    process.env['INPUT_ANTHROPIC-API-KEY'] = 'sk-test';
    process.env['INPUT_GITHUB-TOKEN'] = 'ghs_test';
    process.env.INPUT_ARGS = '[1, 2';
    // @actions/core prints ::add-mask:: for the key; nothing else is written.
    assert.throws(() => readInputs(), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /^the args input starts like JSON \(with \{ or \[\) but is not valid JSON at line 1, column 6: the array is not closed, found the end of the text/);
      return true;
    });
    process.env.INPUT_ARGS = '{"paths": ["src"]}';
    assert.deepEqual(readInputs().args, { paths: ['src'] });
    process.env.INPUT_ARGS = 'src/auth';
    assert.equal(readInputs().args, 'src/auth');
  } finally {
    process.env = saved;
  }
});

// ---- the App: /workflow resume after the saved script changed, and args errors answered ------------

const SLOW = (scan1: string) => `export const meta = { name: 'slow', description: 'Scan four parts', phases: [{ title: 'Scan' }] }
phase('Scan')
const seen = await parallel([0, 1, 2, 3].map((i) => () => agent(i === 1 ? ${JSON.stringify(scan1)} : 'SCAN ' + i, { label: 'scan ' + i })))
return { answers: seen, args: args ?? null }
`;

test('/workflow resume <run> <args> runs the saved workflow as the default branch has it now: unchanged calls replay, the report says how many', async (t) => {
  const asked: string[] = [];
  const fake = await startFakeAnthropic({
    handler: (req) => {
      const prompt = /SCAN[^\n]*/.exec(req.prompt)?.[0] ?? '(other)';
      asked.push(prompt);
      return [text(`answer to ${prompt}`)];
    },
  });
  const remote = await startRemote({ 'README.md': 'hello\n', '.claude/workflows/slow.js': SLOW('SCAN 1') });
  const h = await startApp({ anthropicUrl: fake.url });
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  t.after(async () => {
    nock.cleanAll();
    nock.enableNetConnect();
    await h.close();
    await remote.close();
    await fake.close();
  });
  const comment = (body: string, commentId: number) => {
    const payload = prComment(body, { commentId });
    payload.repository.clone_url = remote.cloneUrl;
    payload.repository.default_branch = 'main';
    return payload;
  };
  const ended = async (status: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const latest = await h.registry.latest('Codertocat/Hello-World', 1);
      if (latest?.state === 'done' && latest.status === status) return latest;
      if (Date.now() > deadline) throw new Error(`timed out waiting for a ${status} run: ${JSON.stringify(h.problems)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const github = fakeRestApi(API);

  // A cap stops the run after two agents.
  intakeReads(API, 'Codertocat', 'write', 'limits:\n  agentsPerRun: 2\n');
  pullRequest(API, remote);
  assert.equal((await h.deliver('issue_comment', comment('/workflow slow', 8301))).status, 200);
  const first = await ended('budget-exhausted');
  const runId = first.runId!;
  assert.deepEqual([...asked].sort(), ['SCAN 0', 'SCAN 1']);

  // Args that start like JSON and are not: answered with the position, the text only in code.
  intakeReads(API, 'Codertocat', 'write', 'limits:\n  agentsPerRun: 10\n');
  assert.equal((await h.deliver('issue_comment', comment(`/workflow resume ${runId} {"who": @octocat}`, 8302))).status, 200);
  const deadline = Date.now() + 10_000;
  while (!github.record.comments.some((c) => /not valid JSON/.test(c.body)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  const answer = github.record.comments.find((c) => /not valid JSON/.test(c.body))!.body;
  assert.match(answer, /^That `\/workflow` command was not understood: the args text starts like JSON \(with \{ or \[\) but is not valid JSON at line 1, column 9: expected a value/);
  assert.match(answer, /found `@`, near `\{"who": @octocat\}`/, 'the writer\'s text only inside code spans');

  // The saved workflow is edited on the default branch: SCAN 1's prompt changes.
  const work = tempDir();
  execFileSync('git', ['clone', '-q', remote.bare, work]);
  writeFileSync(join(work, '.claude/workflows/slow.js'), SLOW('SCAN 1 again, deeper'));
  gitIn(work, 'commit', '-q', '-am', 'deeper scan 1');
  gitIn(work, 'push', '-q', 'origin', 'HEAD:main');

  intakeReads(API, 'Codertocat', 'write', 'limits:\n  agentsPerRun: 10\n');
  pullRequest(API, remote).persist(false);
  asked.length = 0;
  assert.equal((await h.deliver('issue_comment', comment(`/workflow resume ${runId} {"depth": 2}`, 8303))).status, 200);
  const resumed = await ended('completed');
  github.stop();
  assert.equal(resumed.runId, runId, 'the run keeps its id');
  assert.deepEqual([...asked].sort(), ['SCAN 1 again, deeper', 'SCAN 2', 'SCAN 3'], 'SCAN 0 replays; the edited and the refused calls run');
  const store = await openStore(h.home);
  try {
    const run = (await store.getRun(runId))!;
    assert.deepEqual((run.result as { args: unknown }).args, { depth: 2 });
    assert.equal((await store.listRevisions(runId)).length, 1);
  } finally {
    await store.close();
  }
  const last = github.record.commentEdits.at(-1)!.body;
  assert.match(last, /replayed 1 of 4 calls \(resumed with an edited script and new args\); 1 journaled call no longer asked for/);
  assert.deepEqual(github.record.unexpected, []);
  assert.deepEqual(h.problems, []);
});

test("the App's proposer finds the pull request of a branch pushed under the change's earlier title: no second branch or pull request", async (t) => {
  const api = 'https://api.github.test';
  const repo = makeRepo({ 'src/a.ts': 'export const a = 1;\n' });
  const base = gitIn(repo, 'rev-parse', 'HEAD').trim();
  gitIn(repo, 'checkout', '-q', '-b', 'change');
  writeFileSync(join(repo, 'src/a.ts'), 'export const a = 2;\n');
  gitIn(repo, 'commit', '-qam', 'change c1');
  const commitSha = gitIn(repo, 'rev-parse', 'HEAD').trim();
  gitIn(repo, 'checkout', '-q', 'main');
  const remote = tempDir('foreman-remote-');
  execFileSync('git', ['init', '-q', '--bare', remote]);
  nock.disableNetConnect();
  t.after(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });
  const proposer = new GitHubProposer({ octokit: new Octokit({ auth: 'tok', baseUrl: api }), owner: 'acme', repo: 'widgets', repoDir: repo, remoteUrl: remote, token: 'ghs_x', baseBranch: 'main' });
  const ask = (title: string) => ({
    runId: 'run-1',
    changeId: 'c1',
    branch: `foreman/run-1/c1-${title.toLowerCase().replace(/\W+/g, '-')}`,
    branchPrefix: 'foreman/run-1/c1-',
    commitSha,
    baseSha: base,
    title,
    body: 'a was wrong.',
    message: `${title}\n\na was wrong.\n\nForeman-Run: run-1\nForeman-Change: c1\n`,
    draft: false,
  });
  const pulls = '/repos/acme/widgets/pulls';
  // A change c1-1 (another change of the run, whose branch shares the prefix) is not c1's.
  gitIn(repo, 'push', '-q', remote, `${commitSha}:refs/heads/foreman/run-1/c1-1-other`);

  nock(api).get(pulls).query(true).reply(200, []).post(pulls).reply(201, { number: 7, html_url: 'https://github.test/acme/widgets/pull/7' });
  const first = await proposer.propose(ask('Bump a'));
  assert.deepEqual(first, { branch: 'foreman/run-1/c1-bump-a', pr: { number: 7, url: 'https://github.test/acme/widgets/pull/7' }, created: true });

  // Resumed with an edited title, its journal entry lost: the earlier branch's open pull request is returned.
  const lookups: string[] = [];
  nock(api)
    .get(pulls)
    .query((query) => (lookups.push(String(query.head)), true))
    .times(2)
    // nock 15 hands a reply function the fetch Request.
    .reply(200, (req: unknown) =>
      new URL((req as Request).url).searchParams.get('head') === 'acme:foreman/run-1/c1-bump-a' ? [{ number: 7, html_url: 'https://github.test/acme/widgets/pull/7', head: { ref: 'foreman/run-1/c1-bump-a' } }] : [],
    );
  const opened = nock(api).post(pulls).reply(201, { number: 8, html_url: 'https://github.test/acme/widgets/pull/8' });
  const again = await proposer.propose(ask('Bump a, the edited title'));
  assert.deepEqual(again, { branch: 'foreman/run-1/c1-bump-a', pr: { number: 7, url: 'https://github.test/acme/widgets/pull/7' }, created: false });
  assert.equal(opened.isDone(), false, 'no second pull request');
  assert.deepEqual(lookups, ['acme:foreman/run-1/c1-bump-a-the-edited-title', 'acme:foreman/run-1/c1-bump-a']);
  const branches = execFileSync('git', ['--git-dir', remote, 'for-each-ref', '--format=%(refname:short)'], { encoding: 'utf8' }).trim().split('\n').sort();
  assert.deepEqual(branches, ['foreman/run-1/c1-1-other', 'foreman/run-1/c1-bump-a'], 'no second branch');
});

test('foreman resume --script <name> finds the saved workflow from where the run works (the closest .claude/workflows), wherever the resume is typed', async (t) => {
  const fake = await startFakeAnthropic({ handler: (req) => [text(`seen: ${req.prompt.split('\n').at(-1)}`)] });
  t.after(() => fake.close());
  const wf = (marker: string) => `export const meta = { name: 'greet', description: 'Say which script ran' }\nreturn await agent('${marker}')\n`;
  const repo = makeRepo({
    'package.json': '{"name":"mono"}\n',
    '.claude/workflows/greet.js': wf('ROOT-SCRIPT'),
    'packages/api/.claude/workflows/greet.js': wf('API-SCRIPT'),
  });
  const home = tempDir();
  const first = await runCli(['run', 'greet', '--json'], { home, baseURL: fake.url }, join(repo, 'packages', 'api'));
  assert.equal(first.code, 0, first.stderr);
  assert.match(JSON.parse(first.stdout).result, /API-SCRIPT/);
  // The package's script is edited; the resume is typed at the repository's root.
  writeFileSync(join(repo, 'packages/api/.claude/workflows/greet.js'), wf('API-SCRIPT-EDITED'));
  const { runId } = JSON.parse(first.stdout);
  const resumed = await runCli(['resume', runId, '--script', 'greet', '--json'], { home, baseURL: fake.url }, repo);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(JSON.parse(resumed.stdout).result, /API-SCRIPT-EDITED/, "the run's own directory decides, not the root's script");
});

test('two propose() calls of one change at once make one proposal', async (t) => {
  const m = await model(t);
  const both = `export const meta = { name: 'twice', description: 'Propose one change twice at once' }
const change_ = await change('Add a note to notes.txt', { label: 'tidy notes' })
await gate(change_)
const [a, b] = await parallel([() => propose(change_, { title: 'First words', body: 'x' }), () => propose(change_, { title: 'Other words', body: 'y' })])
return { a: a.branch, b: b.branch }`;
  const repo = makeRepo({
    'notes.txt': 'notes\n',
    'package.json': JSON.stringify({ name: 'notes', type: 'module', scripts: { test: 'node -e "process.exit(0)"' } }),
    '.claude/workflows/twice.js': both,
  });
  const res = await runCli(['run', 'twice', '--repo', repo, '--json'], { home: tempDir(), baseURL: m.fake.url });
  assert.equal(res.code, 0, res.stderr);
  const { a, b } = JSON.parse(res.stdout).result;
  assert.equal(a, b);
  assert.deepEqual(foremanBranches(repo), [a]);
});
