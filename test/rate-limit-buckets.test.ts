// The pacing rule on its own (src/agents/rate-limit-buckets.ts): what a reservation takes out, how
// a response's headers re-anchor the buckets, and what a sweep leaves to interactive runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { emptyState, levelAt, observe, rateLimitHeaders, reserve, type SharedLimitState } from '../src/agents/rate-limit-buckets.ts';
import { rateLimitClass, SharedRateLimiter } from '../src/agents/shared-rate-limiter.ts';
import { SqliteStore } from '../src/runtime/sqlite-store.ts';

const known = (input: number, at = 0): SharedLimitState => ({ ...emptyState(), buckets: { input: { limit: 6_000, remaining: input, at } } });

test('until headers are known one request goes at a time; a response without them turns pacing off', () => {
  const first = reserve(emptyState(), { input: 10, output: 10 }, 'interactive', 0.2, 0);
  assert.equal(first.reservation.granted, true);
  assert.equal(reserve(first.state, { input: 10, output: 10 }, 'interactive', 0.2, 5).reservation.granted, false);
  // The probe's answer is slow in coming: another may go after 1 s.
  assert.equal(reserve(first.state, { input: 10, output: 10 }, 'interactive', 0.2, 1_001).reservation.granted, true);
  const unpaced = observe(first.state, null, { requests: 1, input: 10, output: 10 }, 10);
  assert.equal(reserve(unpaced, { input: 1e9, output: 1e9 }, 'sweep', 0.2, 10).reservation.granted, true);
});

test('a request waits for the refill it lacks, and is taken out of the bucket when it fits', () => {
  const short = reserve(known(500), { input: 1_100, output: 0 }, 'interactive', 0.2, 0).reservation;
  // 600 tokens short at 6,000 a minute: 6 s.
  assert.deepEqual(short, { granted: false, waitMs: 6_000 });
  const later = reserve(known(500), { input: 1_100, output: 0 }, 'interactive', 0.2, 6_000);
  assert.equal(later.reservation.granted, true);
  assert.equal(levelAt(later.state.buckets.input!, 6_000), 0);
});

test('a sweep leaves 20% of the limit to interactive runs', () => {
  // 1,500 left of 6,000: an interactive request of 1,000 fits, a sweep's must leave 1,200.
  assert.equal(reserve(known(1_500), { input: 1_000, output: 0 }, 'interactive', 0.2, 0).reservation.granted, true);
  assert.deepEqual(reserve(known(1_500), { input: 1_000, output: 0 }, 'sweep', 0.2, 0).reservation, { granted: false, waitMs: 7_000 });
});

test("headers re-anchor the buckets less what was reserved after the request; an older response's are stale", () => {
  let state = known(6_000);
  const tickets = [];
  for (let i = 0; i < 3; i++) {
    const r = reserve(state, { input: 1_000, output: 0 }, 'interactive', 0.2, 0);
    assert.ok(r.reservation.granted);
    tickets.push(r.reservation.ticket);
    state = r.state;
  }
  // The second request's answer: the API had seen two requests; the third may be on its way.
  state = observe(state, { input: { limit: 6_000, remaining: 4_000 } }, tickets[1]!, 0);
  assert.equal(state.buckets.input!.remaining, 3_000);
  // The first's answer arrives late: the API's count then was older than the one just used.
  assert.equal(observe(state, { input: { limit: 6_000, remaining: 5_000 } }, tickets[0]!, 0), state);
});

test('reads the API headers, falling back to tokens-* for input; none is null', () => {
  const h = new Headers({ 'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-requests-remaining': '49', 'anthropic-ratelimit-tokens-limit': '1000', 'anthropic-ratelimit-tokens-remaining': '10' });
  assert.deepEqual(rateLimitHeaders(h), { requests: { limit: 50, remaining: 49 }, input: { limit: 1_000, remaining: 10 } });
  assert.equal(rateLimitHeaders(new Headers({ 'content-type': 'application/json' })), null);
});

test('a request waiting for the limit is given up at once when its run stops, and leaves no listener on the run', async () => {
  const store = new SqliteStore(':memory:');
  const limiter = new SharedRateLimiter({ store, apiKey: 'k', baseURL: 'http://api', priority: 'interactive' });
  const run = new AbortController();
  // The first request is the cold-start probe; the second waits for its headers.
  await limiter.acquire({ max_tokens: 1 }, run.signal);
  assert.equal(getEventListeners(run.signal, 'abort').length, 0);
  const waiting = limiter.acquire({ max_tokens: 1 }, run.signal);
  const started = Date.now();
  run.abort(new Error('stopped'));
  await assert.rejects(waiting, /stopped/);
  assert.ok(Date.now() - started < 100);
  assert.equal(getEventListeners(run.signal, 'abort').length, 0);
  await store.close();
});

