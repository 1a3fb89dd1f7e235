import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GateSlots } from '../src/workspace/gate.ts';
import { RateGovernor } from '../src/agents/governor.ts';
import { Semaphore } from '../src/runtime/semaphore.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('the gate slots and the rate governor are the one semaphore', () => {
  assert.ok(new GateSlots(1) instanceof Semaphore);
  // The governor's window is a semaphore's limit: a bad one is refused in the same words.
  assert.throws(() => new Semaphore(0, 'gate slots'), /gate slots: the limit must be a whole number of at least 1, got 0/);
  assert.throws(() => new GateSlots(1.5), /gate slots: the limit must be a whole number of at least 1, got 1.5/);
  assert.equal(new RateGovernor(3).limit, 3);
});

test('holders up to the limit, waiters let in first come first served, a double release counted once', async () => {
  const slots = new Semaphore(2);
  const first = (await slots.acquire())!;
  const second = (await slots.acquire())!;
  const order: string[] = [];
  const third = slots.acquire().then((release) => (order.push('third'), release));
  const fourth = slots.acquire().then((release) => (order.push('fourth'), release));
  await tick();
  assert.deepEqual([slots.active, slots.waiting, order], [2, 2, []]);
  first();
  first();
  await tick();
  assert.deepEqual([slots.active, slots.waiting, order], [2, 1, ['third']]);
  second();
  (await third)!();
  (await fourth)!();
  assert.deepEqual([slots.active, slots.waiting, order], [0, 0, ['third', 'fourth']]);
});

test('an aborted wait leaves the queue and resolves to null; an aborted signal never waits', async () => {
  const slots = new Semaphore(1);
  const held = (await slots.acquire())!;
  const controller = new AbortController();
  const waiting = slots.acquire(controller.signal);
  assert.equal(slots.waiting, 1);
  controller.abort();
  assert.equal(await waiting, null);
  assert.equal(slots.waiting, 0);
  assert.equal(await slots.acquire(controller.signal), null);
  held();
  assert.equal(slots.active, 0);
});

test('a raised limit lets waiters in at once; a paused semaphore lets nobody in until resumed', async () => {
  const slots = new Semaphore(1);
  (await slots.acquire())!;
  const waiter = slots.acquire();
  slots.limit = 2;
  assert.ok(await waiter);
  assert.equal(slots.active, 2);
  slots.pause();
  slots.limit = 3;
  const paused = slots.acquire();
  await tick();
  assert.equal(slots.waiting, 1);
  slots.resume();
  assert.ok(await paused);
  assert.equal(slots.active, 3);
});
