// `foreman app` without credentials: registers Foreman as a GitHub App with GitHub's manifest flow
// (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest).
// The manifest is always Foreman's own app.yml, from the package rather than the working
// directory, with the webhook at /api/github/webhooks. GitHub sends the browser back with a code,
// which is exchanged for the App's credentials; they go to .env in the working directory (mode
// 600), where the next `foreman app` reads them, and this process ends.
import { randomBytes } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { githubApiUrl } from '../github/installation.ts';
import { readPrivateKey } from './credentials.ts';
import { appendToEnvFile, ENV_FILE_NAME, loadEnvFile } from './dotenv.ts';
import { existingAppPage, problemPage, registeredPage, setupPage, type RegisteredView, type SetupView } from './setup-pages.ts';
import { WEBHOOK_PATH } from './webhooks.ts';

export interface RegistrationOptions {
  /** GHE_HOST, GHE_PROTOCOL, GH_ORG. */
  env: NodeJS.ProcessEnv;
  /** Where .env is written: the directory the next `foreman app` starts in. */
  dir: string;
  port: number;
  host: string;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

const APP_YML = fileURLToPath(new URL('../../app.yml', import.meta.url));
const REGISTERED_PATH = '/registered';
/** GitHub's answer to the code exchange is a few kilobytes. */
const MAX_CONVERSION_BYTES = 256 * 1024;
const CONVERSION_TIMEOUT_MS = 30_000;
/** States of the pages shown, kept for their codes; a page older than this many must be reloaded. */
const MAX_PAGES_KEPT = 100;

interface Manifest {
  name: string;
  description?: string;
  url: string;
  public: boolean;
  default_events: string[];
  default_permissions: Record<string, string>;
  hook_attributes: { url: string; active: boolean };
  redirect_url: string;
}

/** One registration in progress: what its pages show, and where it is. */
interface Registration {
  options: RegistrationOptions;
  app: Omit<Manifest, 'hook_attributes' | 'redirect_url'>;
  /** GitHub's web address. */
  github: string;
  organization: string | null;
  envFile: string;
  /**
   * Each page gets a state of its own, which GitHub hands back with the code: it tells which
   * webhook URL that manifest had, and a code that comes without one was not asked for here.
   */
  issued: Map<string, string>;
  phase: 'waiting' | 'converting' | 'registered';
  registered: () => void;
}

/**
 * Serves the registration until GitHub has created the App and .env holds its credentials, or
 * until `signal`; or says why it cannot start.
 */
export async function registerApp(options: RegistrationOptions): Promise<{ problem: string } | null> {
  const ready = checkRegistration(options);
  if ('problem' in ready) return ready;
  const done = new Promise<void>((resolve) => {
    ready.registered = resolve;
  });
  const server = createServer((req, res) => void answer(ready, req, res));
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.host, resolve));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') return { problem: `port ${options.port} on ${options.host} is taken: start foreman app with --port <another> (or PORT)` };
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const shown = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host.includes(':') ? `[${options.host}]` : options.host;
  options.stderr.write(
    `foreman app: no APP_ID and private key yet: starting the GitHub App registration: open http://${shown}:${port}/ in a browser ` +
      `(the App is registered on ${ready.github}${ready.organization ? ` under the organization ${ready.organization}` : ''}; its credentials go to ${ready.envFile})\n`,
  );
  const stopped = new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  await Promise.race([done, stopped]);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return null;
}

/** Everything a registration needs before it serves a page, or why it cannot start. */
function checkRegistration(options: RegistrationOptions): Registration | { problem: string } {
  const app = readAppYml();
  if ('problem' in app) return app;
  const github = githubWebUrl(options.env);
  const organization = options.env.GH_ORG?.trim() || null;
  if (organization && !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(organization)) {
    return { problem: `GH_ORG must be the login of the organization to register the App under, not "${organization.slice(0, 60)}"` };
  }
  try {
    accessSync(options.dir, constants.W_OK);
  } catch {
    return { problem: `the registration writes the App's credentials to ${options.dir}/${ENV_FILE_NAME}, but ${options.dir} is not writable: start foreman app in a directory you can write to` };
  }
  const envFile = `${options.dir}/${ENV_FILE_NAME}`;
  return { options, app, github, organization, envFile, issued: new Map(), phase: 'waiting', registered: () => {} };
}

