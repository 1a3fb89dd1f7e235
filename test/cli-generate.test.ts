// `foreman run "<free text>"` and `foreman save` end to end: the real bin, a real repository, the
// real SDK talking HTTP to the fake Messages API, which plays both the script writer (requests
// offering submit_workflow) and the agents the generated script starts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { cliEnv, runCli } from './support/cli.ts';
import { main } from '../src/cli/main.ts';

const GOOD = `export const meta = {
  name: 'summarise-readme',
  description: 'Summarise the README in one line',
  phases: [{ title: 'Read' }],
}
phase('Read')
const summary = await agent('Summarise README.md in one line')
if (summary === null) throw new Error('the summariser gave no answer')
return { summary }
`;
const IMPORTS = `export const meta = { name: 'bad', description: 'imports' }\nimport fs from 'node:fs'\nreturn 1\n`;
const REQUIRES = `export const meta = { name: 'bad', description: 'requires' }\nconst fs = require('fs')\nreturn 1\n`;
const TYPED = `export const meta = { name: 'bad', description: 'typed' }\nconst n: number = 1\nreturn n\n`;

const isWriter = (r: FakeRequest) => r.tools.includes('submit_workflow');

/** A test's own fake model, closed when the test ends. */
interface Model {
  fake: FakeAnthropic;
  /** Whether the summariser agent fails (a 400), for the test to turn off and on. */
  summariser: { down: boolean };
  /** Requests since `from`: the script writer's and the agents'. */
  since(from: number): { writer: FakeRequest[]; agents: FakeRequest[] };
}

/**
 * The writer (told apart by being offered submit_workflow) submits `submissions`, attempt by
 * attempt (the last one repeats); the agents the generated script starts are told apart by the
 * words of that script (GOOD), which this file writes.
 */
async function model(t: TestContext, submissions: string[]): Promise<Model> {
  const summariser = { down: false };
  const fake = await startFakeAnthropic({
    handler: (req): FakeReply => {
      if (isWriter(req)) return [toolUse('submit_workflow', { script: submissions[Math.min(req.turn, submissions.length - 1)] })];
      if (req.prompt.startsWith('Summarise README.md')) return summariser.down ? { status: 400 } : [text('A tiny test repository.')];
      return [text('unexpected prompt')];
    },
  });
  t.after(() => fake.close());
  const since = (from: number) => {
    const requests = fake.requests.slice(from);
    return { writer: requests.filter(isWriter), agents: requests.filter((r) => !isWriter(r)) };
  };
  return { fake, summariser, since };
}

const REQUEST = 'summarise the readme';

