// N `foreman worker` processes on one PostgreSQL, as N hosts would run them: each its own
// FOREMAN_HOME (clone cache, worktrees), its own token endpoint and installation token (so the
// GitHub stand-in can tell which worker made a call), one shared fake Messages API, one git remote
// over HTTP and one local GitHub REST API. Runs are queued as the intake queues them: 'start' jobs
// on the pg-boss queue. Used by the multi-worker tests and the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { openAppBackend, type AppBackend } from '../../src/app/backend.ts';
import { ASKED_PRIORITY } from '../../src/app/jobs.ts';
import type { GitHubRunContext } from '../../src/app/run-registry.ts';
import { serveTokenRequest } from '../../src/app/token-endpoint.ts';
import type { ForemanConfig } from '../../src/config/schema.ts';
import { BIN } from './cli.ts';
import { startFakeAnthropic, type FakeAnthropic, type FakeReply, type FakeRequest } from './fake-anthropic.ts';
import type { FakeRateLimits } from './fake-rate-limits.ts';
import { startFakeGitHubApi, type ApiCall, type FakeGitHubApi } from './fake-github-api.ts';
import { NAME, OWNER, startRemote, type Remote } from './github-remote.ts';
import { startPostgres, type PostgresCluster } from './postgres.ts';
import { tempDir } from './repo.ts';

export { NAME, OWNER };

export interface ClusterOptions {
  /** The repository's default branch: its package.json (the gate) and .claude/workflows/. */
  files: Record<string, string>;
  /** Scripts the fake model's answers; the cluster counts requests per prompt around it. */
  handler: (req: FakeRequest) => FakeReply | Promise<FakeReply>;
  /** Workers started at once (default 2). */
  workers?: number;
  /** The fake model's delay per request (default 0). */
  latencyMs?: number;
  /** The organisation's rate limits the fake model enforces, with anthropic-ratelimit-* headers. */
  rateLimits?: FakeRateLimits;
  /** FOREMAN_LEASE_SECONDS (default 10, pg-boss's minimum). */
  leaseSeconds?: number;
  /** Extra environment for every worker. */
  env?: NodeJS.ProcessEnv;
  /** A PostgreSQL cluster to take a fresh database from; by default the cluster starts (and stops) its own. */
  postgres?: PostgresCluster;
}

export interface ClusterWorker {
  index: number;
  /** Its installation token: every GitHub call and git request it makes carries it. */
  token: string;
  /** Its FOREMAN_HOME. */
  home: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** What it logged (LOG_FORMAT=json, one object a line). */
  log(): string;
  /** Resolves once a line matching `pattern` was logged; rejects if it exits first. */
  waitForLog(pattern: RegExp, ms?: number): Promise<void>;
  /** kill -9: no shutdown, no release; its claims lapse with their leases. */
  kill(): Promise<void>;
  /** SIGSTOP: a partitioned host, alive but silent, heartbeats included. */
  pause(): void;
  /** SIGCONT: the partition heals. */
  resume(): void;
  /** SIGTERM: a graceful stop (runs in hand stop resumably, jobs go back in line). */
  stop(): Promise<number | null>;
  /** Deletes its FOREMAN_HOME (clones, worktrees): a wiped disk. Only when it is not running. */
  wipeHome(): void;
}

export interface GitHubRunRow {
  id: number;
  runId: string | null;
  jobKey: string;
  holder: string | null;
  issueNumber: number | null;
  state: string;
  status: string | null;
}

