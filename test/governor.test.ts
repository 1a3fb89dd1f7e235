import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jitteredBackoffMs, RateGovernor, retryAfterMsFromHeaders } from '../src/agents/governor.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RateGovernor', () => {
  test('gates requests at maxInFlight and hands slots on in order', async () => {
    const governor = new RateGovernor(2);
    const order: number[] = [];
    const r1 = await governor.acquire();
    const r2 = await governor.acquire();
    const third = governor.acquire().then((release) => (order.push(3), release));
    const fourth = governor.acquire().then((release) => (order.push(4), release));
    await tick();
    assert.deepEqual(order, []);
    assert.equal(governor.inFlight, 2);
    r1();
    r1(); // releasing twice is harmless
    await tick();
    assert.deepEqual(order, [3]);
    r2();
    (await third)();
    (await fourth)();
    assert.deepEqual(order, [3, 4]);
    assert.equal(governor.inFlight, 0);
  });

  test('a rate limit halves the limit (min 1) and pauses new requests for retry-after', async () => {
    const governor = new RateGovernor(8);
    const release = await governor.acquire();
    governor.onRateLimited(80);
    assert.equal(governor.limit, 4);
    release();
    const started = performance.now();
    (await governor.acquire())();
    assert.ok(performance.now() - started >= 70, 'waited for the pause');

    // A second congestion episode halves again; never below 1.
    for (let i = 0; i < 5; i++) {
      governor.onRateLimited(0);
      await tick();
    }
    assert.equal(governor.limit, 1);
  });

  test('rate limits reported during one pause halve the limit once', () => {
    const governor = new RateGovernor(16);
    for (let i = 0; i < 10; i++) governor.onRateLimited(1_000);
    assert.equal(governor.limit, 8);
    assert.ok(governor.pauseRemainingMs > 900);
  });

  test('successes raise the limit additively up to the maximum', () => {
    const governor = new RateGovernor(4);
    governor.onRateLimited(0);
    assert.equal(governor.limit, 2);
    governor.onSuccess();
    assert.equal(governor.limit, 3);
    governor.onSuccess();
    governor.onSuccess();
    assert.equal(governor.limit, 4);
  });

  test('without retry-after it backs off exponentially with jitter, capped', () => {
    const governor = new RateGovernor(4, { baseDelayMs: 1_000, maxDelayMs: 30_000, random: () => 1 });
    assert.equal(governor.onRateLimited(), 1_000);
    const low = new RateGovernor(4, { random: () => 0 });
    assert.equal(low.backoffDelayMs(1), 500);
    assert.equal(jitteredBackoffMs(3, 1_000, 30_000, () => 1), 4_000);
    assert.equal(jitteredBackoffMs(10, 1_000, 30_000, () => 1), 30_000);
    assert.equal(jitteredBackoffMs(10, 1_000, 30_000, () => 0), 15_000);
  });

  test('an aborted waiter leaves the queue', async () => {
    const governor = new RateGovernor(1);
    const release = await governor.acquire();
    const controller = new AbortController();
    const waiting = governor.acquire(controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    release();
    assert.equal(governor.inFlight, 0);
    (await governor.acquire())();
  });

  test('reads retry-after-ms, retry-after seconds and HTTP dates', () => {
    assert.equal(retryAfterMsFromHeaders(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    assert.equal(retryAfterMsFromHeaders(new Headers({ 'retry-after': '2' })), 2_000);
    const date = retryAfterMsFromHeaders(new Headers({ 'retry-after': new Date(Date.now() + 5_000).toUTCString() }));
    assert.ok(date !== undefined && date > 3_000 && date <= 5_000);
    assert.equal(retryAfterMsFromHeaders(new Headers({ 'retry-after': 'soon' })), undefined);
    assert.equal(retryAfterMsFromHeaders(undefined), undefined);
  });
});
