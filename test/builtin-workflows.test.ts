// The built-in workflows end to end: the real CLI finds them by name, runs them against a fixture
// repository, and the fake model plays the agents the way the scripts prompt them.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { asksForVerdict, isWriteAgent, startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
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

// The fake model plays each workflow's agents by what they are asked for (the schema of their
// answer, the tools they are offered) and by the fixture file they are given, never by the
// workflows' own wording, so rewording a built-in's prompts breaks no test here.
type Player = (req: FakeRequest) => FakeReply;
const asked = (req: FakeRequest) => req.toolSchemas.submit_result?.properties ?? {};
const verdicts = (req: FakeRequest): string[] => asked(req).verdict?.enum ?? [];
/** Whether an agent was given this fixture file: the test's own data in the prompt. */
const given = (req: FakeRequest, file: string) => req.prompt.includes(file);
const unscripted = (req: FakeRequest): FakeReply => [text(`unscripted prompt: ${req.prompt.slice(0, 80)}`)];

/** The map agent of audit and security-sweep; it reads the tree first, so the test knows the read tools reach the fixture. */
function mapFiles(req: FakeRequest): FakeReply {
  if (req.turn === 0) return [toolUse('list_files', { path: 'src' })];
  assert.match(req.lastToolResults[0].content, /auth\.js/);
  return submit({ files: ['src/auth.js', 'src/util.js'] });
}

const playAudit: Player = (req) => {
  if (asked(req).files) return mapFiles(req);
  if (asked(req).findings) {
    if (given(req, 'src/util.js')) return submit({ findings: [] });
    if (req.turn === 0) return [toolUse('read_file', { path: 'src/auth.js' })];
    assert.match(req.lastToolResults[0].content, /user\.password == password/);
    return submit({ findings: [LOOSE] });
  }
  if (verdicts(req).includes('real')) return submit({ verdict: 'real', reason: 'login(user, 0) with password "0" passes' });
  return unscripted(req);
};

const playSweep: Player = (req) => {
  if (asked(req).files) return mapFiles(req);
  if (asked(req).findings) {
    // A vulnerability must carry its CWE: the sweep asks for it in the schema.
    assert.ok(asked(req).findings.items?.properties?.cwe, 'the sweep asks for a CWE');
    if (given(req, 'src/util.js')) return submit({ findings: [] });
    return submit({
      findings: [
        { ...LOOSE, cwe: 'CWE-697', severity: 'medium' },
        { file: 'src/auth.js', line: 1, title: 'timing attack', severity: 'critical', cwe: 'CWE-208', detail: 'string comparison leaks timing' },
      ],
    });
  }
  if (verdicts(req).includes('exploitable')) {
    return given(req, 'timing attack')
      ? submit({ verdict: 'false-positive', reason: 'not reachable remotely' })
      : submit({ verdict: 'exploitable', severity: 'high', reason: 'a numeric password matches' });
  }
  return unscripted(req);
};

/** An audit, then fix-findings on its result: the write agent edits, fix()'s reviewers accept. */
const playAuditThenFix: Player = (req) => {
  if (isWriteAgent(req)) {
    if (req.turn === 0) return [toolUse('edit_file', { path: 'src/auth.js', old_string: '==', new_string: '===' })];
    return [text('Compared with === now.')];
  }
  if (asksForVerdict(req)) return submit({ verdict: 'accept', reason: 'strict equality is right here' });
  return playAudit(req);
};

const playReview: Player = (req) => {
  if (asked(req).findings) {
    return submit({ findings: [{ file: 'src/auth.js', line: 2, title: 'comparison became loose', severity: 'high', detail: 'the change turned === into ==' }] });
  }
  if (verdicts(req).includes('real')) return submit({ verdict: 'real', reason: 'yes, == again' });
  return unscripted(req);
};

/** A fake model of the test's own, playing one workflow's agents, closed when the test ends. */
async function model(t: TestContext, play: Player = unscripted): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: play });
  t.after(() => fake.close());
  return fake;
}

