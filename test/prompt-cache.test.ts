// Issue #17's acceptance: what sibling agents' prompts share is read from the cache, measured
// against the fake Messages API billing caching as the API documents (test/support/fake-prompt-cache.ts),
// through the real CLI.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { startFakeAnthropic, text, type FakeAnthropic, type FakeRequest } from './support/fake-anthropic.ts';
import { billedShare, CACHE_WORKFLOWS, isStagedPreamble, minusTotals as minus, readShare, SHARED_PREAMBLE_BODY, spreadFirstStage, totalsOf } from './support/cache-workflows.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runScript, serviceEnv } from './support/service.ts';

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

async function run(fake: FakeAnthropic, home: string, repo: string | null, ...args: string[]) {
  const where = repo === null ? [] : ['--repo', repo, '--concurrency', '16'];
  const result = await runCli([...args, ...where, '--json'], { home, baseURL: fake.url });
  return { ...result, json: result.stdout.trim() ? JSON.parse(result.stdout) : null };
}

test('a sweep asks for the 1-hour TTL on its shared breakpoints; a comment\'s run for five minutes', async () => {
  const fake = await fakeModel();
  const body = SHARED_PREAMBLE_BODY;
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

test("the first agent of a burst waits for its sibling's call, so no prompt of the burst goes whole", async () => {
  // A script's agent() calls reach the host a turn of the event loop apart: the first agent must
  // not be sent before the second call has shown what their prompts share.
  const fake = await fakeModel();
  const body = `const RULES = 'Rule: be careful about everything you read here. '.repeat(100);
return (await parallel(Array.from({ length: 8 }, (_, i) => () => agent(RULES + '\\n\\nFile: src/f' + i + '.ts')))).length`;
  for (let round = 0; round < 4; round++) {
    fake.requests.length = 0;
    const outcome = await runScript(body, serviceEnv(fake.url), { concurrency: 16 });
    assert.equal(outcome.status, 'completed');
    const whole = fake.requests.filter((req) => typeof req.body.messages[0].content === 'string');
    assert.deepEqual(whole.map((req) => req.prompt.slice(-8)), [], `round ${round}: prompts sent whole`);
  }
});

describe('prompt caching of what sibling prompts share', () => {
  const repo = makeRepo({ 'README.md': 'cache\n', ...CACHE_WORKFLOWS });

  test('100 siblings sharing a 6k-token preamble read at least 85% of their prompt tokens from the cache and bill at most 25% of the uncached price', async () => {
    const fake = await fakeModel();
    const home = tempDir();
    const result = await run(fake, home, repo, 'run', 'siblings');
    assert.equal(result.code, 0, result.stderr);
    const totals = fake.cache!;
    assert.equal(totals.requests, 100);
    assert.ok(readShare(totals) >= 0.85, `read ${(readShare(totals) * 100).toFixed(1)}%`);
    assert.ok(billedShare(totals) <= 0.25, `billed ${(billedShare(totals) * 100).toFixed(1)}%`);
    // The first agent of the burst too: it waited for its siblings to be queued rather than send
    // its preamble whole, unread and unwritten.
    const whole = fake.requests.filter((req) => typeof req.body.messages[0].content === 'string');
    assert.deepEqual(whole.map((req) => req.prompt.slice(-20)), [], 'every sibling\'s prompt was split at the preamble');
    // Each agent's own figures say what it read, in the list and in its detail.
    const shown = await runCli(['show', result.json.runId], { home, baseURL: fake.url });
    const lines = shown.stdout.split('\n').filter((line) => / tok /.test(line));
    assert.equal(lines.length, 100, shown.stdout);
    assert.ok(lines.filter((line) => /\(9\d% from cache\)/.test(line)).length >= 90, lines.slice(0, 5).join('\n'));
    const one = await runCli(['show', result.json.runId, '--agent', '100'], { home, baseURL: fake.url });
    assert.match(one.stdout, /^[\d.]+k tok; cache: [\d.]+k read \(\d+% of prompt tokens\), [\d.k]+ written/m);
  });

  test('the same preamble in a pipeline stage whose items arrive over time reads at least 60%', async () => {
    // The first stage's answers come back spread over about two seconds.
    const fake = await fakeModel({ handler: spreadFirstStage });
    const result = await run(fake, tempDir(), repo, 'run', 'staged');
    assert.equal(result.code, 0, result.stderr);
    const stage = fake.requests.filter(isStagedPreamble);
    assert.equal(stage.length, 20);
    const arrivals = stage.map((req) => req.receivedAt).sort((a, b) => a - b);
    assert.ok(arrivals.at(-1)! - arrivals[0]! > 1_000, 'the stage\'s items arrived over time');
    const totals = totalsOf(stage);
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
