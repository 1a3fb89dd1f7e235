import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';

describe('fake Anthropic server through the real SDK', () => {
  let fake: FakeAnthropic;
  let client: Anthropic;

  before(async () => {
    fake = await startFakeAnthropic({
      handler: (req) => {
        if (req.prompt.includes('overloaded')) return { status: 529, headers: { 'retry-after': '3' } };
        if (req.turn === 0) return [text('looking'), toolUse('read_file', { path: 'README.md', nested: { a: [1, 2] } })];
        return {
          blocks: [text(`got ${req.lastToolResults.map((r) => r.content).join(',')}`)],
          usage: { input_tokens: 7, cache_read_input_tokens: 50 },
        };
      },
    });
    client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
  });
  after(() => fake.close());

  const firstTurn: Anthropic.MessageCreateParamsNonStreaming = {
    model: 'claude-test',
    max_tokens: 100,
    tools: [{ name: 'read_file', input_schema: { type: 'object' } }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }, { type: 'text', text: 'there' }] }],
  };

  test('JSON response with a tool_use block', async () => {
    const message = await client.messages.create(firstTurn);
    assert.equal(message.stop_reason, 'tool_use');
    assert.equal(message.model, 'claude-test');
    assert.deepEqual(message.content[0], { type: 'text', text: 'looking' });
    const use = message.content[1];
    assert.equal(use.type, 'tool_use');
    assert.ok(use.type === 'tool_use' && use.id.startsWith('toolu_'));
    assert.deepEqual(use.type === 'tool_use' && use.input, { path: 'README.md', nested: { a: [1, 2] } });
    assert.equal(message.usage.input_tokens, 100);
    assert.equal(message.usage.output_tokens, 20);

    const seen = fake.requests.at(-1)!;
    assert.equal(seen.prompt, 'hello\nthere');
    assert.equal(seen.turn, 0);
    assert.deepEqual(seen.tools, ['read_file']);
  });

  test('streaming response accumulates text, tool input and usage', async () => {
    const stream = client.messages.stream(firstTurn);
    const events: string[] = [];
    stream.on('streamEvent', (event) => events.push(event.type));
    const message = await stream.finalMessage();
    assert.equal(message.stop_reason, 'tool_use');
    assert.equal(events[0], 'message_start');
    assert.equal(events.at(-1), 'message_stop');
    assert.ok(events.includes('message_delta'));
    const use = message.content.find((b) => b.type === 'tool_use');
    assert.deepEqual(use?.type === 'tool_use' && use.input, { path: 'README.md', nested: { a: [1, 2] } });
    assert.equal(message.usage.output_tokens, 20);
  });

  test('second turn sees tool results; custom usage and end_turn', async () => {
    const stream = client.messages.stream({
      ...firstTurn,
      messages: [
        ...firstTurn.messages,
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'README body', is_error: true }] },
      ],
    });
    const message = await stream.finalMessage();
    assert.equal(message.stop_reason, 'end_turn');
    assert.deepEqual(message.content, [{ type: 'text', text: 'got README body' }]);
    assert.equal(message.usage.input_tokens, 7);
    assert.equal(message.usage.cache_read_input_tokens, 50);
    const seen = fake.requests.at(-1)!;
    assert.equal(seen.turn, 1);
    assert.deepEqual(seen.lastToolResults, [{ tool_use_id: 'toolu_1', content: 'README body', is_error: true }]);
  });

  test('a 529 surfaces as the SDK error with its headers', async () => {
    const request = { ...firstTurn, messages: [{ role: 'user' as const, content: 'overloaded please' }] };
    for (const attempt of [() => client.messages.create(request), () => client.messages.stream(request).finalMessage()]) {
      await assert.rejects(attempt, (error: unknown) => {
        assert.ok(error instanceof APIError);
        assert.equal(error.status, 529);
        assert.equal(error.type, 'overloaded_error');
        assert.equal(error.headers?.get('retry-after'), '3');
        return true;
      });
    }
  });

  test('counts calls', () => {
    assert.equal(fake.calls, fake.requests.length);
    assert.ok(fake.calls >= 5);
  });
});

test('serves a 1,000-request burst over keep-alive without recording', async () => {
  const fake = await startFakeAnthropic({ handler: () => [text('ok')], record: false });
  try {
    const client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0 });
    const params = { model: 'm', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
    const replies = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => (i % 2 ? client.messages.create(params) : client.messages.stream(params).finalMessage())),
    );
    assert.equal(replies.length, 1_000);
    assert.ok(replies.every((m) => m.content[0].type === 'text'));
    assert.equal(fake.calls, 1_000);
    assert.equal(fake.requests.length, 0);
  } finally {
    await fake.close();
  }
});

test('organisation limits: every answer carries the anthropic-ratelimit-* headers, and a request over a limit is answered 429 with retry-after', async () => {
  const fake = await startFakeAnthropic({
    rateLimits: { requestsPerMinute: 50, inputTokensPerMinute: 250, outputTokensPerMinute: 10_000 },
    handler: () => ({ blocks: [text('ok')], usage: { input_tokens: 100, output_tokens: 10 } }),
  });
  try {
    const client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0 });
    const ask = () => client.messages.create({ model: 'm', max_tokens: 1_000, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const { response } = await ask();
    const h = (name: string) => response.headers.get(`anthropic-ratelimit-${name}`);
    assert.deepEqual([h('requests-limit'), h('requests-remaining'), h('input-tokens-limit'), h('input-tokens-remaining')], ['50', '49', '250', '150']);
    // max_tokens is taken out on arrival and what the answer did not use is given back.
    assert.equal(h('output-tokens-remaining'), '9990');
    // The tokens-* headers are the token bucket closest to empty: the input tokens here.
    assert.equal(h('tokens-remaining'), '150');
    for (const name of ['requests-reset', 'input-tokens-reset', 'output-tokens-reset', 'tokens-reset']) assert.match(h(name)!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, name);
    assert.ok(Date.parse(h('input-tokens-reset')!) > Date.now());
    await ask();
    const refused = await ask().then(() => null, (error: unknown) => error);
    assert.ok(refused instanceof APIError && refused.status === 429, String(refused));
    assert.equal(refused.headers?.get('anthropic-ratelimit-input-tokens-remaining'), '50');
    // 50 tokens short at 250 a minute: 12 s.
    assert.equal(refused.headers?.get('retry-after'), '12');
    assert.equal(fake.rateLimited, 1);
  } finally {
    await fake.close();
  }
});