export interface WorkerCluster {
  databaseUrl: string;
  fake: FakeAnthropic;
  github: FakeGitHubApi;
  remote: Remote;
  workers: ClusterWorker[];
  /** The queue and registry, as `foreman app --no-worker` would open them. */
  backend: AppBackend;
  /** A pool on the database, for reading the store. */
  db: pg.Pool;
  /** Starts one more worker, with a fresh home and token; resolves once it logged its start. */
  startWorker(): Promise<ClusterWorker>;
  /** Queues a run of `workflow` reporting to issue `issue`, as the intake does for a comment; returns the job key. */
  enqueueStart(workflow: string, issue: number, options?: { config?: ForemanConfig; args?: unknown; priority?: number }): Promise<string>;
  /** The registry's rows, oldest first. */
  githubRuns(): Promise<GitHubRunRow[]>;
  /** Waits until the run on `issue` is no longer active (done), and returns its row. */
  waitForRunEnd(issue: number, ms?: number): Promise<GitHubRunRow>;
  /** Waits until the run on `issue` has a run id in the store. */
  waitForRunId(issue: number, ms?: number): Promise<string>;
  /** Model requests by the first user message's text (every turn). */
  requestsByPrompt: Map<string, number>;
  /** Agents started (their first turn's request) by prompt: an agent replayed from the journal asks nothing. */
  agentsByPrompt: Map<string, number>;
  /** The GitHub API calls a token made, at or after `since`. */
  callsBy(token: string, since?: number): ApiCall[];
  /** The start jobs' states in pg-boss, by key. */
  startJobs(): Promise<Array<{ key: string; state: string; retries: number }>>;
  close(): Promise<void>;
}

