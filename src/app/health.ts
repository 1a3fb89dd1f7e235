// GET /healthz: 200 while every part of `foreman app` runs, 503 naming the parts that do not, so a
// container's health check or a load balancer sees a dead intake thread or worker, not just a
// port that answers. Anyone who reaches the port may ask, so it says up or down and nothing
// more: how many jobs wait or run (what the repositories are doing) and why a store failed (its
// path) go to the log, where the operator reads them.
import type { ServerResponse } from 'node:http';

/** The queue, as far as its counts go. */
export interface CountedQueue {
  counts(): Promise<Record<string, number>>;
}

export type PartState = 'up' | 'down';

export interface SupervisedPart {
  readonly name: string;
  state(): PartState;
}

interface HealthReport {
  ok: boolean;
  /** The parts that are down, when any is. */
  down?: string[];
  parts: Record<string, PartState>;
}

interface HealthLog {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** How often the queue's counts may be logged, at most (they are logged when they change). */
const COUNTS_LOG_INTERVAL_MS = 60_000;

/** A failing store is logged again when its error changes, else at most once a minute. */
const STORE_ERROR_LOG_MS = 60_000;
let lastStoreError = { message: '', at: 0 };

async function healthReport(parts: readonly SupervisedPart[], queue: CountedQueue, log: HealthLog): Promise<HealthReport> {
  const states: Record<string, PartState> = Object.fromEntries(parts.map((part) => [part.name, part.state()]));
  try {
    // Reading the counts is the cheapest question that proves the store answers.
    await queue.counts();
    states.store = 'up';
  } catch (error) {
    states.store = 'down';
    const message = `the store could not be read: ${error instanceof Error ? error.message : String(error)}`;
    // /healthz is open to whoever reaches the port: its requests must not flood the log.
    if (message !== lastStoreError.message || Date.now() - lastStoreError.at >= STORE_ERROR_LOG_MS) {
      lastStoreError = { message, at: Date.now() };
      log.error({ part: 'store', err: error }, message);
    }
  }
  const down = Object.keys(states).filter((name) => states[name] !== 'up');
  return { ok: down.length === 0, ...(down.length > 0 ? { down } : {}), parts: states };
}

export async function answerHealth(res: ServerResponse, parts: readonly SupervisedPart[], queue: CountedQueue, log: HealthLog): Promise<void> {
  const report = await healthReport(parts, queue, log);
  res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(report));
}

/**
 * Logs the queue's counts by status (`queue counts` at info) when they have changed, once a minute
 * at most, until `signal` is aborted: where an operator sees what /healthz no longer shows.
 */
export function logQueueCounts(queue: CountedQueue, log: HealthLog, signal: AbortSignal, intervalMs = COUNTS_LOG_INTERVAL_MS): void {
  let last = '';
  const timer = setInterval(() => {
    queue.counts().then(
      (jobs) => {
        const now = JSON.stringify(jobs);
        if (now === last) return;
        last = now;
        log.info({ jobs }, 'queue counts');
      },
      () => {},
    );
  }, intervalMs).unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
