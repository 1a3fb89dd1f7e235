import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEvent, renderPhaseTable } from '../src/cli/output.ts';
import { OTHER_PHASES, ProgressTracker } from '../src/runtime/progress.ts';
import { MAX_PHASE_TITLES } from '../src/contracts/caps.ts';

const usage = { input: 1000, output: 200, cacheRead: 0, cacheWrite: 0 };

test('the phase table counts done, failed, running and queued agents per phase, with totals; a failed agent is not done', () => {
  let now = 0;
  const tracker = new ProgressTracker(() => now);
  tracker.apply({ type: 'phase', title: 'Map' });
  tracker.apply({ type: 'agent-queued', phase: 'Map', label: 'm' });
  tracker.apply({ type: 'agent-started', phase: 'Map', label: 'm' });
  now = 1500;
  tracker.apply({ type: 'agent-finished', phase: 'Map', label: 'm', status: 'done', usage, costUsd: 0.01, elapsedMs: 1500 });
  for (const label of ['a', 'b', 'c']) tracker.apply({ type: 'agent-queued', phase: 'Audit', label });
  tracker.apply({ type: 'agent-started', phase: 'Audit', label: 'a' });
  tracker.apply({ type: 'agent-started', phase: 'Audit', label: 'b' });
  tracker.apply({ type: 'agent-finished', phase: 'Audit', label: 'a', status: 'failed', usage, costUsd: 0.01, elapsedMs: 10 });
  now = 2000;
  const table = renderPhaseTable(tracker.summary()).split('\n');
  assert.deepEqual(table.map((line) => line.split(/\s+/)), [
    ['phase', 'done', 'failed', 'running', 'queued', 'tokens', 'cost', 'elapsed'],
    ['Map', '1', '0', '0', '0', '1.2k', '$0.0100', '1.5s'],
    ['Audit', '0', '1', '1', '1', '1.2k', '$0.0100', '0.5s'],
    ['total', '1', '1', '1', '1', '2.4k', '$0.0200', '2.0s'],
  ]);
});

test('a stopped agent gets a stopped column, not a failure', () => {
  const tracker = new ProgressTracker(() => 0);
  for (const label of ['a', 'b', 'c']) tracker.apply({ type: 'agent-queued', phase: 'Scan', label });
  tracker.apply({ type: 'agent-started', phase: 'Scan', label: 'a' });
  tracker.apply({ type: 'agent-finished', phase: 'Scan', label: 'a', status: 'stopped', usage, costUsd: 0, elapsedMs: 5, error: 'stopped' });
  const table = renderPhaseTable(tracker.summary()).split('\n');
  assert.deepEqual(table.map((line) => line.split(/\s+/)), [
    ['phase', 'done', 'failed', 'stopped', 'running', 'queued', 'tokens', 'cost', 'elapsed'],
    ['Scan', '0', '0', '1', '0', '2', '1.2k', '$0.0000', '0.0s'],
    ['total', '0', '0', '1', '0', '2', '1.2k', '$0.0000', '0.0s'],
  ]);
});

test('line output names replayed agents and failures', () => {
  assert.equal(describeEvent({ type: 'agent-finished', phase: 'Fan', label: 't1', status: 'replayed', usage, costUsd: 0, elapsedMs: 0 }), 'agent replayed [Fan] t1 (from journal)');
  assert.match(describeEvent({ type: 'agent-finished', phase: 'Fan', label: 't2', status: 'failed', usage, costUsd: 0.5, elapsedMs: 2000, error: 'HTTP 400' })!, /^agent failed \[Fan\] t2 1\.2k tok \$0\.5000 2\.0s: HTTP 400$/);
});

test('an agent that used the cache says what share of its prompt it read there', () => {
  const cached = { input: 100, output: 50, cacheRead: 900, cacheWrite: 0 };
  assert.equal(describeEvent({ type: 'agent-finished', phase: 'Fan', label: 't3', status: 'done', usage: cached, costUsd: 0.001, elapsedMs: 500 }), 'agent done [Fan] t3 1.1k tok (90% from cache) $0.0010 0.5s');
  // The agent that wrote what its siblings read says what it wrote, not "0% from cache".
  const wrote = { input: 10, output: 50, cacheRead: 0, cacheWrite: 11_900 };
  assert.equal(describeEvent({ type: 'agent-finished', phase: 'Fan', label: 't1', status: 'done', usage: wrote, costUsd: 0.03, elapsedMs: 600 }), 'agent done [Fan] t1 12.0k tok (11.9k written to cache) $0.0300 0.6s');
  // Nearly all is not all: 99.9% read shows as 99%, 0.1% as 1%.
  const nearlyAll = { input: 10, output: 0, cacheRead: 11_990, cacheWrite: 0 };
  assert.match(describeEvent({ type: 'agent-finished', phase: 'Fan', label: 't4', status: 'done', usage: nearlyAll, costUsd: 0.001, elapsedMs: 600 })!, /\(99% from cache\)/);
  const nearlyNone = { input: 11_990, output: 0, cacheRead: 10, cacheWrite: 0 };
  assert.match(describeEvent({ type: 'agent-finished', phase: 'Fan', label: 't5', status: 'done', usage: nearlyNone, costUsd: 0.001, elapsedMs: 600 })!, /\(1% from cache\)/);
});

test('event lines say "1 journaled call" and "1 file", not "1 ... calls"', () => {
  assert.equal(describeEvent({ type: 'run-started', runId: 'r', workflow: 'w', baseSha: 'a'.repeat(40), resumed: true, replayable: 1 }), `resume w at ${'a'.repeat(12)} (1 journaled call to replay)`);
  assert.equal(describeEvent({ type: 'change-made', changeId: 'c1', label: 'fix', files: 1, candidate: false }), 'change c1 fix: 1 file changed');
});

test('agents naming more phases than a run shows share one row past the cap, counted in full', () => {
  const tracker = new ProgressTracker(() => 0);
  for (let i = 0; i < MAX_PHASE_TITLES + 500; i++) {
    const phase = `item ${i}`;
    tracker.apply({ type: 'agent-queued', phase, label: 'a' });
    tracker.apply({ type: 'agent-started', phase, label: 'a' });
    tracker.apply({ type: 'agent-finished', phase, label: 'a', status: 'done', usage, costUsd: 0.01, elapsedMs: 5 });
  }
  const summary = tracker.summary();
  assert.equal(summary.phases.length, MAX_PHASE_TITLES + 1);
  const other = summary.phases.at(-1)!;
  assert.equal(other.title, OTHER_PHASES);
  assert.equal(other.done, 500);
  assert.equal(other.running, 0);
  assert.equal(summary.agents, MAX_PHASE_TITLES + 500);
});