/** Polls `check` every 50 ms until it returns a value, for at most `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface TokenEndpoint {
  url: string;
  secret: string;
  server: Server;
}

/** The app's token endpoint for one worker: Foreman's own handler, with that worker's secret and token. */
async function tokenEndpoint(secret: string, token: string): Promise<TokenEndpoint> {
  const server = createServer((req, res) => {
    void serveTokenRequest(req, res, secret, {
      installationToken: async () => ({ token, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }),
    }).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, secret, server };
}

export async function startWorkerCluster(options: ClusterOptions): Promise<WorkerCluster> {
  const ownPostgres = options.postgres ? null : await startPostgres();
  const postgres = options.postgres ?? ownPostgres!;
  const databaseUrl = await postgres.createDatabase();
  const requestsByPrompt = new Map<string, number>();
  const agentsByPrompt = new Map<string, number>();
  const fake = await startFakeAnthropic({
    latencyMs: options.latencyMs ?? 0,
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    handler: (req) => {
      requestsByPrompt.set(req.prompt, (requestsByPrompt.get(req.prompt) ?? 0) + 1);
      if (req.turn === 0 && !req.continuing) agentsByPrompt.set(req.prompt, (agentsByPrompt.get(req.prompt) ?? 0) + 1);
      return options.handler(req);
    },
  });
  const tokens = new Set<string>();
  const remote = await startRemote(options.files, undefined, tokens);
  const github = await startFakeGitHubApi(OWNER, NAME);
  // Migrations and pg-boss's schema before any worker starts, as the app's start would.
  const backend = await openAppBackend({ home: tempDir('foreman-cluster-app-'), databaseUrl, leaseSeconds: options.leaseSeconds ?? 10 });
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const endpoints: TokenEndpoint[] = [];
  const workers: ClusterWorker[] = [];
  let started = 0;

  const startWorker = async (): Promise<ClusterWorker> => {
    const index = started++;
    const token = `ghs_worker${index}_${Math.random().toString(36).slice(2, 10)}`;
    tokens.add(token);
    const home = tempDir(`foreman-worker${index}-`);
    const endpoint = await tokenEndpoint(`worker-secret-${index}`, token);
    endpoints.push(endpoint);
    const child = spawn(process.execPath, ['--no-node-snapshot', BIN, 'worker'], {
      env: {
        PATH: process.env.PATH,
        HOME: tempDir('foreman-worker-home-'),
        FOREMAN_HOME: home,
        DATABASE_URL: databaseUrl,
        FOREMAN_LEASE_SECONDS: String(options.leaseSeconds ?? 10),
        FOREMAN_APP_URL: endpoint.url,
        WORKER_SECRET: endpoint.secret,
        ANTHROPIC_API_KEY: 'sk-ant-test',
        ANTHROPIC_BASE_URL: fake.url,
        GHE_HOST: new URL(github.url).host,
        GHE_PROTOCOL: 'http',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (d: string) => (output += d);
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const running = () => child.exitCode === null && child.signalCode === null;
    const worker: ClusterWorker = {
      index,
      token,
      home,
      child,
      exited,
      log: () => output,
      waitForLog: (pattern, ms = 30_000) =>
        waitFor(`worker ${index} to log ${pattern}: ${output.slice(-2_000)}`, () => {
          if (pattern.test(output)) return true;
          if (!running()) throw new Error(`worker ${index} exited before logging ${pattern}: ${output.slice(-2_000)}`);
          return false;
        }, ms).then(() => {}),
      async kill() {
        if (running()) child.kill('SIGKILL');
        await exited;
      },
      pause: () => void child.kill('SIGSTOP'),
      resume: () => void child.kill('SIGCONT'),
      async stop() {
        if (running()) {
          child.kill('SIGCONT');
          child.kill('SIGTERM');
        }
        return exited;
      },
      wipeHome: () => rmSync(home, { recursive: true, force: true }),
    };
    workers[index] = worker;
    await worker.waitForLog(/"msg":"worker started"/);
    return worker;
  };

  await Promise.all(Array.from({ length: options.workers ?? 2 }, () => startWorker()));

  const rowOf = (r: Record<string, any>): GitHubRunRow => ({
    id: Number(r.id),
    runId: r.run_id,
    jobKey: r.job_key,
    holder: r.holder,
    issueNumber: r.issue_number === null ? null : Number(r.issue_number),
    state: r.state,
    status: r.status,
  });
  const githubRuns = async () => (await db.query('SELECT * FROM github_runs ORDER BY id')).rows.map(rowOf);
  const onIssue = async (issue: number) => (await githubRuns()).filter((r) => r.issueNumber === issue);

  return {
    databaseUrl,
    fake,
    github,
    remote,
    workers,
    backend,
    db,
    startWorker,
    requestsByPrompt,
    agentsByPrompt,
    async enqueueStart(workflow, issue, extra = {}) {
      const context: GitHubRunContext = {
        installationId: github.installationId,
        owner: OWNER,
        repo: NAME,
        cloneUrl: remote.cloneUrl,
        defaultBranch: 'main',
        issueNumber: issue,
        isPullRequest: false,
        trigger: `/workflow ${workflow}`,
        author: 'octocat',
        workflow,
        args: extra.args ?? null,
        config: extra.config ?? {},
      };
      const key = `delivery-${issue}-${workflow}`;
      await backend.queue.enqueue('start', key, { context }, { priority: extra.priority ?? ASKED_PRIORITY });
      return key;
    },
    githubRuns,
    waitForRunEnd: (issue, ms = 60_000) =>
      waitFor(
        `the run on issue #${issue} to end`,
        async () => (await onIssue(issue)).find((r) => r.state !== 'active' && r.status !== null),
        ms,
      ),
    waitForRunId: (issue, ms = 30_000) => waitFor(`the run on issue #${issue} to have a run id`, async () => (await onIssue(issue)).find((r) => r.runId)?.runId, ms),
    callsBy: (token, since = 0) => github.calls.filter((c) => c.token === token && c.at >= since),
    async startJobs() {
      const { rows } = await db.query("SELECT data->>'key' AS key, state::text AS state, retry_count AS retries FROM pgboss.job WHERE name = 'start' ORDER BY created_on");
      return rows;
    },
    async close() {
      await Promise.all(workers.map((w) => w.kill().catch(() => {})));
      await backend.close();
      await db.end();
      for (const endpoint of endpoints) endpoint.server.close();
      await github.close();
      await remote.close();
      await fake.close();
      await ownPostgres?.stop();
    },
  };
}
