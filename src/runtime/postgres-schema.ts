// The run store's schema on PostgreSQL: each migration upgrades it by one version, and the
// one-row table foreman_schema records how far a database got. Many workers may start at once
// against a fresh database: a transaction-scoped advisory lock lets one migrate while the others
// wait, then find nothing left to do. JSON values are kept as text, as written: jsonb would reorder
// an object's keys, and a replayed result must read exactly as the first one did.
import type pg from 'pg';
import { openPool, transaction } from './postgres-client.ts';

export const POSTGRES_MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     -- Insertion order: ties between runs started in the same instant list newest first.
     created BIGINT GENERATED ALWAYS AS IDENTITY,
     workflow TEXT NOT NULL,
     origin TEXT NOT NULL,
     file TEXT NOT NULL,
     source TEXT NOT NULL,
     args TEXT NOT NULL,
     repo_dir TEXT NOT NULL,
     base_ref TEXT NOT NULL,
     base_sha TEXT NOT NULL,
     options TEXT NOT NULL,
     status TEXT NOT NULL,
     pid INTEGER,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     result TEXT,
     error TEXT,
     summary TEXT
   );
   CREATE INDEX runs_started ON runs (started_at, created);
   CREATE TABLE journal (
     run_id TEXT NOT NULL REFERENCES runs (id),
     key TEXT NOT NULL,
     occurrence INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     kind TEXT NOT NULL,
     output TEXT NOT NULL,
     usage TEXT,
     cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
     phase TEXT,
     label TEXT,
     PRIMARY KEY (run_id, key, occurrence)
   );
   CREATE TABLE agents (
     run_id TEXT NOT NULL REFERENCES runs (id),
     no INTEGER NOT NULL,
     key TEXT NOT NULL,
     occurrence INTEGER NOT NULL,
     label TEXT,
     phase TEXT,
     model TEXT NOT NULL,
     status TEXT NOT NULL,
     prompt TEXT NOT NULL,
     usage TEXT NOT NULL,
     cost_usd DOUBLE PRECISION NOT NULL,
     turns INTEGER NOT NULL,
     elapsed_ms BIGINT NOT NULL,
     error TEXT,
     transcript TEXT NOT NULL,
     finished_at TEXT NOT NULL,
     PRIMARY KEY (run_id, no)
   );
   CREATE TABLE run_revisions (
     run_id TEXT NOT NULL REFERENCES runs (id),
     revision INTEGER NOT NULL,
     workflow TEXT NOT NULL,
     origin TEXT NOT NULL,
     file TEXT NOT NULL,
     source TEXT NOT NULL,
     args TEXT NOT NULL,
     replaced_at TEXT NOT NULL,
     PRIMARY KEY (run_id, revision)
   );`,
  // The spend ledger (limits.spend): what agents cost per repository or installation and UTC day
  // or month, across runs; the largest agent is what the gate expects the next one may cost.
  `CREATE TABLE spend (
     scope TEXT NOT NULL,
     period TEXT NOT NULL,
     usd DOUBLE PRECISION NOT NULL DEFAULT 0,
     tokens BIGINT NOT NULL DEFAULT 0,
     agents BIGINT NOT NULL DEFAULT 0,
     largest_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
     largest_tokens BIGINT NOT NULL DEFAULT 0,
     PRIMARY KEY (scope, period)
   );`,
  // Change commits as git bundles, so a resume on another worker, or on a wiped disk, finds them.
  `CREATE TABLE change_bundles (
     run_id TEXT NOT NULL REFERENCES runs (id),
     ref TEXT NOT NULL,
     sha TEXT NOT NULL,
     bundle BYTEA NOT NULL,
     PRIMARY KEY (run_id, ref)
   );`,
  // Shared rate limits: one row per API key (its hash) and base URL, the buckets as JSON.
  `CREATE TABLE rate_limits (
     key TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     updated_at BIGINT NOT NULL
   );`,
  // Runs started from GitHub (src/app/postgres-run-registry.ts), as SQLite's github_runs: where
  // they report, whether a stop was asked for, and at most one active run per pull request or issue.
  `CREATE TABLE github_runs (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     run_id TEXT UNIQUE,
     job_key TEXT NOT NULL UNIQUE,
     holder TEXT,
     repo TEXT NOT NULL,
     issue_number BIGINT,
     state TEXT NOT NULL,
     status TEXT,
     stop_requested INTEGER NOT NULL DEFAULT 0,
     context TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE UNIQUE INDEX github_runs_one_active ON github_runs (repo, issue_number) WHERE state = 'active' AND issue_number IS NOT NULL;
   CREATE INDEX github_runs_by_issue ON github_runs (repo, issue_number, id);`,
  // The run's generation: each claim starts a new one, and a write of the run by a store holding
  // an older one is refused (RunTakenOverError), so a worker that lost the run writes nothing more.
  // The host with the pid: workers on many hosts share the runs, and a pid names a process of one.
  `ALTER TABLE runs ADD COLUMN generation INTEGER NOT NULL DEFAULT 0, ADD COLUMN host TEXT;`,
];

/** Any fixed number, the same in every Foreman: the lock's name within the database. */
const MIGRATION_LOCK = 0x466f726d; // "Form"

/** Brings the database up to this Foreman's schema, in one transaction; refuses a newer one. */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  await transaction(pool, async (db) => {
    await db.rows('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await db.rows('CREATE TABLE IF NOT EXISTS foreman_schema (version INTEGER NOT NULL)');
    const row = await db.row('SELECT version FROM foreman_schema');
    const current = Number(row?.version ?? 0);
    if (current > POSTGRES_MIGRATIONS.length) {
      throw new Error(
        `the Foreman store was written by a newer Foreman (schema ${current}, this one knows ${POSTGRES_MIGRATIONS.length}): upgrade Foreman or point DATABASE_URL at another database`,
      );
    }
    for (const migration of POSTGRES_MIGRATIONS.slice(current)) await db.script(migration);
    if (!row) await db.rows('INSERT INTO foreman_schema (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length]);
    else await db.rows('UPDATE foreman_schema SET version = $1', [POSTGRES_MIGRATIONS.length]);
  });
}

/**
 * A pool on the database, its schema brought up to date first: how everything that keeps rows in
 * Foreman's tables (the run store, the App's run registry) connects. The pool is closed if that fails.
 */
export async function openMigratedPool(databaseUrl: string, size: number): Promise<pg.Pool> {
  const pool = openPool(databaseUrl, size);
  try {
    await migratePostgres(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return pool;
}
