// The webhook endpoint: verifies GitHub's signature before anything reads the payload, then
// hands the delivery to Probot. Our own rather than Probot's middleware so that a missing or
// wrong signature is a 401 (the request is not authenticated), not a 400.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Probot } from 'probot';

export const WEBHOOK_PATH = '/api/github/webhooks';
/** GitHub caps payloads at 25 MB. */
const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;

export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Resolves false for a request that is not for the webhook path, true once it has answered. */
export function webhookHandler(probot: Probot, secret: string, path = WEBHOOK_PATH): WebhookHandler {
  return async (req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== path) return false;
    const answer = (status: number, message: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
      return true;
    };
    if (req.method !== 'POST') return answer(405, `only POST deliveries are accepted at ${path}`);
    const name = req.headers['x-github-event'];
    const id = req.headers['x-github-delivery'];
    const signature = req.headers['x-hub-signature-256'];
    if (typeof name !== 'string' || typeof id !== 'string') return answer(400, 'missing x-github-event or x-github-delivery: not a GitHub webhook delivery');

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return answer(413, `payload over ${MAX_PAYLOAD_BYTES} bytes`);
    }
    if (typeof signature !== 'string' || !signatureMatches(secret, body, signature)) {
      return answer(401, 'x-hub-signature-256 is missing or does not match: check that the webhook secret is the same here and on GitHub (WEBHOOK_SECRET)');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(400, 'the payload is not JSON: set the webhook content type to application/json');
    }
    try {
      await probot.receive({ id, name, payload } as Parameters<Probot['receive']>[0]);
    } catch (error) {
      probot.log.error({ delivery: id, err: error }, 'webhook handler failed');
      return answer(500, 'the delivery could not be handled; see the app log');
    }
    return answer(200, 'ok');
  };
}

export function signatureMatches(secret: string, body: Buffer, signature: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
