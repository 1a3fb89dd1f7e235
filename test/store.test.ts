// The run store's contract, run against every backend with the same assertions: the embedded
// SQLite file and PostgreSQL (a private cluster this file starts, a fresh database per test).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { hostname } from 'node:os';
import pg from 'pg';
import { SqliteStore } from '../src/runtime/sqlite-store.ts';
import { MIGRATIONS } from '../src/runtime/sqlite-schema.ts';
import { PostgresStore } from '../src/runtime/postgres-store.ts';
import { POSTGRES_MIGRATIONS } from '../src/runtime/postgres-schema.ts';
import type { NewRun, Store } from '../src/runtime/store.ts';
import { MAX_CHANGE_BUNDLE_BYTES, RunTakenOverError, type ClaimOptions } from '../src/contracts/store.ts';
import { tempDir } from './support/repo.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';

type TestStore = Store & { claimRun(id: string, pid: number, options?: ClaimOptions & { isAlive?: (pid: number) => boolean }): Promise<boolean> };

interface Backend {
  name: string;
  /** Where a new, empty store lives: a file, or a database URL. */
  location(): Promise<string>;
  open(location: string): Promise<TestStore>;
  schemaVersion(location: string): Promise<number>;
  migrations: number;
  /** Leaves the store at `location` as a newer Foreman would: a schema version this one does not know. */
  markNewer(location: string): Promise<void>;
  /** What a failed journal write tells the user to check. */
  writeFailureHint: RegExp;
  /** How many times to start processes opening one new store together: races show only sometimes. */
  rounds: number;
  /** A module a child process runs to open the store at argv[1], list its runs, and print ok. */
  opener: string;
}

const sqlite: Backend = {
  name: 'SQLite',
  location: async () => join(tempDir(), 'foreman.db'),
  open: async (file) => new SqliteStore(file),
  schemaVersion: async (file) => Number((new DatabaseSync(file).prepare('PRAGMA user_version').get() as { user_version: number }).user_version),
  migrations: MIGRATIONS.length,
  markNewer: async (file) => {
    const db = new DatabaseSync(file);
    db.exec('PRAGMA user_version = 99');
    db.close();
  },
  writeFailureHint: /FOREMAN_HOME/,
  rounds: 10,
  opener: `import { SqliteStore } from ${JSON.stringify(new URL('../src/runtime/sqlite-store.ts', import.meta.url).href)};
    const s = new SqliteStore(process.argv[1]); await s.listRuns(); await s.close(); console.log('ok')`,
};

// One cluster for the whole file, started by the first PostgreSQL test that needs it.
let cluster: Promise<PostgresCluster> | null = null;
const postgresCluster = (): Promise<PostgresCluster> => (cluster ??= startPostgres());
after(async () => (await cluster)?.stop());

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

const postgres: Backend = {
  name: 'PostgreSQL',
  location: async () => (await postgresCluster()).createDatabase(),
  // A pool of its own per store: each stands for another worker process.
  open: (url) => PostgresStore.open(url, { share: false }),
  schemaVersion: async (url) => Number((await sql(url, 'SELECT version FROM foreman_schema')).rows[0].version),
  migrations: POSTGRES_MIGRATIONS.length,
  markNewer: async (url) => {
    await sql(url, 'CREATE TABLE foreman_schema (version INTEGER NOT NULL); INSERT INTO foreman_schema VALUES (99)');
  },
  writeFailureHint: /DATABASE_URL/,
  rounds: 4,
  opener: `import { PostgresStore } from ${JSON.stringify(new URL('../src/runtime/postgres-store.ts', import.meta.url).href)};
    const s = await PostgresStore.open(process.argv[1]); await s.listRuns(); await s.close(); console.log('ok')`,
};

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

const agentNo = (i: number) => ({ key: `k${i}`, occurrence: 0, label: `a${i}`, phase: 'P', model: 'm', status: 'done', prompt: `p${i}`, usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, costUsd: 0, turns: 1, elapsedMs: 1, error: null, transcript: {}, finishedAt: 'now' });
const entryNo = (i: number) => ({ key: `k${i}`, occurrence: 0, seq: i, kind: 'agent', output: i, usage: null, costUsd: 0, phase: 'P', label: `a${i}` });

