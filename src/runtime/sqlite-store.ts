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
import { AGENT_LIST_COLUMNS, checkChangeBundle, json, toAgent, toChangeBundle, toJournalEntry, toRevision, toRun, toSpendTotals, type Row } from './store-rows.ts';
import { RunTakenOverError, type AgentRecord, type ChangeBundle, type ClaimOptions, type JournalEntry, type NewRun, type RunOptions, type RunRecord, type RunRevision, type RunScript, type RunStatus, type SpendCharge, type SpendKey, type SpendTotals, type StoredChange, type Store } from '../contracts/store.ts';
import { isProcessAlive } from './store.ts';


export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #writes: WriteQueue;
  readonly #file: string;
  #limits: DatabaseSync | undefined;
  /** The generation of each run this store created or claimed: its writes of the run are fenced by it. */
  readonly #generations = new Map<string, number>();

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
        `INSERT INTO runs (id, workflow, origin, file, source, args, repo_dir, base_ref, base_sha, options, status, pid, started_at, generation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, 1)`,
      )
      .run(run.id, run.workflow, run.origin, run.file, run.source, json(run.args), run.repoDir, run.baseRef, run.baseSha, json(run.options), process.pid, run.startedAt);
    this.#generations.set(run.id, 1);
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const row = this.#db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
    return row ? toRun(row) : null;
  }

  async listRuns(limit = 100): Promise<RunRecord[]> {
    const rows = this.#db.prepare('SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?').all(limit) as Row[];
    return rows.map(toRun);
  }

  /** `isAlive`: how a holder's pid is checked (tests). */
  async claimRun(id: string, pid: number, options: ClaimOptions & { isAlive?: (pid: number) => boolean } = {}): Promise<boolean> {
    const isAlive = options.isAlive ?? isProcessAlive;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.#db.prepare('SELECT status, pid FROM runs WHERE id = ?').get(id) as Row | undefined;
      if (!row) throw new Error(`no run ${id}`);
      const holder = row.pid as number | null;
      if (!options.takeOver && row.status === 'running' && holder !== null && holder !== pid && isAlive(holder)) {
        this.#db.exec('ROLLBACK');
        return false;
      }
      const claimed = this.#db
        .prepare(`UPDATE runs SET status = 'running', pid = ?, finished_at = NULL, error = NULL, generation = generation + 1 WHERE id = ? RETURNING generation`)
        .get(pid, id) as { generation: number };
      this.#db.exec('COMMIT');
      this.#generations.set(id, Number(claimed.generation));
      return true;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  async updateRunOptions(id: string, options: RunOptions): Promise<void> {
    this.#fenced(id, () => this.#db.prepare('UPDATE runs SET options = ? WHERE id = ?').run(json(options), id));
  }

  /**
   * Writes in one immediate transaction, after checking that the run is still at the generation
   * this store claimed it at: a claim needs the same write lock, so none can come in between.
   */
  #fenced(runId: string, write: () => void): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const held = this.#generations.get(runId);
      if (held !== undefined) {
        const row = this.#db.prepare('SELECT generation FROM runs WHERE id = ?').get(runId) as Row | undefined;
        const current = Number(row?.generation ?? 0);
        if (current !== held) throw new RunTakenOverError(runId, current, held);
      }
      write();
      this.#db.exec('COMMIT');
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  #held(runId: string): { generation?: number } {
    const generation = this.#generations.get(runId);
    return generation === undefined ? {} : { generation };
  }

  async reviseRun(id: string, next: RunScript, replacedAt: string): Promise<void> {
    this.#fenced(id, () => {
      this.#db
        .prepare(
          `INSERT INTO run_revisions (run_id, revision, workflow, origin, file, source, args, replaced_at)
           SELECT id, (SELECT COUNT(*) + 1 FROM run_revisions WHERE run_id = ?), workflow, origin, file, source, args, ? FROM runs WHERE id = ?`,
        )
        .run(id, replacedAt, id);
      this.#db
        .prepare('UPDATE runs SET workflow = ?, origin = ?, file = ?, source = ?, args = ? WHERE id = ?')
        .run(next.workflow, next.origin, next.file, next.source, json(next.args), id);
    });
  }

  async listRevisions(id: string): Promise<RunRevision[]> {
    const rows = this.#db.prepare('SELECT * FROM run_revisions WHERE run_id = ? ORDER BY revision').all(id) as Row[];
    return rows.map(toRevision);
  }

  async finishRun(
    id: string,
    outcome: { status: RunStatus; result: unknown; error: string | null; summary: unknown; finishedAt: string },
  ): Promise<void> {
    this.#fenced(id, () =>
      this.#db
        .prepare('UPDATE runs SET status = ?, pid = NULL, finished_at = ?, result = ?, error = ?, summary = ? WHERE id = ?')
        .run(outcome.status, outcome.finishedAt, json(outcome.result), outcome.error, json(outcome.summary), id),
    );
  }

  async loadJournal(runId: string): Promise<JournalEntry[]> {
    const rows = this.#db.prepare('SELECT * FROM journal WHERE run_id = ? ORDER BY seq').all(runId) as Row[];
    return rows.map(toJournalEntry);
  }

  /** Durable when the promise resolves; see recordAgent. */
  async appendJournal(runId: string, entry: JournalEntry): Promise<void> {
    await this.#writes.submit({ kind: 'journal', runId, ...this.#held(runId), entry });
  }

  /**
   * Group commit on the writer thread: agents that finish in the same turn share one
   * transaction and so one disk sync, and the main thread never waits for the disk. Each
   * caller's promise still resolves only after that commit.
   */
  recordAgent(runId: string, agent: Omit<AgentRecord, 'no'>, completed?: JournalEntry, spend?: SpendCharge): Promise<number> {
    return this.#writes.submit({ kind: 'agent', runId, ...this.#held(runId), agent, ...(completed ? { completed } : {}), ...(spend ? { spend } : {}) });
  }

  async readSpend(keys: readonly SpendKey[]): Promise<SpendTotals[]> {
    const read = this.#db.prepare('SELECT * FROM spend WHERE scope = ? AND period = ?');
    return keys.map((key) => toSpendTotals(read.get(key.scope, key.period) as Row | undefined));
  }

  async listAgents(runId: string): Promise<AgentRecord[]> {
    const rows = this.#db.prepare(`SELECT ${AGENT_LIST_COLUMNS} FROM agents WHERE run_id = ? ORDER BY no`).all(runId) as Row[];
    return rows.map(toAgent);
  }

  async getAgent(runId: string, no: number): Promise<AgentRecord | null> {
    const row = this.#db.prepare('SELECT * FROM agents WHERE run_id = ? AND no = ?').get(runId, no) as Row | undefined;
    return row ? toAgent(row) : null;
  }

  /** Written here, not by the writer thread: the commit (synchronous=FULL) is on disk before the caller goes on to journal. */
  async saveChangeBundle(runId: string, bundle: ChangeBundle): Promise<void> {
    checkChangeBundle(runId, bundle);
    this.#fenced(runId, () =>
      this.#db
        .prepare(
          `INSERT INTO change_bundles (run_id, ref, sha, bundle) VALUES (?, ?, ?, ?)
           ON CONFLICT (run_id, ref) DO UPDATE SET sha = excluded.sha, bundle = excluded.bundle WHERE change_bundles.sha <> excluded.sha`,
        )
        .run(runId, bundle.ref, bundle.sha, bundle.bundle),
    );
  }

  async deleteChangeBundle(runId: string, ref: string): Promise<void> {
    this.#fenced(runId, () => this.#db.prepare('DELETE FROM change_bundles WHERE run_id = ? AND ref = ?').run(runId, ref));
  }

  async listChangeBundles(runId: string): Promise<ChangeBundle[]> {
    const rows = this.#db.prepare('SELECT ref, sha, bundle FROM change_bundles WHERE run_id = ? ORDER BY ref').all(runId) as Row[];
    return rows.map(toChangeBundle);
  }

  async listChanges(runId: string): Promise<StoredChange[]> {
    const rows = this.#db.prepare('SELECT ref, sha FROM change_bundles WHERE run_id = ? ORDER BY ref').all(runId) as Row[];
    return rows.map((row) => ({ ref: row.ref as string, sha: row.sha as string }));
  }

  async getChangeBundle(runId: string, ref: string): Promise<ChangeBundle | null> {
    const row = this.#db.prepare('SELECT ref, sha, bundle FROM change_bundles WHERE run_id = ? AND ref = ?').get(runId, ref) as Row | undefined;
    return row ? toChangeBundle(row) : null;
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
