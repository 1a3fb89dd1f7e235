// A hostile workflow script against the real `foreman` process (issue #13, items 5–7): memory
// outside the isolate's limit, messages that grow the host, a stop the script would sit out. Each
// test samples the child's resident memory from /proc and holds it under a stated bound.
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { startFakeAnthropic, text, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli, startCli, type CliResult } from './support/cli.ts';
import { watchPeakRss } from './support/memory.ts';

/** What the host may reach while a script attacks: the fan-out bound of DESIGN §8. */
const HOST_BOUND_MB = 300;

const answer = (req: FakeRequest): FakeReply => [text(`answer to ${req.prompt}`)];
const fake = await startFakeAnthropic({ handler: answer });
after(() => fake.close());

/** A fake model of item 7's own: the 'held' agent waits until the test releases it. */
async function holdingModel(t: TestContext) {
  const hold = { holding: true, release: null as (() => void) | null };
  const fake = await startFakeAnthropic({
    handler: async (req) => {
      // Held until the test stops the run, so the stop lands while the script waits on it.
      if (req.prompt === 'held' && hold.holding) await new Promise<void>((resolve) => (hold.release = resolve));
      return answer(req);
    },
  });
  t.after(async () => {
    hold.release?.();
    await fake.close();
  });
  return { fake, hold };
}

function workflowRepo(name: string, body: string): string {
  return makeRepo({ 'README.md': 'x\n', [`.claude/workflows/${name}.js`]: `export const meta = { name: '${name}', description: 'hostile' }\n${body}` });
}

/** Runs `foreman run` and samples its memory for the whole run. */
async function runMeasured(args: string[], env: { home: string; baseURL: string }): Promise<CliResult & { peakMb: number; ms: number }> {
  const started = performance.now();
  const { child, done } = startCli(args, env);
  const memory = watchPeakRss(child.pid!);
  const result = await done;
  return { ...result, peakMb: memory.stop(), ms: performance.now() - started };
}

test('item 5: WebAssembly memory and resizable buffers, which the isolate limit does not count, are refused with a clear error', async () => {
  const repo = workflowRepo(
    'grow',
    `const answer = await agent('ping')
let resizable
try {
  const buffer = new ArrayBuffer(0, { maxByteLength: 512 * 2 ** 20 })
  buffer.resize(256 * 2 ** 20)
  new Uint8Array(buffer).fill(1)
  resizable = 'grew to 256 MB'
} catch (error) {
  resizable = error.message
}
log('resizable: ' + resizable)
const memory = new WebAssembly.Memory({ initial: 1 })
memory.grow(4095)
new Uint8Array(memory.buffer).fill(1)
return [answer, 'grew to 256 MB']
`,
  );
  const run = await runMeasured(['run', 'grow', '--repo', repo, '--json'], { home: tempDir(), baseURL: fake.url });
  assert.ok(run.peakMb < HOST_BOUND_MB, `the host peaked at ${run.peakMb} MB; the bound is ${HOST_BOUND_MB} MB`);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /log resizable: A resizable ArrayBuffer \(maxByteLength, resize\(\)\) is not available in workflow scripts: its memory is outside the script's memory limit/);
  const out = JSON.parse(run.stdout);
  assert.equal(out.status, 'failed');
  assert.match(out.error, /^TypeError: WebAssembly\.Memory is not available in workflow scripts: .*do heavy computation in an agent or a gate command instead\.\n {4}at .*grow\.js:13/s);
});

