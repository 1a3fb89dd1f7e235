import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AnthropicAgentRunner, STREAM_ABOVE_MAX_TOKENS, type AnthropicAgentRunnerOptions } from '../src/agents/client.ts';
import { RateGovernor } from '../src/agents/governor.ts';
import { costUsd, DEFAULT_MODELS } from '../src/runtime/pricing.ts';
import type { AgentRequest } from '../src/contracts/ports.ts';
import type { Usage } from '../src/contracts/usage.ts';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeServerOptions } from './support/fake-anthropic.ts';

const MODEL = 'claude-sonnet-5-5';
const FILES_SCHEMA = {
  type: 'object',
  required: ['files'],
  properties: { files: { type: 'array', items: { type: 'string' } } },
};

const git = (cwd: string, ...args: string[]) =>
  promisify(execFile)('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd });

let base: string;
let root: string;

before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'foreman-loop-'));
  root = path.join(base, 'repo');
  await mkdir(path.join(root, 'src'), { recursive: true });
  await writeFile(path.join(root, 'README.md'), '# Demo\nA demo repository.\n');
  await writeFile(path.join(root, 'src/auth.ts'), 'export function login(user: string) {\n  return user;\n}\n');
  await git(root, 'init', '-q', '-b', 'main');
  await git(root, 'add', '-A');
  await git(root, 'commit', '-q', '-m', 'fixture');
});
after(() => rm(base, { recursive: true, force: true }));

interface Harness {
  fake: FakeAnthropic;
  runner: AnthropicAgentRunner;
  governor: RateGovernor;
  usages: Array<{ usage: Usage; model: string }>;
  request: (overrides?: Partial<AgentRequest>) => AgentRequest;
}

const open: FakeAnthropic[] = [];
after(() => Promise.all(open.map((f) => f.close())));

async function harness(server: FakeServerOptions, options: Partial<AnthropicAgentRunnerOptions> = {}): Promise<Harness> {
  const fake = await startFakeAnthropic(server);
  open.push(fake);
  const governor = options.governor ?? new RateGovernor(4, { baseDelayMs: 10 });
  const runner = new AnthropicAgentRunner({
    apiKey: 'test-key',
    baseURL: fake.url,
    models: DEFAULT_MODELS,
    retryBaseDelayMs: 5,
    ...options,
    governor,
  });
  const usages: Harness['usages'] = [];
  let index = 0;
  const request = (overrides: Partial<AgentRequest> = {}): AgentRequest => ({
    index: ++index,
    prompt: 'Which files handle auth?',
    model: MODEL,
    root,
    signal: new AbortController().signal,
    shouldStop: () => null,
    onUsage: (usage, model) => usages.push({ usage, model }),
    ...overrides,
  });
  return { fake, runner, governor, usages, request };
}

