// Claude Code parity, issue #15 part 1: a plain agent() has Claude Code's toolset. It runs
// commands (git, the repository's tests) in the sandbox and edits the run's shared worktree; what
// the run's agents leave is one gated candidate change. Config keeps a workflow read-only. The
// scripts are written the way Claude Code's documentation writes workflows: plain agent() calls
// asked in words to run git, run the tests and edit files. Real CLI, real git, real sandbox; the
// fake model routes on the tools offered and on the script's own prompts, never on Foreman's
// framing.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse, type FakeReply, type FakeRequest } from '../support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir } from '../support/repo.ts';
import { runCli, startCli } from '../support/cli.ts';
import { validateScript } from '../../src/workflows/validate.ts';

const ADD = `export function add(a, b) {\n  return a + b\n}\n`;
const PROJECT = {
  'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', type: 'module', scripts: { test: 'node --test' } }, null, 2),
  'src/math.js': ADD,
  'math.test.js': `import { test } from 'node:test'\nimport assert from 'node:assert/strict'\nimport { add } from './src/math.js'\ntest('add', () => assert.equal(add(2, 3), 5))\n`,
};
const DOC_COMMENT = '// Adds two numbers.\n';
const READ_TOOLS = ['list_files', 'read_file', 'search'];
const ALL_TOOLS = [...READ_TOOLS, 'edit_file', 'write_file', 'run_command'];
/** The client tools a request offers: the web's server tools are the CLI's default and another matter (test/parity/web.test.ts). */
const clientTools = (tools: readonly string[]) => tools.filter((name) => name !== 'web_search' && name !== 'web_fetch');

/** A test's own fake model: `play` answers each request; every request is kept. */
async function model(t: TestContext, play: (req: FakeRequest) => FakeReply | Promise<FakeReply>) {
  const fake = await startFakeAnthropic({ handler: play });
  t.after(() => fake.close());
  return fake;
}

/** The tool results the model got back in this request, as one text (what it "saw"). */
const seen = (req: FakeRequest): string => req.lastToolResults.map((r) => `${r.is_error ? 'ERROR ' : ''}${r.content}`).join('\n---\n');

function workflowRepo(name: string, body: string, extra: Record<string, string> = {}, meta = ''): string {
  return makeRepo({ ...PROJECT, ...extra, [`.claude/workflows/${name}.js`]: `export const meta = { name: '${name}', description: 'parity: ${name}'${meta} }\n${body}` });
}

async function run(repo: string, home: string, baseURL: string, name: string, args: string[] = []) {
  const result = await runCli(['run', name, '--repo', repo, '--json', ...args], { home, baseURL });
  return { ...result, json: result.stdout ? JSON.parse(result.stdout) : null };
}