test('item 6: logs, failed items, thrown errors and phase titles are cut where they leave the isolate, and a run shows a bounded amount', async () => {
  const repo = workflowRepo(
    'loud',
    `const chunk = 'y'.repeat(64 * 1024)
const big = 'x'.repeat(24 * 2 ** 20)
const [answer] = await parallel([
  () => agent('ping'),
  ...Array.from({ length: 12 }, (_, i) => async () => { throw new Error(i + big) }),
])
log('answer: ' + answer)
phase('P'.repeat(100_000))
for (let i = 0; i < 6000; i++) log(chunk)
for (let i = 0; i < 3000; i++) phase('phase ' + i)
throw new Error('z'.repeat(24 * 2 ** 20))
`,
  );
  const home = tempDir();
  const run = await runMeasured(['run', 'loud', '--repo', repo, '--json'], { home, baseURL: fake.url });
  assert.ok(run.peakMb < HOST_BOUND_MB, `the host peaked at ${run.peakMb} MB; the bound is ${HOST_BOUND_MB} MB`);
  assert.equal(run.code, 1, run.stderr.slice(-2000));
  assert.match(run.stderr, /log answer: answer to ping/, 'the agent ran alongside the attack');
  // A failed item's message: cut at 64 KB, with a marker saying how long it was.
  const failures = run.stderr.split('\n').filter((line) => line.startsWith('warn parallel(): item '));
  assert.equal(failures.length, 12);
  for (const line of failures) {
    assert.ok(line.length < 70 * 1024, `a failure line is ${line.length} characters`);
    assert.match(line, /x… \[cut: 25165\d{3} characters in all, the limit is 65536\]$/);
  }
  assert.match(run.stderr, /^phase P{200}… \[cut: 100000 characters in all, the limit is 200\]$/m);
  // The run shows at most 8 MB of the script's messages, then counts the rest.
  assert.ok(run.stderr.length < 9 * 2 ** 20, `stderr is ${run.stderr.length} characters`);
  assert.match(run.stderr, /warn the script's messages passed what a run shows \(8\.0 MB of text, 1000 phase titles\): its later log\(\), warnings and new phase titles are counted, not shown/);
  assert.match(run.stderr, /warn \d{4} of the script's messages \(\d+\.\d MB\) were not shown: past what a run shows/);
  // The thrown error, in --json and in the store, is cut the same way.
  const out = JSON.parse(run.stdout);
  assert.equal(out.status, 'failed');
  assert.ok(out.error.length < 70 * 1024, `the run's error is ${out.error.length} characters`);
  assert.match(out.error, /^Error: z+… \[cut: 25165824 characters in all, the limit is 65536\]\n {4}at .*loud\.js:12:7$/);
  assert.ok(out.phases.length <= 1001, `${out.phases.length} phases`);
  const db = new DatabaseSync(join(home, '.foreman', 'foreman.db'), { readOnly: true });
  const stored = db.prepare('SELECT error FROM runs').get() as { error: string };
  db.close();
  assert.ok(stored.error.length < 70 * 1024, `the stored error is ${stored.error.length} characters`);
});

test('item 7: SIGTERM ends a script awaiting a promise that never settles within seconds; resume continues it', async (t) => {
  const { fake, hold } = await holdingModel(t);
  const repo = workflowRepo(
    'waits',
    `const first = await agent('first')
const held = agent('held')
log('waiting')
const second = await held
// A stopped agent gives null: the first run then waits on a promise nothing will ever settle.
if (second === null) await new Promise(() => {})
return [first, second]
`,
  );
  const home = tempDir();
  const env = { home, baseURL: fake.url };
  const { child, done } = startCli(['run', 'waits', '--repo', repo], env);
  const memory = watchPeakRss(child.pid!);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 15_000;
  while (!(stderr.includes('log waiting') && hold.release) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(hold.release, `the held agent never started:\n${stderr}`);

  const stoppedAt = performance.now();
  child.kill('SIGTERM');
  const exited = await Promise.race([done, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
  if (!exited) child.kill('SIGKILL');
  assert.ok(exited, `foreman was still running 5 s after SIGTERM:\n${stderr}`);
  const peakMb = memory.stop();
  assert.ok(peakMb < HOST_BOUND_MB, `the host peaked at ${peakMb} MB`);
  assert.ok(performance.now() - stoppedAt < 5000);
  assert.equal(exited.code, 1, exited.stderr);
  assert.match(exited.stderr, /the run was stopped; `foreman resume \S+` continues it/);
  const runId = /^run (\S+)/.exec(exited.stderr)![1];
  assert.equal(JSON.parse((await runCli(['runs', '--json'], env)).stdout)[0].status, 'stopped');

  hold.holding = false;
  hold.release?.();
  const callsBefore = fake.calls;
  const resumed = await runCli(['resume', runId, '--json'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(JSON.parse(resumed.stdout).result, ['answer to first', 'answer to held']);
  assert.equal(fake.calls - callsBefore, 1, 'only the stopped agent calls the model again');
});
