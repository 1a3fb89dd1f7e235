// `foreman app`: the GitHub App's webhook server. With credentials (APP_ID, PRIVATE_KEY or
// PRIVATE_KEY_PATH, WEBHOOK_SECRET, from the environment or ./.env) it serves deliveries and runs
// the intake; without them it registers the App from Foreman's app.yml (setup.ts), which writes
// the credentials to ./.env.
import { foremanHome } from '../service/home.ts';
import { parseArgs } from 'node:util';
import { readLogSettings, type LogSettings } from './log.ts';
import { serveApp } from './serve.ts';
import { readAppStart } from './credentials.ts';
import { registerApp } from './setup.ts';
import { APP_HELP, helpText } from '../service/usage-text.ts';
import { backendSettings } from './backend-settings.ts';

export interface AppIo {
  env: NodeJS.ProcessEnv;
  /** --help only: like every other foreman command's help, it goes to stdout. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

export class AppUsageError extends Error {}

const USAGE_HINT = `usage: ${APP_HELP.synopsis} (foreman app --help says more)`;

export async function appMain(argv: string[], io: AppIo): Promise<number> {
  let values: { port?: string; host?: string; help?: boolean; 'no-worker'?: boolean; 'database-url'?: string; 'lease-seconds'?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' }, 'no-worker': { type: 'boolean' }, 'database-url': { type: 'string' }, 'lease-seconds': { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    throw new AppUsageError(`${(error as Error).message}\n${USAGE_HINT}`);
  }
  if (values.help) {
    io.stdout.write(`${helpText(APP_HELP)}\n`);
    return 0;
  }
  const start = readAppStart(process.cwd(), io.env, io.stderr);
  if (start.state === 'bad') throw new AppUsageError(start.problem);
  // From here on, Probot, the worker and the intake see .env's values as if they were set, and the key as checked.
  io = { ...io, env: start.env };
  const port = Number(values.port ?? io.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AppUsageError(`--port must be a port number, got ${values.port ?? io.env.PORT}`);
  // The registration pages hand out the state that lets GitHub's answer write .env: only to this
  // machine's browser unless --host says otherwise. Serving webhooks listens everywhere.
  const host = values.host ?? io.env.HOST ?? (start.state === 'register' ? '127.0.0.1' : '0.0.0.0');

  if (start.state === 'register') {
    const refused = await registerApp({ env: io.env, dir: process.cwd(), port, host, stderr: io.stderr, signal: io.signal });
    if (refused) throw new AppUsageError(refused.problem);
    return 0;
  }
  const secret = start.webhookSecret;

  if (!values['no-worker'] && !io.env.ANTHROPIC_API_KEY) {
    throw new AppUsageError('ANTHROPIC_API_KEY is not set: the worker `foreman app` starts needs it to run agents; set it, or pass --no-worker and run `foreman worker` elsewhere');
  }

  let log: LogSettings;
  try {
    log = readLogSettings(io.env);
  } catch (error) {
    throw new AppUsageError((error as Error).message);
  }
  const scheduleIntervalMs = io.env.FOREMAN_SCHEDULE_INTERVAL_MS ? Number(io.env.FOREMAN_SCHEDULE_INTERVAL_MS) : undefined;
  if (scheduleIntervalMs !== undefined && (!Number.isInteger(scheduleIntervalMs) || scheduleIntervalMs < MIN_SCHEDULE_INTERVAL_MS)) {
    throw new AppUsageError(`FOREMAN_SCHEDULE_INTERVAL_MS must be a whole number of milliseconds, at least ${MIN_SCHEDULE_INTERVAL_MS}; got ${JSON.stringify(io.env.FOREMAN_SCHEDULE_INTERVAL_MS)} (leave it unset for a minute)`);
  }
  const home = foremanHome(io.env);
  const backend = backendSettings(values, io.env, AppUsageError);
  await serveApp({ env: io.env, port, host, webhookSecret: secret, home, backend, worker: !values['no-worker'], log, ...(scheduleIntervalMs !== undefined ? { scheduleIntervalMs } : {}), stderr: io.stderr, signal: io.signal });
  return 0;
}

/** Each look at the schedules lists every installation's repositories: not more often than this. */
const MIN_SCHEDULE_INTERVAL_MS = 100;
