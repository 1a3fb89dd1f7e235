// Claude Code parity, item 4 of issue #15: WebSearch and WebFetch. A saved workflow whose agent
// needs the web runs through the real `foreman` CLI, real git and the real SDK against the fake
// Messages API, which plays the API's server tools: a search and a fetch inside the model's own
// turn, a turn the API pauses (`pause_turn`), and the usage it reports for them. The fake routes on
// what a request offers and carries (its server tools, a paused turn sent back), never on wording.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { startFakeAnthropic, text, webFetch, webSearch, type FakeAnthropic, type FakeReply, type FakeRequest } from '../support/fake-anthropic.ts';
import { makeRepo, tempDir } from '../support/repo.ts';
import { runCli } from '../support/cli.ts';
import { costUsd, DEFAULT_MODELS } from '../../src/runtime/pricing.ts';
import { CONFIG_DEFAULTS } from '../../src/config/schema.ts';
import { webSettings } from '../../src/agents/web-tools.ts';

// Written from Claude Code's documentation of workflows: a plain agent() told to use its web tools.
const UPSTREAM_CHECK = `export const meta = {
  name: 'upstream-check',
  description: 'Compare the version of a dependency package.json pins with its latest upstream release',
  whenToUse: 'args: the package name, e.g. "left-pad"',
}
phase('Research')
const report = await agent(
  \`Use WebSearch to find the latest release of \${args}, read its release notes with WebFetch, then compare it with the version package.json pins. Answer in one line.\`,
  { label: \`upstream \${args}\` },
)
return { report }
`;

const RELEASES = 'https://github.com/left-pad/left-pad/releases';

/**
 * The model: with the web offered, it searches and the API pauses the turn; sent back, the turn
 * goes on with a fetch and the answer. Without the web it answers from the repository alone.
 */
function upstreamModel(req: FakeRequest): FakeReply {
  if (!req.serverTools.web_search) return [text('No web tools: package.json pins 1.1.0.')];
  if (!req.continuing) return { blocks: [text('Looking upstream.'), ...webSearch('left-pad latest release', [{ title: 'Releases · left-pad', url: RELEASES }])], stop_reason: 'pause_turn' };
  return [...webFetch(RELEASES, 'v1.3.0 (latest)\nv1.1.0'), text('Upstream is at 1.3.0; package.json pins 1.1.0.')];
}

async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: upstreamModel });
  t.after(() => fake.close());
  return fake;
}

function repoWith(config?: string): string {
  return makeRepo({
    'package.json': JSON.stringify({ name: 'app', dependencies: { 'left-pad': '1.1.0' } }),
    '.claude/workflows/upstream-check.js': UPSTREAM_CHECK,
    ...(config ? { '.github/foreman.yml': config } : {}),
  });
}

