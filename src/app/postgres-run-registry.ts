// The run registry on PostgreSQL, for the App's processes on many hosts sharing one database; the
// same contract as SqliteRunRegistry, in the store's database (github_runs, POSTGRES_MIGRATIONS).
import type pg from 'pg';
import { Queries } from '../runtime/postgres-client.ts';
import { openMigratedPool } from '../runtime/postgres-schema.ts';
import { asAgain, returnTo, toEntry, type EntryWrites, type BeginOutcome, type GitHubRunContext, type GitHubRunEntry, type RunRegistry } from './run-registry.ts';

/** PostgreSQL's unique_violation: the partial index allows one active run per issue. */
const UNIQUE_VIOLATION = '23505';

export class PostgresRunRegistry implements RunRegistry {
  readonly #pool: pg.Pool;
  readonly #db: Queries;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#db = new Queries(pool);
  }

  /** Connects and brings the database's schema up to date (safe with many processes at once). */
  static async open(databaseUrl: string): Promise<PostgresRunRegistry> {
    return new PostgresRunRegistry(await openMigratedPool(databaseUrl, 2));
  }

  async begin(context: GitHubRunContext, job: { key: string; holder: string }): Promise<BeginOutcome> {
    const repo = `${context.owner}/${context.repo}`;
    for (;;) {
      const earlier = await this.#db.row('SELECT * FROM github_runs WHERE job_key = $1', [job.key]);
      if (earlier) return asAgain(await returnTo(earlier, job, this.#entryWrites));
      const now = new Date().toISOString();
      // The partial unique index is the lock: two workers racing for one pull request cannot both
      // insert an active row.
      const row = await this.#db.row(
        `INSERT INTO github_runs (job_key, holder, repo, issue_number, state, context, created_at, updated_at) VALUES ($1, $2, $3, $4, 'active', $5, $6, $6)
         ON CONFLICT DO NOTHING RETURNING *`,
        [job.key, job.holder, repo, context.issueNumber, JSON.stringify(context), now],
      );
      if (row) return { begun: toEntry(row) };
      const active = context.issueNumber === null ? null : await this.#active(repo, context.issueNumber);
      if (active) return { busy: active };
      // The conflict was the job key (another holder of this job inserted it just now) or an active
      // run that ended since: look again.
    }
  }

  async attach(id: number, runId: string): Promise<void> {
    await this.#db.rows('UPDATE github_runs SET run_id = $1, updated_at = $2 WHERE id = $3', [runId, new Date().toISOString(), id]);
  }

  async update(id: number, context: GitHubRunContext, holder?: string): Promise<void> {
    await this.#db.rows('UPDATE github_runs SET context = $1, updated_at = $2 WHERE id = $3 AND ($4::text IS NULL OR holder = $4)', [JSON.stringify(context), new Date().toISOString(), id, holder ?? null]);
  }

  async reactivate(runId: string, holder: string, jobKey?: string): Promise<BeginOutcome | null> {
    const row = await this.#db.row('SELECT * FROM github_runs WHERE run_id = $1', [runId]);
    return row ? returnTo(row, { key: jobKey, holder }, this.#entryWrites) : null;
  }

  readonly #entryWrites: EntryWrites = { takeOver: (id, holder) => this.#takeOver(id, holder), activate: (entry, holder, jobKey) => this.#activate(entry, holder, jobKey) };

  /** As SqliteRunRegistry's: the job was claimed again, so the run is the new holder's (holder fencing). */
  async #takeOver(id: number, holder: string): Promise<GitHubRunEntry> {
    const row = await this.#db.row('UPDATE github_runs SET holder = $1, updated_at = $2 WHERE id = $3 RETURNING *', [holder, new Date().toISOString(), id]);
    return toEntry(row!);
  }

  async #activate(entry: GitHubRunEntry, holder: string, jobKey?: string): Promise<{ begun: GitHubRunEntry } | { busy: GitHubRunEntry }> {
    if (entry.state === 'active') return { busy: entry };
    try {
      const row = await this.#db.row(
        `UPDATE github_runs SET state = 'active', status = NULL, stop_requested = 0, holder = $1, job_key = COALESCE($2, job_key), updated_at = $3 WHERE id = $4 RETURNING *`,
        [holder, jobKey ?? null, new Date().toISOString(), entry.id],
      );
      return { begun: toEntry(row!) };
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      const active = await this.#active(entry.repo, entry.issueNumber);
      return active ? { busy: active } : this.#activate(entry, holder, jobKey);
    }
  }

  async interrupt(holderPrefix: string): Promise<number> {
    const rows = await this.#db.rows(
      `UPDATE github_runs SET state = 'done', status = 'interrupted', updated_at = $1 WHERE state = 'active' AND starts_with(holder, $2) RETURNING id`,
      [new Date().toISOString(), holderPrefix],
    );
    return rows.length;
  }

  async end(id: number, status: string, holder?: string): Promise<void> {
    await this.#db.rows(`UPDATE github_runs SET state = 'done', status = $1, updated_at = $2 WHERE id = $3 AND ($4::text IS NULL OR holder = $4)`, [status, new Date().toISOString(), id, holder ?? null]);
  }

  async holders(): Promise<string[]> {
    const rows = await this.#db.rows(`SELECT DISTINCT holder FROM github_runs WHERE state = 'active' AND holder IS NOT NULL`);
    return rows.map((row) => String(row.holder));
  }

  async requestStop(runId: string): Promise<boolean> {
    const rows = await this.#db.rows(`UPDATE github_runs SET stop_requested = 1, updated_at = $1 WHERE run_id = $2 AND state = 'active' RETURNING id`, [new Date().toISOString(), runId]);
    return rows.length > 0;
  }

  async get(runId: string): Promise<GitHubRunEntry | null> {
    const row = await this.#db.row('SELECT * FROM github_runs WHERE run_id = $1', [runId]);
    return row ? toEntry(row) : null;
  }

  async byId(id: number): Promise<GitHubRunEntry | null> {
    const row = await this.#db.row('SELECT * FROM github_runs WHERE id = $1', [id]);
    return row ? toEntry(row) : null;
  }

  async latest(repo: string, issueNumber: number): Promise<GitHubRunEntry | null> {
    const row = await this.#db.row(`SELECT * FROM github_runs WHERE repo = $1 AND issue_number = $2 ORDER BY state = 'active' DESC, id DESC LIMIT 1`, [repo, issueNumber]);
    return row ? toEntry(row) : null;
  }

  async #active(repo: string, issueNumber: number | null): Promise<GitHubRunEntry | null> {
    const row = await this.#db.row(`SELECT * FROM github_runs WHERE repo = $1 AND issue_number IS NOT DISTINCT FROM $2 AND state = 'active'`, [repo, issueNumber]);
    return row ? toEntry(row) : null;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
