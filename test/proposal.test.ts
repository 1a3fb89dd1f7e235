// Proposals: the pull request body, the commit message and branch name, the deterministic
// proposal commit, and the CLI's local branches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_PR_BODY_CHARS,
  branchSlug,
  proposalBranch,
  proposalCommitBody,
  renderCommitMessage,
  renderProposalBody,
  type ProposalBodyInput,
} from '../src/report/proposal.ts';
import type { GateResult, ProposalRequest } from '../src/contracts/ports.ts';
import { BranchProposer } from '../src/workspace/branch-proposer.ts';
import { ChangeWorktrees } from '../src/workspace/changes.ts';
import { createRunWorkspace } from '../src/service/workspace.ts';
import { createProposalCommit, earlierProposal } from '../src/workspace/proposal-commit.ts';
import { gitIn, makeRepo, tempDir, writeFiles } from './support/repo.ts';

const passed: GateResult = {
  passed: true,
  steps: [
    { name: 'setup', command: 'npm ci', exitCode: 0, durationMs: 12_345, output: 'added 12 packages\n', reused: true },
    { name: 'build', command: 'npm run build', exitCode: 0, durationMs: 800, output: 'built\n' },
    { name: 'test', command: 'npm test -- --grep "a|b"', exitCode: 0, durationMs: 125_000, output: 'ok 1 - works\nok 2 - also works\n' },
  ],
};

const failed: GateResult = {
  passed: false,
  steps: [
    { name: 'setup', command: 'npm ci', exitCode: 0, durationMs: 1_000, output: 'setup output\n' },
    { name: 'build', command: 'tsc', exitCode: 2, durationMs: 2_500, output: "src/a.ts(1,1): error TS2304: Cannot find name 'x'.\n" },
    { name: 'test', command: 'npm test', exitCode: null, durationMs: 0, output: 'test never ran\n' },
  ],
};

function input(overrides: Partial<ProposalBodyInput> = {}): ProposalBodyInput {
  return {
    body: 'Fixes the SQL injection in `users.ts`.',
    runId: '20260101-120000-abcd',
    changeId: 'c0123456789',
    label: 'src/users.ts',
    files: [
      { path: 'src/users.ts', additions: 3, deletions: 1 },
      { path: 'src/a|b.ts', additions: 10, deletions: 0 },
    ],
    gate: passed,
    costUsd: 0.12345,
    ...overrides,
  };
}

/** Where each fenced code block of a Markdown text starts and ends (CommonMark's fence rules). */
function fencedBlocks(markdown: string): Array<{ open: number; close: number }> {
  const lines = markdown.split('\n');
  const blocks: Array<{ open: number; close: number }> = [];
  let open: { line: number; char: string; length: number } | null = null;
  lines.forEach((line, index) => {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!match) return;
    if (!open) {
      if (match[1][0] === '`' && match[2].includes('`')) return;
      open = { line: index, char: match[1][0], length: match[1].length };
    } else if (match[1][0] === open.char && match[1].length >= open.length && match[2].trim() === '') {
      blocks.push({ open: open.line, close: index });
      open = null;
    }
  });
  if (open) blocks.push({ open: (open as { line: number }).line, close: lines.length });
  return blocks;
}

function insideFence(markdown: string, needle: string): boolean {
  const at = markdown.split('\n').findIndex((line) => line.includes(needle));
  assert.ok(at >= 0, `${needle} is in the text`);
  return fencedBlocks(markdown).some((block) => at > block.open && at < block.close);
}

// ---- rendering ------------------------------------------------------------------------------

