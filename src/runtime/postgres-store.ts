// The run store on PostgreSQL, for many workers sharing one database; the same contract as the
// embedded SqliteStore. A journal entry is in a committed transaction before the script sees the
// result it records (postgres-writes.ts); the rest is rare and written directly.
//
// A worker runs several runs at once, each with a store of its own: they share one pool per
// database (and one group committer, so their writes share commits too), opened by the first and
// closed by the last, and the schema is migrated once per process. A pool per run would take
// 4 connections each: ten workers with two runs each would pass PostgreSQL's default 100.
import type pg from 'pg';
import { openPool, Queries, transaction } from './postgres-client.ts';
import { AGENT_LIST_COLUMNS, checkChangeBundle, json, toAgent, toChangeBundle, toJournalEntry, toRevision, toRun, toSpendTotals } from './store-rows.ts';
import { migratePostgres } from './postgres-schema.ts';
import { GroupCommitter } from './postgres-writes.ts';
import { RunTakenOverError, type AgentRecord, type ChangeBundle, type ClaimOptions, type JournalEntry, type NewRun, type RunOptions, type RunRecord, type RunRevision, type RunScript, type RunStatus, type SpendCharge, type SpendKey, type SpendTotals, type StoredChange, type Store } from '../contracts/store.ts';
import { isProcessAlive, THIS_HOST } from './store.ts';

/** Connections a process's run store holds at most on one database, however many runs it executes. */
export const STORE_POOL_SIZE = 4;

export interface PostgresStoreOptions {
  /** Connections at most; a run's writes are grouped, so a few serve many agents. */
  poolSize?: number;
  /**
   * Share this process's pool for the database (the default). False opens a pool of this store's
   * own, as another process would have (tests standing for several workers).
   */
  share?: boolean;
}

/** A pool, and the committer writing through it, used by every store of this process on one database. */
interface Connection {
  readonly url: string | null;
  readonly pool: pg.Pool;
  readonly db: Queries;
  readonly writes: GroupCommitter;
  users: number;
}

const sharedConnections = new Map<string, Connection>();
/** The databases this process brought up to date: a run's store opened later need not look again. */
const migrated = new Set<string>();

function connection(url: string, size: number, share: boolean): Connection {
  const found = share ? sharedConnections.get(url) : undefined;
  if (found) {
    found.users++;
    return found;
  }
  const pool = openPool(url, size);
  const made: Connection = { url: share ? url : null, pool, db: new Queries(pool), writes: new GroupCommitter(pool), users: 1 };
  if (share) sharedConnections.set(url, made);
  return made;
}

async function release(used: Connection): Promise<void> {
  if (--used.users > 0) return;
  if (used.url !== null && sharedConnections.get(used.url) === used) sharedConnections.delete(used.url);
  await used.writes.close();
  await used.pool.end();
}

export class PostgresStore implements Store {
  readonly #connection: Connection;
  readonly #pool: pg.Pool;
  readonly #db: Queries;
  readonly #writes: GroupCommitter;
  /** The generation of each run this store created or claimed: its writes of the run are fenced by it. */
  readonly #generations = new Map<string, number>();
  /** This store's hot writes not yet answered: close() waits for them, not for other stores' on the shared pool. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(used: Connection) {
    this.#connection = used;
    this.#pool = used.pool;
    this.#db = used.db;
    this.#writes = used.writes;
  }

  /** Connects and brings the database's schema up to date (safe with many processes at once). */
  static async open(databaseUrl: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const share = options.share ?? true;
    const used = connection(databaseUrl, options.poolSize ?? STORE_POOL_SIZE, share);
    try {
      if (!share || !migrated.has(databaseUrl)) {
        await migratePostgres(used.pool);
        if (share) migrated.add(databaseUrl);
      }
    } catch (error) {
      await release(used);
      throw error;
    }
    return new PostgresStore(used);
  }

