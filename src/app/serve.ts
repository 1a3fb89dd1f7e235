// `foreman app` with its credentials: the webhook server, the intake thread and the worker, for as
// long as `signal` is not aborted. The port is taken first: an App that cannot listen starts
// nothing else, and says so.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProbot } from 'probot';
import { appTokenSource, CachedTokenSource } from '../github/installation.ts';
import { openAppBackend, type BackendSettings } from './backend.ts';
import { createForemanApp } from './app.ts';
import { answerHealth, logQueueCounts, type SupervisedPart } from './health.ts';
import { holderName, releaseGoneHolders } from './holders.ts';
import { superviseIntakeThread } from './intake-supervisor.ts';
import { appLog, type LogSettings } from './log.ts';
import { markNonDumpableOrWarn } from '../service/non-dumpable.ts';
import { serveTokenRequest } from './token-endpoint.ts';
import { webhookHandler, WEBHOOK_PATH } from './webhooks.ts';
import { superviseWorker, type WorkerSupervisor } from './worker-supervisor.ts';

const BUILTIN_DIR = fileURLToPath(new URL('../../workflows/', import.meta.url));

export interface ServeOptions {
  /** Handed on to Probot, the intake thread and (without the App's secrets) the worker. */
  env: NodeJS.ProcessEnv;
  port: number;
  host: string;
  webhookSecret: string;
  /** $FOREMAN_HOME. */
  home: string;
  /** PostgreSQL (DATABASE_URL) for the store, the queue and the registry, and the queue's lease. */
  backend?: Omit<BackendSettings, 'home'>;
  /** Fork a worker (false: workers run elsewhere). */
  worker: boolean;
  /** How often schedules are read (default a minute). */
  scheduleIntervalMs?: number;
  log: LogSettings;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

export async function serveApp(options: ServeOptions): Promise<void> {
  const { env, home } = options;
  const log = appLog(options.log, 'foreman-app');
  markNonDumpableOrWarn(log);
  // Probot gets the logger now: its own would be set only once it has initialized.
  const probot = createProbot({ env, overrides: { log } });
  const dbFile = join(home, 'foreman.db');
  const settings: BackendSettings = { home, ...options.backend };
  const { queue, registry, close } = await openAppBackend(settings);
  try {
    // A restarted container, a worker that was killed: what this host's gone processes held goes back in line.
    await releaseGoneHolders(queue, registry);
    const tokens = new CachedTokenSource(appTokenSource(() => probot.auth() as never));
    let worker: WorkerSupervisor | null = null;
    const intake = superviseIntakeThread(
      { env, dbFile, ...options.backend, holder: holderName('app'), builtinDir: BUILTIN_DIR, log: options.log, ...(options.scheduleIntervalMs !== undefined ? { scheduleIntervalMs: options.scheduleIntervalMs } : {}) },
      { log, onQueued: () => worker?.wake(), signal: options.signal, releaseHolder: (holder) => queue.releaseHolder(holder) },
    );
    await probot.load(createForemanApp({ queue, log, onDelivery: () => intake.wake() }));
    const handle = webhookHandler(probot, options.webhookSecret);
    const parts: SupervisedPart[] = [];
    const server: Server = createServer(async (req, res) => {
      if (await handle(req, res)) return;
      if (await serveTokenRequest(req, res, env.WORKER_SECRET, tokens)) return;
      if (req.url === '/healthz') return answerHealth(res, parts, queue, log);
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: deliveries go to ${WEBHOOK_PATH}\n`);
    });
    parts.push({ name: 'webhook server', state: () => (server.listening ? 'up' : 'down') });
    await listen(server, options.port, options.host);
    server.on('error', (error) => log.error({ part: 'webhook server', err: error }, `the webhook server failed: ${error.message}`));

    parts.push(intake);
    logQueueCounts(queue, log, options.signal);
    if (options.worker) {
      worker = superviseWorker({ env, home, backend: options.backend ?? {}, tokens, queue, registry, log, signal: options.signal });
      parts.push(worker);
    }
    try {
      await Promise.all([intake.start(), worker?.start()]);
      const address = server.address() as AddressInfo;
      options.stderr.write(`foreman app: listening on http://${address.address}:${address.port} (webhooks at ${WEBHOOK_PATH})\n`);
      if (!options.signal.aborted) await new Promise<void>((done) => options.signal.addEventListener('abort', () => done(), { once: true }));
      options.stderr.write('foreman app: stopping\n');
    } finally {
      // The parts stop side by side: a worker handing its runs back does not wait for the intake's job in hand.
      await Promise.all([new Promise<void>((done) => server.close(() => done())), intake.stop(), worker?.stop()]);
    }
  } finally {
    await close();
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((done, fail) => {
    const failed = (error: NodeJS.ErrnoException) => fail(new Error(listenProblem(error, port, host)));
    server.once('error', failed).listen(port, host, () => {
      server.off('error', failed);
      done();
    });
  });
}

/** What stopped the server from listening, and what to change. */
function listenProblem(error: NodeJS.ErrnoException, port: number, host: string): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is in use by another process: stop that process, or choose another port with --port (or PORT)`;
    case 'EACCES':
      return `not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges): choose another port with --port (or PORT)`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine: choose another with --host (or HOST)`;
    default:
      return `cannot listen on ${host}:${port}: ${error.message}; choose another address with --port and --host`;
  }
}
