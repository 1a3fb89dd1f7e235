import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callKey, canonicalJson, Journal } from '../src/runtime/journal.ts';

test('canonicalJson sorts object keys at every depth and keeps array order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
  assert.equal(callKey('agent', { prompt: 'x', schema: { b: 1, a: 2 } }), callKey('agent', { schema: { a: 2, b: 1 }, prompt: 'x' }));
  assert.notEqual(callKey('agent', { prompt: 'x' }), callKey('agent', { prompt: 'y' }));
  assert.notEqual(callKey('agent', { prompt: 'x' }), callKey('workflow', { prompt: 'x' }));
});

test('identical calls get increasing occurrences and match journal entries by key and occurrence', () => {
  const key = callKey('agent', { prompt: 'same' });
  const journal = new Journal([
    { key, occurrence: 1, seq: 7, kind: 'agent', output: 'second', usage: null, costUsd: 0, phase: null, label: null },
  ]);
  const first = journal.ticket('agent', { prompt: 'same' });
  const second = journal.ticket('agent', { prompt: 'same' });
  const other = journal.ticket('agent', { prompt: 'other' });
  assert.deepEqual([first.occurrence, second.occurrence, other.occurrence], [0, 1, 0]);
  assert.deepEqual([first.seq, second.seq, other.seq], [1, 2, 3]);
  // Not a prefix match: the first call has no entry, the second one does.
  assert.equal(first.replay, undefined);
  assert.equal(second.replay?.output, 'second');
  assert.equal(other.replay, undefined);
});
