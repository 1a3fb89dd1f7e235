// The schema of the embedded SQLite file under $FOREMAN_HOME, shared by the run store and the
// work queue: each migration upgrades it by one version, and PRAGMA user_version records how
// far a file got.
import type { DatabaseSync } from 'node:sqlite';
import { BUSY_TIMEOUT_MS, OPEN_BUSY_TIMEOUT_MS } from './sqlite-writes.ts';

export const MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
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
   CREATE INDEX runs_started ON runs (started_at);
   CREATE TABLE journal (
     run_id TEXT NOT NULL REFERENCES runs (id),
     key TEXT NOT NULL,
     occurrence INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     kind TEXT NOT NULL,
     output TEXT NOT NULL,
     usage TEXT,
     cost_usd REAL NOT NULL DEFAULT 0,
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
     cost_usd REAL NOT NULL,
     turns INTEGER NOT NULL,
     elapsed_ms INTEGER NOT NULL,
     error TEXT,
     transcript TEXT NOT NULL,
     finished_at TEXT NOT NULL,
     PRIMARY KEY (run_id, no)
   );`,
  // 2: the work queue (webhook deliveries, runs, scheduled runs).
  `CREATE TABLE jobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL,
     key TEXT NOT NULL UNIQUE,
     payload TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'queued',
     attempts INTEGER NOT NULL DEFAULT 0,
     holder TEXT,
     enqueued_at TEXT NOT NULL,
     claimed_at TEXT,
     finished_at TEXT,
     error TEXT
   );
   CREATE INDEX jobs_waiting ON jobs (status, kind, id);`,
  // 3: runs started from GitHub: where they report, whether a stop was asked for, and at most
  // one active run per pull request or issue.
  `CREATE TABLE github_runs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id TEXT UNIQUE,
     job_key TEXT NOT NULL UNIQUE,
     holder TEXT,
     repo TEXT NOT NULL,
     issue_number INTEGER,
     state TEXT NOT NULL,
     status TEXT,
     stop_requested INTEGER NOT NULL DEFAULT 0,
     context TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE UNIQUE INDEX github_runs_one_active ON github_runs (repo, issue_number) WHERE state = 'active' AND issue_number IS NOT NULL;
   CREATE INDEX github_runs_by_issue ON github_runs (repo, issue_number, id);`,
  // 4: what a run executed before a resume replaced its script or args, so its report can say so.
  `CREATE TABLE run_revisions (
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
  // Interactive runs (a comment, a label) are claimed before scheduled sweeps queued earlier.
  `ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
   DROP INDEX jobs_waiting;
   CREATE INDEX jobs_waiting ON jobs (status, kind, priority DESC, id);`,
  // The spend ledger (limits.spend): what agents cost per repository or installation and UTC day
  // or month, across runs; the largest agent is what the gate expects the next one may cost.
  `CREATE TABLE spend (
     scope TEXT NOT NULL,
     period TEXT NOT NULL,
     usd REAL NOT NULL DEFAULT 0,
     tokens INTEGER NOT NULL DEFAULT 0,
     agents INTEGER NOT NULL DEFAULT 0,
     largest_usd REAL NOT NULL DEFAULT 0,
     largest_tokens INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (scope, period)
   );`,
  // Change commits as git bundles, so a resume on another worker, or on a wiped disk, finds them.
  `CREATE TABLE change_bundles (
     run_id TEXT NOT NULL REFERENCES runs (id),
     ref TEXT NOT NULL,
     sha TEXT NOT NULL,
     bundle BLOB NOT NULL,
     PRIMARY KEY (run_id, ref)
   );`,
  // Shared rate limits: one row per API key (its hash) and base URL, the buckets as JSON.
  `CREATE TABLE rate_limits (
     key TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  // The run's generation: each claim starts a new one, and a write of the run by a store holding
  // an older one is refused (RunTakenOverError), so a worker that lost the run writes nothing more.
  `ALTER TABLE runs ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;`,
];

/** Brings the file up to this Foreman's schema; refuses a file written by a newer one. */
export function migrate(db: DatabaseSync): void {
  const current = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the Foreman store was written by a newer Foreman (schema ${current}, this one knows ${MIGRATIONS.length}): upgrade Foreman or point FOREMAN_HOME elsewhere`,
    );
  }
  if (current === MIGRATIONS.length) return;
  // Every pending migration in one immediate transaction: processes opening a new store at once
  // (several workers, a `foreman runs` as a run starts) queue for the write lock once each, not
  // once per migration, and wait longer than a write would for it.
  db.exec(`PRAGMA busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
  db.exec('BEGIN IMMEDIATE');
  try {
    // Another process may have migrated while this one waited for the lock.
    const now = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
    for (let version = now; version < MIGRATIONS.length; version++) db.exec(MIGRATIONS[version]);
    if (now < MIGRATIONS.length) db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  } finally {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}
