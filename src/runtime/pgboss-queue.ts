// The shared work queue: pg-boss on PostgreSQL, for workers on many hosts. One pg-boss queue per
// job kind. A claim is a pg-boss fetch; its lease is the queue's heartbeat: a holder that stops
// touching its job (killed, partitioned) loses it once pg-boss's supervisor sees the heartbeat late,
// and the job goes back in line for any worker. Settling and renewing pass pg-boss the attempt
// ({ id, retryCount }), which it fences on, so a claim that lapsed changes nothing.
import { createHash } from 'node:crypto';
import { PgBoss, type ConstructorOptions } from 'pg-boss';
import type { Claim, EnqueueOptions, JobMap, JobOf, WorkQueue } from '../contracts/queue.ts';
import { poolSettings } from './postgres-client.ts';

export interface PgBossWorkQueueOptions {
  /** How long a claim lasts without a heartbeat (pg-boss's heartbeatSeconds: at least 10). */
  leaseSeconds?: number;
  /** pg-boss's schema (tests may share a database between queues). */
  schema?: string;
  /** Longest one query may take (default: the run store's, QUERY_TIMEOUT_MS). */
  queryTimeoutMs?: number;
}

export const DEFAULT_LEASE_SECONDS = 30;
/** pg-boss refuses a heartbeat interval under 10 s. */
export const MIN_LEASE_SECONDS = 10;
/** What a lease may be, wherever one is given (the option here, --lease-seconds, FOREMAN_LEASE_SECONDS). */
export const LEASE_RULE = `a whole number of seconds, at least ${MIN_LEASE_SECONDS} (pg-boss's shortest heartbeat)`;
export const isLeaseSeconds = (seconds: number): boolean => Number.isInteger(seconds) && seconds >= MIN_LEASE_SECONDS;
/**
 * How often pg-boss's supervisor looks for lapsed leases. A lapsed lease is found within this many
 * seconds of lapsing (docs/architecture.md).
 */
export const SUPERVISE_SECONDS = 2;
/**
 * Finished jobs are kept this long, and a key is refused while its job's row is kept: GitHub's
 * redeliveries (manual ones included) and a scheduler replica's repeat come well within it.
 */
export const FINISHED_RETENTION_SECONDS = 30 * 24 * 3600;
/** Jobs waiting in line are kept (pg-boss's own cap: 365 days). */
const WAITING_RETENTION_SECONDS = 365 * 24 * 3600;
/**
 * pg-boss also expires a claim held longer than expireInSeconds, heartbeat or not; 24 h is the most
 * it allows. A claim held longer lapses then, and the run resumes from its journal under a new claim.
 */
const LONGEST_CLAIM_SECONDS = 24 * 3600;
/**
 * Claims a job may lose (released on shutdown, or its lease lapsed) before pg-boss moves it to the
 * kind's dead-letter queue `<kind>.dead`: high, so a healthy run released by many deploys stays,
 * while a job that kills every worker that takes it stops going round.
 */
const CLAIMS_BEFORE_DEAD_LETTER = 1000;

/** What a job carries in pg-boss's `data`: its key, when it was enqueued and the payload. */
interface Envelope {
  key: string;
  enqueuedAt: string;
  payload: unknown;
}

/** `Jobs`: the job map of the door that owns the jobs (see contracts/queue.ts). */
export class PgBossWorkQueue<Jobs extends object = JobMap> implements WorkQueue<Jobs> {
  readonly leaseSeconds: number;
  readonly #boss: PgBoss;
  readonly #schema: string;
  /** Kinds whose pg-boss queue this process has created (or found). */
  readonly #queues = new Map<string, Promise<void>>();

  private constructor(boss: PgBoss, schema: string, leaseSeconds: number) {
    this.#boss = boss;
    this.#schema = schema;
    this.leaseSeconds = leaseSeconds;
  }

