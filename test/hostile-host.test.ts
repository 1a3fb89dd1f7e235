// Issue #13's acceptance, across items: one host runs two runs at once (as the App's worker
// does), the first's script trying items 2–6 together: a backtracking schema pattern, glob bombs,
// workflow('/dev/zero'), WebAssembly memory, a flood of 64 KB logs and failed items with huge
// messages. The second run's agents must keep flowing the whole time, the host's event loop must
// not be held, and its memory must stay under the fan-out bound (300 MB).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeAnthropic, text, toolUse } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { LOOP_PROBE_OPTION, longestHoldWithin, loopStalls } from './support/event-loop-probe.ts';
import { watchPeakRss } from './support/memory.ts';

const HOST = fileURLToPath(new URL('./support/two-runs-host.ts', import.meta.url));
const HONEST_AGENTS = 24;

const HOSTILE = `export const meta = { name: 'hostile', description: 'items 2 to 6 of issue 13 at once' }
const WORD = { type: 'object', properties: { word: { type: 'string', pattern: '^(a|a)+$' } }, required: ['word'] }
const tried = {}
const attempt = async (name, fn) => { try { tried[name] = 'went through: ' + String(await fn()).slice(0, 100) } catch (e) { tried[name] = String(e && e.message).slice(0, 300) } }
await attempt('schema', () => agent('Hostile schema: give a word', { schema: WORD, label: 'schema' }))
await attempt('glob', () => agent('Hostile glob: list files', { label: 'glob' }))
await attempt('workflow', () => workflow('/dev/zero'))
await attempt('wasm', () => new WebAssembly.Memory({ initial: 1, maximum: 65536 }).grow(4095))
const chunk = 'x'.repeat(64 * 1024)
for (let i = 0; i < 6000; i++) log(chunk)
await attempt('failures', async () => {
  const items = await parallel(Array.from({ length: 12 }, () => () => { throw new Error('y'.repeat(8 * 1024 * 1024)) }))
  return items.length
})
return tried
`;

const HONEST = `export const meta = { name: 'honest', description: 'many small agents' }
return await parallel(Array.from({ length: ${HONEST_AGENTS} }, (_, i) => () => agent('Honest ' + i + ': say ok', { label: 'honest ' + i })))
`;

const fake = await startFakeAnthropic({
  latencyMs: 40,
  handler: (req) => {
    if (req.prompt.startsWith('Hostile schema')) return req.turn === 0 ? [toolUse('submit_result', { word: `${'a'.repeat(36)}!` })] : [text('gave up')];
    if (req.prompt.startsWith('Hostile glob')) {
      const globs = ['{a,b}'.repeat(17), `${'*a'.repeat(30)}b`];
      return req.turn < globs.length ? [toolUse('list_files', { glob: globs[req.turn] })] : [text('listed')];
    }
    return [text('ok')];
  },
});
after(() => fake.close());

test("a second run's agents keep flowing while the first's script tries items 2–6 in the same host, which stays responsive and under 300 MB", { timeout: 120_000 }, async (t) => {
  const hostileRepo = makeRepo({ 'README.md': 'hi\n', [`${'a'.repeat(60)}.txt`]: 'bait for the star bomb\n', '.claude/workflows/hostile.js': HOSTILE });
  const honestRepo = makeRepo({ 'README.md': 'hi\n', '.claude/workflows/honest.js': HONEST });
  const probe = join(tempDir(), 'stalls');
  const started = Date.now();
  const host = spawn(process.execPath, ['--no-node-snapshot', LOOP_PROBE_OPTION, HOST, hostileRepo, honestRepo, tempDir(), fake.url], {
    env: { PATH: process.env.PATH, FOREMAN_TEST_LOOP_PROBE: probe },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const memory = watchPeakRss(host.pid!);
  let stdout = '';
  let stderr = '';
  host.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  host.stderr.setEncoding('utf8').on('data', (d) => (stderr += d.slice(0, 10_000)));
  const killer = setTimeout(() => host.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((resolve) => host.on('close', resolve));
  clearTimeout(killer);
  const peakMb = memory.stop();
  assert.equal(code, 0, `the host finished both runs: ${stderr}`);
  const outcome = JSON.parse(stdout.trim().split('\n').pop()!) as {
    hostile: { status: string; result: Record<string, string> };
    honest: { status: string; result: unknown[] };
    honestDone: number[];
    hostileWarnings: string[];
    runsFrom: number;
  };

  // The honest run: every agent answered, none waited on the hostile script.
  assert.equal(outcome.honest.status, 'completed');
  assert.equal(outcome.honest.result.length, HONEST_AGENTS);
  assert.equal(outcome.honestDone.length, HONEST_AGENTS);
  const gaps = outcome.honestDone.slice(1).map((t, i) => t - outcome.honestDone[i]!);
  assert.ok(Math.max(...gaps, outcome.honestDone[0]! - outcome.runsFrom) < 5_000, `agents kept flowing: the longest wait between two was ${Math.max(...gaps)} ms`);

  // The hostile run: each attempt met a clear error, and the run ended normally.
  const tried = outcome.hostile.result;
  assert.equal(outcome.hostile.status, 'completed', JSON.stringify(outcome.hostile));
  // A failed agent is null for the script, with a warning that says why.
  assert.equal(tried.schema, 'went through: null');
  assert.ok(outcome.hostileWarnings.some((w) => /schema's pattern "\^\(a\|a\)\+\$" backtracks/.test(w)), outcome.hostileWarnings.join('\n'));
  assert.doesNotMatch(tried.workflow!, /^went through/, tried.workflow);
  assert.match(tried.wasm!, /not available in workflow scripts/, tried.wasm);
  assert.match(tried.failures!, /^went through: 12$/, tried.failures);

  // The host: its event loop never held for long, its memory under the bound.
  const stalls = loopStalls(probe, host.pid!);
  const held = longestHoldWithin(stalls, outcome.runsFrom, Date.now());
  assert.ok(held < 250, `the host's event loop was held for ${held} ms: ${JSON.stringify(stalls.map((s) => ({ ...s, at: s.at - started })))}`);
  assert.ok(peakMb < 300, `the host peaked at ${Math.round(peakMb)} MB`);
  t.diagnostic(`host peak ${Math.round(peakMb)} MB; event loop held at most ${Math.round(held)} ms; longest wait between honest agents ${Math.max(...gaps)} ms`);
});
