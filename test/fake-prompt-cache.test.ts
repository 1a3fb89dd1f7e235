// The fake Messages API bills prompt caching as the API documents (issue #17, item 5), checked
// through the real SDK over HTTP: what a request reads, writes and pays as input.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { startFakeAnthropic, text, type FakeAnthropic, type FakeServerOptions } from './support/fake-anthropic.ts';

const MINUTE = 60_000;
const EPHEMERAL = { type: 'ephemeral' } as const;
const ONE_HOUR = { type: 'ephemeral', ttl: '1h' } as const;

/** Text the fake counts as exactly `tokens` tokens (4 characters each), distinct per `tag`. */
const tokens = (count: number, tag: string) => `${tag}:${'abcd'.repeat(count)}`.slice(0, count * 4);

let fake: FakeAnthropic | undefined;
afterEach(() => fake?.close());

async function start(options: Partial<FakeServerOptions> = {}): Promise<Anthropic> {
  fake = await startFakeAnthropic({ handler: () => [text('ok')], promptCache: {}, ...options });
  return new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
}

/** A one-turn request: a cached system preamble of `preamble` tokens, then the item. */
function withPreamble(preamble: string, item: string, model = 'claude-sonnet-5-5'): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model,
    max_tokens: 100,
    system: [{ type: 'text', text: preamble, cache_control: EPHEMERAL }],
    messages: [{ role: 'user', content: item }],
  };
}

const billed = (usage: Anthropic.Usage) => ({
  input: usage.input_tokens,
  read: usage.cache_read_input_tokens,
  write: usage.cache_creation_input_tokens,
  write5m: usage.cache_creation?.ephemeral_5m_input_tokens,
  write1h: usage.cache_creation?.ephemeral_1h_input_tokens,
});
const wrote = (write5m: number, input: number, write1h = 0) => ({ input, read: 0, write: write5m + write1h, write5m, write1h });
const readBack = (read: number, input: number) => ({ input, read, write: 0, write5m: 0, write1h: 0 });
const uncached = (input: number) => readBack(0, input);

async function refusal(client: Anthropic, body: Anthropic.MessageCreateParamsNonStreaming): Promise<APIError> {
  const error = await client.messages.create(body).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(error instanceof APIError, `expected a refusal, got ${String(error)}`);
  return error;
}