  /** Starts pg-boss on the database (its start installs or migrates its schema, under an advisory lock) and creates the kinds' queues. */
  static async open<Jobs extends object = JobMap>(databaseUrl: string, kinds: readonly (keyof Jobs & string)[], options: PgBossWorkQueueOptions = {}): Promise<PgBossWorkQueue<Jobs>> {
    const leaseSeconds = checkedLease(options.leaseSeconds ?? DEFAULT_LEASE_SECONDS);
    const schema = options.schema ?? 'pgboss';
    // The run store's pool settings (keep-alive, query and connect timeouts): a heartbeat on a
    // connection that silently stopped delivering fails rather than hanging. pg-boss hands its
    // whole config to pg's Pool, though its DatabaseOptions type names only some of these.
    const pool: ConstructorOptions = poolSettings(databaseUrl, 4, options.queryTimeoutMs);
    const boss = new PgBoss({
      ...pool,
      schema,
      // Lapsed leases are failed on a queue's monitor pass, which waits for both intervals.
      superviseIntervalSeconds: SUPERVISE_SECONDS,
      monitorIntervalSeconds: SUPERVISE_SECONDS,
      // Foreman schedules its own runs (src/app/scheduler.ts); no cron timers here.
      schedule: false,
      registerInstance: false,
    });
    // pg-boss reports connection trouble as events; without a listener an EventEmitter throws them.
    boss.on('error', () => {});
    await boss.start();
    const queue = new PgBossWorkQueue<Jobs>(boss, schema, leaseSeconds);
    try {
      for (const kind of kinds) await queue.#ensureQueue(kind);
    } catch (error) {
      await boss.stop({ graceful: false, close: true });
      throw error;
    }
    return queue;
  }

  #ensureQueue(kind: string): Promise<void> {
    let created = this.#queues.get(kind);
    if (!created) {
      created = this.#createQueue(kind);
      this.#queues.set(kind, created);
      created.catch(() => this.#queues.delete(kind));
    }
    return created;
  }

