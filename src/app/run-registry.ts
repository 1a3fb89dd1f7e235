// Runs started from GitHub, as the App's processes share them: where a run reports (its progress
// comment and checks), whether someone asked it to stop, and the rule of one active run per pull
// request or issue. An interface, like the queue, so replicas can later share another database;
// the embedded default lives in the store's SQLite file.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { migrate } from '../runtime/sqlite-schema.ts';
import { openDatabase, PreparedStatements } from '../runtime/sqlite-writes.ts';
import type { ForemanConfig } from '../config/schema.ts';

/** What the worker needs to run, report and later resume a run started from GitHub. */
export interface GitHubRunContext {
  installationId: number;
  owner: string;
  repo: string;
  cloneUrl: string;
  defaultBranch: string;
  /** The issue or pull request the run reports to; null for schedules and releases. */
  issueNumber: number | null;
  isPullRequest: boolean;
  /** What started it, for the progress comment: `/workflow audit auth`, `label security`, … */
  trigger: string;
  /** Who started it (a login), when a person did. */
  author: string | null;
  workflow: string;
  args: unknown;
  /** The whole request of a `/workflow` comment: free text when `workflow` names no workflow. */
  request?: string;
  /** A script the model wrote for `request`, kept from the plan to the approved run. */
  script?: { source: string; file: string };
  /** The plan was shown and the run waits for `/workflow approve` (config `approval`). */
  awaitingApproval?: boolean;
  /** Set once the worker has resolved the base: the commit the run reads. */
  headSha?: string;
  /** The default branch's commit when the run started: its config and saved workflows. */
  defaultSha?: string;
  /** The branch fix pull requests target. */
  targetBranch?: string;
  /** The pull request's code comes from a fork: nothing of it is built or proposed without approval. */
  fork?: boolean;
  approvedBy?: string | null;
  /** The commit the approver saw: a run approved for it never builds anything pushed later. */
  approvedSha?: string;
  /** The release tag a run was started on. */
  tag?: string;
  progressCommentId?: number | null;
  config: ForemanConfig;
}

export interface GitHubRunEntry {
  id: number;
  runId: string | null;
  repo: string;
  issueNumber: number | null;
  state: 'active' | 'done';
  status: string | null;
  stopRequested: boolean;
  context: GitHubRunContext;
  createdAt: string;
}

/**
 * `again`: the job was begun before by a worker that died (or whose lease on the job lapsed, so
 * the queue handed the job on); its run (if it got one) resumes under the new holder.
 */
export type BeginOutcome = { begun: GitHubRunEntry } | { again: GitHubRunEntry } | { busy: GitHubRunEntry } | { done: GitHubRunEntry };

/**
 * How an entry ends when its run is not over but handed on: interrupted (its worker shut down or
 * died; the job's next holder resumes it) or parked until `/workflow approve` (its plan may not
 * have been shown yet). Any other status of a done entry is final.
 */
const HANDED_ON_STATUSES: ReadonlySet<string> = new Set(['interrupted', 'awaiting-approval']);

/** The two writes a registry makes when a job comes back to its entry, in its own SQL. */
export interface EntryWrites {
  takeOver(id: number, holder: string): Promise<GitHubRunEntry>;
  activate(entry: GitHubRunEntry, holder: string, jobKey?: string): Promise<{ begun: GitHubRunEntry } | { busy: GitHubRunEntry }>;
}

/**
 * A job back at the entry it registered (`row`), in both registries alike: the same job finds it
 * still active (its holder lost the job) and takes it over; finds it ended for good and is done;
 * otherwise the entry becomes active again for it, unless another run is active on its issue.
 */
export async function returnTo(row: Row, job: { key?: string | undefined; holder: string }, writes: EntryWrites): Promise<{ begun: GitHubRunEntry } | { busy: GitHubRunEntry } | { done: GitHubRunEntry }> {
  const entry = toEntry(row);
  if (row.state === 'active' && job.key !== undefined && row.job_key === job.key) return { begun: await writes.takeOver(entry.id, job.holder) };
  if (settledByJob(entry, job.key, row.job_key)) return { done: entry };
  return writes.activate(entry, job.holder, job.key);
}

/** What begin answers for a job it registered before: the entry is this claim's `again`. */
export function asAgain(outcome: { begun: GitHubRunEntry } | { busy: GitHubRunEntry } | { done: GitHubRunEntry }): BeginOutcome {
  return 'begun' in outcome ? { again: outcome.begun } : outcome;
}

