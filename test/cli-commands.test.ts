// The smaller promises of the CLI, through the real bin: help and version, usage errors that
// name the fix, notes about the checkout, status after a kill, a reader that goes away.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, toolUse, text, type FakeAnthropic } from './support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';
import { runCli, startCli } from './support/cli.ts';

/** A fake model per test, closed when it ends, so the model calls a test counts are its own. */
async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({
    handler: (req) => (req.prompt.startsWith('slow') ? new Promise((resolve) => setTimeout(() => resolve([text('late')]), 30_000)) : [toolUse('submit_result', { ok: true })]),
  });
  t.after(() => fake.close());
  return fake;
}

const META = `export const meta = { name: 'x', description: 'test script' }\n`;
const ONE_AGENT = META + `return await agent('one', { schema: { type: 'object' } })\n`;

async function runIds(home: string): Promise<string[]> {
  return (JSON.parse((await runCli(['runs', '--json'], { home })).stdout) as Array<{ runId: string }>).map((r) => r.runId);
}

test('--version prints the version; every command answers --help with its usage, exit 0', async () => {
  const home = tempDir();
  const version = await runCli(['--version'], { home });
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^foreman \d+\.\d+\.\d+\n$/);
  for (const command of ['run', 'resume', 'runs', 'show', 'list', 'validate', 'save']) {
    const res = await runCli([command, '--help'], { home });
    assert.equal(res.code, 0, `${command}: ${res.stderr}`);
    assert.match(res.stdout, new RegExp(`^usage: foreman ${command}\\b`), command);
    assert.equal(res.stderr, '', command);
  }
  const run = await runCli(['run', '--help'], { home });
  assert.match(run.stdout, /--concurrency N +agents in flight at once/);
  assert.equal((await runCli(['help', 'show'], { home })).stdout, (await runCli(['show', '-h'], { home })).stdout);
});

