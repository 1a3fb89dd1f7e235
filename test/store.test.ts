import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { SqliteStore } from '../src/runtime/sqlite-store.ts';
import { MIGRATIONS } from '../src/runtime/sqlite-schema.ts';
import type { NewRun } from '../src/runtime/store.ts';
import { tempDir } from './support/repo.ts';

const newRun = (id: string, startedAt: string): NewRun => ({
  id,
  workflow: 'audit',
  origin: 'repo',
  file: '.claude/workflows/audit.js',
  source: 'export const meta = {}',
  args: { concern: 'auth' },
  repoDir: '/repo',
  baseRef: 'HEAD',
  baseSha: 'a'.repeat(40),
  options: { concurrency: 16, budgetTokens: null, maxCostUsd: null, memoryLimitMb: 128, cpuLimitMs: 10000, wallLimitMs: 60000, maxAgents: 1000, maxTurns: 50 },
  startedAt,
});

test('migrations set the schema version and reopening keeps every run, journal entry and agent', async () => {
  const file = join(tempDir(), 'foreman.db');
  const store = new SqliteStore(file);
  await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  await store.createRun(newRun('r2', '2026-11-21T11:00:00Z'));
  await store.appendJournal('r1', { key: 'k', occurrence: 0, seq: 1, kind: 'agent', output: { files: ['a'] }, usage: { input: 1, output: 2, cacheRead: 3, cacheWrite: 4 }, costUsd: 0.5, phase: 'Map', label: 'map' });
  // A second completion of the same slot keeps the first answer.
  await store.appendJournal('r1', { key: 'k', occurrence: 0, seq: 2, kind: 'agent', output: 'late', usage: null, costUsd: 0, phase: null, label: null });
  const agentBase = { key: 'k', occurrence: 0, label: 'map', phase: 'Map', model: 'm', status: 'done', prompt: 'p', usage: { input: 1, output: 2, cacheRead: 3, cacheWrite: 4 }, costUsd: 0.5, turns: 1, elapsedMs: 10, error: null, transcript: { turns: [] }, finishedAt: 'now' };
  assert.equal(await store.recordAgent('r1', agentBase), 1);
  assert.equal(await store.recordAgent('r1', { ...agentBase, status: 'error' }), 2);
  await store.finishRun('r1', { status: 'completed', result: { ok: true }, error: null, summary: { agents: 1 }, finishedAt: 'later' });
  await store.close();

  const version = new DatabaseSync(file).prepare('PRAGMA user_version').get() as { user_version: number };
  assert.equal(version.user_version, MIGRATIONS.length);

  const reopened = new SqliteStore(file);
  assert.deepEqual((await reopened.listRuns()).map((r) => r.id), ['r2', 'r1']);
  const run = await reopened.getRun('r1');
  assert.equal(run?.status, 'completed');
  assert.deepEqual(run?.result, { ok: true });
  assert.deepEqual(run?.args, { concern: 'auth' });
  const journal = await reopened.loadJournal('r1');
  assert.equal(journal.length, 1);
  assert.deepEqual(journal[0].output, { files: ['a'] });
  assert.equal(journal[0].usage?.cacheWrite, 4);
  assert.deepEqual((await reopened.listAgents('r1')).map((a) => a.status), ['done', 'error']);
  assert.equal((await reopened.getAgent('r1', 2))?.status, 'error');
  await reopened.close();
});

test('claimRun refuses a run held by a live process and takes over one whose process is gone', async () => {
  const store = new SqliteStore(join(tempDir(), 'foreman.db'));
  await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  // createRun records this process as the holder.
  assert.equal(await store.claimRun('r1', 999_999, () => true), false);
  assert.equal(await store.claimRun('r1', 999_999, () => false), true);
  assert.equal((await store.getRun('r1'))?.pid, 999_999);
  await store.close();
});

test('a store written by a newer Foreman is refused with a clear message', () => {
  const file = join(tempDir(), 'foreman.db');
  const db = new DatabaseSync(file);
  db.exec('PRAGMA user_version = 99');
  db.close();
  assert.throws(() => new SqliteStore(file), /newer Foreman.*upgrade Foreman/);
});


test('agents recorded in the same tick share one commit and still get distinct numbers in call order', async () => {
  const file = join(tempDir(), 'foreman.db');
  const store = new SqliteStore(file);
  await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  const agent = (i: number) => ({ key: `k${i}`, occurrence: 0, label: `a${i}`, phase: 'P', model: 'm', status: 'done', prompt: `p${i}`, usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, costUsd: 0, turns: 1, elapsedMs: 1, error: null, transcript: {}, finishedAt: 'now' });
  const entry = (i: number) => ({ key: `k${i}`, occurrence: 0, seq: i, kind: 'agent', output: i, usage: null, costUsd: 0, phase: 'P', label: `a${i}` });
  const numbers = await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordAgent('r1', agent(i), entry(i))));
  assert.deepEqual(numbers, Array.from({ length: 20 }, (_, i) => i + 1));
  await store.close();
  // Everything is on disk once the promises resolved: a fresh connection sees it all.
  const reopened = new SqliteStore(file);
  assert.equal((await reopened.loadJournal('r1')).length, 20);
  assert.equal((await reopened.listAgents('r1')).length, 20);
  await reopened.close();
});

test('a journal write that cannot be committed rejects with what to do, and the store stays usable', async () => {
  const store = new SqliteStore(join(tempDir(), 'foreman.db'));
  await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  const entry = { key: 'k', occurrence: 0, seq: 1, kind: 'agent', output: 1, usage: null, costUsd: 0, phase: null, label: null };
  // No run "ghost": the foreign key refuses the row, on the writer thread.
  await assert.rejects(store.appendJournal('ghost', entry), /could not commit a journal write \(FOREIGN KEY constraint failed\).*FOREMAN_HOME.*resume/);
  await store.appendJournal('r1', entry);
  assert.equal((await store.loadJournal('r1')).length, 1);
  await store.close();
});

test('an in-memory store commits on the calling thread, with the same batching', async () => {
  const store = new SqliteStore(':memory:');
  await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  const entry = (i: number) => ({ key: `k${i}`, occurrence: 0, seq: i, kind: 'agent', output: i, usage: null, costUsd: 0, phase: null, label: null });
  await Promise.all(Array.from({ length: 5 }, (_, i) => store.appendJournal('r1', entry(i))));
  assert.deepEqual((await store.loadJournal('r1')).map((e) => e.output), [0, 1, 2, 3, 4]);
  await assert.rejects(store.appendJournal('ghost', entry(9)), /FOREIGN KEY/);
  await store.close();
});

test('processes that open a new store at the same moment all get it (a `foreman runs` while a run creates it)', async () => {
  const { execFile } = await import('node:child_process');
  const storeUrl = new URL('../src/runtime/sqlite-store.ts', import.meta.url).href;
  const opener = `import { SqliteStore } from ${JSON.stringify(storeUrl)}; const s = new SqliteStore(process.argv[1]); await s.listRuns(); await s.close(); console.log('ok')`;
  for (let round = 0; round < 10; round++) {
    const file = join(tempDir(), 'foreman.db');
    const results = await Promise.all(
      Array.from({ length: 8 }, () => new Promise<string>((resolve) => execFile(process.execPath, ['--input-type=module', '-e', opener, file], (error, stdout, stderr) => resolve(error ? stderr : stdout.trim())))),
    );
    assert.deepEqual(results, Array(8).fill('ok'), results.join('\n'));
  }
});
