// A real Probot instance serving Foreman's app on a local port, and signed deliveries built from
// @octokit/webhooks-examples. GitHub's REST API is nock'd by the tests.
import { detectSandbox, type Sandbox, type SandboxUnavailable } from '../../src/workspace/sandbox.ts';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { Probot, ProbotOctokit } from 'probot';
import { webhookHandler } from '../../src/app/webhooks.ts';
import { createForemanApp } from '../../src/app/app.ts';
import { IntakeLoop } from '../../src/app/intake-loop.ts';
import type { RunRegistry } from '../../src/app/run-registry.ts';
import { openAppBackend } from '../../src/app/backend.ts';
import { ForemanWorker, type Logger, type WorkerOptions } from '../../src/app/worker.ts';
import { appTokenSource, CachedTokenSource } from '../../src/github/installation.ts';
import type { AppQueue } from '../../src/app/jobs.ts';
import type { Store } from '../../src/runtime/store.ts';
import { openStore } from '../../src/service/runs.ts';
import { tempDir } from './repo.ts';

// The package's main is JSON, which ESM imports only with an import attribute TypeScript's
// erasable syntax leaves alone; require reads it as it is.
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

export const WEBHOOK_SECRET = 'test-webhook-secret';
export const API = 'https://api.github.com';