  async #createQueue(kind: string): Promise<void> {
    const deadLetter = `${kind}.dead`;
    const settings = {
      heartbeatSeconds: this.leaseSeconds,
      expireInSeconds: LONGEST_CLAIM_SECONDS,
      retentionSeconds: WAITING_RETENTION_SECONDS,
      deleteAfterSeconds: FINISHED_RETENTION_SECONDS,
    };
    // createQueue is a no-op for a queue that exists (another process made it first); updateQueue
    // then brings its lease to this process's setting, so the last process started decides it for
    // the jobs inserted after. Each job keeps the lease it was inserted with, and a claim carries
    // it (Job.leaseSeconds), so holders renew in time whatever their own setting.
    await this.#boss.createQueue(deadLetter, settings);
    const options = { ...settings, retryLimit: CLAIMS_BEFORE_DEAD_LETTER, retryDelay: 0, retryBackoff: false, deadLetter };
    await this.#boss.createQueue(kind, options);
    await this.#boss.updateQueue(kind, options);
  }

  async enqueue<Kind extends keyof Jobs & string>(kind: Kind, key: string, payload: Jobs[Kind], options: EnqueueOptions = {}): Promise<{ id: string; created: boolean }> {
    await this.#ensureQueue(kind);
    const id = jobId(kind, key);
    const envelope: Envelope = { key, enqueuedAt: new Date().toISOString(), payload: payload ?? null };
    // The id is the key's: pg-boss inserts it unless a row with that id is kept, and answers null then.
    const sent = await this.#boss.send(kind, envelope as unknown as object, { id, priority: options.priority ?? 0 });
    return { id, created: sent !== null };
  }

  async claim<Kinds extends keyof Jobs & string>(kinds: readonly Kinds[], holder: string): Promise<JobOf<Jobs, Kinds> | null> {
    void holder; // pg-boss does not record who holds a job: a lease, not a holder, names the claim.
    for (const kind of kinds) await this.#ensureQueue(kind);
    const tried = new Set<string>();
    // Bounded: claimers racing for the same jobs give up after a few looks and poll again later.
    for (let look = 0; look < 8 && tried.size < kinds.length; look++) {
      const kind = await this.#nextKind(kinds.filter((k) => !tried.has(k)));
      if (kind === null) return null;
      const [job] = await this.#boss.fetch<Envelope>(kind, { batchSize: 1 });
      if (!job) {
        // Another claimer took it between the look and the fetch: look again, without this kind
        // only if nothing of it is left.
        if ((await this.#nextKind([kind])) === null) tried.add(kind);
        continue;
      }
      const { key, enqueuedAt, payload } = job.data;
      // The job's kind is one of `kinds`, and its payload what that kind's enqueue stored. Its lease
      // is the one pg-boss checks it by: the queue's when the job was inserted, which the process
      // that last started decided, not necessarily this one.
      return { id: job.id, kind, key, payload, attempts: job.retryCount + 1, enqueuedAt, leaseSeconds: job.heartbeatSeconds } as JobOf<Jobs, Kinds>;
    }
    return null;
  }

  /**
   * The kind whose waiting job goes first: pg-boss fetches from one queue at a time, so a claim of
   * several kinds looks across their waiting jobs in fetch's own order (priority, then age).
   */
  async #nextKind(kinds: readonly string[]): Promise<string | null> {
    if (kinds.length === 0) return null;
    if (kinds.length === 1) {
      const rows = await this.#boss.getDb().executeSql(`SELECT 1 FROM ${this.#schema}.job WHERE name = $1 AND state < 'active' AND NOT blocked AND start_after <= now() LIMIT 1`, [kinds[0]]);
      return rows.rows.length > 0 ? kinds[0]! : null;
    }
    const result = await this.#boss
      .getDb()
      .executeSql(`SELECT name FROM ${this.#schema}.job WHERE name = ANY($1::text[]) AND state < 'active' AND NOT blocked AND start_after <= now() ORDER BY priority DESC, created_on LIMIT 1`, [kinds]);
    return (result.rows[0]?.name as string | undefined) ?? null;
  }

  async heartbeat(claim: Claim): Promise<boolean> {
    // pg-boss declares CommandResponse empty; at run time it carries the count of jobs touched.
    const result = (await this.#boss.touch(claim.kind, attempt(claim))) as { affected?: number };
    return (result.affected ?? 0) > 0;
  }

  async finish(claim: Claim, error?: string): Promise<void> {
    // Done for good either way: a failure is recorded as the job's output, not retried by pg-boss
    // (the run reports its own failure; the journal resumes it when someone asks).
    await this.#boss.complete(claim.kind, attempt(claim), error === undefined ? null : { error });
  }

  async release(claim: Claim): Promise<void> {
    // A failed attempt goes straight back in line (retryDelay 0) for any worker to claim.
    await this.#boss.fail(claim.kind, attempt(claim), { released: true });
  }

  async releaseHolder(): Promise<number> {
    return 0;
  }

  async holders(): Promise<string[]> {
    return [];
  }

  /** For `foreman app` status and tests: jobs (of one kind) by status, in the embedded queue's words (queued, claimed, done, failed). */
  async counts(kind?: string): Promise<Record<string, number>> {
    const result = await this.#boss.getDb().executeSql(
      `SELECT CASE WHEN state IN ('created', 'retry') THEN 'queued' WHEN state = 'active' THEN 'claimed' WHEN state = 'completed' THEN 'done' ELSE state::text END AS status, count(*)::int AS n
       FROM ${this.#schema}.job WHERE name = ANY($1::text[]) GROUP BY 1`,
      [kind === undefined ? [...this.#queues.keys()] : [kind]],
    );
    return Object.fromEntries(result.rows.map((row: { status: string; n: number }) => [row.status, Number(row.n)]));
  }

  async close(): Promise<void> {
    await this.#boss.stop({ graceful: false, close: true, timeout: 5000 });
  }
}

/** A job id from its kind and key: a second enqueue of the key names the same row. */
export function jobId(kind: string, key: string): string {
  const hex = createHash('sha256').update(`${kind}\0${key}`).digest('hex');
  // A version-4-shaped UUID (variant bits set) so any UUID parser takes it.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function attempt(claim: Claim): { id: string; retryCount: number } {
  return { id: claim.id, retryCount: claim.attempts - 1 };
}

function checkedLease(seconds: number): number {
  if (!isLeaseSeconds(seconds)) {
    throw new Error(
      `leaseSeconds is ${seconds}: a lease must be ${LEASE_RULE}. ` +
        `Set --lease-seconds (or FOREMAN_LEASE_SECONDS) to ${MIN_LEASE_SECONDS} or more; the default is ${DEFAULT_LEASE_SECONDS}.`,
    );
  }
  return seconds;
}