async function runsIn(home: string): Promise<Array<{ runId: string; workflow: string; status: string }>> {
  const res = await runCli(['runs', '--json'], { home });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

test('free text: an invalid script is sent back with its error, the second one is shown as a plan and runs with --yes', async (t) => {
  const m = await model(t, [IMPORTS, GOOD]);
  const repo = makeRepo({ 'README.md': '# tiny\n' });
  const home = tempDir();
  const from = m.fake.requests.length;

  const res = await runCli(['run', REQUEST, '--repo', repo, '--yes', '--json'], { home, baseURL: m.fake.url });

  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.status, 'completed');
  assert.deepEqual(out.result, { summary: 'A tiny test repository.' });
  assert.equal(out.agents, 1);

  const { writer, agents } = m.since(from);
  assert.equal(writer.length, 2);
  assert.equal(agents.length, 1);
  const feedback = writer[1].lastToolResults[0];
  assert.equal(feedback.is_error, true);
  assert.match(feedback.content, /invalid at line 2, column 1: `import` declarations are not allowed/);

  assert.match(res.stderr, /attempt 1 rejected: .*:4:1: `import` declarations are not allowed/);
  assert.match(res.stderr, /plan: summarise-readme: Summarise the README in one line/);
  assert.match(res.stderr, /phases: +Read/);
  assert.match(res.stderr, /agents: +about 1 \(an estimate/);
  assert.match(res.stderr, /written in 2 attempts/);
  // The run exists only after the plan: its id line follows it.
  assert.ok(res.stderr.indexOf('plan: ') < res.stderr.search(/^run \d{8}-/m));

  const runs = await runsIn(home);
  assert.deepEqual(runs.map(({ runId, workflow, status }) => ({ runId, workflow, status })), [{ runId: out.runId, workflow: 'summarise-readme', status: 'completed' }]);
  const shown = await runCli(['show', out.runId, '--json'], { home });
  const run = JSON.parse(shown.stdout);
  assert.equal(run.origin, 'generated');
  assert.match(run.file, /\.foreman\/generated\/\d{8}-\d{6}-[0-9a-f]{4}\.js$/);
  assert.equal(readFileSync(run.file, 'utf8'), `// Written by Foreman (authoring reference v3, claude-sonnet-5-5) for the request:\n//   ${REQUEST}\n${GOOD}`);
});

test('three invalid scripts: exit 2 with the last validation error, no run and no agent', async (t) => {
  const m = await model(t, [IMPORTS, REQUIRES, TYPED]);
  const repo = makeRepo({ 'README.md': '# tiny\n' });
  const home = tempDir();
  const from = m.fake.requests.length;

  const res = await runCli(['run', REQUEST, '--repo', repo, '--yes'], { home, baseURL: m.fake.url });

  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /did not write a valid workflow in 3 attempts; the last problem: .*\.js:4:8: TypeScript syntax is not supported/);
  const kept = /The last attempt is in (\S+):/.exec(res.stderr)?.[1];
  assert.ok(kept && readFileSync(kept, 'utf8').endsWith(TYPED), res.stderr);
  assert.match(res.stderr, /Nothing was run/);
  assert.doesNotMatch(res.stderr, /^run /m);
  assert.equal(m.since(from).writer.length, 3);
  assert.equal(m.since(from).agents.length, 0);
  assert.deepEqual(await runsIn(home), []);
});

test('free text with the sandbox off: the warning is said once, for writing the script and running it alike', async (t) => {
  const m = await model(t, [GOOD]);
  const repo = makeRepo({ 'README.md': '# tiny\n' });
  const res = await runCli(['run', REQUEST, '--repo', repo, '--yes', '--json'], { home: tempDir(), baseURL: m.fake.url, extra: { FOREMAN_SANDBOX: 'off' } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr.split('\n').filter((line) => line.includes('warning: FOREMAN_SANDBOX=off')).length, 1, res.stderr);
});

test('without a terminal and without --yes the plan is shown and nothing runs', async (t) => {
  const m = await model(t, [GOOD]);
  const repo = makeRepo({ 'README.md': '# tiny\n' });
  const home = tempDir();
  const from = m.fake.requests.length;

  const res = await runCli(['run', REQUEST, '--repo', repo], { home, baseURL: m.fake.url });

  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /plan: summarise-readme/);
  assert.match(res.stderr, /agents: +about 1/);
  assert.match(res.stderr, /no terminal to ask on\. Pass --yes/);
  assert.equal(m.since(from).agents.length, 0);
  assert.deepEqual(await runsIn(home), []);
});