/**
 * `done`: the job already ran to a final status under an earlier claim, and its holder died before
 * it settled the job in the queue. Replaying it would run and report a finished run again: the
 * caller settles the job and writes nothing.
 */
export function settledByJob(entry: GitHubRunEntry, jobKey: string | null | undefined, entryJobKey: unknown): boolean {
  return jobKey != null && entryJobKey === jobKey && entry.state === 'done' && entry.status !== null && !HANDED_ON_STATUSES.has(entry.status);
}

export interface RunRegistry {
  /**
   * Registers an active run for the context's issue, unless one is active there already. A job
   * begun before (`job.key`) is `again`: its entry becomes the caller's, active or not, since the
   * caller holds the job's claim now; unless the entry ended with a final status (`done`).
   */
  begin(context: GitHubRunContext, job: { key: string; holder: string }): Promise<BeginOutcome>;
  /** The run id, once the service has created the run. */
  attach(id: number, runId: string): Promise<void>;
  /**
   * Holder fencing: with `holder`, update and end change the entry only while that holder holds it,
   * so a worker whose job another worker claimed again cannot overwrite or end the run that worker
   * now carries. Without it (an operator's tool) they always apply.
   */
  update(id: number, context: GitHubRunContext, holder?: string): Promise<void>;
  /**
   * A finished run becomes active again (resume), unless another is active on its issue. With
   * `jobKey` (the resume job's key) the entry remembers that job, so when the job is claimed again
   * after its holder lost it, the still active entry is the caller's (not busy), and an entry that
   * job already ended with a final status is `done`.
   */
  reactivate(runId: string, holder: string, jobKey?: string): Promise<BeginOutcome | null>;
  /** The active runs of holders that are gone (a worker that died) become interrupted. */
  interrupt(holderPrefix: string): Promise<number>;
  /** The holders of active runs. */
  holders(): Promise<string[]>;
  end(id: number, status: string, holder?: string): Promise<void>;
  /** Marks an active run for stopping; false when it is not active. */
  requestStop(runId: string): Promise<boolean>;
  get(runId: string): Promise<GitHubRunEntry | null>;
  byId(id: number): Promise<GitHubRunEntry | null>;
  /** The newest run on an issue or pull request (active first). */
  latest(repo: string, issueNumber: number): Promise<GitHubRunEntry | null>;
  close(): Promise<void>;
}

/** The answer to a request for a second run where one is active (one per pull request or issue). */
export function busyMessage(active: GitHubRunEntry): string {
  const id = active.runId ? ` \`${active.runId}\`` : '';
  return `Foreman runs one workflow at a time here, and run${id} (\`${active.context.workflow}\`) is still active. Stop it with \`/workflow stop\`, or wait for it to finish, then ask again.`;
}

type Row = Record<string, any>;

export class SqliteRunRegistry implements RunRegistry {
  readonly #db: DatabaseSync;
  readonly #sql: PreparedStatements;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = openDatabase(file);
    migrate(this.#db);
    this.#sql = new PreparedStatements(this.#db);
  }