  async createRun(run: NewRun): Promise<void> {
    await this.#db.rows(
      `INSERT INTO runs (id, workflow, origin, file, source, args, repo_dir, base_ref, base_sha, options, status, pid, host, started_at, generation)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $11, $12, $13, 1)`,
      [run.id, run.workflow, run.origin, run.file, run.source, json(run.args), run.repoDir, run.baseRef, run.baseSha, json(run.options), process.pid, THIS_HOST, run.startedAt],
    );
    this.#generations.set(run.id, 1);
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const row = await this.#db.row('SELECT * FROM runs WHERE id = $1', [id]);
    return row ? toRun(row) : null;
  }

  async listRuns(limit = 100): Promise<RunRecord[]> {
    return (await this.#db.rows('SELECT * FROM runs ORDER BY started_at DESC, created DESC LIMIT $1', [limit])).map(toRun);
  }

  /**
   * A pid is judged only on its own host: a holder recorded on another host cannot be checked from
   * here, so only a taker-over (the queue's lease holder, or `foreman resume --take-over`) claims it.
   * `isAlive`: how a holder's pid is checked (tests).
   */
  async claimRun(id: string, pid: number, options: ClaimOptions & { isAlive?: (pid: number) => boolean } = {}): Promise<boolean> {
    const isAlive = options.isAlive ?? isProcessAlive;
    const generation = await transaction(this.#pool, async (db) => {
      const row = await db.row('SELECT status, pid, host FROM runs WHERE id = $1 FOR UPDATE', [id]);
      if (!row) throw new Error(`no run ${id}`);
      const holder = row.pid as number | null;
      if (!options.takeOver && row.status === 'running' && holder !== null) {
        const elsewhere = row.host !== null && row.host !== THIS_HOST;
        if (elsewhere || (holder !== pid && isAlive(holder))) return null;
      }
      const claimed = await db.row(
        `UPDATE runs SET status = 'running', pid = $1, host = $2, finished_at = NULL, error = NULL, generation = generation + 1 WHERE id = $3 RETURNING generation`,
        [pid, THIS_HOST, id],
      );
      return Number(claimed!.generation);
    });
    if (generation === null) return false;
    this.#generations.set(id, generation);
    return true;
  }

  /**
   * Writes in one transaction holding the run's row, after checking that the run is still at the
   * generation this store claimed it at: a claim updates that row, so none can come in between.
   */
  #fenced<T>(runId: string, write: (db: Queries) => Promise<T>): Promise<T> {
    return transaction(this.#pool, async (db) => {
      const row = await db.row('SELECT generation FROM runs WHERE id = $1 FOR NO KEY UPDATE', [runId]);
      const held = this.#generations.get(runId);
      const current = Number(row?.generation ?? 0);
      if (held !== undefined && current !== held) throw new RunTakenOverError(runId, current, held);
      return write(db);
    });
  }

  #held(runId: string): { generation?: number } {
    const generation = this.#generations.get(runId);
    return generation === undefined ? {} : { generation };
  }

  #submit(op: Parameters<GroupCommitter['submit']>[0]): Promise<number> {
    const written = this.#writes.submit(op);
    const settled: Promise<unknown> = written.then(
      (): boolean => this.#inFlight.delete(settled),
      (): boolean => this.#inFlight.delete(settled),
    );
    this.#inFlight.add(settled);
    return written;
  }

  async updateRunOptions(id: string, options: RunOptions): Promise<void> {
    await this.#fenced(id, (db) => db.rows('UPDATE runs SET options = $1 WHERE id = $2', [json(options), id]));
  }

  async reviseRun(id: string, next: RunScript, replacedAt: string): Promise<void> {
    // Holding the run's row (#fenced) numbers concurrent revisions one after the other.
    await this.#fenced(id, async (db) => {
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
    await this.#fenced(id, (db) =>
      db.rows('UPDATE runs SET status = $1, pid = NULL, finished_at = $2, result = $3, error = $4, summary = $5 WHERE id = $6', [
        outcome.status,
        outcome.finishedAt,
        json(outcome.result),
        outcome.error,
        json(outcome.summary),
        id,
      ]),
    );
  }

  async loadJournal(runId: string): Promise<JournalEntry[]> {
    const rows = await this.#db.rows('SELECT * FROM journal WHERE run_id = $1 ORDER BY seq', [runId]);
    return rows.map(toJournalEntry);
  }

  /** Durable when the promise resolves: its transaction has committed. */
  async appendJournal(runId: string, entry: JournalEntry): Promise<void> {
    await this.#submit({ kind: 'journal', runId, ...this.#held(runId), entry });
  }

  recordAgent(runId: string, agent: Omit<AgentRecord, 'no'>, completed?: JournalEntry, spend?: SpendCharge): Promise<number> {
    return this.#submit({ kind: 'agent', runId, ...this.#held(runId), agent, ...(completed ? { completed } : {}), ...(spend ? { spend } : {}) });
  }

  async readSpend(keys: readonly SpendKey[]): Promise<SpendTotals[]> {
    return Promise.all(keys.map(async (key) => toSpendTotals(await this.#db.row('SELECT * FROM spend WHERE scope = $1 AND period = $2', [key.scope, key.period]))));
  }

  async listAgents(runId: string): Promise<AgentRecord[]> {
    return (await this.#db.rows(`SELECT ${AGENT_LIST_COLUMNS} FROM agents WHERE run_id = $1 ORDER BY no`, [runId])).map(toAgent);
  }

  async getAgent(runId: string, no: number): Promise<AgentRecord | null> {
    const row = await this.#db.row('SELECT * FROM agents WHERE run_id = $1 AND no = $2', [runId, no]);
    return row ? toAgent(row) : null;
  }

  /** Durable when the promise resolves: one committed statement. */
  async saveChangeBundle(runId: string, bundle: ChangeBundle): Promise<void> {
    checkChangeBundle(runId, bundle);
    await this.#fenced(runId, (db) =>
      db.rows(
        `INSERT INTO change_bundles (run_id, ref, sha, bundle) VALUES ($1, $2, $3, $4)
         ON CONFLICT (run_id, ref) DO UPDATE SET sha = EXCLUDED.sha, bundle = EXCLUDED.bundle WHERE change_bundles.sha <> EXCLUDED.sha`,
        [runId, bundle.ref, bundle.sha, Buffer.from(bundle.bundle.buffer, bundle.bundle.byteOffset, bundle.bundle.byteLength)],
      ),
    );
  }

  async deleteChangeBundle(runId: string, ref: string): Promise<void> {
    await this.#fenced(runId, (db) => db.rows('DELETE FROM change_bundles WHERE run_id = $1 AND ref = $2', [runId, ref]));
  }

  async listChangeBundles(runId: string): Promise<ChangeBundle[]> {
    return (await this.#db.rows('SELECT ref, sha, bundle FROM change_bundles WHERE run_id = $1 ORDER BY ref COLLATE "C"', [runId])).map(toChangeBundle);
  }

  async listChanges(runId: string): Promise<StoredChange[]> {
    const rows = await this.#db.rows('SELECT ref, sha FROM change_bundles WHERE run_id = $1 ORDER BY ref COLLATE "C"', [runId]);
    return rows.map((row) => ({ ref: row.ref as string, sha: row.sha as string }));
  }

  async getChangeBundle(runId: string, ref: string): Promise<ChangeBundle | null> {
    const row = await this.#db.row('SELECT ref, sha, bundle FROM change_bundles WHERE run_id = $1 AND ref = $2', [runId, ref]);
    return row ? toChangeBundle(row) : null;
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

  /** Waits for this store's writes; the pool closes with the last store of the process using it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#inFlight);
    await release(this.#connection);
  }
}