function issueState(at: Registration, webhookUrl: string): string {
  const state = randomBytes(16).toString('hex');
  at.issued.set(state, webhookUrl);
  if (at.issued.size > MAX_PAGES_KEPT) at.issued.delete(at.issued.keys().next().value!);
  return state;
}

function viewFor(at: Registration, req: IncomingMessage, publicUrl: string | null): SetupView & { manifestToSend: Manifest } {
  const origin = requestOrigin(req, at.options.port);
  const webhookUrl = `${publicUrl ?? origin}${WEBHOOK_PATH}`;
  const manifestToSend: Manifest = { ...at.app, hook_attributes: { url: webhookUrl, active: true }, redirect_url: `${origin}${REGISTERED_PATH}` };
  return {
    createAppUrl: `${at.github}${at.organization ? `/organizations/${at.organization}` : ''}/settings/apps/new?state=${issueState(at, webhookUrl)}`,
    manifest: manifestToSend,
    manifestToSend,
    webhookUrl,
    githubUrl: at.github,
    organization: at.organization,
    dir: at.options.dir,
    envFile: at.envFile,
  };
}

function sendPage(res: ServerResponse, status: number, html: string): void {
  res
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      // The code GitHub sends back is in this page's address: no other site gets it as a referrer.
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
      'cache-control': 'no-store',
    })
    .end(html);
}

async function answer(at: Registration, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendPage(res, 405, problemPage('Not here', 'The registration pages only answer GET.', 405).html);
  if (url.pathname === '/' || url.pathname === '/existing') {
    const publicUrl = publicAddress(url.searchParams.get('public_url'));
    if (publicUrl && 'problem' in publicUrl) return sendPage(res, 400, problemPage('Not an address', publicUrl.problem, 400).html);
    const view = viewFor(at, req, publicUrl?.url ?? null);
    return sendPage(res, 200, url.pathname === '/' ? setupPage(view) : existingAppPage(view));
  }
  if (url.pathname === REGISTERED_PATH) return finishRegistration(at, url, req, res);
  const page = problemPage('Not found', `foreman app is waiting for the App to be registered: open ${requestOrigin(req, at.options.port)}/`, 404);
  sendPage(res, page.status, page.html);
}

/** GitHub sent the browser back with a code: exchange it, once, for the credentials. */
async function finishRegistration(at: Registration, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { options, envFile } = at;
  if (at.phase !== 'waiting') {
    const page =
      at.phase === 'converting'
        ? problemPage('Registering', 'This foreman app is finishing a registration right now: wait for that page.', 409)
        : problemPage('Already registered', `This foreman app has registered an App already, into ${envFile}; run foreman app again in ${options.dir} to serve it.`, 409);
    return sendPage(res, page.status, page.html);
  }
  const webhookUrl = at.issued.get(url.searchParams.get('state') ?? '');
  if (webhookUrl === undefined) {
    const page = problemPage('Not this registration', `This address was not made by the registration this foreman app is running (its state does not match), so its code is not used. Register from ${requestOrigin(req, options.port)}/ instead.`, 400);
    return sendPage(res, page.status, page.html);
  }
  const code = url.searchParams.get('code') ?? '';
  if (!/^[\w-]{1,200}$/.test(code)) return sendPage(res, 400, problemPage('No code', 'GitHub sends the browser back here with a code; this address has none. Register from the start page.', 400).html);
  at.phase = 'converting';
  const outcome = await convert(code, { env: options.env, dir: options.dir, envFile, github: at.github, webhookUrl });
  if ('problem' in outcome) {
    at.phase = outcome.retry ? 'waiting' : 'registered';
    options.stderr.write(`foreman app: ${outcome.problem}\n`);
    return sendPage(res, outcome.status, problemPage('The registration did not finish', outcome.problem, outcome.status).html);
  }
  at.phase = 'registered';
  options.stderr.write(
    `foreman app: registered the GitHub App "${outcome.view.name}" (App ID ${outcome.view.appId}); its credentials are in ${envFile} (mode 600)` +
      `${outcome.view.serverSettings.length ? `, with ${outcome.view.serverSettings.join(' and ')} so that the restart talks to ${outcome.view.githubUrl}` : ''}.\n` +
      `foreman app: next: install it (${outcome.view.installUrl}), then run \`foreman app\` again in ${options.dir} to serve webhooks (its worker needs ANTHROPIC_API_KEY).\n`,
  );
  res.once('finish', () => at.registered());
  res.once('close', () => at.registered());
  sendPage(res, 200, registeredPage(outcome.view));
}

