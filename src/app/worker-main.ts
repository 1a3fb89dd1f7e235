// `foreman worker`: executes queued runs. Forked by `foreman app` (tokens over IPC), or started on
// its own, sharing the app's FOREMAN_HOME or, with DATABASE_URL, its PostgreSQL (from any host), and
// asking the app for tokens over HTTP (FOREMAN_APP_URL and WORKER_SECRET). Either way it never
// holds the App's private key.
import { FOREMAN_VERSION } from '../service/version.ts';
import { foremanHome } from '../service/home.ts';
import { homedir } from 'node:os';
import { detectSandbox, sandboxMessage } from '../workspace/sandbox.ts';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CachedTokenSource, githubApiUrl, type TokenSource } from '../github/installation.ts';
import { openAppBackend } from './backend.ts';
import { backendSettings } from './backend-settings.ts';
import { HttpTokenSource } from './token-endpoint.ts';
import { IpcTokenSource, type WakeMessage } from './token-broker.ts';
import { ForemanWorker } from './worker.ts';
import { holderName, releaseGoneHolders } from './holders.ts';
import { appLog, readLogSettings, type LogSettings } from './log.ts';
import { markNonDumpableOrWarn } from '../service/non-dumpable.ts';
import { helpText, WORKER_HELP } from '../service/usage-text.ts';

export interface WorkerIo {
  env: NodeJS.ProcessEnv;
  /** --help only: like every other foreman command's help, it goes to stdout. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

export class WorkerUsageError extends Error {}

const BUILTIN_DIR = fileURLToPath(new URL('../../workflows/', import.meta.url));

const USAGE_HINT = `usage: ${WORKER_HELP.synopsis} (foreman worker --help says more)`;

export async function workerMain(argv: string[], io: WorkerIo): Promise<number> {
  let values: { 'max-runs'?: string; help?: boolean; 'database-url'?: string; 'lease-seconds'?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { 'max-runs': { type: 'string' }, help: { type: 'boolean', short: 'h' }, 'database-url': { type: 'string' }, 'lease-seconds': { type: 'string' } }, strict: true }));
  } catch (error) {
    throw new WorkerUsageError(`${(error as Error).message}\n${USAGE_HINT}`);
  }
  if (values.help) {
    io.stdout.write(`${helpText(WORKER_HELP)}\n`);
    return 0;
  }
  const maxRuns = Number(values['max-runs'] ?? 2);
  if (!Number.isInteger(maxRuns) || maxRuns < 1) throw new WorkerUsageError(`--max-runs must be a whole number of at least 1, got ${values['max-runs']}`);
  if (!io.env.ANTHROPIC_API_KEY) throw new WorkerUsageError('ANTHROPIC_API_KEY is not set: the worker needs it to run agents; set it in the environment of `foreman app` or `foreman worker`');
  let logSettings: LogSettings;
  try {
    logSettings = readLogSettings(io.env);
  } catch (error) {
    throw new WorkerUsageError((error as Error).message);
  }

  const home = foremanHome(io.env);
  const backend = backendSettings(values, io.env, WorkerUsageError);
  const tokens = new CachedTokenSource(tokenSource(io.env));
  const { queue, registry, close } = await openAppBackend({ home, ...backend });
  // Logged as the app logs (LOG_FORMAT, LOG_LEVEL), into the same stream when the app forked it.
  const log = appLog(logSettings, 'foreman-worker');
  markNonDumpableOrWarn(log);
  const holder = holderName('worker');
  // Work a gone worker on this host left claimed goes back in line; its runs resume from their
  // journals. On PostgreSQL nothing is judged by pid: a gone worker's leases lapse instead.
  await releaseGoneHolders(queue, registry);
  // A hosted service runs code from every repository it is installed on: never without the sandbox.
  const sandbox = detectSandbox({ ...(io.env.FOREMAN_BWRAP ? { bwrap: io.env.FOREMAN_BWRAP } : {}), hide: [home, io.env.HOME ?? homedir()] });
  if (sandbox.kind === 'unavailable') log.error(`${sandboxMessage(sandbox)}. The worker refuses to run repository code (gate steps, agents' commands) until it works; \`foreman doctor\` checks`);
  const worker = new ForemanWorker({
    queue,
    registry,
    holder,
    home,
    ...(backend.databaseUrl ? { databaseUrl: backend.databaseUrl } : {}),
    builtinDir: BUILTIN_DIR,
    tokens,
    apiUrl: githubApiUrl(io.env),
    anthropic: { apiKey: io.env.ANTHROPIC_API_KEY, baseURL: io.env.ANTHROPIC_BASE_URL },
    commandEnv: io.env,
    sandbox,
    log,
    version: FOREMAN_VERSION,
    maxRuns,
  });
  process.on('message', (message: WakeMessage) => message?.type === 'wake' && worker.wake());
  worker.start();
  log.info({ home, maxRuns, queue: backend.databaseUrl ? `PostgreSQL, leases of ${queue.leaseSeconds} s` : 'SQLite' }, 'worker started');
  if (!io.signal.aborted) await new Promise<void>((done) => io.signal.addEventListener('abort', () => done(), { once: true }));
  log.info('worker stopping: runs in hand are stopped and stay resumable');
  await worker.stop();
  await close();
  return 0;
}

function tokenSource(env: NodeJS.ProcessEnv): TokenSource {
  if (process.send) return new IpcTokenSource();
  if (!env.FOREMAN_APP_URL || !env.WORKER_SECRET) {
    throw new WorkerUsageError('foreman worker needs installation tokens from the app: set FOREMAN_APP_URL (the app\'s address) and WORKER_SECRET (the same value as the app\'s), or let `foreman app` start the worker');
  }
  return new HttpTokenSource(env.FOREMAN_APP_URL, env.WORKER_SECRET);
}
