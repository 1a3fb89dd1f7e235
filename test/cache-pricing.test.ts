// What the cache costs and how its figures add up: the API's usage read into Foreman's Usage (the
// 1-hour part of the writes kept apart), priced from the table with the cache multipliers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Anthropic from '@anthropic-ai/sdk';
import { usageOf } from '../src/agents/loop.ts';
import { addUsage, cacheReadShare, zeroUsage } from '../src/contracts/usage.ts';
import { modelTable, parseConfig } from '../src/config/load.ts';
import { costUsd, DEFAULT_MODELS } from '../src/runtime/pricing.ts';

const apiUsage = (fields: Partial<Anthropic.Usage>): Anthropic.Usage => ({
  input_tokens: 0, output_tokens: 0, cache_read_input_tokens: null, cache_creation_input_tokens: null, cache_creation: null, server_tool_use: null, service_tier: null, ...fields,
} as Anthropic.Usage);

test('usageOf keeps the part of the cache writes made with the 1-hour TTL, and nothing when there is none', () => {
  const split = usageOf(apiUsage({ input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 300, cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 } }));
  assert.deepEqual(split, { input: 10, output: 5, cacheRead: 100, cacheWrite: 300, cacheWrite1h: 200 });
  // No split (an older API, or only 5-minute writes): the usage reads as it always did.
  assert.deepEqual(usageOf(apiUsage({ input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 300 })), { input: 10, output: 5, cacheRead: 0, cacheWrite: 300 });
  assert.deepEqual(usageOf(apiUsage({ cache_creation_input_tokens: 300, cache_creation: { ephemeral_5m_input_tokens: 300, ephemeral_1h_input_tokens: 0 } })), { input: 0, output: 0, cacheRead: 0, cacheWrite: 300 });
});

test('addUsage adds the 1-hour writes up, and a usage journaled without them counts as none', () => {
  const total = zeroUsage();
  addUsage(total, { input: 1, output: 1, cacheRead: 10, cacheWrite: 30, cacheWrite1h: 20 });
  addUsage(total, { input: 1, output: 1, cacheRead: 10, cacheWrite: 30 });
  addUsage(total, { input: 1, output: 1, cacheRead: 0, cacheWrite: 5, cacheWrite1h: 5 });
  assert.deepEqual(total, { input: 3, output: 3, cacheRead: 20, cacheWrite: 65, cacheWrite1h: 25 });
  assert.deepEqual(addUsage(zeroUsage(), { input: 1, output: 1, cacheRead: 0, cacheWrite: 5 }), { input: 1, output: 1, cacheRead: 0, cacheWrite: 5 });
});

test('the share of prompt tokens read from the cache is read / (input + read + written), null without prompt tokens', () => {
  assert.equal(cacheReadShare({ input: 1_000, output: 500, cacheRead: 8_000, cacheWrite: 1_000 }), 0.8);
  assert.equal(cacheReadShare({ input: 1_000, output: 0, cacheRead: 0, cacheWrite: 0 }), 0);
  assert.equal(cacheReadShare(zeroUsage()), null);
});

const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

test('a 5-minute write costs cacheWrite (1.25 × input), a 1-hour write 2 × input by default, a read cacheRead (0.1 × input)', () => {
  // claude-sonnet-4-5: $3 input, $15 output, $0.30 read, $3.75 a 5-minute write, so $6 a 1-hour write.
  const usage = { input: 1_000, output: 100, cacheRead: 10_000, cacheWrite: 3_000, cacheWrite1h: 1_000 };
  // 1,000 × 3 + 100 × 15 + 10,000 × 0.3 + 2,000 × 3.75 + 1,000 × 6 = 21,000 per million.
  near(costUsd(DEFAULT_MODELS, 'claude-sonnet-4-5', usage), 0.021);
  // Every write with the 5-minute TTL: 1,000 × 3 + 100 × 15 + 10,000 × 0.3 + 3,000 × 3.75 = 18,750.
  near(costUsd(DEFAULT_MODELS, 'claude-sonnet-4-5', { ...usage, cacheWrite1h: undefined }), 0.01875);
  // claude-haiku-5-5 ($0.10 input): 4,000 1-hour writes at $0.20 = 800 per million.
  near(costUsd(DEFAULT_MODELS, 'claude-haiku-5-5', { input: 0, output: 0, cacheRead: 0, cacheWrite: 4_000, cacheWrite1h: 4_000 }), 0.0008);
  // A 1-hour part larger than the writes (a hand-edited journal) is never billed past the writes.
  near(costUsd(DEFAULT_MODELS, 'claude-haiku-5-5', { input: 0, output: 0, cacheRead: 0, cacheWrite: 4_000, cacheWrite1h: 9_000 }), 0.0008);
});

test('config models.prices may set cacheWrite1h, which prices the 1-hour writes; without it they cost 2 × input', () => {
  const table = modelTable(
    parseConfig(
      ['models:', '  prices:', '    own-model: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, cacheWrite1h: 5 }', '    plain-model: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }', ''].join('\n'),
      '.github/foreman.yml',
    ),
  );
  const usage = { input: 1_000, output: 100, cacheRead: 10_000, cacheWrite: 3_000, cacheWrite1h: 1_000 };
  // 3,000 + 1,500 + 3,000 + 2,000 × 3.75 + 1,000 × 5 = 20,000 per million.
  near(costUsd(table, 'own-model', usage), 0.02);
  near(costUsd(table, 'plain-model', usage), 0.021);
  assert.throws(
    () => parseConfig(['models:', '  prices:', '    m: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, cacheWrite1h: -1 }', ''].join('\n'), '.github/foreman.yml'),
    /cacheWrite1h/,
  );
});