export interface AppHarness {
  url: string;
  probot: Probot;
  queue: AppQueue & { counts(kind?: string): Promise<Record<string, number>> };
  registry: RunRegistry;
  /** The run store the worker writes: the spend ledger `/workflow status` reads. */
  store: Store;
  intake: IntakeLoop;
  /** The worker, when asked for: in this process, so nock sees its GitHub calls. */
  worker: ForemanWorker | null;
  /** Stops the worker as a deploy would (SIGTERM) and starts a new one on the same store. */
  restartWorker(): Promise<void>;
  /** $FOREMAN_HOME of the worker. */
  home: string;
  /** What the worker logged as warnings and errors (a GitHub call that failed, a run that did not start). */
  problems: Array<{ obj: object; msg?: string }>;
  /** POSTs a delivery; `signature: null` leaves it unsigned, a string replaces it. */
  deliver(name: string, payload: unknown, options?: { signature?: string | null; id?: string }): Promise<{ status: number; ms: number; id: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Start a worker that sends agents to this Messages API. */
  anthropicUrl?: string;
  /** Least time between two updates of one check or comment (the product's is 3 s). */
  reportIntervalMs?: number;
  /** A store shared with another harness (two app instances on one volume). */
  home?: string;
  /** PostgreSQL for the queue and the registry (and the worker's store), as DATABASE_URL gives. */
  databaseUrl?: string;
  /** The worker's sandbox (default: detected, as `foreman worker` does). */
  sandbox?: Sandbox | SandboxUnavailable;
  /** How often the worker renews a job's lease (the product's: a third of the queue's lease). */
  leaseHeartbeatMs?: number;
  /** What the worker sees of the run registry (a test may slow or fail some of its writes). */
  workerRegistry?: (registry: RunRegistry) => RunRegistry;
}

export async function startApp(harness: HarnessOptions = {}): Promise<AppHarness> {
  let restart = async () => {};
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  // A function, so it applies after Probot's own throttle options: the production pacing of
  // content-creating requests (a second or more apart) would only slow the tests down.
  const Octokit = ProbotOctokit.defaults((o: any) => ({ ...o, retry: { enabled: false }, throttle: { ...o.throttle, enabled: false } }));
  const probot = new Probot({ appId: 1, privateKey, secret: WEBHOOK_SECRET, logLevel: process.env.FOREMAN_TEST_DEBUG ? 'debug' : 'fatal', Octokit });
  const home = harness.home ?? join(tempDir(), '.foreman');
  const { queue, registry } = await openAppBackend({ home, ...(harness.databaseUrl ? { databaseUrl: harness.databaseUrl, leaseSeconds: 10 } : {}) });
  const store = await openStore(home, harness.databaseUrl);
  const builtinDir = fileURLToPath(new URL('../../workflows/', import.meta.url));
  const problems: AppHarness['problems'] = [];
  let worker: ForemanWorker | null = null;
  if (harness.anthropicUrl) {
    // FOREMAN_TEST_DEBUG=1 prints what the worker logs.
    const debug = process.env.FOREMAN_TEST_DEBUG ? (obj: object, msg?: string) => console.error(msg, obj) : () => {};
    const log: Logger = {
      info: debug,
      warn: (obj, msg) => (debug(obj, msg), problems.push({ obj, msg })),
      error: (obj, msg) => (debug(obj, msg), problems.push({ obj, msg })),
    };
    const workerOptions: WorkerOptions = {
      queue,
      registry: harness.workerRegistry ? harness.workerRegistry(registry) : registry,
      holder: 'test-worker/',
      home,
      ...(harness.databaseUrl ? { databaseUrl: harness.databaseUrl } : {}),
      builtinDir,
      tokens: new CachedTokenSource(appTokenSource(() => probot.auth() as never)),
      apiUrl: API,
      Octokit,
      anthropic: { apiKey: 'test-key', baseURL: harness.anthropicUrl },
      commandEnv: process.env,
      sandbox: harness.sandbox ?? detectSandbox({ hide: [home] }),
      log,
      version: '0.0.0-test',
      pollMs: 20,
      stopPollMs: 50,
      reportIntervalMs: harness.reportIntervalMs ?? 0,
      ...(harness.leaseHeartbeatMs !== undefined ? { leaseHeartbeatMs: harness.leaseHeartbeatMs } : {}),
    };
    worker = new ForemanWorker(workerOptions);
    worker.start();
    restart = async () => {
      await worker!.stop();
      worker = new ForemanWorker({ ...workerOptions, holder: `test-worker-${Date.now()}/` });
      worker.start();
    };
  }
  // In this process, so nock sees its calls; schedules are ticked by the tests themselves.
  const intake = new IntakeLoop({ probot, queue, registry, spend: store, holder: 'test', pollMs: 20, builtinDir, onQueued: () => worker?.wake(), scheduleIntervalMs: 0 });
  intake.start();
  await probot.load(createForemanApp({ queue, onDelivery: () => intake.wake() }));
  const handle = webhookHandler(probot, WEBHOOK_SECRET);
  const server: Server = createServer(async (req, res) => {
    if (!(await handle(req, res))) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    probot,
    queue,
    registry,
    store,
    intake,
    get worker() {
      return worker;
    },
    restartWorker: () => restart(),
    home,
    problems,
    async deliver(name, payload, options = {}) {
      const body = JSON.stringify(payload);
      const id = options.id ?? randomUUID();
      const signature = options.signature === undefined ? `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}` : options.signature;
      const started = performance.now();
      const response = await fetch(`${url}/api/github/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': name, 'x-github-delivery': id, ...(signature ? { 'x-hub-signature-256': signature } : {}) },
        body,
      });
      await response.text();
      return { status: response.status, ms: performance.now() - started, id };
    },
    async close() {
      await intake.stop();
      await worker?.stop();
      await registry.close();
      await store.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue.close();
    },
  };
}

/** GitHub's own example of an issue_comment.created delivery (the one with an installation), as given. */
export function exampleComment(): any {
  const definition = examples.find((d) => d.name === 'issue_comment')!;
  const example = definition.examples.find((e: any) => e.action === 'created' && e.installation);
  return structuredClone(example);
}

/** `body` as a comment on pull request #1 of the repository served at `cloneUrl` (its default branch: main). */
export function prCommentOn(cloneUrl: string, body: string, commentId: number): any {
  const payload = prComment(body, { commentId });
  payload.repository.clone_url = cloneUrl;
  payload.repository.default_branch = 'main';
  return payload;
}

/** That example as a comment on a pull request, by `login`, saying `body`. */
export function prComment(body: string, overrides: { login?: string; type?: 'User' | 'Bot'; commentId?: number } = {}): any {
  const payload = exampleComment();
  payload.comment.body = body;
  if (overrides.commentId) payload.comment.id = overrides.commentId;
  if (overrides.login) payload.comment.user.login = payload.sender.login = overrides.login;
  if (overrides.type) payload.comment.user.type = payload.sender.type = overrides.type;
  const { owner, name } = { owner: payload.repository.owner.login, name: payload.repository.name };
  payload.issue.pull_request = {
    url: `${API}/repos/${owner}/${name}/pulls/${payload.issue.number}`,
    html_url: `https://github.com/${owner}/${name}/pull/${payload.issue.number}`,
    diff_url: `https://github.com/${owner}/${name}/pull/${payload.issue.number}.diff`,
    patch_url: `https://github.com/${owner}/${name}/pull/${payload.issue.number}.patch`,
  };
  return payload;
}

/** A run's row in the store under `home`, which the worker shares. */
export async function storedRun(home: string, runId: string) {
  const store = await openStore(home);
  try {
    return (await store.getRun(runId))!;
  } finally {
    await store.close();
  }
}