/** Starts `count` processes that each open the store at `location` at once; what each printed. */
function openAtOnce(backend: Backend, location: string, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, () => new Promise<string>((resolve) => execFile(process.execPath, ['--input-type=module', '-e', backend.opener, location], (error, stdout, stderr) => resolve(error ? stderr : stdout.trim())))),
  );
}

for (const backend of [sqlite, postgres]) {
  describe(`the run store on ${backend.name}`, () => {
    test('migrations set the schema version and reopening keeps every run, journal entry and agent', async () => {
      const location = await backend.location();
      const store = await backend.open(location);
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

      assert.equal(await backend.schemaVersion(location), backend.migrations);

      const reopened = await backend.open(location);
      assert.deepEqual((await reopened.listRuns()).map((r) => r.id), ['r2', 'r1']);
      const run = await reopened.getRun('r1');
      assert.equal(run?.status, 'completed');
      assert.equal(run?.pid, null);
      assert.equal(run?.finishedAt, 'later');
      assert.deepEqual(run?.result, { ok: true });
      assert.deepEqual(run?.summary, { agents: 1 });
      assert.deepEqual(run?.args, { concern: 'auth' });
      assert.deepEqual(run?.options, newRun('r1', '').options);
      assert.equal(await reopened.getRun('nope'), null);
      const journal = await reopened.loadJournal('r1');
      assert.equal(journal.length, 1);
      assert.deepEqual(journal[0], { key: 'k', occurrence: 0, seq: 1, kind: 'agent', output: { files: ['a'] }, usage: { input: 1, output: 2, cacheRead: 3, cacheWrite: 4 }, costUsd: 0.5, phase: 'Map', label: 'map' });
      assert.deepEqual((await reopened.listAgents('r1')).map((a) => a.status), ['done', 'error']);
      // A list is everything but the transcripts; one agent has its own.
      assert.deepEqual((await reopened.listAgents('r1'))[0], { no: 1, ...agentBase, transcript: null });
      assert.deepEqual(await reopened.getAgent('r1', 1), { no: 1, ...agentBase });
      assert.equal((await reopened.getAgent('r1', 2))?.status, 'error');
      assert.equal(await reopened.getAgent('r1', 3), null);
      await reopened.close();
    });

    test('runs started in the same instant list newest first, and the limit holds', async () => {
      const store = await backend.open(await backend.location());
      for (const id of ['a', 'b', 'c']) await store.createRun(newRun(id, '2026-11-21T10:00:00Z'));
      assert.deepEqual((await store.listRuns()).map((r) => r.id), ['c', 'b', 'a']);
      assert.deepEqual((await store.listRuns(2)).map((r) => r.id), ['c', 'b']);
      await store.close();
    });

    test('claimRun refuses a run held by a live process and takes over one whose process is gone', async () => {
      const store = await backend.open(await backend.location());
      await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
      // createRun records this process as the holder.
      assert.equal((await store.getRun('r1'))?.pid, process.pid);
      assert.equal(await store.claimRun('r1', 999_999, { isAlive: () => true }), false);
      assert.equal(await store.claimRun('r1', 999_999, { isAlive: () => false }), true);
      assert.equal((await store.getRun('r1'))?.pid, 999_999);
      await assert.rejects(store.claimRun('ghost', 1), /no run ghost/);
      await store.close();
    });

    test("a worker holding the queue's lease takes a run over whatever process is recorded as its holder; without it a live holder keeps the run", async () => {
      const store = await backend.open(await backend.location());
      await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
      // The holder's pid is alive here (it is this process): on another host it means nothing.
      assert.equal(await store.claimRun('r1', 999_999), false);
      assert.equal(await store.claimRun('r1', 999_999, { takeOver: true }), true);
      assert.equal((await store.getRun('r1'))?.pid, 999_999);
      await store.close();
    });

    test('a store whose run was taken over writes nothing more of it: journal, agents, spend, bundles, options, revisions, outcome', async () => {
      const location = await backend.location();
      const stale = await backend.open(location);
      await stale.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
      await stale.createRun(newRun('r2', '2026-11-21T10:00:00Z'));
      await stale.saveChangeBundle('r1', { ref: 'refs/foreman/r1/c1', sha: 'a'.repeat(40), bundle: Uint8Array.of(1) });
      await stale.appendJournal('r1', entryNo(1));
      // Another worker got the run's lease while this one had not noticed losing it.
      const fresh = await backend.open(location);
      assert.equal(await fresh.claimRun('r1', 999_999, { takeOver: true }), true);

      const takenOver = /run r1 was taken over by another worker \(generation 2 > 1\); this worker stops/;
      const spendKey = { scope: 'repository:o/r', period: 'day:2026-11-21' };
      const refused = await Promise.allSettled([
        stale.appendJournal('r1', entryNo(2)),
        stale.recordAgent('r1', agentNo(3), entryNo(3), { keys: [spendKey], usd: 1, tokens: 10 }),
        // Another run's write in the same group commit is not held back.
        stale.appendJournal('r2', entryNo(4)),
      ]);
      assert.deepEqual(refused.map((r) => r.status), ['rejected', 'rejected', 'fulfilled']);
      for (const outcome of refused.slice(0, 2)) {
        const error = (outcome as PromiseRejectedResult).reason as Error;
        assert.ok(error instanceof RunTakenOverError, String(error));
        assert.match(error.message, takenOver);
      }
      await assert.rejects(stale.saveChangeBundle('r1', { ref: 'refs/foreman/r1/c1', sha: 'b'.repeat(40), bundle: Uint8Array.of(2) }), takenOver);
      await assert.rejects(stale.saveChangeBundle('r1', { ref: 'refs/foreman/r1/c2', sha: 'b'.repeat(40), bundle: Uint8Array.of(2) }), takenOver);
      await assert.rejects(stale.deleteChangeBundle('r1', 'refs/foreman/r1/c1'), takenOver);
      await assert.rejects(stale.updateRunOptions('r1', { ...newRun('r1', '').options, budgetTokens: 5 }), takenOver);
      await assert.rejects(stale.reviseRun('r1', { workflow: 'audit', origin: 'repo', file: 'b.js', source: 'v2', args: null }, 't1'), takenOver);
      await assert.rejects(stale.finishRun('r1', { status: 'completed', result: 'stale', error: null, summary: null, finishedAt: 'now' }), takenOver);

      // Nothing of it landed: the journal's answers and the kept bundle are what the new holder sees.
      assert.deepEqual((await fresh.loadJournal('r1')).map((e) => e.seq), [1]);
      assert.deepEqual(await fresh.listAgents('r1'), []);
      assert.deepEqual((await fresh.readSpend([spendKey]))[0]?.agents, 0);
      assert.deepEqual((await fresh.listChangeBundles('r1')).map((b) => [b.ref, b.sha, [...b.bundle]]), [['refs/foreman/r1/c1', 'a'.repeat(40), [1]]]);
      assert.deepEqual(await fresh.listRevisions('r1'), []);
      const run = await fresh.getRun('r1');
      assert.deepEqual([run?.status, run?.pid, run?.source, run?.options.budgetTokens], ['running', 999_999, 'export const meta = {}', null]);
      assert.deepEqual((await fresh.loadJournal('r2')).map((e) => e.seq), [4]);

      // The new holder writes as ever.
      await fresh.appendJournal('r1', entryNo(2));
      assert.equal(await fresh.recordAgent('r1', agentNo(3)), 1);
      await fresh.saveChangeBundle('r1', { ref: 'refs/foreman/r1/c1', sha: 'c'.repeat(40), bundle: Uint8Array.of(3) });
      await fresh.finishRun('r1', { status: 'completed', result: 'fresh', error: null, summary: null, finishedAt: 'now' });
      assert.equal((await fresh.getRun('r1'))?.result, 'fresh');
      await Promise.all([stale.close(), fresh.close()]);
    });

    test('a resume that revises the script keeps what ran before, oldest first, and raised caps stay', async () => {
      const store = await backend.open(await backend.location());
      await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
      await store.reviseRun('r1', { workflow: 'audit', origin: 'repo', file: 'b.js', source: 'v2', args: { n: 2 } }, 't1');
      await store.reviseRun('r1', { workflow: 'audit', origin: 'repo', file: 'c.js', source: 'v3', args: null }, 't2');
      const options = { ...newRun('r1', '').options, budgetTokens: 5000 };
      await store.updateRunOptions('r1', options);
      const revisions = await store.listRevisions('r1');
      assert.deepEqual(revisions.map((r) => [r.revision, r.source, r.file, r.replacedAt]), [[1, 'export const meta = {}', '.claude/workflows/audit.js', 't1'], [2, 'v2', 'b.js', 't2']]);
      assert.deepEqual(revisions[0]?.args, { concern: 'auth' });
      const run = await store.getRun('r1');
      assert.equal(run?.source, 'v3');
      assert.equal(run?.args, null);
      assert.deepEqual(run?.options, options);
      await store.close();
    });

    test('a store written by a newer Foreman is refused with a clear message', async () => {
      const location = await backend.location();
      await backend.markNewer(location);
      await assert.rejects(backend.open(location), /newer Foreman.*upgrade Foreman/);
    });

    test('agents recorded in the same tick get distinct numbers in call order, every one of them stored', async () => {
      const location = await backend.location();
      const store = await backend.open(location);
      await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
      const numbers = await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordAgent('r1', agentNo(i), entryNo(i))));
      assert.deepEqual(numbers, Array.from({ length: 20 }, (_, i) => i + 1));
      await store.close();
      // Everything is committed once the promises resolved: a fresh connection sees it all.
      const reopened = await backend.open(location);
      assert.equal((await reopened.loadJournal('r1')).length, 20);
      assert.equal((await reopened.listAgents('r1')).length, 20);
      await reopened.close();
    });

    test('two stores recording agents of one run at once number them without a gap or a repeat', async () => {
      const location = await backend.location();
      const [one, two] = [await backend.open(location), await backend.open(location)];
      await one.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
      const numbers = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? one : two).recordAgent('r1', agentNo(i))));
      assert.deepEqual([...numbers].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));
      await one.close();
      await two.close();
    });

    test('a journal write that cannot be committed rejects with what to do, and the store stays usable', async () => {
      const store = await backend.open(await backend.location());
      await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
      const entry = { key: 'k', occurrence: 0, seq: 1, kind: 'agent', output: 1, usage: null, costUsd: 0, phase: null, label: null };
      // No run "ghost": the foreign key refuses the row.
      const refused = await store.appendJournal('ghost', entry).then(() => null, (error: Error) => error);
      assert.match(refused?.message ?? '', /could not commit a journal write \(.*foreign key.*\).*resume/i);
      assert.match(refused?.message ?? '', backend.writeFailureHint);
      await store.appendJournal('r1', entry);
      assert.equal((await store.loadJournal('r1')).length, 1);
      await store.close();
    });

    test('any text a script or a model writes reads back exactly, NUL characters included', async () => {
      const location = await backend.location();
      const store = await backend.open(location);
      const odd = 'a\0b\uffff0c\uffff\uffffd\0';
      await store.createRun({ ...newRun('r1', '2026-11-21T10:00:00Z'), source: `// ${odd}`, args: { odd } });
      await store.recordAgent('r1', { ...agentNo(1), prompt: odd, label: odd, error: odd, transcript: [odd] }, { ...entryNo(1), output: odd, label: odd });
      await store.finishRun('r1', { status: 'failed', result: odd, error: odd, summary: null, finishedAt: 'later' });
      assert.equal(await store.getRun(`r1\0`), null);
      await store.close();
      const reopened = await backend.open(location);
      const run = await reopened.getRun('r1');
      assert.deepEqual([run?.source, run?.args, run?.result, run?.error], [`// ${odd}`, { odd }, odd, odd]);
      const agent = await reopened.getAgent('r1', 1);
      assert.deepEqual([agent?.prompt, agent?.label, agent?.error, agent?.transcript], [odd, odd, odd, [odd]]);
      const [entry] = await reopened.loadJournal('r1');
      assert.deepEqual([entry?.output, entry?.label], [odd, odd]);
      await reopened.close();
    });

    test('the spend ledger: two workers recording agents at once add their spend to every scope and period exactly, in the transaction that records each agent', async () => {
      const location = await backend.location();
      const [one, two] = [await backend.open(location), await backend.open(location)];
      await one.createRun(newRun('r1', '2026-12-01T10:00:00Z'));
      await two.createRun(newRun('r2', '2026-12-01T10:00:00Z'));
      const keys = [
        { scope: 'repository:o/r', period: 'day:2026-12-01' },
        { scope: 'repository:o/r', period: 'month:2026-12' },
        { scope: 'installation:7', period: 'day:2026-12-01' },
      ];
      // Binary fractions, so the sum is exact whatever order the workers' commits land in.
      await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => one.recordAgent('r1', agentNo(i), entryNo(i), { keys, usd: 0.25, tokens: 10 })),
        ...Array.from({ length: 20 }, (_, i) => two.recordAgent('r2', agentNo(i), entryNo(i), { keys: keys.slice(0, 2), usd: 0.5, tokens: 30 })),
      ]);
      const both = { usd: 15, tokens: 800, agents: 40, largestUsd: 0.5, largestTokens: 30 };
      assert.deepEqual(await one.readSpend([...keys, { scope: 'repository:o/r', period: 'day:2026-12-02' }]), [
        both,
        both,
        { usd: 5, tokens: 200, agents: 20, largestUsd: 0.25, largestTokens: 10 },
        { usd: 0, tokens: 0, agents: 0, largestUsd: 0, largestTokens: 0 },
      ]);
      // An agent whose record fails (no such run) adds nothing: the spend shares its transaction.
      await assert.rejects(one.recordAgent('no-such-run', agentNo(99), undefined, { keys, usd: 100, tokens: 100 }));
      assert.deepEqual((await two.readSpend(keys.slice(0, 1)))[0], both);
      // Nor when it shares a commit with an agent that is recorded (PostgreSQL rolls the bad write back
      // alone; SQLite fails the whole commit): the ledger has exactly the agents recorded.
      const [failed, recorded] = await Promise.allSettled([
        one.recordAgent('no-such-run', agentNo(98), undefined, { keys, usd: 100, tokens: 100 }),
        one.recordAgent('r1', agentNo(50), entryNo(50), { keys, usd: 0.25, tokens: 10 }),
      ]);
      assert.equal(failed.status, 'rejected');
      const added = recorded.status === 'fulfilled' ? { usd: 15.25, tokens: 810, agents: 41 } : {};
      assert.deepEqual((await two.readSpend(keys.slice(0, 1)))[0], { ...both, ...added });
      await Promise.all([one.close(), two.close()]);
    });

    test('change bundles: kept per ref across reopening, replaced when the sha moves, a no-op for the same sha, deleted, capped', async () => {
      const location = await backend.location();
      const store = await backend.open(location);
      await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
      await store.createRun(newRun('r2', '2026-11-21T10:00:00Z'));
      // Every byte value, NUL included: a bundle is a binary pack.
      const bytes = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
      await store.saveChangeBundle('r1', { ref: 'refs/foreman/r1/shared', sha: 'a'.repeat(40), bundle: bytes });
      await store.saveChangeBundle('r1', { ref: 'refs/foreman/r1/c1', sha: 'b'.repeat(40), bundle: Uint8Array.of(1) });
      // The same ref and sha again changes nothing, whatever bytes come with it.
      await store.saveChangeBundle('r1', { ref: 'refs/foreman/r1/c1', sha: 'b'.repeat(40), bundle: Uint8Array.of(9, 9) });
      await store.saveChangeBundle('r2', { ref: 'refs/foreman/r2/c1', sha: 'c'.repeat(40), bundle: Uint8Array.of(2) });
      await store.close();

      const reopened = await backend.open(location);
      const listed = await reopened.listChangeBundles('r1');
      assert.deepEqual(listed.map((b) => [b.ref, b.sha, [...b.bundle]]), [
        ['refs/foreman/r1/c1', 'b'.repeat(40), [1]],
        ['refs/foreman/r1/shared', 'a'.repeat(40), [...bytes]],
      ]);
      // The shared worktree's snapshot moves on: its ref now holds the new commit only.
      await reopened.saveChangeBundle('r1', { ref: 'refs/foreman/r1/shared', sha: 'd'.repeat(40), bundle: Uint8Array.of(4) });
      await reopened.deleteChangeBundle('r1', 'refs/foreman/r1/c1');
      assert.deepEqual((await reopened.listChangeBundles('r1')).map((b) => [b.ref, b.sha, [...b.bundle]]), [['refs/foreman/r1/shared', 'd'.repeat(40), [4]]]);
      assert.deepEqual((await reopened.listChangeBundles('r2')).map((b) => b.ref), ['refs/foreman/r2/c1']);

      await assert.rejects(reopened.saveChangeBundle('r1', { ref: 'refs/foreman/r2/c9', sha: 'e'.repeat(40), bundle: Uint8Array.of(1) }), /not a change ref of run r1/);
      await assert.rejects(reopened.saveChangeBundle('r1', { ref: 'refs/heads/main', sha: 'e'.repeat(40), bundle: Uint8Array.of(1) }), /not a change ref of run r1/);
      const huge = new Uint8Array(MAX_CHANGE_BUNDLE_BYTES + 1);
      await assert.rejects(reopened.saveChangeBundle('r1', { ref: 'refs/foreman/r1/c2', sha: 'e'.repeat(40), bundle: huge }), /32\.0 MiB git bundle, over the 32\.0 MiB cap.*\.gitignore/);
      assert.equal((await reopened.listChangeBundles('r1')).length, 1);
      await reopened.close();
    });

    test('rate-limit state: stores on one location change it atomically, so concurrent changes lose none', async () => {
      const location = await backend.location();
      const [a, b] = [await backend.open(location), await backend.open(location)];
      assert.equal(await a.updateRateLimit('org', (state) => ({ state: '0', result: state })), null);
      const bump = (store: TestStore) => store.updateRateLimit('org', (state) => ({ state: String(Number(state) + 1), result: Number(state) + 1 }));
      const seen = await Promise.all(Array.from({ length: 40 }, (_, i) => bump(i % 2 ? a : b)));
      // Each change read what the one before wrote: forty different counts, the last one forty.
      assert.deepEqual([...seen].sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1));
      assert.equal(await b.updateRateLimit('other', (state) => ({ state: 'x', result: state })), null, 'keys are separate');
      // A change that throws writes nothing.
      await assert.rejects(a.updateRateLimit('org', () => { throw new Error('no'); }), /no/);
      assert.equal(await a.updateRateLimit('org', (state) => ({ state: state!, result: state })), '40');
      await Promise.all([a.close(), b.close()]);
    });

    test('processes that open a new store at the same moment all get it (several workers or a `foreman runs` starting together)', async () => {
      for (let round = 0; round < backend.rounds; round++) {
        const location = await backend.location();
        const results = await openAtOnce(backend, location, 8);
        assert.deepEqual(results, Array(8).fill('ok'), results.join('\n'));
        assert.equal(await backend.schemaVersion(location), backend.migrations);
      }
    });
  });
}