test('WebSearch and WebFetch in the CLI: the agent is offered the server tools, a paused turn goes on, and the answer is whole', async (t) => {
  const fake = await model(t);
  const home = tempDir();

  const res = await runCli(['run', 'upstream-check', '--args', 'left-pad', '--repo', repoWith(), '--json'], { home, baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.status, 'completed');
  // The text before the pause and after it: one answer, as the model wrote it across the pause.
  assert.equal(out.result.report, 'Looking upstream.\nUpstream is at 1.3.0; package.json pins 1.1.0.');

  assert.equal(fake.requests.length, 2, 'one request, and one to go on after pause_turn');
  const [first, second] = fake.requests;
  assert.deepEqual(Object.keys(first.serverTools).sort(), ['web_fetch', 'web_search']);
  assert.equal(first.serverTools.web_search.type, 'web_search_20250305');
  assert.equal(first.serverTools.web_fetch.type, 'web_fetch_20250910');
  assert.equal(first.serverTools.web_search.max_uses, CONFIG_DEFAULTS.agents.web.maxUses);
  assert.ok(first.tools.includes('read_file'), 'the repository tools stay');
  assert.equal(first.headers['anthropic-beta'], undefined, 'the GA tool versions need no beta header');

  // Going on after pause_turn: the paused turn goes back as it came, and nothing is added after it.
  assert.equal(second.continuing, true);
  const paused = second.body.messages.at(-1);
  assert.equal(paused.role, 'assistant');
  assert.deepEqual(
    paused.content.map((block: { type: string }) => block.type),
    ['text', 'server_tool_use', 'web_search_tool_result'],
  );
  assert.equal(paused.content[2].tool_use_id, paused.content[1].id);
  assert.equal(paused.content[2].content[0].encrypted_content, `enc:${RELEASES}`, 'the encrypted results go back untouched');
});

test('searches and fetches are counted per run and phase, priced at $10 per 1,000 searches, in --json, the summary and the transcript', async (t) => {
  const fake = await model(t);
  const home = tempDir();
  const repo = repoWith();

  const res = await runCli(['run', 'upstream-check', '--args', 'left-pad', '--repo', repo, '--json'], { home, baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.usage.webSearches, 1);
  assert.equal(out.usage.webFetches, 1);
  assert.deepEqual(out.phases.map((p: { title: string; webSearches?: number; webFetches?: number }) => [p.title, p.webSearches, p.webFetches]), [['Research', 1, 1]]);
  // Two responses of the fake's default usage (100 in, 20 out) on the default model, plus one search.
  const tokens = costUsd(DEFAULT_MODELS, DEFAULT_MODELS.defaultModel, { input: 200, output: 40, cacheRead: 0, cacheWrite: 0 });
  assert.ok(Math.abs(out.costUsd - (tokens + 0.01)) < 1e-6, `cost ${out.costUsd} is the tokens' ${tokens} and $0.01 for the search`);

  // The transcript shows what the agent searched and fetched, and what came back.
  const shown = await runCli(['show', out.runId, '--agent', '1', '--json'], { home });
  assert.equal(shown.code, 0, shown.stderr);
  const agent = JSON.parse(shown.stdout);
  assert.equal(agent.usage.webSearches, 1);
  const calls = agent.transcript.turns.flatMap((turn: { toolCalls: unknown[] }) => turn.toolCalls);
  assert.deepEqual(calls, [
    { name: 'web_search', input: { query: 'left-pad latest release' }, output: `Releases · left-pad <${RELEASES}>`, isError: false },
    { name: 'web_fetch', input: { url: RELEASES }, output: `fetched ${RELEASES}`, isError: false },
  ]);

  // Without --json, the run's summary line names them.
  const again = await runCli(['run', 'upstream-check', '--args', 'left-pad', '--repo', repo], { home, baseURL: fake.url });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /^completed: 1 agent, [\d.]+k? tokens, 1 web search, 1 web fetch, \$0\.0108, /m);
});

test('agents.web: false in the repository config: no server tool is offered, and nothing is counted', async (t) => {
  const fake = await model(t);

  const res = await runCli(['run', 'upstream-check', '--args', 'left-pad', '--repo', repoWith('agents:\n  web: false\n'), '--json'], { home: tempDir(), baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.result.report, 'No web tools: package.json pins 1.1.0.');
  assert.deepEqual(fake.requests.map((req) => req.serverTools), [{}]);
  assert.equal(out.usage.webSearches, undefined);
  assert.doesNotMatch(fake.requests[0].body.system[0].text, /web_search/, 'the system prompt does not mention tools the agent lacks');
});

test('agents.web as a mapping: only search, with its max_uses and allowed domains, reaches the API', async (t) => {
  const fake = await model(t);
  const config = "agents:\n  web:\n    fetch: false\n    maxUses: 2\n    allowedDomains: ['github.com', 'npmjs.com/package']\n";

  const res = await runCli(['run', 'upstream-check', '--args', 'left-pad', '--repo', repoWith(config), '--json'], { home: tempDir(), baseURL: fake.url });

  assert.equal(res.code, 0, res.stderr);
  const search = fake.requests[0].serverTools.web_search;
  assert.deepEqual(Object.keys(fake.requests[0].serverTools), ['web_search']);
  assert.deepEqual([search.type, search.max_uses, search.allowed_domains, search.blocked_domains], ['web_search_20250305', 2, ['github.com', 'npmjs.com/package'], undefined]);
});

test('a web config the API could not take is refused before the run, naming the key and the fix', async (t) => {
  const fake = await model(t);
  const both = "agents:\n  web:\n    allowedDomains: ['github.com']\n    blockedDomains: ['pastebin.com']\n";
  const res = await runCli(['run', 'upstream-check', '--args', 'left-pad', '--repo', repoWith(both)], { home: tempDir(), baseURL: fake.url });
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /agents\.web\.blockedDomains: allowedDomains is set too, and the API takes one of the two: keep one/);

  const scheme = "agents:\n  web:\n    allowedDomains: ['https://github.com']\n";
  const bad = await runCli(['run', 'upstream-check', '--args', 'left-pad', '--repo', repoWith(scheme)], { home: tempDir(), baseURL: fake.url });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /agents\.web\.allowedDomains\[0\]: .*a domain without a scheme/);
  assert.equal(fake.calls, 0, 'no model call for a config that does not load');
});

