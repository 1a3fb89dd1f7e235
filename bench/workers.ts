// Past one machine (issue #16): agents per hour with 1, 2 and 4 `foreman worker` processes on one
// PostgreSQL, with and without an organisation rate limit, and the time from a worker's kill -9 to
// another worker's first new agent. The workers are real processes (test/support/worker-cluster.ts):
// their own homes, the pg-boss queue, the fake model over HTTP at 100 ms.
import { availableParallelism } from 'node:os';
import { text, type FakeRequest } from '../test/support/fake-anthropic.ts';
import { startPostgres, type PostgresCluster } from '../test/support/postgres.ts';
import { startWorkerCluster, waitFor, type WorkerCluster } from '../test/support/worker-cluster.ts';

export const LATENCY_MS = 100;
/**
 * Runs queued at once, each a fan-out of AGENTS_PER_RUN agents, RUN_CONCURRENCY at a time. A run
 * also holds its worker's slot while it sets up (clone, worktree, isolate) and while its report
 * is written to GitHub, a second apart as GitHub asks of writes (several seconds a run): enough runs
 * that four workers take four turns each, and one run slower than the others weighs less on the wall.
 */
export const RUNS = 32;
export const AGENTS_PER_RUN = 100;
export const RUN_CONCURRENCY = 4;
/** A worker executes this many runs at once (`foreman worker --max-runs`' default). */
const RUNS_PER_WORKER = 2;

const fanoutScript = (agents: number) => `export const meta = { name: 'fanout', description: 'benchmark fan-out', readOnly: true }
const results = await parallel(Array.from({ length: ${agents} }, (_, i) => () => agent('item ' + i + ' of ' + (args?.run ?? '') + ': reply ok')))
return results.filter(Boolean).length
`;

const CONFIG = { limits: { concurrency: RUN_CONCURRENCY } };

function files(agents: number): Record<string, string> {
  return { 'README.md': 'bench\n', '.claude/workflows/fanout.js': fanoutScript(agents) };
}

export interface ThroughputRow {
  workers: number;
  agents: number;
  wallMs: number;
  agentsPerHour: number;
  /**
   * Agents an hour while the queue still held work: those finished from the queueing to the last
   * run's start, over that time. Every slot is busy then; after it the batch drains (fewer and
   * fewer runs left), which a fixed batch has and a stream of work does not.
   */
  sustainedAgentsPerHour: number;
  rateLimited: number;
  cpuMsPerAgent: number;
}

/** Queues RUNS runs on `workers` fresh workers and times them from the queueing to the last run's end. */
async function throughput(postgres: PostgresCluster, workers: number, rateLimits?: { requestsPerMinute: number }): Promise<ThroughputRow> {
  const cluster = await startWorkerCluster({ postgres, workers, latencyMs: LATENCY_MS, files: files(AGENTS_PER_RUN), handler: () => [text('ok')], ...(rateLimits ? { rateLimits } : {}) });
  try {
    const cpuBefore = await workersCpuMs(cluster);
    const started = performance.now();
    const queuedAt = Date.now();
    const issues = Array.from({ length: RUNS }, (_, i) => i + 1);
    for (const issue of issues) await cluster.enqueueStart('fanout', issue, { config: CONFIG, args: { run: issue } });
    for (const issue of issues) {
      const row = await cluster.waitForRunEnd(issue, 600_000);
      if (row.status !== 'completed') throw new Error(`run on #${issue} ended ${row.status}: ${cluster.workers.map((w) => w.log().slice(-1_500)).join('\n')}`);
    }
    const wallMs = performance.now() - started;
    const agents = RUNS * AGENTS_PER_RUN;
    return {
      workers,
      agents,
      wallMs,
      agentsPerHour: (agents / wallMs) * 3_600_000,
      sustainedAgentsPerHour: await sustainedRate(cluster, queuedAt),
      rateLimited: cluster.fake.rateLimited,
      cpuMsPerAgent: ((await workersCpuMs(cluster)) - cpuBefore) / agents,
    };
  } finally {
    await cluster.close();
  }
}

