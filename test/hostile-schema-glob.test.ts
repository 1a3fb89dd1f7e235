// A hostile script and a hostile model against the host around the isolate (issue #13, items 2, 3
// and 12): the real `foreman` bin runs a real script in its isolate, the fake Messages API plays
// the model's turns, and a probe preloaded into the foreman process notes every time its event
// loop was held. The host must stay responsive, the hostile agent must get a clear error, and the
// run must go on.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { startCli } from './support/cli.ts';
import { LOOP_PROBE_OPTION, longestHoldWithin, loopStalls } from './support/event-loop-probe.ts';

/** Backtracks 2^36 times on 36 `a`s and a `!`: minutes of one core. */
const HOSTILE_PATTERN = '^(a|a)+$';
const HOSTILE_WORD = `${'a'.repeat(36)}!`;
/** The brace bomb: 2^17 alternatives. */
const BRACE_BOMB = '{a,b}'.repeat(17);
/** Polynomial backtracking in a RegExp-based matcher on a name with many `a`s. */
const STAR_BOMB = `${'*a'.repeat(30)}b`;

const SCRIPT = `export const meta = { name: 'hostile', description: 'a hostile schema next to an honest agent' }
const WORD = { type: 'object', properties: { word: { type: 'string', pattern: ${JSON.stringify(HOSTILE_PATTERN)} } }, required: ['word'] }
const OK = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] }
const [hostile, honest] = await parallel([
  () => agent('Hostile: give a word', { schema: WORD, label: 'hostile' }),
  () => agent('Honest: look around', { label: 'honest' }),
])
const again = await agent('Again: give a word', { schema: WORD, label: 'again' })
const after = await agent('After: say ok', { schema: OK, label: 'after' })
return { hostile, honest, again, after }
`;

interface Timeline {
  hostileServedAt?: number;
  honestTurns: number[];
}
/** The model for the hostile-schema script, recording into this run's own timeline. */
const schemaModel = (timeline: Timeline) => {
  const hostileServed = Promise.withResolvers<void>();
  return async (req: FakeRequest): Promise<FakeReply> => {
    if (req.prompt.startsWith('Hostile') || req.prompt.startsWith('Again')) {
      if (req.turn > 0) return [text('the host got past the hostile answer')];
      if (req.prompt.startsWith('Hostile')) {
        timeline.hostileServedAt = Date.now();
        hostileServed.resolve();
      }
      return [toolUse('submit_result', { word: HOSTILE_WORD })];
    }
    if (req.prompt.startsWith('Honest')) {
      // Its turns are asked for while the hostile answer is being checked.
      if (req.turn === 0) await hostileServed.promise;
      timeline.honestTurns.push(Date.now());
      return req.turn < 3 ? [toolUse('list_files', {})] : [text('looked around')];
    }
    if (req.prompt.startsWith('After')) return [toolUse('submit_result', { ok: true })];
    return [text('unexpected prompt')];
  };
};

/** Runs `workflow` with the event-loop probe in the foreman process, against a fake model of the test's own. */
async function startProbedRun(t: TestContext, workflow: string, files: Record<string, string>, model: (req: FakeRequest) => Promise<FakeReply>) {
  const fake = await startFakeAnthropic({ handler: model });
  t.after(() => fake.close());
  const repo = makeRepo(files);
  const home = tempDir();
  const probe = join(tempDir(), 'stalls');
  const run = startCli(['run', workflow, '--repo', repo, '--json'], { home, baseURL: fake.url, extra: { NODE_OPTIONS: LOOP_PROBE_OPTION, FOREMAN_TEST_LOOP_PROBE: probe } });
  return { ...run, probe, home, repo };
}

async function startHostileRun(t: TestContext) {
  const timeline: Timeline = { honestTurns: [] };
  const run = await startProbedRun(t, 'hostile', { 'README.md': 'hi\n', '.claude/workflows/hostile.js': SCRIPT }, schemaModel(timeline));
  return { ...run, timeline };
}

/** Fails the test instead of hanging it when the foreman process stops answering. */
function killAfter(child: { kill(signal: NodeJS.Signals): boolean }, ms: number): NodeJS.Timeout {
  return setTimeout(() => child.kill('SIGKILL'), ms);
}