test('the App and the Action leave the web off unless the repository config turns it on; unapproved fork code never gets it', () => {
  const { app, action, cli } = CONFIG_DEFAULTS.agents.web.byDoor;
  assert.deepEqual([cli, app, action], [true, false, false]);
  for (const door of [app, action]) {
    assert.deepEqual(webSettings(undefined, door), { search: false, fetch: false, maxUses: CONFIG_DEFAULTS.agents.web.maxUses });
    assert.equal(webSettings(true, door).search, true);
    assert.equal(webSettings({ fetch: false }, door).search, true, 'a mapping turns it on, less what it switches off');
    assert.equal(webSettings({ fetch: false }, door).fetch, false);
  }
  assert.equal(webSettings(true, true, true).fetch, false, 'code a maintainer has not approved');
});

test('the fake Messages API refuses a server tool type it does not know, as the API does', async (t) => {
  const fake = await model(t);
  const client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
  const request = (tool: unknown) =>
    client.messages.create({ model: 'claude-test', max_tokens: 10, tools: [tool as Anthropic.ToolUnion], messages: [{ role: 'user', content: 'hi' }] });

  await assert.rejects(request({ type: 'web_search_20991231', name: 'web_search' }), (error: unknown) => {
    assert.ok(error instanceof APIError);
    assert.equal(error.status, 400);
    assert.match(error.message, /Input tag 'web_search_20991231' found using 'type' does not match/);
    return true;
  });
  await assert.rejects(request({ type: 'web_fetch_20250910', name: 'fetch' }), /tools\.0\.name: Input should be 'web_fetch'/);
  const known = await request({ type: 'web_search_20250305', name: 'web_search', max_uses: 1 });
  assert.equal(known.stop_reason, 'pause_turn');
  assert.deepEqual(known.content.map((block) => block.type), ['text', 'server_tool_use', 'web_search_tool_result']);
  assert.deepEqual(known.usage.server_tool_use, { web_search_requests: 1, web_fetch_requests: 0 });
  // The same turn streamed (as a cache warm-up leader's is) arrives whole: the search's input and its results.
  const streamed = await client.messages
    .stream({ model: 'claude-test', max_tokens: 10, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'hi' }] })
    .finalMessage();
  const [, use, result] = streamed.content;
  assert.deepEqual(use.type === 'server_tool_use' && use.input, { query: 'left-pad latest release' });
  assert.equal(result.type === 'web_search_tool_result' && Array.isArray(result.content) && result.content[0].url, RELEASES);
  assert.deepEqual(streamed.usage.server_tool_use, { web_search_requests: 1, web_fetch_requests: 0 });
});
