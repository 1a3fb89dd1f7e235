// Two bounds on inputs nothing else checks: /healthz, open to whoever reaches the App's port, must
// not turn a store outage into a log flood; and the host refuses a proposal with more review votes
// than the script API allows, whatever the isolate sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { answerHealth } from '../src/app/health.ts';
import { parseHostCall } from '../src/contracts/host-calls.ts';

function response(): { res: ServerResponse; status: () => number } {
  let status = 0;
  const res = { writeHead: (code: number) => ((status = code), res), end: () => res } as unknown as ServerResponse;
  return { res, status: () => status };
}

test('/healthz asked a hundred times while the store is down logs the failure once, and answers 503 each time', async () => {
  const logged: string[] = [];
  const log = { error: (_obj: object, msg: string) => logged.push(msg), info: () => {}, warn: () => {} };
  const broken = { counts: () => Promise.reject(new Error(`disk I/O error ${Date.now()}`)) };
  const statuses: number[] = [];
  const message = `disk I/O error ${Date.now()}`;
  const failing = { counts: () => Promise.reject(new Error(message)) };
  for (let i = 0; i < 100; i++) {
    const { res, status } = response();
    await answerHealth(res, [], failing as never, log as never);
    statuses.push(status());
  }
  assert.deepEqual([...new Set(statuses)], [503]);
  assert.equal(logged.length, 1, logged.join('\n'));
  assert.match(logged[0]!, /the store could not be read: disk I\/O error/);
  // A different failure is news: logged at once.
  await answerHealth(response().res, [], broken as never, log as never);
  assert.equal(logged.length, 2);
});

test('the host refuses a propose() call with more than 9 review votes', () => {
  const vote = { accepted: true, reason: 'ok' };
  const request = { change: 'c1', title: 't', body: 'b', draft: false };
  assert.equal(parseHostCall('propose', { ...request, votes: Array(9).fill(vote) }).kind, 'propose');
  assert.throws(() => parseHostCall('propose', { ...request, votes: Array(10).fill(vote) }), /malformed propose\(\) call from the sandbox: votes/);
});
