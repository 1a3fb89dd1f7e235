// A hostile or careless script through the real bin: arguments of the wrong type are refused before
// any agent starts (nothing is paid), the clock stays out of reach, and the config cannot lift the
// script's limits past their maxima.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic, text, type FakeAnthropic } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';

/** A fake model per test, closed when it ends, so the model calls a test counts are its own. */
async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: () => [text('ok')] });
  t.after(() => fake.close());
  return fake;
}

const META = (name: string) => `export const meta = { name: '${name}', description: 'a hostile script' }\n`;

test('a label, phase or model of the wrong type is a TypeError naming the option, before any agent is paid for', async (t) => {
  const fake = await model(t);
  const script =
    META('bad-args') +
    `const tries = {
  agentLabel: () => agent('look', { label: { x: 1 } }),
  agentPhase: () => agent('look', { phase: ['Audit'] }),
  agentModel: () => agent('look', { model: 5 }),
  agentSchema: () => agent('look', { schema: 'an object please' }),
  changeLabel: () => change('edit', { label: { x: 1 } }),
  changeModel: () => change('edit', { model: '' }),
  phaseTitle: () => phase({ title: 'Audit' }),
  fixReviewPhase: () => fix('edit', { reviewPhase: { x: 1 } }),
}
const got = {}
for (const [name, attempt] of Object.entries(tries)) {
  try { await attempt(); got[name] = 'ran' } catch (e) { got[name] = e.name + ': ' + e.message }
}
return got
`;
  const repo = makeRepo({ '.claude/workflows/bad-args.js': script });
  const before = fake.calls;
  const res = await runCli(['run', 'bad-args', '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 0, res.stderr);
  const got = JSON.parse(res.stdout).result;
  assert.deepEqual(got, {
    agentLabel: 'TypeError: agent(prompt, opts?): opts.label must be a string (shown in progress output), got an object',
    agentPhase: 'TypeError: agent(prompt, opts?): opts.phase must be a string (a phase title), got an array',
    agentModel: 'TypeError: agent(prompt, opts?): opts.model must be a model alias (haiku, sonnet, opus) or a model id, as a string, got number 5',
    agentSchema: 'TypeError: agent(prompt, opts?): opts.schema must be a JSON Schema object (its root an object), got the string "an object please"',
    changeLabel: 'TypeError: change(prompt, opts?): opts.label must be a string (shown in progress output), got an object',
    changeModel: 'TypeError: change(prompt, opts?): opts.model must be a model alias (haiku, sonnet, opus) or a model id, as a string, got the string ""',
    phaseTitle: 'TypeError: phase(title): title must be a string, got an object',
    fixReviewPhase: 'TypeError: fix(prompt, opts?): opts.reviewPhase must be a string, got an object',
  });
  assert.equal(fake.calls, before, 'no request reached the model: nothing was paid for');
});

test('an uncaught bad option fails the run with that TypeError, not with a store error, and pays nothing', async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/bad-label.js': META('bad-label') + "return await agent('look', { label: { x: 1 }, phase: { y: 2 } })\n" });
  const before = fake.calls;
  const res = await runCli(['run', 'bad-label', '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 1, res.stderr);
  const outcome = JSON.parse(res.stdout);
  assert.equal(outcome.status, 'failed');
  assert.match(outcome.error, /TypeError: agent\(prompt, opts\?\): opts\.label must be a string \(shown in progress output\), got an object/);
  assert.doesNotMatch(outcome.error + res.stderr, /run store|FOREMAN_HOME/);
  assert.deepEqual(outcome.phases, [], 'no phase, let alone an object one, reached the output');
  assert.equal(fake.calls, before);
});

test('the clock is out of reach: Intl.DateTimeFormat without a date, Date() and new Date() throw; with a date they work', async (t) => {
  const fake = await model(t);
  const script =
    META('clock') +
    `const tries = {
  format: () => new Intl.DateTimeFormat().format(),
  formatUndefined: () => new Intl.DateTimeFormat('en', { timeZone: 'UTC' }).format(undefined),
  formatToParts: () => new Intl.DateTimeFormat().formatToParts(),
  formatGetter: () => Object.getOwnPropertyDescriptor(Intl.DateTimeFormat.prototype, 'format').get.call(new Intl.DateTimeFormat())(),
  formatRange: () => new Intl.DateTimeFormat().formatRange(),
  formatRangeToParts: () => new Intl.DateTimeFormat().formatRangeToParts(),
  dateFunction: () => Date(),
  newDate: () => new Date(),
  dateNow: () => Date.now(),
  temporalNow: () => (typeof Temporal === 'undefined' ? 'absent' : Temporal.Now.instant().toString()),
  withDate: () => new Intl.DateTimeFormat('en', { timeZone: 'UTC' }).format(new Date(0)),
  partsWithDate: () => new Intl.DateTimeFormat('en', { timeZone: 'UTC', year: 'numeric' }).formatToParts(new Date(0))[0].value,
}
const got = {}
for (const [name, attempt] of Object.entries(tries)) {
  try { got[name] = 'returned ' + attempt() } catch (e) { got[name] = e.name + ': ' + e.message }
}
return got
`;
  const repo = makeRepo({ '.claude/workflows/clock.js': script });
  const res = await runCli(['run', 'clock', '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });
  assert.equal(res.code, 0, res.stderr);
  const got = JSON.parse(res.stdout).result;
  for (const name of ['format', 'formatUndefined', 'formatToParts', 'formatGetter', 'dateFunction', 'newDate', 'dateNow']) {
    assert.match(got[name], /^Error: .* is not available in workflow scripts: a resumed run replays journaled results/, name);
  }
  assert.match(got.format, /Pass the date to format/);
  // Both range methods need both dates: without them V8 refuses before reading any clock.
  assert.match(got.formatRange, /^(RangeError|TypeError): /);
  assert.match(got.formatRangeToParts, /^(RangeError|TypeError): /);
  assert.ok(got.temporalNow === 'returned absent' || /not available in workflow scripts/.test(got.temporalNow), got.temporalNow);
  assert.equal(got.withDate, 'returned 1/1/1970');
  assert.equal(got.partsWithDate, 'returned 1970');
});

test('limits.cpuMs and limits.wallMs have maxima: a config past them is refused, naming the key and the bound', async (t) => {
  const fake = await model(t);
  const workflow = { '.claude/workflows/x.js': META('x') + 'return 1\n' };
  const cpu = makeRepo({ ...workflow, '.github/foreman.yml': 'limits:\n  cpuMs: 1000000000000\n' });
  const cpuRes = await runCli(['run', 'x', '--repo', cpu], { home: tempDir(), baseURL: fake.url });
  assert.equal(cpuRes.code, 2);
  assert.match(cpuRes.stderr, /limits\.cpuMs: Too big: expected number to be <=300000: fix or remove that key/);
  const wall = makeRepo({ ...workflow, '.github/foreman.yml': 'limits:\n  wallMs: 99999999999\n' });
  const wallRes = await runCli(['run', 'x', '--repo', wall], { home: tempDir(), baseURL: fake.url });
  assert.equal(wallRes.code, 2);
  assert.match(wallRes.stderr, /limits\.wallMs: Too big: expected number to be <=21600000: fix or remove that key/);
  const atMost = makeRepo({ ...workflow, '.github/foreman.yml': 'limits:\n  cpuMs: 300000\n  wallMs: 21600000\n' });
  const ok = await runCli(['run', 'x', '--repo', atMost, '--json'], { home: tempDir(), baseURL: fake.url });
  assert.equal(ok.code, 0, ok.stderr);
});
