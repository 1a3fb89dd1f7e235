// The built-in workflows end to end: the real CLI finds them by name, runs them against a fixture
// repository, and the fake model plays the agents the way the scripts prompt them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic, text, toolUse, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir, writeFiles } from './support/repo.ts';
import { runCli } from './support/cli.ts';

const AUTH = `export function login(user, password) {\n  return user.password == password\n}\n`;
const FIXTURE = {
  'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', type: 'module', scripts: { test: 'node --test' } }, null, 2),
  'src/auth.js': AUTH,
  'src/util.js': 'export const id = (x) => x\n',
  'auth.test.js': `import { test } from 'node:test'\nimport assert from 'node:assert/strict'\nimport { login } from './src/auth.js'\ntest('login', () => assert.equal(login({ password: 'pw' }, 'pw'), true))\n`,
};

const LOOSE = { file: 'src/auth.js', line: 2, title: 'password compared with ==', severity: 'high', detail: 'loose equality lets a number match a string password' };

const submit = (value: unknown): FakeReply => [toolUse('submit_result', value)];

/** One fake model for every test: each script's prompts are distinctive enough to route on. */
function play(req: FakeRequest): FakeReply {
  const p = req.prompt;
  // Map agents read the tree first, so the test knows the read tools reach the fixture.
  if (p.startsWith('List the source files')) {
    if (req.turn === 0) return [toolUse('list_files', { path: 'src' })];
    assert.match(req.lastToolResults[0].content, /auth\.js/);
    return submit({ files: ['src/auth.js', 'src/util.js'] });
  }
  if (p.startsWith('Audit src/auth.js for these vulnerability classes')) {
    return submit({
      findings: [
        { ...LOOSE, cwe: 'CWE-697', severity: 'medium' },
        { file: 'src/auth.js', line: 1, title: 'timing attack', severity: 'critical', cwe: 'CWE-208', detail: 'string comparison leaks timing' },
      ],
    });
  }
  if (p.startsWith('Audit src/auth.js')) {
    if (req.turn === 0) return [toolUse('read_file', { path: 'src/auth.js' })];
    assert.match(req.lastToolResults[0].content, /user\.password == password/);
    return submit({ findings: [LOOSE] });
  }
  if (p.startsWith('Audit src/util.js')) return submit({ findings: [] });
  if (p.startsWith('Another reviewer reported')) return submit({ verdict: 'real', reason: 'login(user, 0) with password "0" passes' });
  if (p.startsWith('A security reviewer reported')) {
    return p.includes('timing attack')
      ? submit({ verdict: 'false-positive', reason: 'not reachable remotely' })
      : submit({ verdict: 'exploitable', severity: 'high', reason: 'a numeric password matches' });
  }
  if (p.startsWith('Fix this problem in src/auth.js')) {
    if (req.turn === 0) return [toolUse('edit_file', { path: 'src/auth.js', old_string: '==', new_string: '===' })];
    return [text('Compared with === now.')];
  }
  if (p.startsWith('You are reviewer')) return submit({ verdict: 'accept', reason: 'strict equality is right here' });
  if (p.startsWith('Review this change to src/auth.js')) {
    return submit({ findings: [{ file: 'src/auth.js', line: 2, title: 'comparison became loose', severity: 'high', detail: 'the change turned === into ==' }] });
  }
  if (p.startsWith('A reviewer reported this about the change')) return submit({ verdict: 'real', reason: 'yes, == again' });
  return [text(`unscripted prompt: ${p.slice(0, 80)}`)];
}

const fake = await startFakeAnthropic({ handler: play });
after(() => fake.close());