const foremanBranches = (repo: string): string[] => gitIn(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/foreman/').split('\n').filter(Boolean);
const foremanRefs = (repo: string): string[] => gitIn(repo, 'for-each-ref', '--format=%(refname)', 'refs/foreman/').split('\n').filter(Boolean);

// ---- 1. git, the tests and an edit, as one gated candidate change ----------------------------

const TIDY = `
const history = await agent('HISTORY: look at the recent commits with git log and summarise them in one line')
const fixed = await agent('DOCUMENT: add a doc comment above add() in src/math.js, then run the tests and report whether they pass')
return { history, fixed }
`;

/** The history agent runs git log; the document agent edits, runs npm test, then reports what it saw. */
function playTidy(req: FakeRequest): FakeReply {
  if (req.prompt.startsWith('HISTORY')) {
    if (req.turn === 0) return [toolUse('run_command', { command: 'git log --oneline -5 | cat' })];
    return [text(seen(req))];
  }
  if (req.prompt.startsWith('DOCUMENT')) {
    if (req.turn === 0) return [toolUse('edit_file', { path: 'src/math.js', old_string: 'export function add', new_string: `${DOC_COMMENT}export function add` })];
    if (req.turn === 1) return [toolUse('run_command', { command: 'npm test' })];
    return [text(seen(req))];
  }
  return [text('no play for this prompt')];
}

test("a plain agent runs git log and the repository's tests, edits a file, and the edit becomes one gated change proposed as one branch", async (t) => {
  const fake = await model(t, playTidy);
  const repo = workflowRepo('tidy', TIDY);
  const home = tempDir();
  const { code, json, stderr } = await run(repo, home, fake.url, 'tidy');
  assert.equal(code, 0, stderr);
  assert.match(stderr, /change shared-[0-9a-f]{10} .*: 1 file changed \(left in the run's working tree by its agents\)/);

  for (const req of fake.requests) assert.deepEqual(clientTools(req.tools), ALL_TOOLS, 'a plain agent is offered the write tools');
  assert.match(json.result.history, /^Exit code 0 /);
  assert.match(json.result.history, /initial/, "git log ran on the repository's history");
  assert.match(json.result.fixed, /^Exit code 0 /, 'npm test passed with the edit');
  assert.match(json.result.fixed, /pass 1\n.*fail 0/s);

  assert.equal(json.changes.length, 1, JSON.stringify(json.changes));
  const [change] = json.changes;
  assert.equal(change.gate, 'passed');
  const branches = foremanBranches(repo);
  assert.deepEqual(branches, [change.branch]);
  assert.match(change.branch, new RegExp(`^foreman/${json.runId}/shared-`));
  assert.equal(gitIn(repo, 'show', `${change.branch}:src/math.js`), DOC_COMMENT + ADD);
  assert.deepEqual(gitIn(repo, 'diff', '--name-only', 'main', change.branch).trim().split('\n'), ['src/math.js'], 'one change with only the edit');
  assert.equal(readFileSync(join(repo, 'src/math.js'), 'utf8'), ADD, "the user's tree is untouched");
  // The proposed change lives on in its branch; the working tree's snapshot stays for a resume.
  assert.deepEqual(foremanRefs(repo), [`refs/foreman/${json.runId}/shared`]);
});

test('with changes: report, the edits of the run are listed as one change and kept under its ref, not proposed', async (t) => {
  const fake = await model(t, playTidy);
  const repo = workflowRepo('tidy', TIDY, { '.github/foreman.yml': 'changes: report\n' });
  const home = tempDir();
  const { code, json, stderr } = await run(repo, home, fake.url, 'tidy');
  assert.equal(code, 0, stderr);
  assert.equal(json.changes.length, 1);
  assert.match(json.changes[0].id, /^shared-[0-9a-f]{10}$/, 'the change is named by its content');
  assert.deepEqual({ ...json.changes[0], id: 'shared' }, { id: 'shared', label: "tidy: the agents' edits", gate: null, branch: null, pr: null });
  assert.deepEqual(foremanBranches(repo), []);
  assert.equal(gitIn(repo, 'show', `refs/foreman/${json.runId}/shared:src/math.js`), DOC_COMMENT + ADD);
});

// ---- 2. read-only workflows ------------------------------------------------------------------

/** A plain agent that tries to write anyway (a model trained on Claude Code would). */
function playWriter(req: FakeRequest): FakeReply {
  if (req.turn === 0) return [toolUse('write_file', { path: 'NOTES.md', content: 'pwned\n' }), toolUse('run_command', { command: 'touch ran' })];
  return [text(seen(req))];
}

test('agents.write: false, agents.readOnlyWorkflows, meta.readOnly and --read-only keep plain agents read-only: no write tools, and a call is refused', async (t) => {
  const fake = await model(t, playWriter);
  const body = `return await agent('NOTE: write NOTES.md')\n`;
  const ways: Array<{ way: string; extra?: Record<string, string>; meta?: string; args?: string[] }> = [
    { way: 'agents.write: false', extra: { '.github/foreman.yml': 'agents:\n  write: false\n' } },
    { way: 'agents.readOnlyWorkflows', extra: { '.github/foreman.yml': 'agents:\n  readOnlyWorkflows: [note]\n' } },
    { way: 'meta.readOnly', meta: ', readOnly: true' },
    { way: '--read-only', args: ['--read-only'] },
  ];
  for (const { way, extra, meta, args } of ways) {
    const repo = workflowRepo('note', body, extra, meta);
    const home = tempDir();
    const before = fake.requests.length;
    const { code, json, stderr } = await run(repo, home, fake.url, 'note', args);
    assert.equal(code, 0, `${way}: ${stderr}`);
    const asked = fake.requests.slice(before);
    assert.deepEqual(clientTools(asked[0].tools), READ_TOOLS, `${way}: only the read tools are offered`);
    assert.match(json.result, /^ERROR write_file is not available: this agent is read-only/, way);
    assert.match(json.result, /ERROR run_command is not available/, way);
    assert.deepEqual(json.changes, [], way);
    assert.deepEqual(foremanRefs(repo), [], way);
  }
});

test('the built-in audit, review-pr and security-sweep declare themselves read-only', () => {
  for (const name of ['audit', 'review-pr', 'security-sweep']) {
    const file = new URL(`../../workflows/${name}.js`, import.meta.url);
    assert.equal(validateScript(readFileSync(file, 'utf8'), file.pathname).meta.readOnly, true, name);
  }
});

// ---- 3. resume keeps the shared worktree's edits ----------------------------------------------

const TWO_STEPS = `
await agent('FIRST: write the plan to notes/plan.md')
return await agent('SECOND: read notes/plan.md and add a line to it')
`;

function journalCount(dbFile: string): number {
  try {
    const db = new DatabaseSync(dbFile, { readOnly: true });
    const row = db.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number };
    db.close();
    return Number(row.n);
  } catch {
    return 0;
  }
}

test("a resumed run keeps the shared worktree's edits of the agents the journal replays", async (t) => {
  let hang = true;
  let release: () => void = () => {};
  const firstCalls: number[] = [];
  const fake = await model(t, async (req) => {
    if (req.prompt.startsWith('FIRST')) {
      firstCalls.push(req.turn);
      if (req.turn === 0) return [toolUse('write_file', { path: 'notes/plan.md', content: 'step one\n' })];
      return [text('planned')];
    }
    if (req.turn === 0) {
      if (hang) await new Promise<void>((resolve) => (release = resolve));
      return [toolUse('read_file', { path: 'notes/plan.md' })];
    }
    if (req.turn === 1) return [toolUse('edit_file', { path: 'notes/plan.md', old_string: 'step one\n', new_string: 'step one\nstep two\n' })];
    return [text(`saw: ${req.body.messages[2].content[0].content}`)];
  });
  t.after(() => release());
  const repo = workflowRepo('steps', TWO_STEPS, { '.github/foreman.yml': 'changes: report\n' });
  const home = tempDir();
  const env = { home, baseURL: fake.url };

  const { child, done } = startCli(['run', 'steps', '--repo', repo, '--json'], env);
  const dbFile = join(home, '.foreman', 'foreman.db');
  const deadline = Date.now() + 20_000;
  while ((journalCount(dbFile) < 1 || !fake.requests.some((r) => r.prompt.startsWith('SECOND'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  const killed = await done;
  assert.equal(killed.signal, 'SIGKILL');
  const runId = /^run (\S+)/.exec(killed.stderr)![1];
  assert.deepEqual(firstCalls, [0, 1]);

  hang = false;
  release();
  const resumed = await runCli(['resume', runId, '--json'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(firstCalls, [0, 1], 'the first agent replays from the journal: its edit is not made again');
  const out = JSON.parse(resumed.stdout);
  assert.match(out.result, /^saw: .*step one/s, "the second agent reads the first agent's file after the resume");
  assert.deepEqual(out.changes.map((c: { id: string }) => c.id.replace(/-[0-9a-f]{10}$/, '')), ['shared']);
  assert.equal(gitIn(repo, 'show', `refs/foreman/${runId}/shared:notes/plan.md`), 'step one\nstep two\n');
});

// ---- 4. Claude Code's tool names ---------------------------------------------------------------

test("Claude Code's tool names and inputs (Bash, Read, Grep, Glob, Edit, Write) run Foreman's tools", async (t) => {
  const fake = await model(t, (req) => {
    if (req.turn === 0) {
      return [
        toolUse('Read', { file_path: 'src/math.js', offset: 1, limit: 2 }),
        toolUse('Grep', { pattern: 'return a', glob: '*.js' }),
        toolUse('Glob', { pattern: '**/*.test.js' }),
        toolUse('Edit', { file_path: 'src/math.js', old_string: 'export function add', new_string: `${DOC_COMMENT}export function add`, replace_all: false }),
        toolUse('Write', { file_path: 'CHANGELOG.md', content: '- documented add()\n' }),
        toolUse('Bash', { command: 'git status --short', description: 'what changed' }),
      ];
    }
    return [text(JSON.stringify(req.lastToolResults.map((r) => ({ error: r.is_error === true, content: r.content }))))];
  });
  const repo = workflowRepo('names', `return await agent('NAMES: document add() and log it in the changelog')\n`, { '.github/foreman.yml': 'changes: report\n' });
  const home = tempDir();
  const { code, json, stderr } = await run(repo, home, fake.url, 'names');
  assert.equal(code, 0, stderr);
  assert.ok(!fake.requests[0].tools.includes('Bash'), "Claude Code's names are accepted, not offered");
  const [read, grep, glob, edit, write, bash] = JSON.parse(json.result) as Array<{ error: boolean; content: string }>;
  for (const [name, result] of Object.entries({ read, grep, glob, edit, write, bash })) assert.equal(result.error, false, `${name}: ${result.content}`);
  assert.match(read.content, /export function add\(a, b\)/);
  assert.match(grep.content, /src\/math\.js:2:/);
  assert.match(glob.content, /math\.test\.js/);
  assert.match(bash.content, /^Exit code 0 .*\n(?=[\s\S]*src\/math\.js)(?=[\s\S]*CHANGELOG\.md)/, 'Bash ran after the edits, in the same tree');
  const ref = `refs/foreman/${json.runId}/shared`;
  assert.equal(gitIn(repo, 'show', `${ref}:src/math.js`), DOC_COMMENT + ADD);
  assert.equal(gitIn(repo, 'show', `${ref}:CHANGELOG.md`), '- documented add()\n');
});
