// Item 4 of issue #17: a run reports the prompt cache. The real `foreman` bin runs a saved workflow
// against the fake Messages API, whose answers report cache reads and writes (one of them with
// the 1-hour TTL) as the API does; the summary line, `--json` and the stored agents show them, and
// the cost is the price table's, with the cache multipliers.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic, text, type FakeAnthropic, type FakeReply, type FakeRequest } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';
import { hasScript, screenOf, startOnTerminal } from './support/terminal.ts';

const SWEEP = `export const meta = { name: 'sweep', description: 'Two agents that share a long preamble' }
phase('Scan')
const first = await agent('Shared rules. Item: first')
const second = await agent('Shared rules. Item: second')
return { first, second }
`;

/**
 * The first agent writes the shared prefix (5-minute TTL), the second reads it and writes 2,000
 * tokens more with the 1-hour TTL; usage as the API reports it, `cache_creation` split included.
 */
function sweepModel(req: FakeRequest): FakeReply {
  const usage = req.prompt.endsWith('first')
    ? { input_tokens: 200, output_tokens: 50, cache_read_input_tokens: 0, cache_creation_input_tokens: 6_000, cache_creation: { ephemeral_5m_input_tokens: 6_000, ephemeral_1h_input_tokens: 0 } }
    : { input_tokens: 200, output_tokens: 50, cache_read_input_tokens: 6_000, cache_creation_input_tokens: 2_000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2_000 } };
  return { blocks: [text('ok')], usage };
}

async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: sweepModel });
  t.after(() => fake.close());
  return fake;
}

// Both agents: 400 input, 100 output, 6,000 read, 8,000 written of which 2,000 for 1 hour. Prompt
// tokens 400 + 6,000 + 8,000 = 14,400, so 6,000 / 14,400 = 41.67% read from the cache. On the
// default model (claude-sonnet-5-5: $2 input, $10 output, $0.10 read, $2.50 a 5-minute write,
// 2 × $2 a 1-hour write): 800 + 1,000 + 600 + 6,000 × 2.5 + 2,000 × 4 = 25,400 per million.
const COST = 0.0254;

test('the run summary and --json show cache reads, writes (the 1-hour part too) and the share read, priced with the cache multipliers', async (t) => {
  const fake = await model(t);
  const home = tempDir();
  const repo = makeRepo({ '.claude/workflows/sweep.js': SWEEP });

  const res = await runCli(['run', 'sweep', '--repo', repo, '--json'], { home, baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  assert.equal(fake.calls, 2, 'one turn each');
  const out = JSON.parse(res.stdout);
  assert.deepEqual(out.usage, { input: 400, output: 100, cacheRead: 6_000, cacheWrite: 8_000, cacheWrite1h: 2_000 });
  assert.deepEqual(out.cache, { read: 6_000, written: 8_000, written1h: 2_000, shareRead: 0.4167 });
  assert.deepEqual(
    out.phases.map((p: { title: string; cache: unknown }) => [p.title, p.cache]),
    [['Scan', { read: 6_000, written: 8_000, written1h: 2_000, shareRead: 0.4167 }]],
  );
  assert.ok(Math.abs(out.costUsd - COST) < 1e-9, `cost ${out.costUsd}, not ${COST}`);
  assert.ok(Math.abs(out.phases[0].costUsd - COST) < 1e-9);

  // The store keeps each agent's 1-hour writes, so `foreman show` and a resume price them alike.
  const shown = await runCli(['show', out.runId, '--agent', '2', '--json'], { home });
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(JSON.parse(shown.stdout).usage, { input: 200, output: 50, cacheRead: 6_000, cacheWrite: 2_000, cacheWrite1h: 2_000 });

  // Without --json, the summary line says it in words.
  const again = await runCli(['run', 'sweep', '--repo', repo], { home, baseURL: fake.url });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /^completed: 2 agents, 14\.5k tokens, cache: 6\.0k read \(42% of prompt tokens\), 8\.0k written \(2\.0k for 1 hour\), \$0\.0254, [\d.]+s$/m);
});

test('a run that never touched the cache says nothing of it in its summary line, and --json reads 0%', async (t) => {
  const fake = await startFakeAnthropic({ handler: () => [text('ok')] });
  t.after(() => fake.close());
  const home = tempDir();
  const repo = makeRepo({ '.claude/workflows/sweep.js': SWEEP });

  const res = await runCli(['run', 'sweep', '--repo', repo], { home, baseURL: fake.url });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /^completed: 2 agents, 240 tokens, \$[\d.]+, [\d.]+s$/m);

  const json = await runCli(['run', 'sweep', '--repo', repo, '--json'], { home, baseURL: fake.url });
  assert.deepEqual(JSON.parse(json.stdout).cache, { read: 0, written: 0, written1h: 0, shareRead: 0 });
});

test('on a terminal the live table has a cache column: the share of prompt tokens read, then tokens read and written', { skip: hasScript ? false : 'util-linux `script` is not installed' }, async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/sweep.js': SWEEP });
  const run = startOnTerminal(['run', 'sweep', '--repo', repo], { home: tempDir(), baseURL: fake.url });
  const { code, output } = await run.done;
  assert.equal(code, 0, output);
  const screen = screenOf(output);
  const headerAt = screen.findLastIndex((line) => line.startsWith('phase '));
  assert.match(screen[headerAt], /^phase +done +failed +running +queued +tokens +cache +cost +elapsed$/, screen.join('\n'));
  assert.match(screen[headerAt + 1], /^Scan +2 +0 +0 +0 +14\.5k +42% r6\.0k w8\.0k +\$0\.0254 +[\d.]+s$/, screen.join('\n'));
  assert.match(screen[headerAt + 2], /^total +2 +0 +0 +0 +14\.5k +42% r6\.0k w8\.0k +\$0\.0254 +[\d.]+s$/, screen.join('\n'));
});
