// The work queue between the front doors and the workers: webhook deliveries to check, runs to
// execute, scheduled runs that fell due. An interface, so many workers can later share a
// Redis-backed queue; the embedded default is SqliteWorkQueue, in the store's file.
//
// A queue is typed by its job map: each job kind names the payload it carries, so `enqueue` takes
// that payload and `claim` hands back a union a `switch (job.kind)` narrows. The map belongs to the
// door that owns the jobs; the queue itself stores JSON and trusts that whoever enqueued a kind used
// the same map as whoever claims it.

/** Job kind → its payload: the untyped map, and the constraint every typed one (an interface too) meets. */
export type JobMap = Record<string, unknown>;

export interface Job<Payload = unknown, Kind extends string = string> {
  id: number;
  kind: Kind;
  /** Unique forever: a second enqueue with the same key is a no-op (redeliveries, replicas). */
  key: string;
  payload: Payload;
  /** Claims so far, this one included. */
  attempts: number;
  enqueuedAt: string;
}

/** A claimed job of one of `Kinds`, its payload narrowed by its kind. */
export type JobOf<Jobs extends object, Kinds extends keyof Jobs & string = keyof Jobs & string> = {
  [Kind in Kinds]: Job<Jobs[Kind], Kind>;
}[Kinds];

export interface WorkQueue<Jobs extends object = JobMap> {
  /** Adds a job unless one with this key was ever enqueued; `created` says which. */
  enqueue<Kind extends keyof Jobs & string>(kind: Kind, key: string, payload: Jobs[Kind]): Promise<{ id: number; created: boolean }>;
  /** Takes the oldest waiting job of one of these kinds for `holder`, or null when there is none. */
  claim<Kinds extends keyof Jobs & string>(kinds: readonly Kinds[], holder: string): Promise<JobOf<Jobs, Kinds> | null>;
  /** Done: for good, with the error when it failed. */
  finish(id: number, error?: string): Promise<void>;
  /** Back in line, to be claimed again (its holder is shutting down). */
  release(id: number): Promise<void>;
  /** Jobs of holders that are gone (every holder starting with `prefix`) go back in line. Returns how many. */
  releaseHolder(prefix: string): Promise<number>;
  /** The holders of claimed jobs. */
  holders(): Promise<string[]>;
  close(): Promise<void>;
}
