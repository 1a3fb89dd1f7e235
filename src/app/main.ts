// `foreman app`: the GitHub App's webhook server. With credentials (APP_ID, PRIVATE_KEY or
// PRIVATE_KEY_PATH, WEBHOOK_SECRET, from the environment or ./.env) it serves deliveries and runs
// the intake; without them it registers the App from Foreman's app.yml (setup.ts), which writes
// the credentials to ./.env.
import { fork, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createProbot } from 'probot';
import { appTokenSource, CachedTokenSource, type TokenSource } from '../github/installation.ts';
import { SqliteWorkQueue } from '../runtime/sqlite-queue.ts';
import type { WorkQueue } from '../runtime/queue.ts';
import { createForemanApp } from './app.ts';
import { SqliteRunRegistry, type RunRegistry } from './run-registry.ts';
import { holderName, releaseGoneHolders } from './holders.ts';
import type { IntakeThreadData } from './intake-thread.ts';
import { serveTokens } from './token-broker.ts';
import { serveTokenRequest } from './token-endpoint.ts';
import { webhookHandler, WEBHOOK_PATH } from './webhooks.ts';
import { readAppStart } from './credentials.ts';
import { registerApp } from './setup.ts';

export interface AppIo {
  env: NodeJS.ProcessEnv;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

export class AppUsageError extends Error {}

const BUILTIN_DIR = fileURLToPath(new URL('../../workflows/', import.meta.url));

const USAGE = `usage: foreman app [--port N] [--host H] [--no-worker]
  Serves GitHub webhooks at ${WEBHOOK_PATH} (and /healthz) and forks a \`foreman worker\` that
  executes the runs (--no-worker: workers run elsewhere, sharing FOREMAN_HOME). Environment:
  APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET, ANTHROPIC_API_KEY, FOREMAN_HOME;
  WORKER_SECRET to serve tokens to workers on other machines; GHE_HOST (and GHE_PROTOCOL) for
  GitHub Enterprise Server. Reads ./.env (the environment's values win). Without APP_ID and a
  private key it registers the App (GH_ORG=<org>: under that organization) and writes ./.env.`;

/** What the worker must never see: the App's key and the secrets that prove deliveries and workers. */
const APP_SECRETS = ['PRIVATE_KEY', 'PRIVATE_KEY_PATH', 'WEBHOOK_SECRET', 'WORKER_SECRET', 'GITHUB_CLIENT_SECRET', 'CLIENT_SECRET'];

export async function appMain(argv: string[], io: AppIo): Promise<number> {
  let values: { port?: string; host?: string; help?: boolean; 'no-worker'?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean' }, 'no-worker': { type: 'boolean' } }, strict: true }));
  } catch (error) {
    throw new AppUsageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    io.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const start = readAppStart(process.cwd(), io.env, io.stderr);
  if (start.state === 'bad') throw new AppUsageError(start.problem);
  // From here on, Probot, the worker and the intake see .env's values as if they were set, and the key as checked.
  io = { ...io, env: start.env };
  const port = Number(values.port ?? io.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AppUsageError(`--port must be a port number, got ${values.port ?? io.env.PORT}`);
  const host = values.host ?? io.env.HOST ?? '0.0.0.0';

  if (start.state === 'register') {
    const refused = await registerApp({ env: io.env, dir: process.cwd(), port, host, stderr: io.stderr, signal: io.signal });
    if (refused) throw new AppUsageError(refused.problem);
    return 0;
  }
  const secret = start.webhookSecret;

  if (!values['no-worker'] && !io.env.ANTHROPIC_API_KEY) {
    throw new AppUsageError('ANTHROPIC_API_KEY is not set: the worker `foreman app` starts needs it to run agents; set it, or pass --no-worker and run `foreman worker` elsewhere');
  }

  const probot = createProbot({ env: io.env });
  const home = resolve(io.env.FOREMAN_HOME || join(io.env.HOME ?? '.', '.foreman'));
  const queue = new SqliteWorkQueue(join(home, 'foreman.db'));
  const registry = new SqliteRunRegistry(join(home, 'foreman.db'));
  // A restarted container, a worker that was killed: what this host's gone processes held goes back in line.
  await releaseGoneHolders(queue, registry);
  const tokens = new CachedTokenSource(appTokenSource(() => probot.auth() as never));
  const worker = values['no-worker'] ? null : superviseWorker({ env: io.env, home, tokens, queue, registry, stderr: io.stderr });
  const intake = startIntakeThread({ env: io.env, dbFile: join(home, 'foreman.db'), holder: holderName('app'), builtinDir: BUILTIN_DIR }, () => worker?.wake());
  await probot.load(createForemanApp({ queue, onDelivery: () => intake.wake() }));
  const handle = webhookHandler(probot, secret);
  const server: Server = createServer(async (req, res) => {
    if (await handle(req, res)) return;
    if (await serveTokenRequest(req, res, io.env.WORKER_SECRET, tokens)) return;
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, jobs: await queue.counts() }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: deliveries go to ${WEBHOOK_PATH}\n`);
  });
  await new Promise<void>((done, fail) => server.once('error', fail).listen(port, host, done));
  const address = server.address() as AddressInfo;
  io.stderr.write(`foreman app: listening on http://${address.address}:${address.port} (webhooks at ${WEBHOOK_PATH})\n`);

  await new Promise<void>((done) => io.signal.addEventListener('abort', () => done(), { once: true }));
  io.stderr.write('foreman app: stopping\n');
  await new Promise<void>((done) => server.close(() => done()));
  await intake.stop();
  await worker?.stop();
  await queue.close();
  await registry.close();
  return 0;
}

/** The intake on a thread of its own: the acknowledgement path never waits behind its GitHub calls. */
function startIntakeThread(data: IntakeThreadData, onQueued: () => void): { wake(): void; stop(): Promise<void> } {
  const thread = new Worker(new URL('./intake-thread.ts', import.meta.url), { workerData: data });
  let exited = false;
  const gone = new Promise<void>((done) => thread.once('exit', () => ((exited = true), done())));
  let stopped: () => void = () => {};
  thread.on('message', (message) => {
    if (message === 'queued') onQueued();
    if (message === 'stopped') stopped();
  });
  thread.on('error', (error) => process.stderr.write(`foreman app: the intake thread failed: ${error.message}\n`));
  let wakeQueued = false;
  return {
    wake() {
      // One message per event-loop turn, however many deliveries arrived in it.
      if (wakeQueued) return;
      wakeQueued = true;
      setImmediate(() => {
        wakeQueued = false;
        thread.postMessage('wake');
      });
    },
    async stop() {
      if (exited) return;
      // The job in hand finishes; a thread that does not answer within the grace is ended.
      const answered = new Promise<void>((done) => (stopped = done));
      thread.postMessage('stop');
      await Promise.race([answered, gone, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
      await thread.terminate();
    },
  };
}

/** How long a stopping thread or worker may take before it is ended. */
const STOP_GRACE_MS = 10_000;

interface WorkerSupervisor {
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Forks `foreman worker` with the App's secrets removed from its environment, answers its token
 * requests, and starts it again if it dies; what it held goes back in line and resumes.
 */
function superviseWorker(options: { env: NodeJS.ProcessEnv; home: string; tokens: TokenSource; queue: WorkQueue; registry: RunRegistry; stderr: NodeJS.WritableStream }): WorkerSupervisor {
  const entry = fileURLToPath(new URL('../../bin/foreman.js', import.meta.url));
  const env = Object.fromEntries(Object.entries(options.env).filter(([name]) => !APP_SECRETS.includes(name)));
  let child: ChildProcess | null = null;
  let stopping = false;
  let restarts = 0;

  const start = () => {
    const started = Date.now();
    child = fork(entry, ['worker'], { env: { ...env, FOREMAN_HOME: options.home }, execArgv: ['--no-node-snapshot'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    serveTokens(child, options.tokens);
    child.once('exit', async (code, signal) => {
      child = null;
      if (stopping) return;
      await releaseGoneHolders(options.queue, options.registry);
      // A worker that keeps dying at once is waited for longer each time, up to a minute.
      restarts = Date.now() - started > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(60_000, 500 * 2 ** restarts);
      options.stderr.write(`foreman app: the worker stopped (${signal ?? `exit ${code}`}); starting it again in ${delay} ms\n`);
      setTimeout(() => stopping || start(), delay).unref();
    });
  };
  start();
  return {
    wake: () => {
      if (child?.connected) child.send({ type: 'wake' });
    },
    async stop() {
      stopping = true;
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((done) => running.once('exit', () => done()));
      running.kill('SIGTERM');
      // Its runs stop and go back in line; one that hangs is killed, and resumes from its journal.
      const ended = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS * 3, undefined, { ref: false }).then(() => false)]);
      if (!ended) {
        running.kill('SIGKILL');
        await exited;
      }
    },
  };
}