  async begin(context: GitHubRunContext, job: { key: string; holder: string }): Promise<BeginOutcome> {
    const repo = `${context.owner}/${context.repo}`;
    const earlier = this.#sql.get('SELECT * FROM github_runs WHERE job_key = ?').get(job.key) as Row | undefined;
    if (earlier) return asAgain(await returnTo(earlier, job, this.#entryWrites));
    const now = new Date().toISOString();
    // The partial unique index is the lock: two workers (or replicas) racing for one pull request
    // cannot both insert an active row.
    const row = this.#sql
      .get(
        `INSERT INTO github_runs (job_key, holder, repo, issue_number, state, context, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)
         ON CONFLICT DO NOTHING RETURNING *`,
      )
      .get(job.key, job.holder, repo, context.issueNumber, JSON.stringify(context), now, now) as Row | undefined;
    if (row) return { begun: toEntry(row) };
    return { busy: (await this.#active(repo, context.issueNumber))! };
  }

  async attach(id: number, runId: string): Promise<void> {
    this.#sql.get('UPDATE github_runs SET run_id = ?, updated_at = ? WHERE id = ?').run(runId, new Date().toISOString(), id);
  }

  async update(id: number, context: GitHubRunContext, holder?: string): Promise<void> {
    this.#sql.get('UPDATE github_runs SET context = ?, updated_at = ? WHERE id = ? AND (? IS NULL OR holder = ?)').run(JSON.stringify(context), new Date().toISOString(), id, holder ?? null, holder ?? null);
  }

  async reactivate(runId: string, holder: string, jobKey?: string): Promise<BeginOutcome | null> {
    const row = this.#sql.get('SELECT * FROM github_runs WHERE run_id = ?').get(runId) as Row | undefined;
    return row ? returnTo(row, { key: jobKey, holder }, this.#entryWrites) : null;
  }

  readonly #entryWrites: EntryWrites = { takeOver: (id, holder) => this.#takeOver(id, holder), activate: (entry, holder, jobKey) => this.#activate(entry, holder, jobKey) };

  /**
   * The job that activated this entry was claimed again: whoever held it lost the job (its lease
   * lapsed, or it died), so the run is the new holder's to carry on, and its earlier holder's
   * update and end no longer apply (holder fencing).
   */
  async #takeOver(id: number, holder: string): Promise<GitHubRunEntry> {
    this.#sql.get('UPDATE github_runs SET holder = ?, updated_at = ? WHERE id = ?').run(holder, new Date().toISOString(), id);
    return (await this.byId(id))!;
  }

  async #activate(entry: GitHubRunEntry, holder: string, jobKey?: string): Promise<{ begun: GitHubRunEntry } | { busy: GitHubRunEntry }> {
    if (entry.state === 'active') return { busy: entry };
    try {
      this.#sql
        .get(`UPDATE github_runs SET state = 'active', status = NULL, stop_requested = 0, holder = ?, job_key = COALESCE(?, job_key), updated_at = ? WHERE id = ?`)
        .run(holder, jobKey ?? null, new Date().toISOString(), entry.id);
    } catch (error) {
      if (!/UNIQUE/.test((error as Error).message)) throw error;
      return { busy: (await this.#active(entry.repo, entry.issueNumber))! };
    }
    return { begun: (await this.byId(entry.id))! };
  }

  async interrupt(holderPrefix: string): Promise<number> {
    const result = this.#sql
      .get(`UPDATE github_runs SET state = 'done', status = 'interrupted', updated_at = ? WHERE state = 'active' AND substr(holder, 1, length(?)) = ?`)
      .run(new Date().toISOString(), holderPrefix, holderPrefix);
    return Number(result.changes);
  }

  async end(id: number, status: string, holder?: string): Promise<void> {
    this.#sql.get(`UPDATE github_runs SET state = 'done', status = ?, updated_at = ? WHERE id = ? AND (? IS NULL OR holder = ?)`).run(status, new Date().toISOString(), id, holder ?? null, holder ?? null);
  }

  async holders(): Promise<string[]> {
    const rows = this.#sql.get(`SELECT DISTINCT holder FROM github_runs WHERE state = 'active' AND holder IS NOT NULL`).all() as Row[];
    return rows.map((row) => String(row.holder));
  }

  async requestStop(runId: string): Promise<boolean> {
    const result = this.#sql.get(`UPDATE github_runs SET stop_requested = 1, updated_at = ? WHERE run_id = ? AND state = 'active'`).run(new Date().toISOString(), runId);
    return Number(result.changes) > 0;
  }

  async get(runId: string): Promise<GitHubRunEntry | null> {
    const row = this.#sql.get('SELECT * FROM github_runs WHERE run_id = ?').get(runId) as Row | undefined;
    return row ? toEntry(row) : null;
  }

  async byId(id: number): Promise<GitHubRunEntry | null> {
    const row = this.#sql.get('SELECT * FROM github_runs WHERE id = ?').get(id) as Row | undefined;
    return row ? toEntry(row) : null;
  }

  async latest(repo: string, issueNumber: number): Promise<GitHubRunEntry | null> {
    const row = this.#sql
      .get(`SELECT * FROM github_runs WHERE repo = ? AND issue_number = ? ORDER BY state = 'active' DESC, id DESC LIMIT 1`)
      .get(repo, issueNumber) as Row | undefined;
    return row ? toEntry(row) : null;
  }

  async #active(repo: string, issueNumber: number | null): Promise<GitHubRunEntry | null> {
    const row = this.#sql.get(`SELECT * FROM github_runs WHERE repo = ? AND issue_number IS ? AND state = 'active'`).get(repo, issueNumber) as Row | undefined;
    return row ? toEntry(row) : null;
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}

/** A github_runs row as the registry hands it out (both engines' rows read alike). */
export function toEntry(row: Row): GitHubRunEntry {
  return {
    id: Number(row.id),
    runId: row.run_id ?? null,
    repo: row.repo,
    issueNumber: row.issue_number === null ? null : Number(row.issue_number),
    state: row.state,
    status: row.status ?? null,
    stopRequested: Boolean(row.stop_requested),
    context: JSON.parse(row.context),
    createdAt: row.created_at,
  };
}