describe('AnthropicAgentRunner', () => {
  test('a text agent returns its final message', async () => {
    const h = await harness({ handler: () => [text('src/auth.ts handles auth')] });
    const outcome = await h.runner.run(h.request());
    assert.equal(outcome.status, 'done');
    assert.equal(outcome.result, 'src/auth.ts handles auth');
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.turns, 1);
    assert.deepEqual(outcome.usage, { input: 100, output: 20, cacheRead: 0, cacheWrite: 0 });
    assert.equal(outcome.costUsd, (100 * 2 + 20 * 10) / 1e6);
    assert.ok(outcome.elapsedMs >= 0);
    assert.equal(outcome.transcript.prompt, 'Which files handle auth?');
    assert.match(outcome.transcript.system, /nobody/i);
    assert.equal(outcome.transcript.final, 'src/auth.ts handles auth');
    const [seen] = h.fake.requests;
    assert.deepEqual(seen.tools, ['list_files', 'read_file', 'search']);
    assert.equal(seen.body.stream, undefined, 'a request nobody needs the stream of is a plain request');
  });

  test('answers allowed more than STREAM_ABOVE_MAX_TOKENS of output are streamed', async () => {
    const h = await harness({ handler: () => [text('long answer')] }, { maxTokens: STREAM_ABOVE_MAX_TOKENS + 1 });
    const outcome = await h.runner.run(h.request());
    assert.equal(outcome.result, 'long answer');
    assert.equal(h.fake.requests[0].body.stream, true);
    assert.equal(h.fake.requests[0].body.max_tokens, STREAM_ABOVE_MAX_TOKENS + 1);
  });

  test('tool use, then an answer built from the tool result', async () => {
    const h = await harness({
      handler: (req) => {
        if (req.turn === 0) return [text('Let me look.'), toolUse('read_file', { path: 'README.md' }), toolUse('read_file', { path: '../escape' })];
        const [readme, escape] = req.lastToolResults;
        return [text(`${readme.content.includes('# Demo') ? 'saw readme' : 'no readme'}; escape error=${escape.is_error}`)];
      },
    });
    const outcome = await h.runner.run(h.request());
    assert.equal(outcome.status, 'done');
    assert.equal(outcome.result, 'saw readme; escape error=true');
    assert.equal(outcome.turns, 2);
    const [first] = outcome.transcript.turns;
    assert.equal(first.text, 'Let me look.');
    assert.deepEqual(
      first.toolCalls.map((c) => [c.name, c.input, c.isError]),
      [
        ['read_file', { path: 'README.md' }, false],
        ['read_file', { path: '../escape' }, true],
      ],
    );
    assert.match(first.toolCalls[0].output, /1\t# Demo/);
    assert.match(first.toolCalls[1].output, /outside the repository root/);
  });

  test('transcripts truncate long tool outputs', async () => {
    await writeFile(path.join(root, 'long.txt'), `${'y'.repeat(99)}\n`.repeat(200));
    const h = await harness({
      handler: (req) => (req.turn === 0 ? [toolUse('read_file', { path: 'long.txt' })] : [text('done')]),
    });
    const outcome = await h.runner.run(h.request());
    await rm(path.join(root, 'long.txt'));
    assert.ok(h.fake.requests[1].lastToolResults[0].content.length > 19_000, 'the model gets the whole output');
    const stored = outcome.transcript.turns[0].toolCalls[0].output;
    assert.ok(stored.length < 4_200);
    assert.match(stored, /more characters\]$/);
  });

  describe('schema agents', () => {
    test('a valid submit_result on the first try is the result', async () => {
      const h = await harness({ handler: () => [toolUse('submit_result', { files: ['src/auth.ts'] })] });
      const outcome = await h.runner.run(h.request({ schema: FILES_SCHEMA }));
      assert.equal(outcome.status, 'done');
      assert.deepEqual(outcome.result, { files: ['src/auth.ts'] });
      assert.deepEqual(outcome.transcript.final, { files: ['src/auth.ts'] });
      const [seen] = h.fake.requests;
      assert.deepEqual(seen.tools, ['list_files', 'read_file', 'search', 'submit_result']);
      assert.deepEqual(seen.body.tools.at(-1).input_schema, FILES_SCHEMA);
      assert.match(seen.body.system[0].text, /must finish by calling the submit_result tool/);
    });

    test('a $schema naming draft 2020-12 still validates; an invalid schema is an error', async () => {
      const h = await harness({ handler: () => [toolUse('submit_result', { files: [] })] });
      const modern = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...FILES_SCHEMA };
      assert.deepEqual((await h.runner.run(h.request({ schema: modern }))).result, { files: [] });
      const broken = await h.runner.run(h.request({ schema: { type: 'object', properties: { a: { type: 'nonsense' } } } }));
      assert.equal(broken.status, 'error');
      assert.match(broken.error ?? '', /not a valid JSON Schema/);
    });

    test('invalid five times is schema-failed after exactly five attempts', async () => {
      let attempts = 0;
      const h = await harness({
        handler: () => {
          attempts += 1;
          return [toolUse('submit_result', { files: 'src/auth.ts' })];
        },
      });
      const outcome = await h.runner.run(h.request({ schema: FILES_SCHEMA }));
      assert.equal(outcome.status, 'schema-failed');
      assert.equal(outcome.result, null);
      assert.equal(attempts, 5);
      assert.equal(h.fake.calls, 5);
      assert.match(outcome.error ?? '', /5 attempts/);
      assert.match(outcome.error ?? '', /at \/files must be array/);
      const feedback = h.fake.requests[1].lastToolResults[0];
      assert.equal(feedback.is_error, true);
      assert.match(feedback.content, /at \/files must be array/);
      assert.match(feedback.content, /4 attempts left/);
    });

    test('invalid, then valid, returns the valid result', async () => {
      const h = await harness({
        handler: (req) =>
          req.turn === 0 ? [toolUse('submit_result', { wrong: true })] : [toolUse('submit_result', { files: ['a.ts', 'b.ts'] })],
      });
      const outcome = await h.runner.run(h.request({ schema: FILES_SCHEMA }));
      assert.equal(outcome.status, 'done');
      assert.deepEqual(outcome.result, { files: ['a.ts', 'b.ts'] });
      assert.equal(outcome.turns, 2);
      assert.match(h.fake.requests[1].lastToolResults[0].content, /must have required property 'files'/);
    });

    test('ending the turn without submit_result gets a nudge and counts as an attempt', async () => {
      const h = await harness({
        handler: (req) => (req.turn < 2 ? [text('I think it is src/auth.ts')] : [toolUse('submit_result', { files: ['src/auth.ts'] })]),
      });
      const outcome = await h.runner.run(h.request({ schema: FILES_SCHEMA }));
      assert.equal(outcome.status, 'done');
      const nudge = h.fake.requests[1].body.messages.at(-1);
      assert.equal(nudge.role, 'user');
      assert.match(JSON.stringify(nudge.content), /call submit_result/);

      const silent = await harness({ handler: () => [text('no tool for me')] });
      const failed = await silent.runner.run(silent.request({ schema: FILES_SCHEMA }));
      assert.equal(failed.status, 'schema-failed');
      assert.equal(silent.fake.calls, 5);
    });

    test('nudges and invalid submissions share the five attempts', async () => {
      const h = await harness({
        handler: (req) => (req.turn % 2 === 0 ? [text('hmm')] : [toolUse('submit_result', { files: [1] })]),
      });
      const outcome = await h.runner.run(h.request({ schema: FILES_SCHEMA }));
      assert.equal(outcome.status, 'schema-failed');
      assert.equal(h.fake.calls, 5);
    });
  });

  describe('write agents', () => {
    let writeRoot: string;
    before(async () => {
      writeRoot = path.join(base, 'worktree');
      await mkdir(path.join(writeRoot, 'src'), { recursive: true });
      await writeFile(path.join(writeRoot, 'src/auth.ts'), 'export function login(user: string) {\n  return user;\n}\n');
      await git(writeRoot, 'init', '-q', '-b', 'main');
      await git(writeRoot, 'add', '-A');
      await git(writeRoot, 'commit', '-q', '-m', 'fixture');
    });

    test('a write agent runs a command, edits, checks again in the same turn, and answers', async () => {
      const printAuth = `node -e "process.stdout.write(require('fs').readFileSync('src/auth.ts', 'utf8'))"`;
      const h = await harness(
        {
          handler: (req) =>
            req.turn === 0
              ? [
                  toolUse('run_command', { command: printAuth }),
                  toolUse('edit_file', { path: 'src/auth.ts', old_string: 'return user;', new_string: 'return user.trim();' }),
                  toolUse('run_command', { command: printAuth }),
                ]
              : [text('Trimmed the user name in login().')],
        },
        { commands: ['node -e *'] },
      );
      const outcome = await h.runner.run(h.request({ root: writeRoot, write: true, prompt: 'Trim the user name.' }));
      assert.equal(outcome.status, 'done', outcome.error);
      assert.equal(outcome.result, 'Trimmed the user name in login().');
      assert.equal(await readFile(path.join(writeRoot, 'src/auth.ts'), 'utf8'), 'export function login(user: string) {\n  return user.trim();\n}\n');

      const [first, second] = h.fake.requests;
      assert.deepEqual(first.tools, ['list_files', 'read_file', 'search', 'edit_file', 'write_file', 'run_command']);
      assert.deepEqual(first.body.tools.at(-1).cache_control, { type: 'ephemeral' });
      const system = first.body.system[0].text;
      assert.match(system, /your own git worktree/);
      assert.match(system, /Do not commit/);
      assert.match(system, /`node -e \*`/);
      assert.match(system, /summary of what you changed/);
      const [ranBefore, edited, ranAfter] = second.lastToolResults;
      assert.equal(edited.is_error, undefined, edited.content);
      assert.match(edited.content, /replaced 1 occurrence at line 2/);
      // The calls ran one after the other, in order: run at once, both commands would see the edit.
      assert.match(ranBefore.content, /^Exit code 0 /);
      assert.match(ranBefore.content, /return user;/);
      assert.match(ranAfter.content, /return user\.trim\(\);/);
    });

    test('a read-only agent is not offered the write tools, and calling them anyway is a tool error', async () => {
      const h = await harness(
        {
          handler: (req) =>
            req.turn === 0
              ? [
                  toolUse('edit_file', { path: 'src/auth.ts', old_string: 'login', new_string: 'pwned' }),
                  toolUse('write_file', { path: 'new.txt', content: 'x' }),
                  toolUse('run_command', { command: 'node -e 1' }),
                ]
              : [text(req.lastToolResults.map((r) => String(r.is_error)).join(','))],
        },
        { commands: ['node -e *'] },
      );
      const before = await readFile(path.join(root, 'src/auth.ts'), 'utf8');
      const outcome = await h.runner.run(h.request());
      assert.equal(outcome.result, 'true,true,true');
      assert.deepEqual(h.fake.requests[0].tools, ['list_files', 'read_file', 'search']);
      assert.doesNotMatch(h.fake.requests[0].body.system[0].text, /worktree|run_command/);
      for (const result of h.fake.requests[1].lastToolResults) assert.match(result.content, /this agent is read-only/);
      assert.equal(await readFile(path.join(root, 'src/auth.ts'), 'utf8'), before);
      await assert.rejects(readFile(path.join(root, 'new.txt')), { code: 'ENOENT' });
    });

    test('a write agent with a schema gets the write tools and submit_result last', async () => {
      const h = await harness({ handler: () => [toolUse('submit_result', { files: [] })] });
      const outcome = await h.runner.run(h.request({ root: writeRoot, write: true, schema: FILES_SCHEMA }));
      assert.equal(outcome.status, 'done');
      assert.deepEqual(h.fake.requests[0].tools, ['list_files', 'read_file', 'search', 'edit_file', 'write_file', 'run_command', 'submit_result']);
      // Without agents.commands, run_command takes any command line, in the sandbox.
      assert.match(h.fake.requests[0].body.system[0].text, /run_command runs a command line in sh inside a sandbox/);
    });
  });

  describe('API errors', () => {
    test('400 is terminal: error with a message, null result, no retry', async () => {
      const h = await harness({ handler: () => ({ status: 400, error: { type: 'invalid_request_error', message: 'max_tokens too large' } }) });
      const outcome = await h.runner.run(h.request());
      assert.equal(outcome.status, 'error');
      assert.equal(outcome.result, null);
      assert.match(outcome.error ?? '', /400 invalid_request_error.*max_tokens too large/);
      assert.equal(h.fake.calls, 1);
    });

    test('401 says to check ANTHROPIC_API_KEY', async () => {
      const h = await harness({ handler: () => ({ status: 401 }) });
      const outcome = await h.runner.run(h.request());
      assert.equal(outcome.status, 'error');
      assert.match(outcome.error ?? '', /ANTHROPIC_API_KEY/);
    });

    test('404 names the model', async () => {
      const h = await harness({ handler: () => ({ status: 404, error: { type: 'not_found_error', message: 'model: nope' } }) });
      const outcome = await h.runner.run(h.request({ model: 'claude-nope' }));
      assert.match(outcome.error ?? '', /"claude-nope"/);
    });

    test('529 twice, then success: done, and the governor backed off', async () => {
      let calls = 0;
      const h = await harness({
        handler: () => (++calls <= 2 ? { status: 529, headers: { 'retry-after-ms': '30' } } : [text('finally')]),
      });
      const started = performance.now();
      const outcome = await h.runner.run(h.request());
      assert.equal(outcome.status, 'done');
      assert.equal(outcome.result, 'finally');
      assert.equal(h.fake.calls, 3);
      assert.ok(performance.now() - started >= 55, 'honoured retry-after twice');
      // 4 → 2 → 1 on the two 529s, +1 on the success.
      assert.equal(h.governor.limit, 2);
      assert.equal(outcome.turns, 1, 'failed attempts are not turns');
    });

    test('5xx is retried up to maxAttempts, then error', async () => {
      const h = await harness({ handler: () => ({ status: 500 }) }, { maxAttempts: 3 });
      const outcome = await h.runner.run(h.request());
      assert.equal(outcome.status, 'error');
      assert.match(outcome.error ?? '', /still failing after 3 attempts: 500 api_error/);
      assert.equal(h.fake.calls, 3);
    });

    test('an unreachable API is retried, then error', async () => {
      const h = await harness({ handler: () => [text('x')] }, { maxAttempts: 2 });
      await h.fake.close();
      const outcome = await h.runner.run(h.request());
      assert.equal(outcome.status, 'error');
      assert.match(outcome.error ?? '', /after 2 attempts: cannot reach the Anthropic API/);
    });
  });

  describe('stopping', () => {
    test('shouldStop before a turn stops the agent', async () => {
      let stop: string | null = null;
      const h = await harness({
        handler: () => {
          stop = 'budget exhausted';
          return [toolUse('list_files', {})];
        },
      });
      const outcome = await h.runner.run(h.request({ shouldStop: () => stop }));
      assert.equal(outcome.status, 'stopped');
      assert.equal(outcome.result, null);
      assert.equal(outcome.error, 'budget exhausted');
      assert.equal(outcome.turns, 1);
      assert.equal(h.fake.calls, 1);
    });

    test('aborting the signal mid-request stops the agent', async () => {
      const h = await harness({ handler: () => [text('too late')], latencyMs: 300 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const started = performance.now();
      const outcome = await h.runner.run(h.request({ signal: controller.signal }));
      assert.equal(outcome.status, 'stopped');
      assert.equal(outcome.result, null);
      assert.ok(performance.now() - started < 250, 'did not wait for the response');
    });

    test('the turn fuse fails an agent that never finishes', async () => {
      const h = await harness({ handler: () => [toolUse('list_files', {})] }, { maxTurns: 3 });
      const outcome = await h.runner.run(h.request());
      assert.equal(outcome.status, 'error');
      assert.match(outcome.error ?? '', /^agent exceeded 3 turns: raise the fuse/);
      assert.equal(outcome.turns, 3);
      assert.equal(h.fake.calls, 3);
    });
  });

  test('usage and cost accumulate across turns, cache tokens included', async () => {
    const usage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 1_000, cache_creation_input_tokens: 200 };
    const h = await harness({
      handler: (req) => ({ blocks: req.turn === 0 ? [toolUse('search', { pattern: 'login' })] : [text('ok')], usage }),
    });
    const outcome = await h.runner.run(h.request({ model: 'claude-haiku-4-5' }));
    assert.equal(outcome.status, 'done');
    const total = { input: 20, output: 10, cacheRead: 2_000, cacheWrite: 400 };
    assert.deepEqual(outcome.usage, total);
    assert.equal(outcome.costUsd, costUsd(DEFAULT_MODELS, 'claude-haiku-4-5', total));
    assert.ok(Math.abs(outcome.costUsd - (20 * 1 + 10 * 5 + 2_000 * 0.1 + 400 * 1.25) / 1e6) < 1e-12);
    assert.deepEqual(h.usages, [
      { usage: { input: 10, output: 5, cacheRead: 1_000, cacheWrite: 200 }, model: 'claude-haiku-4-5' },
      { usage: { input: 10, output: 5, cacheRead: 1_000, cacheWrite: 200 }, model: 'claude-haiku-4-5' },
    ]);
  });

  test('the shared prefix carries cache_control; effort is sent as output_config.effort, agentType is not sent', async () => {
    const h = await harness({ handler: (req) => (req.turn === 0 ? [toolUse('list_files', {})] : [text('ok')]) });
    await h.runner.run({ ...h.request({ schema: FILES_SCHEMA }), effort: 'high', agentType: 'reviewer' } as AgentRequest);
    for (const [turn, seen] of h.fake.requests.entries()) {
      const { system, tools, messages } = seen.body;
      assert.deepEqual(system.at(-1).cache_control, { type: 'ephemeral' });
      assert.deepEqual(tools.at(-1).cache_control, { type: 'ephemeral' });
      assert.ok(tools.slice(0, -1).every((t: any) => t.cache_control === undefined));
      // The first turn writes no conversation cache: most agents never take a second turn.
      if (turn === 0) assert.equal(JSON.stringify(messages).includes('cache_control'), false);
      else assert.deepEqual(messages.at(-1).content.at(-1).cache_control, { type: 'ephemeral' });
      const sent = JSON.stringify(seen.body);
      assert.doesNotMatch(sent, /agentType|reviewer/);
      assert.deepEqual(seen.body.output_config, { effort: 'high' });
    }
    // Only the newest message carries the moving conversation breakpoint.
    const second = h.fake.requests[1].body.messages;
    assert.equal(JSON.stringify(second.slice(0, -1)).includes('cache_control'), false);
  });

  test('cache warm-up: agents sharing a prefix wait until the first response has started', async () => {
    // The read tools alone are too short a prefix to be cached; pretend they are long enough.
    const h = await harness({ handler: () => [text('ok')], latencyMs: 200 }, { governor: new RateGovernor(16), minCacheablePrefixTokens: 0 });
    const agents = Array.from({ length: 5 }, (_, i) => h.runner.run(h.request({ prompt: `Audit file ${i}` })));
    const otherPrefix = h.runner.run(h.request({ prompt: 'Different model', model: 'claude-haiku-5-5' }));
    const outcomes = await Promise.all([...agents, otherPrefix]);
    assert.ok(outcomes.every((o) => o.status === 'done'));

    const sonnet = h.fake.requests.filter((r) => r.body.model === MODEL).sort((a, b) => a.receivedAt - b.receivedAt);
    const [leader, ...followers] = sonnet;
    assert.equal(followers.length, 4);
    assert.equal(leader.body.stream, true, 'the leader streams: its first event releases the followers');
    for (const follower of followers) {
      assert.ok(follower.receivedAt >= leader.respondedAt!, 'follower sent after the leader started streaming');
      assert.equal(follower.body.stream, undefined);
    }
    // A different prefix is not held back by the sonnet leader.
    const haiku = h.fake.requests.find((r) => r.body.model === 'claude-haiku-5-5')!;
    assert.ok(haiku.receivedAt < leader.respondedAt!);
  });

  test('no warm-up wait when the shared prefix is too short for the API to cache', async () => {
    const h = await harness({ handler: () => [text('ok')], latencyMs: 200 }, { governor: new RateGovernor(16) });
    await Promise.all(Array.from({ length: 3 }, (_, i) => h.runner.run(h.request({ prompt: `short ${i}` }))));
    const [leader, ...others] = h.fake.requests.sort((a, b) => a.receivedAt - b.receivedAt);
    for (const other of others) assert.ok(other.receivedAt < leader.respondedAt!, 'nobody waited for a cache that cannot exist');
  });

  test("no warm-up wait for Foreman's own framing and tools, however long; a run's CLAUDE.md of a cacheable size is worth one", async () => {
    const writers = await harness({ handler: () => [text('ok')], latencyMs: 200 }, { governor: new RateGovernor(16) });
    await Promise.all(Array.from({ length: 3 }, (_, i) => writers.runner.run(writers.request({ prompt: `edit ${i}`, write: true, shared: true }))));
    const sent = writers.fake.requests.sort((a, b) => a.receivedAt - b.receivedAt);
    assert.ok(JSON.stringify(sent[0].body.system).length + JSON.stringify(sent[0].body.tools).length > 4 * 1024, 'framing and tools alone pass the API minimum');
    for (const other of sent.slice(1)) assert.ok(other.receivedAt < sent[0].respondedAt!, 'nobody waited for the framing and tools');

    const memory = { text: 'Project conventions. '.repeat(300), files: ['CLAUDE.md'] };
    const withMemory = await harness({ handler: () => [text('ok')], latencyMs: 200 }, { governor: new RateGovernor(16), projectMemory: memory });
    await Promise.all(Array.from({ length: 3 }, (_, i) => withMemory.runner.run(withMemory.request({ prompt: `read ${i}` }))));
    const [leader, ...followers] = withMemory.fake.requests.sort((a, b) => a.receivedAt - b.receivedAt);
    for (const follower of followers) assert.ok(follower.receivedAt >= leader.respondedAt!, 'followers read the memory the leader wrote');
  });

  test('cache warm-up is bounded when the leader is slow', async () => {
    const h = await harness({ handler: (req) => [text(req.prompt)], latencyMs: 400 }, { cacheWarmupMaxWaitMs: 50, governor: new RateGovernor(8), minCacheablePrefixTokens: 0 });
    const outcomes = await Promise.all([h.runner.run(h.request({ prompt: 'a' })), h.runner.run(h.request({ prompt: 'b' }))]);
    assert.deepEqual(
      outcomes.map((o) => o.result),
      ['a', 'b'],
    );
    const [first, second] = h.fake.requests.sort((a, b) => a.receivedAt - b.receivedAt);
    assert.ok(second.receivedAt < first.respondedAt!, 'the follower stopped waiting after 50 ms');
  });
});

