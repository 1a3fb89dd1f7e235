// Webhook acknowledgement latency: signed `/workflow` deliveries at a fixed rate (open loop, so a
// slow server cannot slow the sender down) against `foreman app` and against a bare Probot app
// whose handler does nothing, each in its own process. Foreman's intake runs during the load,
// against a local stand-in for GitHub's API that answers 404, so nothing leaves the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BIN } from '../test/support/cli.ts';
import { prComment } from '../test/support/github-app.ts';
import { tempDir } from '../test/support/repo.ts';

export const RATE_PER_S = 100;
export const SECONDS = 20;
const SECRET = 'bench-secret';
const BARE = fileURLToPath(new URL('./bare-probot-worker.ts', import.meta.url));

function start(args: string[], env: NodeJS.ProcessEnv, stream: 'stdout' | 'stderr'): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--no-node-snapshot', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  return new Promise((resolve, reject) => {
    child[stream]!.setEncoding('utf8').on('data', (d) => {
      text += d;
      const url = /listening on (http:\/\/[\d.:]+)/.exec(text)?.[1];
      if (url) resolve({ child, url });
    });
    child.on('close', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${text}`)));
  });
}

/** One delivery on a new connection, as GitHub sends them; resolves to ms until the response ended. */
function deliver(url: string, body: string, id: number): Promise<{ ms: number; status: number }> {
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/github/webhooks`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'x-github-event': 'issue_comment', 'x-github-delivery': `bench-${id}`, 'x-hub-signature-256': signature },
    }, (res) => {
      res.resume().on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject).end(body);
  });
}

async function load(url: string): Promise<{ p50: number; p99: number; max: number; sent: number; failed: number }> {
  const total = RATE_PER_S * SECONDS;
  const pending: Array<Promise<{ ms: number; status: number }>> = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE_PER_S;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = JSON.stringify(prComment(`/workflow audit request ${i}`, { commentId: 900_000 + i }));
    pending.push(deliver(url, body, i));
  }
  const results = await Promise.all(pending);
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))];
  return { p50: at(0.5), p99: at(0.99), max: ms.at(-1)!, sent: results.length, failed: results.filter((r) => r.status !== 200).length };
}

export async function webhookBench() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  // GitHub's API, as far as the intake is concerned: every call answers 404 at once. `foreman app`
  // forks its worker as in production; with no token for the intake, no run reaches it.
  const api = createServer((req, res) => req.resume().on('end', () => res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}')));
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const apiHost = `127.0.0.1:${(api.address() as AddressInfo).port}`;
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: tempDir(), PRIVATE_KEY: privateKey, WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'fatal' };

  const foreman = await start([BIN, 'app', '--port', '0', '--host', '127.0.0.1'], { ...base, APP_ID: '1', ANTHROPIC_API_KEY: 'bench', FOREMAN_HOME: tempDir(), GHE_HOST: apiHost, GHE_PROTOCOL: 'http' }, 'stderr');
  const bare = await start([BARE], base, 'stdout');
  try {
    // A short warm-up each, then the measured runs.
    for (const url of [foreman.url, bare.url]) for (let i = 0; i < 50; i++) await deliver(url, JSON.stringify(prComment('/workflow warm', { commentId: 800_000 + i })), -i - 1);
    const foremanStats = await load(foreman.url);
    const bareStats = await load(bare.url);
    return { foreman: foremanStats, bare: bareStats };
  } finally {
    foreman.child.kill('SIGTERM');
    bare.child.kill('SIGTERM');
    api.close();
  }
}
