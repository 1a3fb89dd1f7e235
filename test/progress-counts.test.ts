// The run's figures while agents finish: "running" counts the agents holding one of the
// --concurrency slots, not those whose change is still being snapshotted and recorded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic, text } from './support/fake-anthropic.ts';
import { runScript, serviceEnv } from './support/service.ts';
import { ProgressTracker } from '../src/runtime/progress.ts';

const fake = await startFakeAnthropic({ handler: () => [text('nothing to change')] });
after(() => fake.close());

test('running never exceeds the concurrency while finished write agents are snapshotted and recorded', async () => {
  const tracker = new ProgressTracker();
  let maxRunning = 0;
  const env = serviceEnv(fake.url, [], {
    listener: (event) => {
      tracker.apply(event);
      maxRunning = Math.max(maxRunning, ...tracker.summary().phases.map((p) => p.running));
    },
  });
  // Each change() is snapshotted with git after its model work, outside its slot.
  const out = await runScript(`return await parallel([1, 2, 3, 4, 5, 6].map((i) => () => change('edit ' + i)))`, env, { concurrency: 1 });
  assert.equal(out.status, 'completed', out.error ?? '');
  assert.equal(out.summary.phases[0].done, 6);
  assert.equal(maxRunning, 1);
});
