// Issue #17's acceptance: what sibling agents' prompts share is read from the cache, measured
// against the fake Messages API billing caching as the API documents (test/support/fake-prompt-cache.ts),
// through the real CLI.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from './support/cli.ts';
import { startFakeAnthropic, text, type FakeAnthropic, type FakeCacheTotals, type FakeRequest } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runScript, serviceEnv } from './support/service.ts';

/** About 6,000 tokens of rules at the fake's 4 characters a token, the same in every script. */
const RULES = `const RULES = Array.from({ length: 420 }, (_, i) => 'Rule ' + i + ': report any secret written to a log, with its line.').join('\\n')`;

const SCRIPTS: Record<string, string> = {
  '.claude/workflows/hello.js': `export const meta = { name: 'hello', description: 'one agent', readOnly: true }
return await agent('hello')
`,
  '.claude/workflows/siblings.js': `export const meta = { name: 'siblings', description: 'one preamble, 100 files', readOnly: true }
${RULES}
const results = await parallel(Array.from({ length: 100 }, (_, i) => () => agent(RULES + '\\n\\nFile: src/file' + i + '.ts')))
return results.filter(Boolean).length
`,
  '.claude/workflows/unrelated.js': `export const meta = { name: 'unrelated', description: '30 prompts with nothing in common', readOnly: true }
const results = await parallel(Array.from({ length: 30 }, (_, i) => () => agent(i + ': ' + ('word' + i + ' ').repeat(3000))))
return results.filter(Boolean).length
`,
  '.claude/workflows/staged.js': `export const meta = { name: 'staged', description: 'a preamble in a pipeline stage whose items arrive over time', readOnly: true }
${RULES}
const items = Array.from({ length: 20 }, (_, i) => 'module' + i)
const results = await pipeline(items, (item) => agent('Name one risk in ' + item), (risk, item) => agent(RULES + '\\n\\nModule: ' + item + '\\nRisk: ' + risk))
return results.filter(Boolean).length
`,
};

const open: FakeAnthropic[] = [];
after(() => Promise.all(open.map((fake) => fake.close())));

async function fakeModel(options: { now?: () => number; handler?: (req: FakeRequest) => Promise<void> } = {}): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({
    latencyMs: 100,
    promptCache: options.now ? { now: options.now } : {},
    handler: async (req) => {
      await options.handler?.(req);
      return [text('ok')];
    },
  });
  open.push(fake);
  return fake;
}

/** Prompt tokens billed, as a share of what the same prompts cost uncached (reads 0.1, writes 1.25 or 2). */
const billedShare = (t: FakeCacheTotals): number => (t.input + 0.1 * t.read + 1.25 * t.write5m + 2 * t.write1h) / (t.input + t.read + t.write5m + t.write1h);
const readShare = (t: FakeCacheTotals): number => t.read / (t.input + t.read + t.write5m + t.write1h);
const minus = (a: FakeCacheTotals, b: FakeCacheTotals): FakeCacheTotals => ({ requests: a.requests - b.requests, input: a.input - b.input, read: a.read - b.read, write5m: a.write5m - b.write5m, write1h: a.write1h - b.write1h });

async function run(fake: FakeAnthropic, home: string, repo: string | null, ...args: string[]) {
  const where = repo === null ? [] : ['--repo', repo, '--concurrency', '16'];
  const result = await runCli([...args, ...where, '--json'], { home, baseURL: fake.url });
  return { ...result, json: result.stdout.trim() ? JSON.parse(result.stdout) : null };
}

test('a sweep asks for the 1-hour TTL on its shared breakpoints; a comment\'s run for five minutes', async () => {
  const fake = await fakeModel();
  const body = `${RULES}\nreturn (await parallel([0, 1, 2].map((i) => () => agent(RULES + '\\n\\nFile: ' + i)))).length`;
  for (const priority of ['sweep', 'interactive'] as const) {
    fake.requests.length = 0;
    const outcome = await runScript(body, serviceEnv(fake.url, [], { priority }));
    assert.equal(outcome.status, 'completed');
    const split = fake.requests.filter((req) => Array.isArray(req.body.messages[0].content));
    assert.ok(split.length >= 2, 'the prompts were split at their shared text');
    const ttl = priority === 'sweep' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' };
    for (const req of split) assert.deepEqual(req.body.messages[0].content[0].cache_control, ttl);
  }
});

