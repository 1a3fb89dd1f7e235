// Bad input through the real bin: every error names the problem and the fix, with exit code 2
// for usage and validation, 1 for a failed run.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, text, type FakeAnthropic } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';

/** A fake model per test, closed when it ends, so the model calls a test counts are its own. */
async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: () => [text('ok')] });
  t.after(() => fake.close());
  return fake;
}

const META = `export const meta = { name: 'x', description: 'test script' }\n`;

test('an unknown workflow name lists the available ones', async (t) => {
  const fake = await model(t);
  // Names are meta.name, as in Claude Code (file names still run).
  const named = (name: string) => `export const meta = { name: '${name}', description: 'test script' }\n`;
  const repo = makeRepo({ '.claude/workflows/audit.js': named('audit') + 'return 1\n', '.claude/workflows/triage-file.js': named('triage') + 'return 2\n' });
  const res = await runCli(['run', 'nope', '--repo', repo], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /nope/);
  assert.match(res.stderr, /audit/);
  assert.match(res.stderr, /triage/);
  assert.match(res.stderr, /foreman list/);
});

test('a missing ANTHROPIC_API_KEY says how to set it, before any run starts', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/x.js': META + 'return await agent("hi")\n' });
  const res = await runCli(['run', 'x', '--repo', repo], { home: tempDir(), baseURL: fake.url, apiKey: null });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /ANTHROPIC_API_KEY is not set/);
  assert.match(res.stderr, /export ANTHROPIC_API_KEY=/);
  assert.doesNotMatch(res.stderr, /^run /m);
});

test('--args that starts with { but is not JSON is a parse error with its position; other text is a string', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/echo.js': META + 'return { args, type: typeof args }\n' });
  const home = tempDir();
  const bad = await runCli(['run', 'echo', '--repo', repo, '--args', '{"a": 1,}'], { home, baseURL: fake.url });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--args starts like JSON \(with \{ or \[\) but is not valid JSON at line 1, column 9: a comma before '\}' is not JSON/);

  const plain = await runCli(['run', 'echo', '--repo', repo, '--args', 'auth flows', '--json'], { home, baseURL: fake.url });
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(JSON.parse(plain.stdout).result, { args: 'auth flows', type: 'string' });

  const json = await runCli(['run', 'echo', '--repo', repo, '--args', '[1, 2]', '--json'], { home, baseURL: fake.url });
  assert.deepEqual(JSON.parse(json.stdout).result, { args: [1, 2], type: 'object' });
});

test('bad flags and bad numbers are usage errors', async () => {
  const home = tempDir();
  const unknown = await runCli(['run', 'x', '--frobnicate'], { home });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /frobnicate/);
  const badNumber = await runCli(['run', 'x', '--concurrency', 'many'], { home });
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /--concurrency must be a positive integer, got 'many'/);
  const noCommand = await runCli(['launch'], { home });
  assert.equal(noCommand.code, 2);
  assert.match(noCommand.stderr, /unknown command 'launch'/);
});

test('a script that fails validation is refused with file:line:column before any model call', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/bad.js': META + 'const fs = require("fs")\n' });
  const before = fake.calls;
  const res = await runCli(['run', 'bad', '--repo', repo], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /bad\.js:2:12: .*require/);
  assert.equal(fake.calls, before);
});

test('foreman validate checks a file on its own', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'good.js'), META + 'return 1\n');
  writeFileSync(join(dir, 'typed.js'), META + 'let n: number = 1\n');
  const good = await runCli(['validate', join(dir, 'good.js')], { home: dir });
  assert.equal(good.code, 0);
  assert.match(good.stdout, /ok \(x: test script\)/);
  const typed = await runCli(['validate', join(dir, 'typed.js')], { home: dir });
  assert.equal(typed.code, 2);
  assert.match(typed.stderr, /typed\.js:2:6: TypeScript syntax is not supported/);
});

test('a memory bomb fails the run with a clear message and exit 1; the run is recorded as failed', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/bomb.js': META + 'const a = []; while (true) a.push(new Array(1e6).fill(1))\n' });
  const home = tempDir();
  const res = await runCli(['run', 'bomb', '--repo', repo, '--json'], { home, baseURL: fake.url });
  assert.equal(res.code, 1);
  const out = JSON.parse(res.stdout);
  assert.equal(out.status, 'failed');
  assert.match(out.error, /memory/i);
  const runs = JSON.parse((await runCli(['runs', '--json'], { home })).stdout);
  assert.equal(runs[0].status, 'failed');
});

test('a CPU loop after an await fails the run with the CPU limit message', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({
    '.claude/workflows/spin.js': META + 'await agent("warm up")\nwhile (true) {}\n',
    '.github/foreman.yml': 'limits:\n  cpuMs: 500\n',
  });
  const res = await runCli(['run', 'spin', '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 1);
  assert.match(JSON.parse(res.stdout).error, /CPU/);
});

test('an invalid config names the key and the fix', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/x.js': META + 'return 1\n', '.github/foreman.yml': 'limits:\n  concurency: 4\n' });
  const res = await runCli(['run', 'x', '--repo', repo], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /\.github\/foreman\.yml: limits\.concurency: unknown key "concurency" — did you mean "concurrency"\?/);
});

test('running outside a git repository says what to do', async (t) => {
  const fake = await model(t);
  const res = await runCli(['run', 'x', '--repo', tempDir()], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /is not a git repository: run foreman inside a checkout, or pass --repo DIR/);
});

test('free text goes to the model to write a workflow; a model that never submits one ends with exit 2 and no run', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/audit.js': META + 'return 1\n' });
  const home = tempDir();
  const res = await runCli(['run', 'audit the auth code', '--repo', repo, '--yes'], { home, baseURL: fake.url });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /did not write a valid workflow in 3 attempts; the last problem: the model answered without calling submit_workflow/);
  assert.match(res.stderr, /Rephrase the request/);
  assert.equal((await runCli(['runs', '--json'], { home })).stdout.trim(), '[]');
});