test('foreman save writes the run\'s script into the repository, refuses to overwrite without --force, and run <name> finds it', async (t) => {
  const m = await model(t, [GOOD]);
  const repo = makeRepo({ 'README.md': '# tiny\n', '.claude/workflows/hello.js': `export const meta = { name: 'hello', description: 'no agents' }\nreturn 'hi'\n` });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };
  const generated = await runCli(['run', REQUEST, '--repo', repo, '--yes', '--json'], env);
  assert.equal(generated.code, 0, generated.stderr);
  const { runId } = JSON.parse(generated.stdout);
  const file = join(repo, '.claude', 'workflows', 'readme-summary.js');

  const saved = await runCli(['save', runId, 'readme-summary'], env);
  assert.equal(saved.code, 0, saved.stderr);
  assert.equal(saved.stdout.trim(), file);
  assert.ok(readFileSync(file, 'utf8').endsWith(GOOD));

  writeFileSync(file, '// mine\n');
  const again = await runCli(['save', runId, 'readme-summary'], env);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /readme-summary\.js already exists: pass --force to overwrite it/);
  assert.equal(readFileSync(file, 'utf8'), '// mine\n');
  const forced = await runCli(['save', runId, 'readme-summary', '--force'], env);
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(readFileSync(file, 'utf8').endsWith(GOOD));

  const badName = await runCli(['save', runId, 'Readme Summary'], env);
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /'Readme Summary' is not a valid workflow name: use lowercase letters/);
  const noRun = await runCli(['save', '20000101-000000-0000', 'x'], env);
  assert.equal(noRun.code, 2);
  assert.match(noRun.stderr, /no run 20000101-000000-0000: `foreman runs` lists the runs/);

  const from = m.fake.requests.length;
  const byName = await runCli(['run', 'readme-summary', '--repo', repo, '--json'], env);
  assert.equal(byName.code, 0, byName.stderr);
  assert.deepEqual(JSON.parse(byName.stdout).result, { summary: 'A tiny test repository.' });
  assert.equal(m.since(from).writer.length, 0, 'a saved workflow is not written again');

  // Any run's script can be saved, not only a generated one.
  const hello = await runCli(['run', 'hello', '--repo', repo, '--json'], env);
  const copy = await runCli(['save', JSON.parse(hello.stdout).runId, 'hello-copy'], env);
  assert.equal(copy.code, 0, copy.stderr);
  assert.equal(readFileSync(join(repo, '.claude/workflows/hello-copy.js'), 'utf8'), readFileSync(join(repo, '.claude/workflows/hello.js'), 'utf8'));
});

test('resume runs the stored generated script, without writing it again', async (t) => {
  const m = await model(t, [GOOD]);
  m.summariser.down = true;
  const repo = makeRepo({ 'README.md': '# tiny\n' });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };
  try {
    const failed = await runCli(['run', REQUEST, '--repo', repo, '--yes', '--json'], env);
    assert.equal(failed.code, 1, failed.stderr);
    const { runId, error } = JSON.parse(failed.stdout);
    assert.match(error, /the summariser gave no answer/);
    // The stored source is what resumes, not the draft file.
    const run = JSON.parse((await runCli(['show', runId, '--json'], env)).stdout);
    writeFileSync(run.file, 'throw new Error("edited")\n');

    m.summariser.down = false;
    const from = m.fake.requests.length;
    const resumed = await runCli(['resume', runId, '--json'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(JSON.parse(resumed.stdout).result, { summary: 'A tiny test repository.' });
    assert.equal(m.since(from).writer.length, 0);
  } finally {
    m.summariser.down = false;
  }
});

test('on a terminal the plan is approved or declined with y/N', async (t) => {
  const m = await model(t, [GOOD]);
  const repo = makeRepo({ 'README.md': '# tiny\n' });
  const home = tempDir();

  const ask = async (answer: string) => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    let stderr = '';
    let stdout = '';
    const stderrStream = new PassThrough().setEncoding('utf8');
    stderrStream.on('data', (chunk: string) => {
      stderr += chunk;
      if (chunk.includes('Run it? [y/N]')) stdin.write(`${answer}\n`);
    });
    const stdoutStream = new PassThrough().setEncoding('utf8');
    stdoutStream.on('data', (chunk: string) => (stdout += chunk));
    const from = m.fake.requests.length;
    const code = await main(['run', REQUEST, '--repo', repo, '--json'], {
      stdin,
      stdout: stdoutStream,
      stderr: stderrStream,
      env: cliEnv({ home, baseURL: m.fake.url }),
    });
    return { code, stderr, stdout, agents: m.since(from).agents.length };
  };

  const declined = await ask('n');
  assert.equal(declined.code, 1, declined.stderr);
  assert.match(declined.stderr, /plan: summarise-readme/);
  assert.match(declined.stderr, /not run: the plan was not approved\. The script is in (\S+\.js): `foreman run \1` runs it as it is/);
  assert.equal(declined.agents, 0);
  assert.deepEqual(await runsIn(home), []);
  const draft = /The script is in (\S+\.js):/.exec(declined.stderr)![1];
  assert.ok(existsSync(draft));

  const approved = await ask('y');
  assert.equal(approved.code, 0, approved.stderr);
  assert.equal(JSON.parse(approved.stdout).status, 'completed');
  assert.equal(approved.agents, 1);
  assert.equal((await runsIn(home)).length, 1);
});