describe('prompt caching of what sibling prompts share', () => {
  const repo = makeRepo({ 'README.md': 'cache\n', ...SCRIPTS });

  test('100 siblings sharing a 6k-token preamble read at least 85% of their prompt tokens from the cache and bill at most 25% of the uncached price', async () => {
    const fake = await fakeModel();
    const result = await run(fake, tempDir(), repo, 'run', 'siblings');
    assert.equal(result.code, 0, result.stderr);
    const totals = fake.cache!;
    assert.equal(totals.requests, 100);
    assert.ok(readShare(totals) >= 0.85, `read ${(readShare(totals) * 100).toFixed(1)}%`);
    assert.ok(billedShare(totals) <= 0.25, `billed ${(billedShare(totals) * 100).toFixed(1)}%`);
  });

  test('the same preamble in a pipeline stage whose items arrive over time reads at least 60%', async () => {
    // The first stage's answers come back spread over about two seconds.
    const fake = await fakeModel({ handler: (req) => (req.prompt.startsWith('Name one risk') ? sleep(Number(/module(\d+)/.exec(req.prompt)![1]) * 100) : Promise.resolve()) });
    const result = await run(fake, tempDir(), repo, 'run', 'staged');
    assert.equal(result.code, 0, result.stderr);
    const stage = fake.requests.filter((req) => req.prompt.startsWith('Rule 0'));
    assert.equal(stage.length, 20);
    const arrivals = stage.map((req) => req.receivedAt).sort((a, b) => a - b);
    assert.ok(arrivals.at(-1)! - arrivals[0]! > 1_000, 'the stage\'s items arrived over time');
    const totals = stage.reduce<FakeCacheTotals>((sum, req) => ({
      requests: sum.requests + 1,
      input: sum.input + req.usage!.input_tokens,
      read: sum.read + req.usage!.cache_read_input_tokens,
      write5m: sum.write5m + (req.usage!.cache_creation?.ephemeral_5m_input_tokens ?? 0),
      write1h: sum.write1h + (req.usage!.cache_creation?.ephemeral_1h_input_tokens ?? 0),
    }), { requests: 0, input: 0, read: 0, write5m: 0, write1h: 0 });
    assert.ok(readShare(totals) >= 0.6, `read ${(readShare(totals) * 100).toFixed(1)}%`);
  });

  test('30 agents with nothing in common bill at most 1.02 times the uncached price and wait for no leader', async () => {
    const fake = await fakeModel();
    // A new store's first request goes alone, to learn the organisation's rate limits from its
    // headers (shared-rate-limiter.ts): a home that has talked to the API before, as a user's has.
    const home = tempDir();
    assert.equal((await run(fake, home, repo, 'run', 'hello')).code, 0);
    const before = { ...fake.cache! };
    fake.requests.length = 0;
    const result = await run(fake, home, repo, 'run', 'unrelated');
    assert.equal(result.code, 0, result.stderr);
    const totals = minus(fake.cache!, before);
    assert.equal(totals.requests, 30);
    assert.ok(billedShare(totals) <= 1.02, `billed ${billedShare(totals).toFixed(3)} of the uncached price`);
    const sent = [...fake.requests].sort((a, b) => a.receivedAt - b.receivedAt);
    for (const req of sent.slice(0, 16)) assert.ok(req.receivedAt < sent[0]!.respondedAt!, 'the first wave went out at once');
    for (const req of sent) assert.equal(typeof req.body.messages[0].content, 'string', 'no prompt split');
  });

  test('a resume after a stop reads the prefix its first run wrote, within the TTL', async () => {
    let now = Date.now();
    const fake = await fakeModel({ now: () => now });
    const home = tempDir();
    const first = await run(fake, home, repo, 'run', 'siblings', '--max-agents', '40');
    assert.equal(first.code, 3, first.stderr);
    const runId = first.json.runId as string;
    const before = { ...fake.cache! };
    assert.ok(before.write5m > 0, 'the first run wrote the prefix');
    now += 3 * 60_000;
    const resumed = await run(fake, home, null, 'resume', runId, '--max-agents', '1000');
    assert.equal(resumed.code, 0, resumed.stderr);
    const after = minus(fake.cache!, before);
    assert.equal(after.requests, 60);
    // A resumed run has outlived a 5-minute cache once: what it writes keeps for the hour.
    const resumedPrefix = fake.requests.at(-1)!.body.messages[0].content[0];
    assert.deepEqual(resumedPrefix.cache_control, { type: 'ephemeral', ttl: '1h' });
    assert.equal(after.write5m + after.write1h, 0, 'the resume wrote nothing again');
    assert.ok(readShare(after) >= 0.85, `read ${(readShare(after) * 100).toFixed(1)}%`);
  });
});