async function foreman(fake: FakeAnthropic, args: string[], home: string) {
  const result = await runCli([...args, '--json'], { home, baseURL: fake.url });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test('audit maps, audits each file, verifies each finding, and returns the survivors', async (t) => {
  const fake = await model(t, playAudit);
  const repo = makeRepo(FIXTURE);
  const out = await foreman(fake, ['run', 'audit', '--repo', repo, '--args', 'password handling'], tempDir());
  assert.equal(out.status, 'completed');
  assert.deepEqual(out.result.files, ['src/auth.js', 'src/util.js']);
  assert.equal(out.result.findings.length, 1);
  assert.equal(out.result.findings[0].title, LOOSE.title);
  assert.match(out.result.findings[0].verification, /passes/);
  assert.deepEqual(out.phases.map((p: { title: string }) => p.title), ['Map', 'Audit', 'Verify']);
});

test('security-sweep keeps exploitable findings with severity and CWE, and drops the refuted one', async (t) => {
  const fake = await model(t, playSweep);
  const repo = makeRepo(FIXTURE);
  const out = await foreman(fake, ['run', 'security-sweep', '--repo', repo], tempDir());
  assert.equal(out.result.findings.length, 1);
  const [finding] = out.result.findings;
  assert.equal(finding.cwe, 'CWE-697');
  assert.equal(finding.severity, 'high', 'the verifier corrected the severity');
  assert.ok(out.result.classes.length >= 8);
});

test('fix-findings fixes the findings of an earlier audit run and proposes the verified fix', async (t) => {
  const fake = await model(t, playAuditThenFix);
  const repo = makeRepo(FIXTURE);
  const home = tempDir();
  const audit = await foreman(fake, ['run', 'audit', '--repo', repo, '--args', 'password handling'], home);
  const out = await foreman(fake, ['run', 'fix-findings', '--repo', repo, '--from-run', audit.runId], home);
  assert.equal(out.status, 'completed');
  assert.equal(out.result.fixes.length, 1);
  const [fixed] = out.result.fixes;
  assert.equal(fixed.status, 'proposed');
  assert.match(fixed.branch, /^foreman\/.+-fix-password-compared-with/);
  assert.match(gitIn(repo, 'show', `${fixed.branch}:src/auth.js`), /user\.password === password/);
  assert.equal(out.changes.length, 1);
  assert.equal(out.changes[0].gate, 'passed');
});

test('review-pr reviews the diff it is given, file by file, and verifies the findings', async (t) => {
  const fake = await model(t, playReview);
  const repo = makeRepo({ ...FIXTURE, 'src/auth.js': AUTH.replace('==', '===') });
  writeFiles(repo, { 'src/auth.js': AUTH });
  gitIn(repo, 'commit', '-qam', 'loosen the comparison');
  const diff = gitIn(repo, 'diff', 'HEAD~1', 'HEAD');
  const out = await foreman(fake, ['run', 'review-pr', '--repo', repo, '--args', diff], tempDir());
  assert.deepEqual(out.result.files, ['src/auth.js']);
  assert.equal(out.result.findings.length, 1);
  assert.equal(out.result.findings[0].title, 'comparison became loose');
});

test('review-pr --diff-from reviews what the head changed since it left the base, as a pull request shows it', async (t) => {
  const fake = await model(t, playReview);
  const repo = makeRepo({ ...FIXTURE, 'src/auth.js': AUTH.replace('==', '===') });
  gitIn(repo, 'checkout', '-qb', 'feature');
  writeFiles(repo, { 'src/auth.js': AUTH });
  gitIn(repo, 'commit', '-qam', 'loosen the comparison');
  // main moves on meanwhile; its own changes are not the feature's to review.
  gitIn(repo, 'checkout', '-q', 'main');
  writeFiles(repo, { 'README.md': 'unrelated\n' });
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-qm', 'docs on main');
  const out = await foreman(fake, ['run', 'review-pr', '--repo', repo, '--base', 'feature', '--diff-from', 'main'], tempDir());
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

test('each built-in explains its args when they are missing (a usage error, no run) or empty', async (t) => {
  const fake = await model(t);
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

test('--from-run names what is wrong: both --args and --from-run, an unknown run, a run without a result', async (t) => {
  const fake = await model(t);
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