/** Agents an hour from the queueing to the last run's start (ThroughputRow.sustainedAgentsPerHour), from the store's own times. */
async function sustainedRate(cluster: WorkerCluster, queuedAt: number): Promise<number> {
  const lastStart = Math.max(...(await cluster.db.query('SELECT started_at FROM runs')).rows.map((r: { started_at: string }) => Date.parse(r.started_at)));
  const finished = (await cluster.db.query('SELECT finished_at FROM agents')).rows.filter((r: { finished_at: string }) => Date.parse(r.finished_at) <= lastStart).length;
  return (finished / (lastStart - queuedAt)) * 3_600_000;
}

/** CPU the worker processes have used so far (user + system), from /proc: what bounds agents per hour on this machine. */
async function workersCpuMs(cluster: WorkerCluster): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const ticksPerSecond = 100;
  let ticks = 0;
  for (const worker of cluster.workers) {
    try {
      const stat = readFileSync(`/proc/${worker.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime: the worker and the git, sandbox and isolate children it waited for.
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // gone
    }
  }
  return (ticks / ticksPerSecond) * 1_000;
}

export interface FailoverRow {
  leaseSeconds: number;
  killedAtAgent: number;
  toFirstNewAgentMs: number;
  modelCallsAfterKill: number;
  unfinishedAtKill: number;
}

/**
 * One long fan-out on two workers; the one running it is killed (SIGKILL) half way. Measured: from
 * the kill to the first model request the other worker makes for the run (a new agent: finished
 * ones replay from the journal).
 */
async function failover(postgres: PostgresCluster, leaseSeconds: number): Promise<FailoverRow> {
  const agents = 400;
  const times: number[] = [];
  const cluster = await startWorkerCluster({
    postgres,
    workers: 2,
    leaseSeconds,
    latencyMs: LATENCY_MS,
    files: files(agents),
    handler: (req: FakeRequest) => {
      if (/item \d+ of /.test(req.prompt)) times.push(Date.now());
      return [text('ok')];
    },
  });
  try {
    await cluster.enqueueStart('fanout', 1, { config: CONFIG, args: { run: 1 } });
    const runId = await cluster.waitForRunId(1);
    await waitFor('half the agents journaled', async () => (await journaled(cluster, runId)) >= agents / 2, 120_000);
    const holder = (await cluster.githubRuns()).find((r) => r.runId === runId)!.holder!;
    const victim = cluster.workers.find((w) => holder.includes(`:${w.child.pid}:`)) ?? cluster.workers[0]!;
    await victim.kill();
    const killedAt = Date.now();
    const done = await journaled(cluster, runId);
    const requestsBefore = times.length;
    const row = await cluster.waitForRunEnd(1, 300_000);
    if (row.status !== 'completed') throw new Error(`the run ended ${row.status}`);
    const after = times.filter((t) => t >= killedAt);
    return {
      leaseSeconds,
      killedAtAgent: done,
      toFirstNewAgentMs: after.length ? after[0]! - killedAt : NaN,
      modelCallsAfterKill: times.length - requestsBefore,
      unfinishedAtKill: agents - done,
    };
  } finally {
    await cluster.close();
  }
}

async function journaled(cluster: WorkerCluster, runId: string): Promise<number> {
  return Number((await cluster.db.query('SELECT COUNT(*) AS n FROM journal WHERE run_id = $1', [runId])).rows[0].n);
}

export interface WorkersBench {
  cpus: number;
  throughput: ThroughputRow[];
  limited: ThroughputRow;
  limitPerMinute: number;
  failover: FailoverRow;
}

export async function workersBench(): Promise<WorkersBench> {
  const postgres = await startPostgres();
  try {
    const rows: ThroughputRow[] = [];
    for (const workers of [1, 2, 4]) rows.push(await throughput(postgres, workers));
    // A limit well under what four workers would send: they must share it, not each take it whole.
    const limitPerMinute = 1_200;
    const limited = await throughput(postgres, 4, { requestsPerMinute: limitPerMinute });
    return { cpus: availableParallelism(), throughput: rows, limited, limitPerMinute, failover: await failover(postgres, 10) };
  } finally {
    await postgres.stop();
  }
}