test('PostgreSQL: stores opening at once on a fresh database migrate it once, under the advisory lock', async () => {
  const url = await postgres.location();
  const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open(url, { poolSize: 2, share: false })));
  await stores[0]!.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  for (const store of stores) assert.equal((await store.getRun('r1'))?.id, 'r1');
  await Promise.all(stores.map((store) => store.close()));
  assert.deepEqual((await sql(url, 'SELECT version FROM foreman_schema')).rows, [{ version: POSTGRES_MIGRATIONS.length }]);
  // Opening again finds nothing to do.
  await (await PostgresStore.open(url, { share: false })).close();
  assert.equal(await postgres.schemaVersion(url), POSTGRES_MIGRATIONS.length);
});

test('PostgreSQL: a bad write sharing a group commit with good ones fails alone', async () => {
  const store = await postgres.open(await postgres.location());
  await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  const [bad, good, agent] = await Promise.allSettled([store.appendJournal('ghost', entryNo(1)), store.appendJournal('r1', entryNo(2)), store.recordAgent('r1', agentNo(3))]);
  assert.deepEqual([bad.status, good.status, agent.status], ['rejected', 'fulfilled', 'fulfilled']);
  assert.deepEqual((await store.loadJournal('r1')).map((e) => e.seq), [2]);
  await store.close();
});

