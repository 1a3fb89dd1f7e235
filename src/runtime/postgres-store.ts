// The run store on PostgreSQL, for many workers sharing one database; the same contract as the
// embedded SqliteStore. A journal entry is in a committed transaction before the script sees the
// result it records (postgres-writes.ts); the rest is rare and written directly.
import type pg from 'pg';
import { Queries, transaction } from './postgres-client.ts';
import { checkChangeBundle, json, toAgent, toChangeBundle, toJournalEntry, toRevision, toRun, toSpendTotals } from './store-rows.ts';
import { openMigratedPool } from './postgres-schema.ts';
import { GroupCommitter } from './postgres-writes.ts';
import type { AgentRecord, ChangeBundle, JournalEntry, NewRun, RunOptions, RunRecord, RunRevision, RunScript, RunStatus, SpendCharge, SpendKey, SpendTotals, Store } from '../contracts/store.ts';
import { isProcessAlive } from './store.ts';


export interface PostgresStoreOptions {
  /** Connections at most; a run's writes are grouped, so a few serve many agents. */
  poolSize?: number;
}

export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #db: Queries;
  readonly #writes: GroupCommitter;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#db = new Queries(pool);
    this.#writes = new GroupCommitter(pool);
  }

  /** Connects and brings the database's schema up to date (safe with many processes at once). */
  static async open(databaseUrl: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    return new PostgresStore(await openMigratedPool(databaseUrl, options.poolSize ?? 4));
  }

  async createRun(run: NewRun): Promise<void> {
    await this.#db.rows(
      `INSERT INTO runs (id, workflow, origin, file, source, args, repo_dir, base_ref, base_sha, options, status, pid, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $11, $12)`,
      [run.id, run.workflow, run.origin, run.file, run.source, json(run.args), run.repoDir, run.baseRef, run.baseSha, json(run.options), process.pid, run.startedAt],
    );
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const row = await this.#db.row('SELECT * FROM runs WHERE id = $1', [id]);
    return row ? toRun(row) : null;
  }

  async listRuns(limit = 100): Promise<RunRecord[]> {
    return (await this.#db.rows('SELECT * FROM runs ORDER BY started_at DESC, created DESC LIMIT $1', [limit])).map(toRun);
  }

  async claimRun(id: string, pid: number, isAlive: (pid: number) => boolean = isProcessAlive): Promise<boolean> {
    return transaction(this.#pool, async (db) => {
      const row = await db.row('SELECT status, pid FROM runs WHERE id = $1 FOR UPDATE', [id]);
      if (!row) throw new Error(`no run ${id}`);
      const holder = row.pid as number | null;
      if (row.status === 'running' && holder !== null && holder !== pid && isAlive(holder)) return false;
      await db.rows(`UPDATE runs SET status = 'running', pid = $1, finished_at = NULL, error = NULL WHERE id = $2`, [pid, id]);
      return true;
    });
  }

  async updateRunOptions(id: string, options: RunOptions): Promise<void> {
    await this.#db.rows('UPDATE runs SET options = $1 WHERE id = $2', [json(options), id]);
  }

  async reviseRun(id: string, next: RunScript, replacedAt: string): Promise<void> {
    await transaction(this.#pool, async (db) => {
      // Holding the run's row numbers concurrent revisions one after the other.
      await db.rows('SELECT 1 FROM runs WHERE id = $1 FOR NO KEY UPDATE', [id]);
      await db.rows(
        `INSERT INTO run_revisions (run_id, revision, workflow, origin, file, source, args, replaced_at)
         SELECT id, (SELECT COUNT(*) + 1 FROM run_revisions WHERE run_id = $1), workflow, origin, file, source, args, $2 FROM runs WHERE id = $1`,
        [id, replacedAt],
      );
      await db.rows('UPDATE runs SET workflow = $1, origin = $2, file = $3, source = $4, args = $5 WHERE id = $6', [next.workflow, next.origin, next.file, next.source, json(next.args), id]);
    });
  }

  async listRevisions(id: string): Promise<RunRevision[]> {
    const rows = await this.#db.rows('SELECT * FROM run_revisions WHERE run_id = $1 ORDER BY revision', [id]);
    return rows.map(toRevision);
  }

  async finishRun(
    id: string,
    outcome: { status: RunStatus; result: unknown; error: string | null; summary: unknown; finishedAt: string },
  ): Promise<void> {
    await this.#db.rows('UPDATE runs SET status = $1, pid = NULL, finished_at = $2, result = $3, error = $4, summary = $5 WHERE id = $6', [
      outcome.status,
      outcome.finishedAt,
      json(outcome.result),
      outcome.error,
      json(outcome.summary),
      id,
    ]);
  }

  async loadJournal(runId: string): Promise<JournalEntry[]> {
    const rows = await this.#db.rows('SELECT * FROM journal WHERE run_id = $1 ORDER BY seq', [runId]);
    return rows.map(toJournalEntry);
  }

  /** Durable when the promise resolves: its transaction has committed. */
  async appendJournal(runId: string, entry: JournalEntry): Promise<void> {
    await this.#writes.submit({ kind: 'journal', runId, entry });
  }

  recordAgent(runId: string, agent: Omit<AgentRecord, 'no'>, completed?: JournalEntry, spend?: SpendCharge): Promise<number> {
    return this.#writes.submit({ kind: 'agent', runId, agent, ...(completed ? { completed } : {}), ...(spend ? { spend } : {}) });
  }

  async readSpend(keys: readonly SpendKey[]): Promise<SpendTotals[]> {
    return Promise.all(keys.map(async (key) => toSpendTotals(await this.#db.row('SELECT * FROM spend WHERE scope = $1 AND period = $2', [key.scope, key.period]))));
  }

  async listAgents(runId: string): Promise<AgentRecord[]> {
    return (await this.#db.rows('SELECT * FROM agents WHERE run_id = $1 ORDER BY no', [runId])).map(toAgent);
  }

  async getAgent(runId: string, no: number): Promise<AgentRecord | null> {
    const row = await this.#db.row('SELECT * FROM agents WHERE run_id = $1 AND no = $2', [runId, no]);
    return row ? toAgent(row) : null;
  }

  /** Durable when the promise resolves: one committed statement. */
  async saveChangeBundle(runId: string, bundle: ChangeBundle): Promise<void> {
    checkChangeBundle(runId, bundle);
    await this.#db.rows(
      `INSERT INTO change_bundles (run_id, ref, sha, bundle) VALUES ($1, $2, $3, $4)
       ON CONFLICT (run_id, ref) DO UPDATE SET sha = EXCLUDED.sha, bundle = EXCLUDED.bundle WHERE change_bundles.sha <> EXCLUDED.sha`,
      [runId, bundle.ref, bundle.sha, Buffer.from(bundle.bundle.buffer, bundle.bundle.byteOffset, bundle.bundle.byteLength)],
    );
  }

  async deleteChangeBundle(runId: string, ref: string): Promise<void> {
    await this.#db.rows('DELETE FROM change_bundles WHERE run_id = $1 AND ref = $2', [runId, ref]);
  }

  async listChangeBundles(runId: string): Promise<ChangeBundle[]> {
    return (await this.#db.rows('SELECT ref, sha, bundle FROM change_bundles WHERE run_id = $1 ORDER BY ref COLLATE "C"', [runId])).map(toChangeBundle);
  }

  /**
   * The upsert makes the row if missing and locks it either way, returning what it holds: workers
   * reserving on one key take turns, each reading what the one before wrote.
   */
  async updateRateLimit<T>(key: string, change: (state: string | null) => { state: string; result: T }): Promise<T> {
    return transaction(this.#pool, async (db) => {
      const row = await db.row(
        `INSERT INTO rate_limits (key, state, updated_at) VALUES ($1, '', 0)
         ON CONFLICT (key) DO UPDATE SET updated_at = rate_limits.updated_at RETURNING state`,
        [key],
      );
      const { state, result } = change(row && row.state !== '' ? (row.state as string) : null);
      await db.rows('UPDATE rate_limits SET state = $1, updated_at = $2 WHERE key = $3', [state, Date.now(), key]);
      return result;
    });
  }

  async close(): Promise<void> {
    await this.#writes.close();
    await this.#pool.end();
  }
}