test('estimates learn from what the API counted: a request whose text undercounts its tokens is reserved at what the last ones really cost', async () => {
  const store = new SqliteStore(':memory:');
  const limiter = new SharedRateLimiter({ store, apiKey: 'k', baseURL: 'http://api', priority: 'interactive' });
  const params = { max_tokens: 1, messages: [{ role: 'user', content: 'x'.repeat(300) }] };
  const reset = new Date(Date.now() + 60_000).toISOString();
  const headers = new Headers({
    'anthropic-ratelimit-input-tokens-limit': '1000000',
    'anthropic-ratelimit-input-tokens-remaining': '1000000',
    'anthropic-ratelimit-input-tokens-reset': reset,
    'anthropic-ratelimit-requests-limit': '1000',
    'anthropic-ratelimit-requests-remaining': '1000',
    'anthropic-ratelimit-requests-reset': reset,
  });
  const first = await limiter.acquire(params);
  await limiter.observe(headers, first);
  const second = await limiter.acquire(params);
  const estimated = second.input - first.input;
  // The API counted 40 times what the characters suggested (an image, say).
  limiter.learn(second, { input_tokens: estimated * 40 });
  const third = await limiter.acquire(params);
  assert.equal(third.input - second.input, estimated * 40);
  await store.close();
});

test('answers without rate-limit headers: once the store says so, requests go without a store round trip; headers turn pacing back on', async () => {
  const store = new SqliteStore(':memory:');
  const limiter = new SharedRateLimiter({ store, apiKey: 'k', baseURL: 'http://api', priority: 'interactive' });
  const params = { max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] };
  await limiter.observe(new Headers(), await limiter.acquire(params));
  await limiter.acquire(params); // reads the store: unpaced
  const trips = limiter.stats.roundTrips;
  for (let i = 0; i < 50; i++) await limiter.observe(new Headers(), await limiter.acquire(params));
  assert.equal(limiter.stats.roundTrips, trips, 'no store round trip while unpaced');
  const reset = new Date(Date.now() + 60_000).toISOString();
  const limited = new Headers({ 'anthropic-ratelimit-requests-limit': '10', 'anthropic-ratelimit-requests-remaining': '10', 'anthropic-ratelimit-requests-reset': reset });
  await limiter.observe(limited, await limiter.acquire(params));
  await limiter.acquire(params);
  assert.ok(limiter.stats.roundTrips > trips + 1, 'headers seen: reservations go through the store again');
  await store.close();
});

test('each model class is paced by its own limits: a spent Sonnet limit holds Sonnet back, not Haiku', async () => {
  const store = new SqliteStore(':memory:');
  const limiter = new SharedRateLimiter({ store, apiKey: 'k', baseURL: 'http://api', priority: 'interactive' });
  const reset = new Date(Date.now() + 60_000).toISOString();
  const limits = (remaining: number) =>
    new Headers({ 'anthropic-ratelimit-requests-limit': '60', 'anthropic-ratelimit-requests-remaining': String(remaining), 'anthropic-ratelimit-requests-reset': reset });
  const sonnet = { model: 'claude-sonnet-5-5', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] };
  const haiku = { model: 'claude-haiku-5-1', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] };
  // Sonnet's answer says its class has no request left this minute; Haiku's that it has plenty.
  await limiter.observe(limits(0), await limiter.acquire(sonnet));
  await limiter.observe(limits(60), await limiter.acquire(haiku));
  const started = Date.now();
  await limiter.acquire(haiku);
  assert.ok(Date.now() - started < 500, 'Haiku goes at once');
  const run = new AbortController();
  const held = limiter.acquire({ ...sonnet, model: 'claude-sonnet-5-0-20261001' }, run.signal);
  const outcome = await Promise.race([held.then(() => 'sent'), new Promise((resolve) => setTimeout(resolve, 300, 'held'))]);
  assert.equal(outcome, 'held', "another Sonnet 5 waits for its class's refill (a second)");
  run.abort(new Error('stopped'));
  await assert.rejects(held, /stopped/);
  await store.close();
});

test('model classes: a family\'s minor versions and dated ids share one; other ids are their own', () => {
  assert.equal(rateLimitClass('claude-sonnet-4-5-20250929'), 'claude-sonnet-4');
  assert.equal(rateLimitClass('claude-sonnet-4-0'), 'claude-sonnet-4');
  assert.equal(rateLimitClass('claude-opus-4-1'), 'claude-opus-4');
  assert.equal(rateLimitClass('claude-haiku-4-5'), 'claude-haiku-4');
  assert.notEqual(rateLimitClass('claude-opus-4-1'), rateLimitClass('claude-opus-5'));
  assert.equal(rateLimitClass('claude-3-5-sonnet-latest'), 'claude-3-5-sonnet');
  assert.equal(rateLimitClass('my-proxy-model'), 'my-proxy-model');
});