test('SQLite: an in-memory store commits on the calling thread, with the same batching', async () => {
  const store = new SqliteStore(':memory:');
  await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  const entry = (i: number) => ({ key: `k${i}`, occurrence: 0, seq: i, kind: 'agent', output: i, usage: null, costUsd: 0, phase: null, label: null });
  await Promise.all(Array.from({ length: 5 }, (_, i) => store.appendJournal('r1', entry(i))));
  assert.deepEqual((await store.loadJournal('r1')).map((e) => e.output), [0, 1, 2, 3, 4]);
  await assert.rejects(store.appendJournal('ghost', entry(9)), /FOREIGN KEY/);
  await store.close();
});

test('PostgreSQL: a database that cannot be reached is an error naming it, not a hang', async () => {
  const { databaseUrl } = await postgresCluster();
  const unused = databaseUrl.replace(/:\d+\//, ':1/');
  await assert.rejects(PostgresStore.open(unused), /ECONNREFUSED/);
});

test('PostgreSQL: two stores committing agents of the same runs in opposite orders never deadlock', async () => {
  const location = await postgres.location();
  const [a, b] = [await postgres.open(location), await postgres.open(location)];
  try {
    const runs = ['r1', 'r2', 'r3'];
    for (const id of runs) await a.createRun(newRun(id, '2026-11-21T10:00:00Z'));
    const rounds = 30;
    for (let round = 0; round < rounds; round++) {
      // Each store's writes of one turn share one transaction: a's batch takes the runs in one order, b's in the other.
      await Promise.all([...runs.map((id) => a.recordAgent(id, agentNo(round))), ...[...runs].reverse().map((id) => b.recordAgent(id, agentNo(round)))]);
    }
    for (const id of runs) {
      assert.deepEqual(
        (await a.listAgents(id)).map((agent) => agent.no),
        Array.from({ length: rounds * 2 }, (_, i) => i + 1),
        `${id}: every agent numbered once`,
      );
    }
  } finally {
    await a.close();
    await b.close();
  }
});

test('PostgreSQL: a run held on another host is not judged by its pid here: refused without a takeover, taken with one', async () => {
  const url = await postgres.location();
  const store = await postgres.open(url);
  await store.createRun(newRun('r1', '2026-11-21T10:00:00Z'));
  // A pid that no process has here: the holder on the other host may well be alive.
  await sql(url, "UPDATE runs SET host = 'another-host', pid = 999999 WHERE id = 'r1'");
  assert.equal((await store.getRun('r1'))?.host, 'another-host');
  assert.equal(await store.claimRun('r1', process.pid, { isAlive: () => false }), false);
  assert.equal(await store.claimRun('r1', process.pid, { takeOver: true }), true);
  const run = await store.getRun('r1');
  assert.deepEqual([run?.pid, run?.host], [process.pid, hostname()]);
  await store.close();
});

test("PostgreSQL: a process's runs share one pool per database, at most 4 connections however many runs, closed with the last", async () => {
  const url = await postgres.location();
  const connections = async (): Promise<number> =>
    Number((await sql(url, 'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows[0].n);
  const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open(url)));
  await Promise.all(stores.map(async (store, i) => {
    await store.createRun(newRun(`r${i}`, '2026-11-21T10:00:00Z'));
    await Promise.all(Array.from({ length: 5 }, (_, n) => store.recordAgent(`r${i}`, agentNo(n))));
  }));
  assert.ok((await connections()) <= 4, `${await connections()} connections for 6 runs`);
  for (const store of stores.slice(1)) await store.close();
  assert.equal((await stores[0]!.listAgents('r5')).length, 5, 'the last store still reads and writes');
  await stores[0]!.close();
  for (let i = 0; i < 50 && (await connections()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await connections(), 0, 'the pool is closed with the last store');
});
