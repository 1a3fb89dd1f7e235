// The embedded work queue: a `jobs` table in the store's SQLite file. Each call is one statement
// or one immediate transaction, so several processes (the app, its workers, app replicas on one
// volume) can share it: a job is claimed by exactly one of them.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Claim, EnqueueOptions, Job, JobMap, JobOf, WorkQueue } from '../contracts/queue.ts';
import { migrate } from './sqlite-schema.ts';
import { openDatabase, PreparedStatements } from './sqlite-writes.ts';

type Row = Record<string, any>;

/** `Jobs`: the job map of the door that owns the jobs (see contracts/queue.ts). */
export class SqliteWorkQueue<Jobs extends object = JobMap> implements WorkQueue<Jobs> {
  readonly #db: DatabaseSync;
  readonly #statements: PreparedStatements;
  /** Claims last until releaseGoneHolders finds their process gone (src/app/holders.ts). */
  readonly leaseSeconds = null;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = openDatabase(file);
    migrate(this.#db);
    // An enqueue is committed before the webhook is acknowledged. WAL with synchronous=NORMAL
    // makes that commit survive the process crashing (OOM, SIGKILL, a deploy) without waiting
    // for the disk; only an OS crash or power loss could drop the last deliveries, the same
    // durability as Redis's default `appendfsync everysec` that a shared queue would have. The
    // disk sync cost as much as everything else an acknowledgement does (docs/benchmarks.md).
    // Run journals keep synchronous=FULL on their own connections.
    this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#statements = new PreparedStatements(this.#db);
  }

  async enqueue<Kind extends keyof Jobs & string>(kind: Kind, key: string, payload: Jobs[Kind], options: EnqueueOptions = {}): Promise<{ id: string; created: boolean }> {
    const inserted = this.#statements
      .get(`INSERT OR IGNORE INTO jobs (kind, key, payload, enqueued_at, priority) VALUES (?, ?, ?, ?, ?) RETURNING id`)
      .get(kind, key, JSON.stringify(payload ?? null), new Date().toISOString(), options.priority ?? 0) as Row | undefined;
    if (inserted) return { id: String(inserted.id), created: true };
    const existing = this.#statements.get('SELECT id FROM jobs WHERE key = ?').get(key) as Row;
    return { id: String(existing.id), created: false };
  }

  async claim<Kinds extends keyof Jobs & string>(kinds: readonly Kinds[], holder: string): Promise<JobOf<Jobs, Kinds> | null> {
    if (kinds.length === 0) return null;
    const marks = kinds.map(() => '?').join(', ');
    const row = this.#statements
      .get(
        `UPDATE jobs SET status = 'claimed', holder = ?, claimed_at = ?, attempts = attempts + 1
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND kind IN (${marks}) ORDER BY priority DESC, id LIMIT 1)
         RETURNING *`,
      )
      .get(holder, new Date().toISOString(), ...kinds) as Row | undefined;
    // The row's kind is one of `kinds`, and its payload what that kind's enqueue stored.
    return row ? (toJob(row) as JobOf<Jobs, Kinds>) : null;
  }

  async heartbeat(claim: Claim): Promise<boolean> {
    const result = this.#statements.get(`UPDATE jobs SET claimed_at = ? WHERE id = ? AND attempts = ? AND status = 'claimed'`).run(new Date().toISOString(), Number(claim.id), claim.attempts);
    return Number(result.changes) > 0;
  }

  async finish(claim: Claim, error?: string): Promise<void> {
    this.#statements
      .get(`UPDATE jobs SET status = ?, finished_at = ?, error = ?, holder = NULL WHERE id = ? AND attempts = ? AND status = 'claimed'`)
      .run(error === undefined ? 'done' : 'failed', new Date().toISOString(), error ?? null, Number(claim.id), claim.attempts);
  }

  async release(claim: Claim): Promise<void> {
    this.#statements.get(`UPDATE jobs SET status = 'queued', holder = NULL WHERE id = ? AND attempts = ? AND status = 'claimed'`).run(Number(claim.id), claim.attempts);
  }

  async releaseHolder(prefix: string): Promise<number> {
    const result = this.#statements.get(`UPDATE jobs SET status = 'queued', holder = NULL WHERE substr(holder, 1, length(?)) = ? AND status = 'claimed'`).run(prefix, prefix);
    return Number(result.changes);
  }

  async holders(): Promise<string[]> {
    const rows = this.#statements.get(`SELECT DISTINCT holder FROM jobs WHERE status = 'claimed' AND holder IS NOT NULL`).all() as Row[];
    return rows.map((row) => String(row.holder));
  }

  /** For `foreman app` status and tests: jobs (of one kind) by status. */
  async counts(kind?: string): Promise<Record<string, number>> {
    const rows = (
      kind === undefined
        ? this.#statements.get('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status').all()
        : this.#statements.get('SELECT status, COUNT(*) AS n FROM jobs WHERE kind = ? GROUP BY status').all(kind)
    ) as Row[];
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}

function toJob(row: Row): Job {
  return { id: String(row.id), kind: row.kind, key: row.key, payload: JSON.parse(row.payload), attempts: Number(row.attempts), enqueuedAt: row.enqueued_at, leaseSeconds: null };
}