describe('fake Messages API: prompt caching', () => {
  test('a second request with the same prefix reads what the first wrote, in JSON and in the stream', async () => {
    const client = await start({ handler: () => ({ blocks: [text('ok')], usage: { input_tokens: 999, output_tokens: 7 } }) });
    const preamble = tokens(2000, 'rules');
    const first = await client.messages.create(withPreamble(preamble, tokens(10, 'item one')));
    assert.deepEqual(billed(first.usage), wrote(2000, 10));
    assert.equal(first.usage.output_tokens, 7, "the handler's output tokens still apply");

    const second = await client.messages.stream(withPreamble(preamble, tokens(12, 'item two'))).finalMessage();
    assert.deepEqual(billed(second.usage), readBack(2000, 12));

    // The key ignores cache_control itself: a breakpoint moved onto the item still finds the preamble.
    const moved = withPreamble(preamble, '');
    moved.system = [{ type: 'text', text: preamble }];
    moved.messages = [{ role: 'user', content: [{ type: 'text', text: tokens(30, 'item three'), cache_control: EPHEMERAL }] }];
    assert.deepEqual(billed((await client.messages.create(moved)).usage), { input: 0, read: 2000, write: 30, write5m: 30, write1h: 0 });

    // The model is part of the key.
    const otherModel = await client.messages.create(withPreamble(preamble, tokens(10, 'item one'), 'claude-opus-5-5'));
    assert.deepEqual(billed(otherModel.usage), wrote(2000, 10));
    assert.deepEqual(fake!.cache, { requests: 4, input: 32, read: 4000, write5m: 4030, write1h: 0 });
  });

  test('two concurrent requests both write; a third after the first answered reads', async () => {
    const client = await start({ latencyMs: 100 });
    const preamble = tokens(1500, 'shared');
    const both = await Promise.all([client.messages.create(withPreamble(preamble, tokens(5, 'a'))), client.messages.create(withPreamble(preamble, tokens(5, 'b')))]);
    assert.deepEqual(
      both.map((m) => billed(m.usage)),
      [wrote(1500, 5), wrote(1500, 5)],
    );
    const third = await client.messages.create(withPreamble(preamble, tokens(5, 'c')));
    assert.deepEqual(billed(third.usage), readBack(1500, 5));
  });

  test("a prefix under the model's minimum is neither written nor read", async () => {
    const client = await start();
    for (const [model, size, cached] of [
      ['claude-sonnet-5-5', 1023, false],
      ['claude-sonnet-5-5', 1024, true],
      ['claude-haiku-4-5', 2000, false],
      ['claude-haiku-4-5-20251001', 4095, false],
      ['claude-haiku-4-5', 4096, true],
      ['claude-haiku-5-5', 2048, true],
      ['claude-opus-4-5', 4000, false],
      ['some-future-model', 1024, true],
    ] as const) {
      const preamble = tokens(size, `${model}-${size}`);
      const first = await client.messages.create(withPreamble(preamble, 'item', model));
      const second = await client.messages.create(withPreamble(preamble, 'item', model));
      const expected = cached ? [wrote(size, 1), readBack(size, 1)] : [uncached(size + 1), uncached(size + 1)];
      assert.deepEqual([billed(first.usage), billed(second.usage)], expected, `${model}, ${size} tokens`);
    }
  });

  test('the 20-block look-back: a breakpoint up to 20 blocks past a cached boundary reads it, further does not', async () => {
    const client = await start();
    const base = Array.from({ length: 30 }, (_, i) => tokens(50, `base ${i}`));
    const ask = (extra: string[]) => {
      const blocks = [...base, ...extra].map((t): Anthropic.TextBlockParam => ({ type: 'text', text: t }));
      blocks[blocks.length - 1]!.cache_control = EPHEMERAL;
      return client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user', content: blocks }] });
    };
    const more = (count: number, tag: string) => Array.from({ length: count }, (_, i) => tokens(50, `${tag} ${i}`));
    assert.deepEqual(billed((await ask([])).usage), wrote(1500, 0));
    assert.deepEqual(billed((await ask(more(15, 'fifteen'))).usage), { input: 0, read: 1500, write: 750, write5m: 750, write1h: 0 });
    assert.deepEqual(billed((await ask(more(20, 'twenty'))).usage), { input: 0, read: 1500, write: 1000, write5m: 1000, write1h: 0 });
    assert.deepEqual(billed((await ask(more(21, 'twenty-one'))).usage), wrote(2550, 0));
    assert.deepEqual(billed((await ask(more(25, 'twenty-five'))).usage), wrote(2750, 0));
  });

  test('TTL: a 5-minute entry expires 5 minutes after its last use, a read refreshes it, a 1-hour entry lives an hour', async () => {
    let clock = 1_000_000;
    const client = await start({ promptCache: { now: () => clock } });
    const fiveMinutes = withPreamble(tokens(2000, 'five'), 'item');
    assert.deepEqual(billed((await client.messages.create(fiveMinutes)).usage), wrote(2000, 1));
    clock += 5 * MINUTE - 1;
    assert.deepEqual(billed((await client.messages.create(fiveMinutes)).usage), readBack(2000, 1));
    clock += 5 * MINUTE - 1;
    assert.deepEqual(billed((await client.messages.create(fiveMinutes)).usage), readBack(2000, 1), 'the read refreshed it');
    clock += 5 * MINUTE;
    assert.deepEqual(billed((await client.messages.create(fiveMinutes)).usage), wrote(2000, 1), 'expired');

    const oneHour = withPreamble(tokens(2000, 'hour'), 'item');
    oneHour.system = [{ type: 'text', text: tokens(2000, 'hour'), cache_control: ONE_HOUR }];
    assert.deepEqual(billed((await client.messages.create(oneHour)).usage), wrote(0, 1, 2000));
    clock += 59 * MINUTE;
    assert.deepEqual(billed((await client.messages.create(oneHour)).usage), readBack(2000, 1));
    clock += 60 * MINUTE;
    assert.deepEqual(billed((await client.messages.create(oneHour)).usage), wrote(0, 1, 2000), 'expired');
    assert.deepEqual(fake!.cache, { requests: 7, input: 7, read: 6000, write5m: 4000, write1h: 4000 });
  });

  test('usage.cache_creation splits the write by TTL; a breakpoint under the minimum goes into the next one', async () => {
    const client = await start();
    const tool = { name: 'lookup', description: 'Looks a word up.', input_schema: { type: 'object' as const, properties: { word: { type: 'string' } } } };
    const toolTokens = Math.ceil(JSON.stringify(tool).length / 4);
    const split: Anthropic.MessageCreateParamsNonStreaming = {
      model: 'claude-sonnet-5-5',
      max_tokens: 10,
      tools: [tool],
      system: [{ type: 'text', text: tokens(1200, 'framing'), cache_control: ONE_HOUR }],
      messages: [{ role: 'user', content: [{ type: 'text', text: tokens(800, 'shared'), cache_control: EPHEMERAL }, { type: 'text', text: tokens(10, 'item') }] }],
    };
    assert.deepEqual(billed((await client.messages.create(split)).usage), { input: 10, read: 0, write: toolTokens + 2000, write5m: 800, write1h: toolTokens + 1200 });
    assert.deepEqual(billed((await client.messages.create(split)).usage), readBack(toolTokens + 2000, 10));

    const small: Anthropic.MessageCreateParamsNonStreaming = {
      model: 'claude-sonnet-5-5',
      max_tokens: 10,
      system: [{ type: 'text', text: tokens(500, 'small'), cache_control: ONE_HOUR }],
      messages: [{ role: 'user', content: [{ type: 'text', text: tokens(700, 'rest'), cache_control: EPHEMERAL }] }],
    };
    assert.deepEqual(billed((await client.messages.create(small)).usage), wrote(1200, 0));
  });

  test('refused 400 as the API does: five breakpoints, a 1-hour breakpoint after a 5-minute one, an unknown TTL', async () => {
    const client = await start();
    const block = (tag: string, cache_control: any): Anthropic.TextBlockParam => ({ type: 'text', text: tokens(10, tag), cache_control });
    const system = (...blocks: Anthropic.TextBlockParam[]): Anthropic.MessageCreateParamsNonStreaming => ({ model: 'claude-sonnet-5-5', max_tokens: 10, system: blocks, messages: [{ role: 'user', content: 'hi' }] });

    const five = await refusal(client, system(...['a', 'b', 'c', 'd', 'e'].map((t) => block(t, EPHEMERAL))));
    assert.equal(five.status, 400);
    assert.equal(five.type, 'invalid_request_error');
    assert.equal(five.apiMessage, 'A maximum of 4 blocks with cache_control may be provided. Found 5.');
    await client.messages.create(system(...['a', 'b', 'c', 'd'].map((t) => block(t, EPHEMERAL))));

    const late = await refusal(client, system(block('a', EPHEMERAL), block('b', ONE_HOUR)));
    assert.equal(late.status, 400);
    assert.equal(late.apiMessage, "system.1.cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note that blocks are processed in the following order: `tools`, `system`, `messages`.");
    await client.messages.create(system(block('a', ONE_HOUR), block('b', EPHEMERAL)));

    const badTtl = await refusal(client, system(block('a', { type: 'ephemeral', ttl: '10m' })));
    assert.equal(badTtl.status, 400);
    assert.equal(badTtl.apiMessage, "system.0.cache_control.ephemeral.ttl: Input should be '5m' or '1h'");
    assert.equal(fake!.cache!.requests, 2, 'a refused request is not billed');
  });

  test('the rate limit counts input and cache writes, not cache reads', async () => {
    const client = await start({ rateLimits: { inputTokensPerMinute: 2500 } });
    const preamble = tokens(2000, 'limited');
    await client.messages.create(withPreamble(preamble, tokens(10, 'one')));
    const second = await client.messages.create(withPreamble(preamble, tokens(10, 'two')));
    assert.deepEqual(billed(second.usage), readBack(2000, 10));
    const other = await refusal(client, withPreamble(tokens(2000, 'another'), tokens(10, 'three')));
    assert.equal(other.status, 429);
  });

  test('memory is bounded: past maxEntries the least recently used entry goes', async () => {
    const client = await start({ promptCache: { maxEntries: 2 } });
    const ask = (tag: string) => client.messages.create(withPreamble(tokens(1100, tag), 'item')).then((m) => billed(m.usage));
    for (const tag of ['p1', 'p2', 'p3']) assert.deepEqual(await ask(tag), wrote(1100, 1));
    assert.deepEqual(await ask('p3'), readBack(1100, 1));
    assert.deepEqual(await ask('p1'), wrote(1100, 1), 'p1 was the least recently used');
    assert.deepEqual(await ask('p3'), readBack(1100, 1));
    assert.deepEqual(await ask('p2'), wrote(1100, 1), 'p2 went when p1 came back');
  });

  test('without promptCache the fake bills as before', async () => {
    const client = await start({ promptCache: undefined });
    const message = await client.messages.create(withPreamble(tokens(2000, 'rules'), 'item'));
    assert.deepEqual(message.usage.input_tokens, 100);
    assert.deepEqual(message.usage.cache_read_input_tokens, 0);
    assert.equal('cache_creation' in message.usage, false);
    assert.equal(fake!.cache, null);
  });
});
