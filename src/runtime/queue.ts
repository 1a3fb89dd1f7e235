// The work queue between the front doors and the workers: webhook deliveries to check, runs to
// execute, scheduled runs that fell due. An interface, so many workers can later share a
// Redis-backed queue; the embedded default is SqliteWorkQueue, in the store's file.

export interface Job<Payload = unknown> {
  id: number;
  kind: string;
  /** Unique forever: a second enqueue with the same key is a no-op (redeliveries, replicas). */
  key: string;
  payload: Payload;
  /** Claims so far, this one included. */
  attempts: number;
  enqueuedAt: string;
}

export interface WorkQueue {
  /** Adds a job unless one with this key was ever enqueued; `created` says which. */
  enqueue(kind: string, key: string, payload: unknown): Promise<{ id: number; created: boolean }>;
  /** Takes the oldest waiting job of one of these kinds for `holder`, or null when there is none. */
  claim(kinds: readonly string[], holder: string): Promise<Job | null>;
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