/** Exchanges GitHub's code for the App's credentials and writes them to .env. */
async function convert(
  code: string,
  context: { env: NodeJS.ProcessEnv; dir: string; envFile: string; github: string; webhookUrl: string },
): Promise<{ view: RegisteredView } | { problem: string; status: number; retry: boolean }> {
  const endpoint = `${githubApiUrl(context.env)}/app-manifests/${code}/conversions`;
  let status: number;
  let text: string;
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { accept: 'application/vnd.github+json', 'user-agent': 'foreman-app-registration' },
      signal: AbortSignal.timeout(CONVERSION_TIMEOUT_MS),
    });
    status = response.status;
    text = await boundedText(response, MAX_CONVERSION_BYTES);
  } catch (error) {
    return { problem: `could not reach GitHub at ${endpoint} to finish the registration (${(error as Error).message}): check GHE_HOST and the network, then register again`, status: 502, retry: true };
  }
  if (status < 200 || status > 299) {
    const message = safeMessage(text);
    return { problem: `GitHub refused to finish the registration (${status}${message ? `: ${message}` : ''}); its code is good once and for an hour: register again from the start page`, status: 502, retry: true };
  }
  let app: any;
  try {
    app = JSON.parse(text);
  } catch {
    return { problem: `GitHub's answer to ${endpoint} is not JSON: register again from the start page`, status: 502, retry: true };
  }
  const key = typeof app?.pem === 'string' ? readPrivateKey(app.pem, "the private key in GitHub's answer") : { problem: 'GitHub answered without a private key' };
  if (!Number.isSafeInteger(app?.id) || 'problem' in key || !isWebUrl(app?.html_url)) {
    return { problem: `GitHub's answer to the registration is not an App with an ID, a key and an address (${'problem' in key ? key.problem : 'no id or html_url'}): register again from the start page`, status: 502, retry: true };
  }
  const name = typeof app.name === 'string' ? app.name.slice(0, 100) : `App ${app.id}`;
  const slug = typeof app.slug === 'string' && /^[\w-]+$/.test(app.slug) ? app.slug : null;
  const owner = typeof app.owner?.login === 'string' && /^[\w-]+$/.test(app.owner.login) ? app.owner : null;
  const settingsUrl = slug ? `${context.github}${owner?.type === 'Organization' ? `/organizations/${owner.login}` : ''}/settings/apps/${slug}` : app.html_url;
  const webhookSecret = typeof app.webhook_secret === 'string' && app.webhook_secret ? app.webhook_secret : null;
  const server = enterpriseServer(context.env, context.dir);
  try {
    appendToEnvFile(
      context.dir,
      { APP_ID: String(app.id), PRIVATE_KEY: app.pem.trim(), ...(webhookSecret && { WEBHOOK_SECRET: webhookSecret }), ...server },
      `The GitHub App ${name} (${app.html_url}), registered by foreman app on ${new Date().toISOString()}. Keep this file private.`,
    );
  } catch (error) {
    return {
      problem:
        `GitHub created the App ${name} (App ID ${app.id}), but its credentials could not be written to ${context.envFile} (${(error as Error).message}). ` +
        `In its settings (${settingsUrl}) generate a private key and set a webhook secret, then set APP_ID=${app.id}, PRIVATE_KEY_PATH and WEBHOOK_SECRET`,
      status: 500,
      retry: false,
    };
  }
  return {
    view: {
      name,
      appId: app.id,
      installUrl: `${app.html_url}/installations/new`,
      settingsUrl,
      webhookUrl: context.webhookUrl,
      dir: context.dir,
      envFile: context.envFile,
      hasWebhookSecret: webhookSecret !== null,
      serverSettings: Object.keys(server),
      githubUrl: context.github,
    },
  };
}

