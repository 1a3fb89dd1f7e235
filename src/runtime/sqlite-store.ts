// Embedded SQLite store (node:sqlite): one file under $FOREMAN_HOME. WAL with synchronous=FULL so
// a journal entry is on disk before the script sees the result it records. Journal entries and
// agent records are committed by a writer thread (sqlite-writer-thread.ts); the rest is rare and
// written here.
import type { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { InlineWriteQueue, ThreadWriteQueue, type WriteQueue } from './sqlite-write-queue.ts';
import { migrate } from './sqlite-schema.ts';
import { openDatabase } from './sqlite-writes.ts';
import { checkChangeBundle, json, toAgent, toChangeBundle, toJournalEntry, toRevision, toRun, toSpendTotals, type Row } from './store-rows.ts';
import type { AgentRecord, ChangeBundle, JournalEntry, NewRun, RunOptions, RunRecord, RunRevision, RunScript, RunStatus, SpendCharge, SpendKey, SpendTotals, Store } from '../contracts/store.ts';
import { isProcessAlive } from './store.ts';


export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #writes: WriteQueue;
  readonly #file: string;
  #limits: DatabaseSync | undefined;

  constructor(file: string) {
    const inMemory = file === ':memory:';
    if (!inMemory) mkdirSync(dirname(file), { recursive: true });
    this.#file = file;
    this.#db = openDatabase(file);
    migrate(this.#db);
    this.#writes = inMemory ? new InlineWriteQueue(this.#db) : new ThreadWriteQueue(file);
  }

  async createRun(run: NewRun): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO runs (id, workflow, origin, file, source, args, repo_dir, base_ref, base_sha, options, status, pid, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
      )
      .run(run.id, run.workflow, run.origin, run.file, run.source, json(run.args), run.repoDir, run.baseRef, run.baseSha, json(run.options), process.pid, run.startedAt);
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const row = this.#db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
    return row ? toRun(row) : null;
  }

  async listRuns(limit = 100): Promise<RunRecord[]> {
    const rows = this.#db.prepare('SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?').all(limit) as Row[];
    return rows.map(toRun);
  }

  async claimRun(id: string, pid: number, isAlive: (pid: number) => boolean = isProcessAlive): Promise<boolean> {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.#db.prepare('SELECT status, pid FROM runs WHERE id = ?').get(id) as Row | undefined;
      if (!row) throw new Error(`no run ${id}`);
      const holder = row.pid as number | null;
      if (row.status === 'running' && holder !== null && holder !== pid && isAlive(holder)) {
        this.#db.exec('ROLLBACK');
        return false;
      }
      this.#db.prepare(`UPDATE runs SET status = 'running', pid = ?, finished_at = NULL, error = NULL WHERE id = ?`).run(pid, id);
      this.#db.exec('COMMIT');
      return true;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async updateRunOptions(id: string, options: RunOptions): Promise<void> {
    this.#db.prepare('UPDATE runs SET options = ? WHERE id = ?').run(json(options), id);
  }

  async reviseRun(id: string, next: RunScript, replacedAt: string): Promise<void> {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      this.#db
        .prepare(
          `INSERT INTO run_revisions (run_id, revision, workflow, origin, file, source, args, replaced_at)
           SELECT id, (SELECT COUNT(*) + 1 FROM run_revisions WHERE run_id = ?), workflow, origin, file, source, args, ? FROM runs WHERE id = ?`,
        )
        .run(id, replacedAt, id);
      this.#db
        .prepare('UPDATE runs SET workflow = ?, origin = ?, file = ?, source = ?, args = ? WHERE id = ?')
        .run(next.workflow, next.origin, next.file, next.source, json(next.args), id);
      this.#db.exec('COMMIT');
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async listRevisions(id: string): Promise<RunRevision[]> {
    const rows = this.#db.prepare('SELECT * FROM run_revisions WHERE run_id = ? ORDER BY revision').all(id) as Row[];
    return rows.map(toRevision);
  }

  async finishRun(
    id: string,
    outcome: { status: RunStatus; result: unknown; error: string | null; summary: unknown; finishedAt: string },
  ): Promise<void> {
    this.#db
      .prepare('UPDATE runs SET status = ?, pid = NULL, finished_at = ?, result = ?, error = ?, summary = ? WHERE id = ?')
      .run(outcome.status, outcome.finishedAt, json(outcome.result), outcome.error, json(outcome.summary), id);
  }

  async loadJournal(runId: string): Promise<JournalEntry[]> {
    const rows = this.#db.prepare('SELECT * FROM journal WHERE run_id = ? ORDER BY seq').all(runId) as Row[];
    return rows.map(toJournalEntry);
  }

  /** Durable when the promise resolves; see recordAgent. */
  async appendJournal(runId: string, entry: JournalEntry): Promise<void> {
    await this.#writes.submit({ kind: 'journal', runId, entry });
  }

  /**
   * Group commit on the writer thread: agents that finish in the same turn share one
   * transaction and so one disk sync, and the main thread never waits for the disk. Each
   * caller's promise still resolves only after that commit.
   */
  recordAgent(runId: string, agent: Omit<AgentRecord, 'no'>, completed?: JournalEntry, spend?: SpendCharge): Promise<number> {
    return this.#writes.submit({ kind: 'agent', runId, agent, ...(completed ? { completed } : {}), ...(spend ? { spend } : {}) });
  }

  async readSpend(keys: readonly SpendKey[]): Promise<SpendTotals[]> {
    const read = this.#db.prepare('SELECT * FROM spend WHERE scope = ? AND period = ?');
    return keys.map((key) => toSpendTotals(read.get(key.scope, key.period) as Row | undefined));
  }

  async listAgents(runId: string): Promise<AgentRecord[]> {
    const rows = this.#db.prepare('SELECT * FROM agents WHERE run_id = ? ORDER BY no').all(runId) as Row[];
    return rows.map(toAgent);
  }

  async getAgent(runId: string, no: number): Promise<AgentRecord | null> {
    const row = this.#db.prepare('SELECT * FROM agents WHERE run_id = ? AND no = ?').get(runId, no) as Row | undefined;
    return row ? toAgent(row) : null;
  }

  /** Written here, not by the writer thread: the commit (synchronous=FULL) is on disk before the caller goes on to journal. */
  async saveChangeBundle(runId: string, bundle: ChangeBundle): Promise<void> {
    checkChangeBundle(runId, bundle);
    this.#db
      .prepare(
        `INSERT INTO change_bundles (run_id, ref, sha, bundle) VALUES (?, ?, ?, ?)
         ON CONFLICT (run_id, ref) DO UPDATE SET sha = excluded.sha, bundle = excluded.bundle WHERE change_bundles.sha <> excluded.sha`,
      )
      .run(runId, bundle.ref, bundle.sha, bundle.bundle);
  }

  async deleteChangeBundle(runId: string, ref: string): Promise<void> {
    this.#db.prepare('DELETE FROM change_bundles WHERE run_id = ? AND ref = ?').run(runId, ref);
  }

  async listChangeBundles(runId: string): Promise<ChangeBundle[]> {
    const rows = this.#db.prepare('SELECT ref, sha, bundle FROM change_bundles WHERE run_id = ? ORDER BY ref').all(runId) as Row[];
    return rows.map(toChangeBundle);
  }

  /**
   * One immediate transaction: it holds the file's write lock from its first read. On a connection
   * of its own without a disk sync per commit (synchronous=NORMAL; WAL keeps the file sound): the
   * state is re-learned from the next response's headers if a power cut loses it, and a sync per
   * request would cost milliseconds of this thread (docs/architecture.md, "Shared rate limits").
   */
  async updateRateLimit<T>(key: string, change: (state: string | null) => { state: string; result: T }): Promise<T> {
    const db = this.#limitsConnection();
    db.exec('BEGIN IMMEDIATE');
    try {
      const row = db.prepare('SELECT state FROM rate_limits WHERE key = ?').get(key) as Row | undefined;
      const { state, result } = change(row ? (row.state as string) : null);
      db.prepare('INSERT INTO rate_limits (key, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at').run(key, state, Date.now());
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  #limitsConnection(): DatabaseSync {
    if (this.#file === ':memory:') return this.#db;
    if (!this.#limits) {
      this.#limits = openDatabase(this.#file);
      this.#limits.exec('PRAGMA synchronous = NORMAL');
    }
    return this.#limits;
  }

  prepareWrites(): void {
    this.#writes.prepare();
  }

  async close(): Promise<void> {
    await this.#writes.close();
    if (this.#limits?.isOpen) this.#limits.close();
    if (this.#db.isOpen) this.#db.close();
  }
}
