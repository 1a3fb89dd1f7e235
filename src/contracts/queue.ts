// The work queue between the front doors and the workers: webhook deliveries to check, runs to
// execute, scheduled runs that fell due. An interface: the embedded default is SqliteWorkQueue, in
// the store's file; workers on many hosts share PostgreSQL through a pg-boss queue.
//
// A claim is a lease: the job's id and its attempt number (`attempts`) name it. Settling a job
// (finish, release) and renewing it (heartbeat) only act on the claim they are given, so a holder
// whose claim lapsed (its lease expired and another holder claimed the job again) changes nothing.
//
// A queue is typed by its job map: each job kind names the payload it carries, so `enqueue` takes
// that payload and `claim` hands back a union a `switch (job.kind)` narrows. The map belongs to the
// door that owns the jobs; the queue itself stores JSON and trusts that whoever enqueued a kind used
// the same map as whoever claims it.

/** Job kind → its payload: the untyped map, and the constraint every typed one (an interface too) meets. */
export type JobMap = Record<string, unknown>;

export interface Job<Payload = unknown, Kind extends string = string> {
  /** The queue's own id, opaque: a row number in SQLite, a UUID in pg-boss. */
  id: string;
  kind: Kind;
  /** Unique forever: a second enqueue with the same key is a no-op (redeliveries, replicas). */
  key: string;
  payload: Payload;
  /** Claims so far, this one included: with the id, it names this claim (the lease's generation). */
  attempts: number;
  enqueuedAt: string;
  /**
   * This claim's own lease in seconds, as the queue checks it (null or absent: it does not
   * expire). pg-boss copies a queue's lease onto each job when it is inserted, so a job may carry
   * another process's setting than this one's `leaseSeconds`: its holder renews in time for both.
   */
  leaseSeconds?: number | null;
}

/** A claimed job of one of `Kinds`, its payload narrowed by its kind. */
export type JobOf<Jobs extends object, Kinds extends keyof Jobs & string = keyof Jobs & string> = {
  [Kind in Kinds]: Job<Jobs[Kind], Kind>;
}[Kinds];

/** The claim a settling or renewing call acts on: a job as `claim` returned it. */
export type Claim = Pick<Job, 'id' | 'kind' | 'attempts' | 'leaseSeconds'>;

export interface EnqueueOptions {
  /**
   * Waiting jobs of higher priority are claimed first, oldest first within one priority (default
   * 0): runs someone asked for on GitHub go before scheduled sweeps.
   */
  priority?: number;
}

export interface WorkQueue<Jobs extends object = JobMap> {
  /**
   * How long a claim lasts without a heartbeat, in seconds; null when claims last until their
   * holder is found gone (the embedded queue, whose holders are processes on one host).
   */
  readonly leaseSeconds: number | null;
  /** Adds a job unless one with this key was ever enqueued; `created` says which. */
  enqueue<Kind extends keyof Jobs & string>(kind: Kind, key: string, payload: Jobs[Kind], options?: EnqueueOptions): Promise<{ id: string; created: boolean }>;
  /** Takes the waiting job of one of these kinds that goes first for `holder`, or null when there is none. */
  claim<Kinds extends keyof Jobs & string>(kinds: readonly Kinds[], holder: string): Promise<JobOf<Jobs, Kinds> | null>;
  /** Renews the claim's lease; false once it is no longer this claim (it lapsed and was claimed again, or was settled). */
  heartbeat(claim: Claim): Promise<boolean>;
  /** Done: for good, with the error when it failed. No effect once the claim has lapsed. */
  finish(claim: Claim, error?: string): Promise<void>;
  /** Back in line, to be claimed again (its holder is shutting down). No effect once the claim has lapsed. */
  release(claim: Claim): Promise<void>;
  /** Jobs of holders that are gone (every holder starting with `prefix`) go back in line. Returns how many. A leased queue has none to release: leases expire. */
  releaseHolder(prefix: string): Promise<number>;
  /** The holders of claimed jobs (empty for a leased queue, whose holders are not processes on this host). */
  holders(): Promise<string[]>;
  close(): Promise<void>;
}