/**
 * GHE_HOST and GHE_PROTOCOL as the registration used them, unless .env holds them already: the App
 * lives on that server, and a restart without them would talk to github.com. (GH_ORG served the
 * registration only.)
 */
function enterpriseServer(env: NodeJS.ProcessEnv, dir: string): Record<string, string> {
  const file = loadEnvFile(dir, {});
  const inFile = 'problem' in file ? {} : file.env;
  const names = ['GHE_HOST', 'GHE_PROTOCOL'].filter((name) => env.GHE_HOST && env[name] && inFile[name] !== env[name]);
  return Object.fromEntries(names.map((name) => [name, env[name]!]));
}

/** app.yml from the Foreman package: the name, the permissions and the events Foreman needs. */
function readAppYml(): Omit<Manifest, 'hook_attributes' | 'redirect_url'> | { problem: string } {
  let app: any;
  try {
    app = parseYaml(readFileSync(APP_YML, 'utf8'));
  } catch (error) {
    return { problem: `the Foreman package's app.yml (${APP_YML}) cannot be read (${(error as Error).message}): reinstall Foreman` };
  }
  if (typeof app?.name !== 'string' || typeof app.default_permissions !== 'object' || !Array.isArray(app.default_events)) {
    return { problem: `${APP_YML} lacks a name, default_permissions or default_events: restore it from the Foreman package` };
  }
  return {
    name: app.name,
    description: app.description,
    url: app.url,
    public: app.public === true,
    default_events: app.default_events,
    default_permissions: app.default_permissions,
  };
}

function githubWebUrl(env: NodeJS.ProcessEnv): string {
  return env.GHE_HOST ? `${env.GHE_PROTOCOL || 'https'}://${env.GHE_HOST}` : 'https://github.com';
}

/** This server's address as the browser sees it (through a proxy that says so, too). */
function requestOrigin(req: IncomingMessage, port: number): string {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
  const https = first(req.headers['x-forwarded-proto']) === 'https' || Boolean((req.socket as TLSSocket).encrypted);
  const host = first(req.headers['x-forwarded-host']) ?? req.headers.host ?? '';
  const valid = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host);
  return `${https ? 'https' : 'http'}://${valid ? host : `localhost:${port}`}`;
}

/** The public address a user gave for this server, without a trailing slash or the webhook path. */
function publicAddress(given: string | null): { url: string } | { problem: string } | null {
  if (!given) return null;
  let url: URL;
  try {
    url = new URL(given.trim());
  } catch {
    return { problem: `"${given.slice(0, 100)}" is not an address: give one like https://foreman.example.com` };
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    return { problem: 'Give the server\'s address as http(s)://host[:port][/path], with no user, query or fragment.' };
  }
  const path = url.pathname.replace(/\/+$/, '');
  return { url: `${url.origin}${path.endsWith(WEBHOOK_PATH) ? path.slice(0, -WEBHOOK_PATH.length) : path}` };
}

function isWebUrl(value: unknown): value is string {
  return typeof value === 'string' && /^https?:\/\/[^\s"'<>]+$/.test(value);
}

/** GitHub's error message, one short line. */
function safeMessage(text: string): string {
  try {
    const message = JSON.parse(text)?.message;
    return typeof message === 'string' ? message.replace(/\s+/g, ' ').slice(0, 200) : '';
  } catch {
    return '';
  }
}

async function boundedText(response: Response, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > limit) throw new Error(`the answer is over ${limit} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}
