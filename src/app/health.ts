// GET /healthz: 200 while every part of `foreman app` runs, 503 naming the parts that do not, so a
// container's health check or a load balancer sees a dead intake thread or worker, not just a
// port that answers.
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

export interface HealthReport {
  ok: boolean;
  /** The parts that are down, when any is. */
  down?: string[];
  parts: Record<string, PartState>;
  /** The queue's counts by status; null when the store could not be read. */
  jobs: Record<string, number> | null;
  /** Why the store could not be read. */
  store?: string;
}

async function healthReport(parts: readonly SupervisedPart[], queue: CountedQueue): Promise<HealthReport> {
  const states = Object.fromEntries(parts.map((part) => [part.name, part.state()]));
  const down = parts.filter((part) => states[part.name] !== 'up').map((part) => part.name);
  let jobs: HealthReport['jobs'] = null;
  let store: string | undefined;
  try {
    jobs = await queue.counts();
  } catch (error) {
    store = error instanceof Error ? error.message : String(error);
    down.push('store');
  }
  return { ok: down.length === 0, ...(down.length > 0 ? { down } : {}), parts: states, jobs, ...(store !== undefined ? { store } : {}) };
}

export async function answerHealth(res: ServerResponse, parts: readonly SupervisedPart[], queue: CountedQueue): Promise<void> {
  const report = await healthReport(parts, queue);
  res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report));
}