test('a schema pattern that backtracks on the answer fails that agent with an error naming the pattern, without holding the host; the run goes on', { timeout: 60_000 }, async (t) => {
  const { child, done, probe, timeline } = await startHostileRun(t);
  const guard = killAfter(child, 30_000);
  const res = await done;
  clearTimeout(guard);

  assert.equal(res.signal, null, `foreman had to be killed: its event loop was held\n${res.stderr}`);
  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.status, 'completed');
  assert.equal(out.result.hostile, null);
  assert.equal(out.result.again, null);
  assert.equal(out.result.honest, 'looked around');
  assert.deepEqual(out.result.after, { ok: true });
  // The agent's error names the pattern and the fix.
  assert.match(res.stderr, /hostile.*took over 2 s and was stopped: the schema's pattern "\^\(a\|a\)\+\$" backtracks catastrophically/);
  assert.match(res.stderr, /Fix the schema: rewrite that pattern/);
  // A second agent with the same schema fails at once, without paying for a second check.
  assert.match(res.stderr, /again.*the schema's pattern "\^\(a\|a\)\+\$"/);

  // While the answer was being checked (2 s), the other agent kept asking the model...
  const served = timeline.hostileServedAt!;
  assert.ok(timeline.honestTurns.filter((at) => at > served && at < served + 2_000).length >= 2, `honest turns ${timeline.honestTurns.map((at) => at - served)} ms after the hostile answer`);
  // ...and the foreman process's event loop was never held for more than about 100 ms.
  const stall = longestHoldWithin(loopStalls(probe, child.pid!), served, served + 2_500);
  assert.ok(stall <= 100, `the event loop was held for ${stall} ms while the hostile answer was checked`);
});

test('SIGTERM stops a run at once while a hostile answer is being checked against its schema', { timeout: 60_000 }, async (t) => {
  const { child, done, timeline } = await startHostileRun(t);
  const guard = killAfter(child, 30_000);
  const servedAt = await new Promise<number>((resolve) => {
    const wait = setInterval(() => {
      if (timeline.hostileServedAt) {
        clearInterval(wait);
        resolve(timeline.hostileServedAt);
      }
    }, 10);
  });
  // Well inside the check, which stops at the 2 s deadline at the earliest.
  await new Promise((resolve) => setTimeout(resolve, 300 - (Date.now() - servedAt)));
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  const res = await done;
  const stoppedAfter = Date.now() - signalledAt;
  clearTimeout(guard);

  assert.equal(res.signal, null, `foreman had to be killed: SIGTERM did not stop it\n${res.stderr}`);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /the run was stopped; `foreman resume \S+` continues it/);
  assert.ok(stoppedAfter < 1_500, `foreman stopped ${stoppedAfter} ms after SIGTERM`);
});

const GLOB_SCRIPT = `export const meta = { name: 'globs', description: 'a read-only agent with hostile globs next to an honest one' }
const [lister, honest] = await parallel([
  () => agent('Lister: list with globs', { label: 'lister' }),
  () => agent('Honest: look around', { label: 'honest' }),
])
return { lister, honest }
`;

test('list_files refuses a brace bomb naming the bound and matches a star bomb in linear time; the host stays responsive and the agent goes on', { timeout: 60_000 }, async (t) => {
  const globs = [BRACE_BOMB, STAR_BOMB, '*.txt'];
  const results: Array<{ content: string; is_error?: boolean }> = [];
  const listerTurns: number[] = [];
  const listerStarted = Promise.withResolvers<void>();
  const honestTurns: number[] = [];
  const model = async (req: FakeRequest): Promise<FakeReply> => {
    if (req.prompt.startsWith('Lister')) {
      listerTurns.push(Date.now());
      if (req.turn === 0) listerStarted.resolve();
      else results.push(req.lastToolResults[0]);
      return req.turn < globs.length ? [toolUse('list_files', { glob: globs[req.turn] })] : [text('listed')];
    }
    if (req.turn === 0) await listerStarted.promise;
    honestTurns.push(Date.now());
    return req.turn < 3 ? [toolUse('read_file', { path: 'README.md' })] : [text('looked around')];
  };
  // Names a RegExp-based matcher backtracks on for `*a` x 30 + `b`.
  const files: Record<string, string> = { 'README.md': 'hi\n', '.claude/workflows/globs.js': GLOB_SCRIPT };
  for (let i = 0; i < 20; i++) files[`names/${'a'.repeat(40)}${i}.txt`] = 'x\n';
  const { child, done, probe } = await startProbedRun(t, 'globs', files, model);
  const guard = killAfter(child, 30_000);
  const res = await done;
  clearTimeout(guard);

  assert.equal(res.signal, null, `foreman had to be killed: its event loop was held\n${res.stderr}`);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout).result, { lister: 'listed', honest: 'looked around' });
  const [braces, stars, plain] = results;
  assert.equal(braces.is_error, true);
  assert.match(braces.content, /^glob "\{a,b\}.*" expands to more than 64 alternatives through its \{…\} groups; globs may have at most 64: use fewer groups/);
  assert.equal(stars.is_error, undefined);
  assert.match(stars.content, /^No files match glob/);
  assert.equal(plain.content.split('\n').length, 20);
  assert.ok(honestTurns.length >= 4);
  const stall = longestHoldWithin(loopStalls(probe, child.pid!), listerTurns[0], listerTurns.at(-1)!);
  assert.ok(stall <= 100, `the event loop was held for ${stall} ms while the globs were matched`);
});

const SEARCH_SCRIPT = `export const meta = { name: 'search', description: 'a search whose git error would name host paths' }
return await agent('Searcher: search outside', { label: 'searcher' })
`;

test('a failed search names paths relative to the agent\'s root, never FOREMAN_HOME or the repository on the host', { timeout: 60_000 }, async (t) => {
  let shown: { content: string; is_error?: boolean } | undefined;
  const model = async (req: FakeRequest): Promise<FakeReply> => {
    if (req.turn === 0) return [toolUse('search', { pattern: 'hi', glob: '../../*' })];
    shown = req.lastToolResults[0];
    return [text('searched')];
  };
  const { done, home, repo } = await startProbedRun(t, 'search', { 'README.md': 'hi\n', '.claude/workflows/search.js': SEARCH_SCRIPT }, model);
  const res = await done;

  assert.equal(res.code, 0, res.stderr);
  assert.equal(shown?.is_error, true);
  assert.equal(shown.content, "search failed: fatal: :(glob)../../*: '../../*' is outside repository at '.'");
  assert.ok(!shown.content.includes(home) && !shown.content.includes(repo), shown.content);
});
