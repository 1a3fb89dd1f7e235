// The `foreman worker` that `foreman app` forks: the App's secrets removed from its environment,
// its token requests answered over IPC, started again if it dies; what it held goes back in line
// and resumes.
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { TokenSource } from '../github/installation.ts';
import type { SupervisedPart } from './health.ts';
import type { BackendSettings } from './backend.ts';
import { releaseGoneHolders } from './holders.ts';
import type { RunRegistry } from './run-registry.ts';
import { Supervised } from './supervised.ts';
import { serveTokens, type StopMessage } from './token-broker.ts';
import type { AppQueue, Logger } from './jobs.ts';

/** What the worker must never see: the App's key and the secrets that prove deliveries and workers. */
const APP_SECRETS = ['PRIVATE_KEY', 'PRIVATE_KEY_PATH', 'WEBHOOK_SECRET', 'WORKER_SECRET', 'GITHUB_CLIENT_SECRET', 'CLIENT_SECRET'];

/** How long a stopping worker may take to put its runs back before it is killed. */
const STOP_GRACE_MS = 30_000;

export interface WorkerSupervisor extends SupervisedPart {
  /** Resolves once the worker process runs (or has died: it is then started again). */
  start(): Promise<void>;
  /** Work was queued: the worker looks now rather than at its next poll. */
  wake(): void;
  stop(): Promise<void>;
}

export function superviseWorker(options: { env: NodeJS.ProcessEnv; home: string; backend: Omit<BackendSettings, 'home'>; tokens: TokenSource; queue: AppQueue; registry: RunRegistry; log: Logger; signal: AbortSignal }): WorkerSupervisor {
  const entry = fileURLToPath(new URL('../../bin/foreman.js', import.meta.url));
  const env = Object.fromEntries(Object.entries(options.env).filter(([name]) => !APP_SECRETS.includes(name)));
  const part = new Supervised<ChildProcess>({
    name: 'worker',
    log: options.log,
    signal: options.signal,
    launch(events) {
      const child = fork(entry, ['worker'], { env: { ...env, FOREMAN_HOME: options.home, ...backendEnv(options.backend) }, execArgv: ['--no-node-snapshot'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      serveTokens(child, options.tokens);
      child.once('spawn', () => events.up());
      child.once('exit', (code, signal) => events.ended(signal ? { signal } : { exit: code }));
      child.on('error', (error) => {
        options.log.error({ part: 'worker', err: error }, `the worker failed: ${error.message}`);
        // A process that never started sends no exit.
        if (child.pid === undefined) events.ended({ error: error.message });
      });
      return child;
    },
    // A worker that was killed held work: it goes back in line, its runs resume from their journals.
    afterEnd: () => releaseGoneHolders(options.queue, options.registry),
  });
  return {
    name: part.name,
    state: () => part.state(),
    start: () => part.start(),
    wake: () => {
      if (part.current?.connected) part.current.send({ type: 'wake' });
    },
    stop: () =>
      part.stop(async (running) => {
        if (running.exitCode !== null || running.signalCode !== null) return;
        const exited = new Promise<void>((done) => running.once('exit', () => done()));
        if (running.connected) running.send({ type: 'stop' } satisfies StopMessage);
        else running.kill('SIGTERM');
        // Its runs stop and go back in line; one that hangs is killed, and resumes from its journal.
        const ended = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS, undefined, { ref: false }).then(() => false)]);
        if (!ended) {
          running.kill('SIGKILL');
          await exited;
        }
      }),
  };
}

/** The app's --database-url and --lease-seconds, as the worker it forks reads them. */
function backendEnv(backend: Omit<BackendSettings, 'home'>): NodeJS.ProcessEnv {
  return {
    ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}),
    ...(backend.leaseSeconds !== undefined ? { FOREMAN_LEASE_SECONDS: String(backend.leaseSeconds) } : {}),
  };
}