test('foreman app and foreman worker answer --help and -h on stdout, exit 0, with the full text foreman help app|worker prints', async () => {
  const home = tempDir();
  for (const command of ['app', 'worker']) {
    const help = await runCli(['help', command], { home });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: foreman ${command} \\[`));
    for (const flag of ['--help', '-h']) {
      const res = await runCli([command, flag], { home });
      assert.equal(res.code, 0, `${command} ${flag}: ${res.stderr}`);
      assert.equal(res.stderr, '', `${command} ${flag}`);
      assert.equal(res.stdout, help.stdout, `foreman ${command} ${flag} says what foreman help ${command} says`);
    }
  }
  const app = (await runCli(['help', 'app'], { home })).stdout;
  assert.match(app, /webhooks at \/api\/github\/webhooks/);
  assert.match(app, /--no-worker +fork no worker/);
  assert.match(app, /GHE_HOST \(and GHE_PROTOCOL\)/);
  assert.match((await runCli(['help', 'worker'], { home })).stdout, /--max-runs N +runs executed at once/);
  const unknown = await runCli(['app', '--bogus'], { home });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--bogus'[\s\S]*usage: foreman app \[--port N\][\s\S]*foreman app --help/);
});

test('--concurrency -3 is told it must be a positive integer, not that it is ambiguous', async () => {
  const res = await runCli(['run', 'x', '--concurrency', '-3'], { home: tempDir() });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--concurrency must be a positive integer, got '-3': pass a whole number of at least 1/);
  assert.doesNotMatch(res.stderr, /ambiguous/);
});

test('foreman list --repo with a directory that is not there is a usage error', async () => {
  const res = await runCli(['list', '--repo', '/nonexistent/foreman-repo'], { home: tempDir() });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--repo \/nonexistent\/foreman-repo is not a directory: pass the directory of a git checkout/);
  assert.equal(res.stdout, '');
});

test('a workflow whose meta requires args, run without them, is a usage error (exit 2) and leaves no run', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ 'README.md': 'hi\n' });
  const home = tempDir();
  const before = fake.calls;
  const res = await runCli(['run', 'audit', '--repo', repo], { home, baseURL: fake.url });
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /^foreman: audit needs args: the concern, e\.g\. "auth".*Pass them with --args/);
  assert.doesNotMatch(res.stderr, /^run /m);
  assert.deepEqual(await runIds(home), []);
  assert.equal(fake.calls, before);
});

test('an empty repository is told to commit first, not about --base', async (t) => {
  const fake = await model(t);
  const repo = tempDir('foreman-empty-');
  gitIn(repo, 'init', '-q');
  writeFileSync(join(repo, 'x.js'), ONE_AGENT);
  const res = await runCli(['run', join(repo, 'x.js'), '--repo', repo], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /has no commits yet, and agents read a commit, not the working tree: commit your files first/);
  assert.doesNotMatch(res.stderr, /--base/);
});

test('a dirty working tree gets a note, after the run id, that agents read the commit; one agent is "1 agent"', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/x.js': ONE_AGENT, 'a.txt': 'a\n' });
  writeFileSync(join(repo, 'a.txt'), 'edited\n');
  const res = await runCli(['run', 'x', '--repo', repo], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 0, res.stderr);
  const lines = res.stderr.trimEnd().split('\n');
  assert.match(lines[0], /^run \d{8}-\d{6}-[0-9a-f]{4}$/);
  assert.match(lines[1], /^note: the working tree has 1 uncommitted file, which agents do not see: they read the commit HEAD \([0-9a-f]{12}\); commit first/);
  assert.match(res.stderr, /^completed: 1 agent, 120 tokens, \$/m);
  assert.doesNotMatch(res.stderr, /\b1 agents\b/);

  const clean = await runCli(['run', 'x', '--repo', makeRepo({ '.claude/workflows/x.js': ONE_AGENT })], { home: tempDir(), baseURL: fake.url });
  assert.doesNotMatch(clean.stderr, /note:/);
});

test('resuming a run that failed on its script says the script must change, before and after', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/x.js': ONE_AGENT.replace('return await', 'await') + `throw new Error('the script is wrong')\n` });
  const home = tempDir();
  const first = await runCli(['run', 'x', '--repo', repo], { home, baseURL: fake.url });
  assert.equal(first.code, 1);
  const [id] = await runIds(home);
  const resumed = await runCli(['resume', id], { home, baseURL: fake.url });
  assert.equal(resumed.code, 1);
  const lines = resumed.stderr.split('\n');
  assert.equal(lines[0], `run ${id}`);
  assert.match(lines[1], /^note: run \S+ failed with: Error: the script is wrong\. Resume runs the same script with the same args, so an error of the script itself comes back: fix the script or its args, then `foreman resume \S+ --script x` \(or `--args \.\.\.`\): the calls that still match replay$/);
  assert.match(resumed.stderr, /^note: the resumed run failed with the same error, so the script \(or its args\) must change/m);
});

test('after kill -9, show says interrupted, as runs does', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/x.js': META + `return await agent('slow one')\n` });
  const home = tempDir();
  const { child, done } = startCli(['run', 'x', '--repo', repo], { home, baseURL: fake.url });
  const deadline = Date.now() + 15_000;
  let ids: string[] = [];
  while (ids.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    ids = await runIds(home);
  }
  assert.equal(ids.length, 1);
  child.kill('SIGKILL');
  await done;
  const runs = await runCli(['runs'], { home });
  assert.match(runs.stdout, /interrupted/);
  const show = await runCli(['show', ids[0]], { home });
  assert.match(show.stdout.split('\n')[0], new RegExp(`^run ${ids[0]}  x  interrupted$`));
  assert.equal(JSON.parse((await runCli(['show', ids[0], '--json'], { home })).stdout).status, 'interrupted');
});

test('a reader that goes away (foreman runs | head) ends foreman quietly, without an EPIPE stack', async () => {
  const home = tempDir();
  for (const args of [['runs'], ['list'], ['--help']]) {
    const { child, done } = startCli(args, { home });
    // The read end closes before foreman writes, as `head` does once it has its lines.
    child.stdout!.destroy();
    const res = await done;
    assert.equal(res.stderr, '', `${args.join(' ')}: ${res.stderr}`);
    assert.equal(res.code, 0, args.join(' '));
  }
});
