// The Action's memory is the markers at the end of its own comments: what it writes it must be
// able to read back, or a plan is shown that no approval can ever run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markerLine, markerOf, MAX_MARKER_CHARS, MarkerTooLongError, type PlanMarker } from '../src/action/own-comments.ts';

const plan = (args: unknown): PlanMarker => ({ kind: 'plan', sha256: 'a'.repeat(64), commit: 'b'.repeat(40), workflow: 'audit', origin: 'builtin', args, trigger: '/workflow audit' });

test('every marker the Action writes is one it reads back; one too long to read back is refused when written', () => {
  for (const size of [0, 1_000, 10_000]) {
    const marker = plan('x'.repeat(size));
    assert.deepEqual(markerOf(`the plan\n\n${markerLine(marker)}`), marker, `args of ${size} characters`);
  }
  assert.throws(() => markerLine(plan('x'.repeat(MAX_MARKER_CHARS))), MarkerTooLongError);
});