test('the body holds the script text, a gate table, the last output collapsed, files, cost and the ids', () => {
  const body = renderProposalBody(input());
  assert.ok(body.startsWith('Fixes the SQL injection in `users.ts`.\n'));
  assert.match(body, /### Gate: ✅ passed/);
  assert.match(body, /^\| Step \| Command \| Exit code \| Duration \|$/m);
  assert.match(body, /^\| setup \(cached\) \| `npm ci` \| 0 \| 12\.3 s \|$/m);
  assert.match(body, /^\| build \| `npm run build` \| 0 \| 800 ms \|$/m);
  // The pipe inside the command would end the cell unless escaped.
  assert.match(body, /^\| test \| `npm test -- --grep "a\\\|b"` \| 0 \| 2 min 5 s \|$/m);
  assert.match(body, /<details><summary>Output of test<\/summary>\n\n```text\nok 1 - works\nok 2 - also works\n```\n\n<\/details>/);
  assert.doesNotMatch(body, /setup output|added 12 packages/);
  assert.match(body, /^\| `src\/users\.ts` \| \+3 \| −1 \|$/m);
  assert.match(body, /^\| `src\/a\\\|b\.ts` \| \+10 \| −0 \|$/m);
  assert.match(body, /^\| \*\*2 files\*\* \| \*\*\+13\*\* \| \*\*−1\*\* \|$/m);
  assert.match(body, /\$0\.1235/);
  assert.match(body, /run `20260101-120000-abcd` · change `c0123456789`/);
  assert.doesNotMatch(body, /Reviewers/);
});

test('a failed gate shows the failing step\'s output, not the last step\'s, and a killed step as killed', () => {
  const body = renderProposalBody(input({ gate: failed }));
  assert.match(body, /### Gate: ❌ failed/);
  assert.match(body, /^\| test \| `npm test` \| killed \| 0 ms \|$/m);
  assert.match(body, /<details><summary>Output of the failing step, build<\/summary>/);
  assert.ok(insideFence(body, "Cannot find name 'x'"));
  assert.doesNotMatch(body, /test never ran/);
});

test('backticks in the output cannot close its code block, and colour codes are gone', () => {
  const output = 'before\n```\n## injected heading\n````\n  `````  \nafter\n\x1b[31mred\x1b[0m\nprogress 10%\rprogress 100%\n';
  const body = renderProposalBody(input({ gate: { passed: false, steps: [{ name: 'test', command: 'npm test', exitCode: 1, durationMs: 5, output }] } }));
  for (const line of ['before', '## injected heading', 'after', 'red', 'progress 100%']) assert.ok(insideFence(body, line), `${line} stays inside the code block`);
  assert.ok(!insideFence(body, '### Files changed'), 'what follows the output is Markdown again');
  assert.doesNotMatch(body, /\x1b|progress 10%/);
  assert.match(body, /^`{6}text$/m);
});

test('votes are a table only when given, and a reason cannot break the table', () => {
  const body = renderProposalBody(
    input({
      votes: [
        { accepted: true, reason: 'The query is now parameterised.' },
        { accepted: false, reason: 'Misses the | second\ncall site <script>' },
      ],
    }),
  );
  assert.match(body, /### Reviewers: 1 of 2 accepted/);
  assert.match(body, /^\| 1 \| ✅ accepted \| The query is now parameterised\. \|$/m);
  assert.match(body, /^\| 2 \| ❌ refuted \| Misses the \\\| second call site \\<script> \|$/m);
  assert.doesNotMatch(renderProposalBody(input()), /Reviewers|\| Verdict \|/);
});

test('an overlong body fits GitHub\'s cap by cutting the head of the output first', () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} of a very chatty test runner`);
  const gate: GateResult = { passed: true, steps: [{ name: 'test', command: 'npm test', exitCode: 0, durationMs: 1, output: lines.join('\n') }] };
  const body = renderProposalBody(input({ gate }));
  assert.ok(body.length <= MAX_PR_BODY_CHARS, `${body.length} characters`);
  assert.ok(body.length > MAX_PR_BODY_CHARS - 1_000, 'the room is used, not thrown away');
  assert.ok(body.startsWith('Fixes the SQL injection'), 'the script text is whole');
  assert.ok(insideFence(body, 'line 19999 of'), 'the end of the output is kept');
  assert.doesNotMatch(body, /^line 0 of/m);
  assert.match(body, /earlier characters cut to fit GitHub's size limit/);
  assert.match(body, /### Files changed/);
  assert.match(body, /change `c0123456789`/);
});

test('when the script text alone is too long, the output goes, the text is cut and its code block closed', () => {
  const script = 'Finding:\n\n```js\n' + 'const x = 1;\n'.repeat(10_000) + '```\n';
  const gate: GateResult = { passed: true, steps: [{ name: 'test', command: 'npm test', exitCode: 0, durationMs: 1, output: 'x'.repeat(10_000) }] };
  const body = renderProposalBody(input({ body: script, gate }));
  assert.ok(body.length <= MAX_PR_BODY_CHARS, `${body.length} characters`);
  assert.match(body, /characters of this description were cut/);
  assert.match(body, /Output of test left out/);
  assert.ok(!insideFence(body, '### Gate'), 'the report is not swallowed by the cut code block');
  assert.ok(!insideFence(body, 'characters of this description were cut'));
  assert.match(body, /run `20260101-120000-abcd` · change `c0123456789`/);
});

test('proposalCommitBody keeps the script text and drops the report, even if the text quotes the marker', () => {
  const body = renderProposalBody(input({ body: 'Why:\n<!-- foreman:report -->\nbecause.' }));
  // The script's text as GitHub gets it: inert, so its HTML comment shows as text.
  assert.equal(proposalCommitBody(body), 'Why:\n\\<!-- foreman report -->\nbecause.');
});

// ---- commit message and branch names -------------------------------------------------------

test('the commit message is subject, blank line, body, then trailers git can parse', () => {
  const message = renderCommitMessage({ title: 'Fix the\nSQL injection  ', body: 'Line one\r\n\r\nLine two   ', runId: 'r1', changeId: 'c1' });
  assert.equal(message, 'Fix the SQL injection\n\nLine one\n\nLine two\n\nForeman-Run: r1\nForeman-Change: c1\n');
  const repo = makeRepo({ 'a.txt': 'a\n' });
  const parsed = execFileSync('git', ['interpret-trailers', '--parse'], { cwd: repo, input: message, encoding: 'utf8' });
  assert.equal(parsed, 'Foreman-Run: r1\nForeman-Change: c1\n');
  // Lines that look like trailers at the end of the body stay body.
  const tricky = renderCommitMessage({ title: 't', body: 'Reviewed-by: nobody', runId: 'r1', changeId: 'c1' });
  assert.equal(execFileSync('git', ['interpret-trailers', '--parse'], { cwd: repo, input: tricky, encoding: 'utf8' }), 'Foreman-Run: r1\nForeman-Change: c1\n');
});

test('a long title gets a subject of at most 72 characters and is kept whole below it', () => {
  const title = 'Parameterise every query in the users repository so that no request parameter reaches SQL text';
  const message = renderCommitMessage({ title, body: '', runId: 'r1', changeId: 'c1' });
  const [subject, blank, full] = message.split('\n');
  assert.ok(subject.length <= 72, subject);
  assert.ok(subject.endsWith('…') && title.startsWith(subject.slice(0, -1)), subject);
  assert.equal(blank, '');
  assert.equal(full, title);
  assert.ok(renderCommitMessage({ title: '  ', body: '', runId: 'r1', changeId: 'c9' }).startsWith('Foreman change c9\n'));
});

test('branch slugs are lowercase ASCII with dashes, at most 40 characters, never empty', () => {
  assert.equal(branchSlug('Fix SQL injection in /api/users!'), 'fix-sql-injection-in-api-users');
  assert.equal(branchSlug('Café naïve — Ünïcode'), 'cafe-naive-unicode');
  assert.equal(branchSlug(''), 'change');
  assert.equal(branchSlug('!!! ??? 日本語'), 'change');
  const long = branchSlug('Parameterise every query in the users repository so that nothing leaks');
  assert.ok(long.length <= 40, long);
  assert.match(long, /^[a-z0-9]+(-[a-z0-9]+)*$/);
  assert.equal(long, 'parameterise-every-query-in-the-users');
  assert.equal(branchSlug('x'.repeat(100)), 'x'.repeat(40));
  assert.equal(proposalBranch('20260101-120000-abcd', 'c42', 'Fix it'), 'foreman/20260101-120000-abcd/c42-fix-it');
  const repo = makeRepo({ 'a.txt': 'a\n' });
  gitIn(repo, 'check-ref-format', '--branch', proposalBranch('20260101-120000-abcd', 'c42', '..weird~^:?*[ title.lock'));
});

// ---- the proposal commit and local branches -------------------------------------------------

const CHANGE_DATES = { GIT_AUTHOR_DATE: '2001-02-03T04:05:06+0100', GIT_COMMITTER_DATE: '2001-02-03T04:05:07+0100' };

/** A repository and a change commit on its base, as ChangeWorktrees would leave them. */
function repoWithChange() {
  const repo = makeRepo({ 'src/a.ts': 'export const a = 1;\n', 'README.md': '# demo\n' });
  const base = gitIn(repo, 'rev-parse', 'HEAD').trim();
  const dir = join(tempDir(), 'change');
  gitIn(repo, 'worktree', 'add', '--detach', '--quiet', dir, base);
  writeFiles(dir, { 'src/a.ts': 'export const a = 2;\n', 'src/b.ts': 'export const b = 1;\n' });
  gitIn(dir, 'add', '-A');
  execFileSync('git', ['-c', 'user.name=Foreman', '-c', 'user.email=f@example.com', 'commit', '-q', '-m', 'change c1'], { cwd: dir, env: { ...process.env, ...CHANGE_DATES } });
  const commitSha = gitIn(dir, 'rev-parse', 'HEAD').trim();
  gitIn(repo, 'update-ref', 'refs/foreman/run-1/c1', commitSha);
  gitIn(repo, 'worktree', 'remove', '--force', dir);
  return { repo, base, commitSha };
}

function request(base: string, commitSha: string, overrides: Partial<ProposalRequest> = {}): ProposalRequest {
  return {
    runId: 'run-1',
    changeId: 'c1',
    branch: 'foreman/run-1/c1-bump-a',
    commitSha,
    baseSha: base,
    title: 'Bump a',
    body: renderProposalBody(input({ body: 'a was wrong.', runId: 'run-1', changeId: 'c1' })),
    message: renderCommitMessage({ title: 'Bump a', body: 'a was wrong.', runId: 'run-1', changeId: 'c1' }),
    draft: false,
    ...overrides,
  };
}

test('the proposal commit has the change\'s tree, the base as parent, Foreman as author and the change\'s dates', async () => {
  const { repo, base, commitSha } = repoWithChange();
  const first = await createProposalCommit(repo, commitSha, base, 'Bump a\n\nbody\n');
  const second = await createProposalCommit(repo, commitSha, base, 'Bump a\n\nbody\n');
  assert.equal(second, first, 'the same inputs give the same commit');
  assert.equal(gitIn(repo, 'rev-parse', `${first}^{tree}`), gitIn(repo, 'rev-parse', `${commitSha}^{tree}`));
  assert.equal(gitIn(repo, 'rev-parse', `${first}^@`).trim(), base);
  assert.equal(gitIn(repo, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%ad|%cd', '--date=raw', first).trim(), 'Foreman <foreman@users.noreply.github.com>|Foreman <foreman@users.noreply.github.com>|981169506 +0100|981169507 +0100');
  assert.equal(gitIn(repo, 'log', '-1', '--format=%B', first), 'Bump a\n\nbody\n\n');
  const other = await createProposalCommit(repo, commitSha, base, 'Bump a\n\nbody\n', { identity: { name: 'foreman[bot]', email: '1+foreman[bot]@users.noreply.github.com' } });
  assert.notEqual(other, first);
  assert.equal(gitIn(repo, 'log', '-1', '--format=%an', other).trim(), 'foreman[bot]');
  await assert.rejects(createProposalCommit(repo, 'f'.repeat(40), base, 'm'), /change commit f{40} is not in .*: .*run the workflow again/);
});

test('BranchProposer leaves a branch with the change and the message, and the user\'s checkout alone', async () => {
  const { repo, base, commitSha } = repoWithChange();
  // The user is mid-work: a staged edit and an unstaged one.
  writeFileSync(join(repo, 'README.md'), '# staged\n');
  gitIn(repo, 'add', 'README.md');
  writeFileSync(join(repo, 'src/a.ts'), 'export const a = 99;\n');
  const statusBefore = gitIn(repo, 'status', '--porcelain');

  const req = request(base, commitSha);
  const proposal = await new BranchProposer(repo).propose(req);
  assert.deepEqual(proposal, { branch: 'foreman/run-1/c1-bump-a', pr: null, created: true });

  const branch = 'refs/heads/foreman/run-1/c1-bump-a';
  assert.equal(gitIn(repo, 'show', `${branch}:src/a.ts`), 'export const a = 2;\n');
  assert.equal(gitIn(repo, 'show', `${branch}:src/b.ts`), 'export const b = 1;\n');
  assert.equal(gitIn(repo, 'show', `${branch}:README.md`), '# demo\n');
  assert.equal(gitIn(repo, 'rev-parse', `${branch}^`).trim(), base);
  const message = gitIn(repo, 'log', '-1', '--format=%B', branch);
  assert.equal(message, 'Bump a\n\na was wrong.\n\nForeman-Run: run-1\nForeman-Change: c1\n\n');

  assert.equal(gitIn(repo, 'symbolic-ref', 'HEAD').trim(), 'refs/heads/main');
  assert.equal(gitIn(repo, 'rev-parse', 'HEAD').trim(), base);
  assert.equal(gitIn(repo, 'status', '--porcelain'), statusBefore);
  assert.equal(readFileSync(join(repo, 'src/a.ts'), 'utf8'), 'export const a = 99;\n');
  assert.equal(gitIn(repo, 'diff', '--cached', '--name-only').trim(), 'README.md');

  const sha = gitIn(repo, 'rev-parse', branch).trim();
  const again = await new BranchProposer(repo).propose(req);
  assert.deepEqual(again, { branch: 'foreman/run-1/c1-bump-a', pr: null, created: false });
  assert.equal(gitIn(repo, 'rev-parse', branch).trim(), sha);
});

test('BranchProposer refuses a branch of the same name that holds other commits', async () => {
  const { repo, base, commitSha } = repoWithChange();
  gitIn(repo, 'branch', 'foreman/run-1/c1-bump-a', base);
  await assert.rejects(
    new BranchProposer(repo).propose(request(base, commitSha)),
    /branch foreman\/run-1\/c1-bump-a already exists in .* with other commits .*: delete it \(git branch -D foreman\/run-1\/c1-bump-a\) or rename it/,
  );
  assert.equal(gitIn(repo, 'rev-parse', 'foreman/run-1/c1-bump-a').trim(), base, 'the existing branch is left as it was');
});

test('protected files a command changed in a change worktree are left out of the change and put back', async () => {
  const repo = makeRepo({
    'src/a.js': 'one\n',
    '.github/workflows/ci.yml': 'on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./tools/deploy\n',
    'tools/deploy/index.js': 'deploy()\n',
  });
  const base = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const changes = new ChangeWorktrees({ repo, home: tempDir(), runId: 'run-p', baseSha: base });
  const dir = await changes.open('c1');
  // What `npm test` running code the agent wrote could do: edit_file would have refused each of these.
  writeFileSync(join(dir, 'src/a.js'), 'two\n');
  writeFileSync(join(dir, '.github/workflows/ci.yml'), 'on: push\njobs: { steal: { runs-on: ubuntu-latest, steps: [{ run: env }] } }\n');
  writeFileSync(join(dir, 'tools/deploy/index.js'), 'exfiltrate()\n');
  mkdirSync(join(dir, '.github/actions/x'), { recursive: true });
  writeFileSync(join(dir, '.github/actions/x/action.yml'), 'runs: { using: node20, main: x.js }\n');
  const snapshot = await changes.snapshot('c1', 'change');
  assert.ok(snapshot);
  assert.deepEqual(snapshot.files.map((f) => f.path), ['src/a.js']);
  assert.deepEqual(snapshot.leftOut?.map((l) => l.split(':')[0]).sort(), ['.github/actions/x/action.yml', '.github/workflows/ci.yml', 'tools/deploy/index.js']);
  assert.match(readFileSync(join(dir, '.github/workflows/ci.yml'), 'utf8'), /uses: \.\/tools\/deploy/, 'the workflow is back as it was');
  assert.equal(readFileSync(join(dir, 'tools/deploy/index.js'), 'utf8'), 'deploy()\n');
  assert.equal(existsSync(join(dir, '.github/actions/x/action.yml')), false);
});

/** A run's shared worktree on `files`, checked out at the base, and the run's changes. */
function sharedWorktree(files: Record<string, string>): { changes: ChangeWorktrees; dir: string } {
  const repo = makeRepo(files);
  const base = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const home = tempDir();
  const changes = new ChangeWorktrees({ repo, home, runId: 'run-s', baseSha: base });
  mkdirSync(join(home, 'worktrees', 'run-s'), { recursive: true });
  const dir = tempDir();
  execFileSync('git', ['-C', repo, 'worktree', 'add', '--detach', '--quiet', dir, base]);
  return { changes, dir };
}

test("the shared worktree's snapshot leaves protected files out in its own index only: Foreman removes nothing there while agents may still be at work", async () => {
  const { changes, dir } = sharedWorktree({ 'src/a.js': 'one\n', '.github/workflows/ci.yml': 'on: push\n' });
  writeFileSync(join(dir, 'src/a.js'), 'two\n');
  mkdirSync(join(dir, '.github/actions/x'), { recursive: true });
  writeFileSync(join(dir, '.github/actions/x/action.yml'), 'runs: { using: node20, main: x.js }\n');
  const snapshot = await changes.snapshotInPlace(dir, 'shared', 'shared');
  assert.ok(snapshot);
  assert.deepEqual(snapshot.files.map((f) => f.path), ['src/a.js']);
  assert.deepEqual(snapshot.leftOut?.map((l) => l.split(':')[0]), ['.github/actions/x/action.yml']);
  // A removal here could race a command swapping .github/actions for a link out of the worktree.
  assert.equal(existsSync(join(dir, '.github/actions/x/action.yml')), true, 'nothing is removed from the shared worktree');
  assert.equal(execFileSync('git', ['-C', dir, 'status', '--porcelain'], { encoding: 'utf8' }).includes('.github/'), true, "the worktree's own index is untouched");
});

test("the shared worktree's snapshot sees an edit of the same size made in the second of the checkout, however much later it is taken", async () => {
  const { changes, dir } = sharedWorktree({ 'src/a.js': 'one\n' });
  // Same size, same second as the index's entry: only git's racy-entry check finds it changed,
  // and that check compares with the index file's own mtime.
  writeFileSync(join(dir, 'src/a.js'), 'two\n');
  await new Promise((done) => setTimeout(done, 1100));
  const snapshot = await changes.snapshotInPlace(dir, 'shared', 'shared');
  assert.ok(snapshot, 'the edit is a change');
  assert.deepEqual(snapshot.files.map((f) => f.path), ['src/a.js']);
});

test('an earlier proposal is found by its prefix, trailers, tree and parent; a pushed branch with forged trailers is not one', async () => {
  const { repo, base, commitSha } = repoWithChange();
  const asked = request(base, commitSha, { branchPrefix: 'foreman/run-1/c1-' });
  const proposed = await new BranchProposer(repo).propose(asked);
  const real = { name: proposed.branch, sha: gitIn(repo, 'rev-parse', proposed.branch).trim() };
  // Anyone who may push can write Foreman's trailers on a commit of their own content.
  const forgedTree = gitIn(repo, 'rev-parse', `${base}^{tree}`).trim();
  const forged = execFileSync('git', ['-C', repo, '-c', 'user.name=x', '-c', 'user.email=x@example.com', 'commit-tree', forgedTree, '-p', base, '-m', `Bump a\n\nForeman-Run: run-1\nForeman-Change: c1`], { encoding: 'utf8' }).trim();
  const fake = { name: 'foreman/run-1/c1-other-title', sha: forged };
  assert.equal(await earlierProposal(repo, asked, [fake]), null);
  assert.equal(await earlierProposal(repo, asked, [fake, real]), proposed.branch);
});

test("snapshots of the shared worktree asked for while one waits to start share it: a fan-out queues one at a time, not one per agent", async () => {
  const repo = makeRepo({ 'src/a.js': 'one\n' });
  const base = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const home = tempDir();
  mkdirSync(join(home, 'worktrees', 'run-q'), { recursive: true });
  const dir = tempDir();
  execFileSync('git', ['-C', repo, 'worktree', 'add', '--detach', '--quiet', dir, base]);
  writeFileSync(join(dir, 'src/a.js'), 'two\n');
  const workspace = createRunWorkspace({ repo, home, runId: 'run-q', baseSha: base, config: {}, proposer: new BranchProposer(repo), env: {}, sandbox: { kind: 'off' }, sharedRoot: dir });
  const asked = [workspace.snapshotShared('s'), workspace.snapshotShared('s'), workspace.snapshotShared('s')];
  const [first, second, third] = await Promise.all(asked);
  assert.ok(first && first === second && second === third, 'one snapshot answered all three');
  assert.notEqual(asked[0], undefined);
  // One that comes after the shared one has started is a snapshot of its own.
  const later = await workspace.snapshotShared('s');
  assert.notEqual(later, first);
  assert.equal(later?.commit, first!.commit, 'the same tree gives the same commit');
});
