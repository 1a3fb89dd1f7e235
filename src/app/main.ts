// `foreman app`: the GitHub App's webhook server. With credentials (APP_ID, PRIVATE_KEY or
// PRIVATE_KEY_PATH, WEBHOOK_SECRET) it serves deliveries and runs the intake; without them it
// starts Probot's manifest registration flow, which creates the App from app.yml and writes the
// credentials to .env.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createProbot, run as probotRun } from 'probot';
import { SqliteWorkQueue } from '../runtime/sqlite-queue.ts';
import { createForemanApp } from './app.ts';
import { webhookHandler, WEBHOOK_PATH } from './webhooks.ts';

export interface AppIo {
  env: NodeJS.ProcessEnv;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

export class AppUsageError extends Error {}

const BUILTIN_DIR = fileURLToPath(new URL('../../workflows/', import.meta.url));

const USAGE = `usage: foreman app [--port N] [--host H]
  Serves GitHub webhooks at ${WEBHOOK_PATH} (and /healthz). Environment: APP_ID, PRIVATE_KEY or
  PRIVATE_KEY_PATH, WEBHOOK_SECRET, FOREMAN_HOME; GHE_HOST (and GHE_PROTOCOL) for GitHub
  Enterprise Server. Without APP_ID and a private key it starts the App registration flow.`;

export async function appMain(argv: string[], io: AppIo): Promise<number> {
  let values: { port?: string; host?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    throw new AppUsageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    io.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const port = Number(values.port ?? io.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AppUsageError(`--port must be a port number, got ${values.port ?? io.env.PORT}`);
  const host = values.host ?? io.env.HOST ?? '0.0.0.0';

  const hasCredentials = Boolean(io.env.APP_ID) && Boolean(io.env.PRIVATE_KEY || io.env.PRIVATE_KEY_PATH);
  if (!hasCredentials) {
    io.stderr.write(`foreman app: no APP_ID and private key yet: starting the GitHub App registration on http://localhost:${port}\n`);
    // Probot's setup flow registers the App from app.yml and writes the credentials to .env.
    const setup = await probotRun(() => {}, { env: { ...io.env, PORT: String(port), HOST: host } });
    await new Promise<void>((done) => io.signal.addEventListener('abort', () => done(), { once: true }));
    await setup.stop();
    return 0;
  }
  const secret = io.env.WEBHOOK_SECRET;
  if (!secret) throw new AppUsageError('WEBHOOK_SECRET is not set: use the secret you gave the App on GitHub, so deliveries can be verified');

  const probot = createProbot({ env: io.env });
  const home = resolve(io.env.FOREMAN_HOME || join(io.env.HOME ?? '.', '.foreman'));
  const queue = new SqliteWorkQueue(join(home, 'foreman.db'));
  const foreman = createForemanApp({ queue, holder: `app:${hostname()}:${process.pid}`, builtinDir: BUILTIN_DIR });
  await probot.load(foreman.appFn);
  const handle = webhookHandler(probot, secret);
  const server: Server = createServer(async (req, res) => {
    if (await handle(req, res)) return;
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
  await foreman.stop();
  await queue.close();
  return 0;
}