describe('shared prompt prefixes (prompt caching)', () => {
  // About 6,000 tokens at four characters a token: the common block of a typical fan-out's prompts.
  const PREAMBLE = `You check one file of this repository against the rules below.\n${'Rule: report any secret written to a log, with the line. '.repeat(420)}\nFile: `;
  const breakpoints = (body: any): any[] =>
    [...(body.tools ?? []), ...(body.system ?? []), ...body.messages.flatMap((m: any) => (Array.isArray(m.content) ? m.content : []))].flatMap((b: any) => (b.cache_control ? [b.cache_control] : []));

  test('siblings sharing a preamble send it as its own cached block; the first writes it, the others wait for its response', async () => {
    const h = await harness({ handler: () => [text('ok')], latencyMs: 200 }, { governor: new RateGovernor(16) });
    const prompts = Array.from({ length: 6 }, (_, i) => `${PREAMBLE}src/file${i}.ts`);
    for (const prompt of prompts) h.runner.notePrompt(prompt);
    await Promise.all(prompts.map((prompt) => h.runner.run(h.request({ prompt }))));
    const sent = h.fake.requests.sort((a, b) => a.receivedAt - b.receivedAt);
    for (const [i, req] of sent.entries()) {
      const [shared, rest, ...more] = req.body.messages[0].content;
      assert.equal(more.length, 0);
      assert.deepEqual(shared, { type: 'text', text: PREAMBLE, cache_control: { type: 'ephemeral' } }, `request ${i}`);
      assert.match(rest.text, /^src\/file\d\.ts$/);
      assert.equal(rest.cache_control, undefined);
      assert.ok(breakpoints(req.body).length <= 4);
    }
    const [leader, ...followers] = sent;
    for (const follower of followers) assert.ok(follower.receivedAt >= leader.respondedAt!, 'siblings read what the leader wrote');
  });

  test('a prompt that is the shared text and a line break goes whole: the API refuses a text block of whitespace alone', async () => {
    const h = await harness({ handler: () => [text('ok')] }, { governor: new RateGovernor(16) });
    const prompts = [`${PREAMBLE}a.ts`, `${PREAMBLE}b.ts`, `${PREAMBLE}\r`];
    for (const prompt of prompts) h.runner.notePrompt(prompt);
    const outcome = await h.runner.run(h.request({ prompt: prompts[2] }));
    assert.equal(outcome.status, 'done', outcome.error);
    assert.equal(h.fake.requests[0]!.body.messages[0].content, prompts[2]);
  });

  test('a short shared start is split off, but nobody waits for it when only Foreman\'s own framing makes it cacheable', async () => {
    const h = await harness({ handler: () => [text('ok')], latencyMs: 200 }, { governor: new RateGovernor(16) });
    const shared = `Fix the lint warning named below, and nothing else. ${'Keep the style. '.repeat(20)}\nWarning: `;
    const prompts = Array.from({ length: 4 }, (_, i) => `${shared}no-unused-vars in f${i}.ts`);
    for (const prompt of prompts) h.runner.notePrompt(prompt);
    await Promise.all(prompts.map((prompt) => h.runner.run(h.request({ prompt, write: true, shared: true }))));
    const sent = h.fake.requests.sort((a, b) => a.receivedAt - b.receivedAt);
    for (const req of sent) {
      assert.ok(req.body.messages[0].content[0].text.startsWith(shared), 'split at the shared start');
      assert.ok(req.receivedAt < sent[0]!.respondedAt!, 'nobody waited');
    }
  });

  test('prompts with nothing in common are sent whole and nobody waits', async () => {
    const h = await harness({ handler: () => [text('ok')], latencyMs: 200 }, { governor: new RateGovernor(32) });
    const prompts = Array.from({ length: 30 }, (_, i) => `${i} ${`unique words for agent ${i}. `.repeat(600)}`);
    for (const prompt of prompts) h.runner.notePrompt(prompt);
    await Promise.all(prompts.map((prompt) => h.runner.run(h.request({ prompt }))));
    const sent = h.fake.requests.sort((a, b) => a.receivedAt - b.receivedAt);
    assert.equal(sent.length, 30);
    for (const req of sent) {
      assert.equal(typeof req.body.messages[0].content, 'string', 'no prompt split');
      assert.ok(req.receivedAt < sent[0].respondedAt!, 'nobody waited for a leader');
    }
  });

  test('an agent type, a shared prefix and a second turn stay within the API\'s four breakpoints: the tools give theirs up', async () => {
    const h = await harness({ handler: (req) => (req.turn === 0 ? [toolUse('list_files', {})] : [text('ok')]) });
    const prompts = [`${PREAMBLE}a.ts`, `${PREAMBLE}b.ts`];
    for (const prompt of prompts) h.runner.notePrompt(prompt);
    await h.runner.run(h.request({ prompt: prompts[1], systemPrompt: 'You are a careful reviewer.' }));
    assert.equal(h.fake.requests.length, 2);
    for (const req of h.fake.requests) {
      assert.ok(breakpoints(req.body).length <= 4, `${breakpoints(req.body).length} breakpoints`);
      assert.equal(req.body.tools.some((t: any) => t.cache_control), false);
      assert.deepEqual(req.body.messages[0].content[0].cache_control, { type: 'ephemeral' });
    }
    assert.equal(breakpoints(h.fake.requests[1].body).length, 4);
  });

  test('a run that takes the hour asks for it on every shared breakpoint; the conversation keeps five minutes', async () => {
    const h = await harness({ handler: (req) => (req.turn === 0 ? [toolUse('list_files', {})] : [text('ok')]) }, { cacheTtl: '1h' });
    const prompts = [`${PREAMBLE}a.ts`, `${PREAMBLE}b.ts`];
    for (const prompt of prompts) h.runner.notePrompt(prompt);
    await h.runner.run(h.request({ prompt: prompts[0] }));
    const second = h.fake.requests[1].body;
    const marks = breakpoints(second);
    assert.deepEqual(marks.slice(0, -1), Array(marks.length - 1).fill({ type: 'ephemeral', ttl: '1h' }));
    assert.deepEqual(marks.at(-1), { type: 'ephemeral' }, 'the moving conversation breakpoint, last and shortest');
  });
});