async function foreman(args: string[], home: string) {
  const result = await runCli([...args, '--json'], { home, baseURL: fake.url });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test('audit maps, audits each file, verifies each finding, and returns the survivors', async () => {
  const repo = makeRepo(FIXTURE);
  const out = await foreman(['run', 'audit', '--repo', repo, '--args', 'password handling'], tempDir());
  assert.equal(out.status, 'completed');
  assert.deepEqual(out.result.files, ['src/auth.js', 'src/util.js']);
  assert.equal(out.result.findings.length, 1);
  assert.equal(out.result.findings[0].title, LOOSE.title);
  assert.match(out.result.findings[0].verification, /passes/);
  assert.deepEqual(out.phases.map((p: { title: string }) => p.title), ['Map', 'Audit', 'Verify']);
});

test('security-sweep keeps exploitable findings with severity and CWE, and drops the refuted one', async () => {
  const repo = makeRepo(FIXTURE);
  const out = await foreman(['run', 'security-sweep', '--repo', repo], tempDir());
  assert.equal(out.result.findings.length, 1);
  const [finding] = out.result.findings;
  assert.equal(finding.cwe, 'CWE-697');
  assert.equal(finding.severity, 'high', 'the verifier corrected the severity');
  assert.ok(out.result.classes.length >= 8);
});

test('fix-findings fixes the findings of an earlier audit run and proposes the verified fix', async () => {
  const repo = makeRepo(FIXTURE);
  const home = tempDir();
  const audit = await foreman(['run', 'audit', '--repo', repo, '--args', 'password handling'], home);
  const out = await foreman(['run', 'fix-findings', '--repo', repo, '--from-run', audit.runId], home);
  assert.equal(out.status, 'completed');
  assert.equal(out.result.fixes.length, 1);
  const [fixed] = out.result.fixes;
  assert.equal(fixed.status, 'proposed');
  assert.match(fixed.branch, /^foreman\/.+-fix-password-compared-with/);
  assert.match(gitIn(repo, 'show', `${fixed.branch}:src/auth.js`), /user\.password === password/);
  assert.equal(out.changes.length, 1);
  assert.equal(out.changes[0].gate, 'passed');
});

test('review-pr reviews the diff it is given, file by file, and verifies the findings', async () => {
  const repo = makeRepo({ ...FIXTURE, 'src/auth.js': AUTH.replace('==', '===') });
  writeFiles(repo, { 'src/auth.js': AUTH });
  gitIn(repo, 'commit', '-qam', 'loosen the comparison');
  const diff = gitIn(repo, 'diff', 'HEAD~1', 'HEAD');
  const out = await foreman(['run', 'review-pr', '--repo', repo, '--args', diff], tempDir());
  assert.deepEqual(out.result.files, ['src/auth.js']);
  assert.equal(out.result.findings.length, 1);
  assert.equal(out.result.findings[0].title, 'comparison became loose');
});

test('review-pr --diff-from reviews what the head changed since it left the base, as a pull request shows it', async () => {
  const repo = makeRepo({ ...FIXTURE, 'src/auth.js': AUTH.replace('==', '===') });
  gitIn(repo, 'checkout', '-qb', 'feature');
  writeFiles(repo, { 'src/auth.js': AUTH });
  gitIn(repo, 'commit', '-qam', 'loosen the comparison');
  // main moves on meanwhile; its own changes are not the feature's to review.
  gitIn(repo, 'checkout', '-q', 'main');
  writeFiles(repo, { 'README.md': 'unrelated\n' });
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-qm', 'docs on main');
  const out = await foreman(['run', 'review-pr', '--repo', repo, '--base', 'feature', '--diff-from', 'main'], tempDir());
  assert.deepEqual(out.result.files, ['src/auth.js']);
  assert.equal(out.result.findings[0].title, 'comparison became loose');

  const nothing = await runCli(['run', 'review-pr', '--repo', repo, '--diff-from', 'main'], { home: tempDir(), baseURL: fake.url });
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /HEAD has no changes since it left main: there is nothing to review/);
  const unknown = await runCli(['run', 'review-pr', '--repo', repo, '--diff-from', 'nope'], { home: tempDir(), baseURL: fake.url });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--diff-from nope is not a commit/);
  const both = await runCli(['run', 'review-pr', '--repo', repo, '--diff-from', 'main', '--args', 'x'], { home: tempDir(), baseURL: fake.url });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--args and --diff-from each give the workflow its args: pass one of them/);
});

test('each built-in explains its args when they are missing (a usage error, no run) or empty', async () => {
  const repo = makeRepo(FIXTURE);
  for (const [name, needs, hint] of [
    ['audit', /audit needs args: the concern/, /needs a concern/],
    ['fix-findings', /fix-findings needs args: \{ findings/, /needs findings/],
    ['review-pr', /review-pr needs args: \{ diff/, /needs the diff/],
  ] as const) {
    const missing = await runCli(['run', name, '--repo', repo], { home: tempDir(), baseURL: fake.url });
    assert.equal(missing.code, 2, name);
    assert.match(missing.stderr, needs);
    const empty = await runCli(['run', name, '--repo', repo, '--args', '""'], { home: tempDir(), baseURL: fake.url });
    assert.equal(empty.code, 1, name);
    assert.match(empty.stderr, hint);
  }
});

test('--from-run names what is wrong: both --args and --from-run, an unknown run, a run without a result', async () => {
  const repo = makeRepo(FIXTURE);
  const home = tempDir();
  const both = await runCli(['run', 'fix-findings', '--repo', repo, '--args', '[]', '--from-run', 'x'], { home, baseURL: fake.url });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--args and --from-run each give the workflow its args: pass one of them/);
  const unknown = await runCli(['run', 'fix-findings', '--repo', repo, '--from-run', 'nope'], { home, baseURL: fake.url });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no run nope.*foreman runs/);
  const failed = await runCli(['run', 'audit', '--repo', repo, '--args', '""', '--json'], { home, baseURL: fake.url });
  const failedId = JSON.parse(failed.stdout).runId;
  const noResult = await runCli(['run', 'fix-findings', '--repo', repo, '--from-run', failedId], { home, baseURL: fake.url });
  assert.equal(noResult.code, 2);
  assert.match(noResult.stderr, /is failed and has no result/);
});
